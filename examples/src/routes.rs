//! The contract's routes as one `tower::Service`, runtime-agnostic: time and spawning (for
//! upgraded `/echo` connections) come through a [`lameduck::runtime::Runtime`].
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /` | 200 `ok` |
//! | `GET /sleep?ms=N` | 200 `slept N` after N ms |
//! | `GET /healthz` | 200 `ok` while running, 503 `draining` from the first signal on |
//! | `GET /stream?chunks=N&interval_ms=M` | 200, N lines `chunk i` (i from 0), one every M ms |
//! | `GET /echo` + `Connection: upgrade`, `Upgrade: echo` | 101, then a raw echo stream |
//! | `GET /metrics` | 200, lameduck's metrics in Prometheus text |
//! | anything else | 404 |
//!
//! A malformed query answers 400 with a one-line reason.

use crate::{
    body::{full, Body, Chunks},
    echo,
};
use core::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use hyper::{header::HeaderValue, Method, Request, Response, StatusCode};
use lameduck::{
    runtime::{Runtime, Timer},
    Handle,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// The routes, as a `tower::Service`. Cheap to clone.
///
/// ```
/// # fn f(handle: lameduck::Handle) {
/// let routes = lameduck_examples::routes::Routes::new(handle, lameduck_smol::Smol::new());
/// # }
/// ```
#[derive(Clone)]
pub struct Routes<R> {
    handle: Handle,
    runtime: R,
}

impl<T> core::fmt::Debug for Routes<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Routes").finish_non_exhaustive()
    }
}

impl<R: Runtime> Routes<R> {
    /// Routes answering for the shutdown `handle`, on `runtime`.
    ///
    /// ```
    /// # use lameduck_examples::routes::Routes;
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let routes = Routes::new(shutdown.handle(), lameduck_smol::Smol::new());
    /// ```
    pub fn new(handle: Handle, runtime: R) -> Routes<R> {
        Routes { handle, runtime }
    }

    /// Answers one request.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping it drops the answer (a `/sleep` stops sleeping).
    ///
    /// ```
    /// # use lameduck_examples::routes::Routes;
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let routes = Routes::new(shutdown.handle(), lameduck_tokio::Tokio::new());
    /// let request = hyper::Request::get("/sleep?ms=abc").body(()).unwrap();
    /// assert_eq!(routes.answer(request).await.status(), 400);
    /// # });
    /// ```
    pub async fn answer<B>(&self, mut request: Request<B>) -> Response<Body> {
        if request.method() != Method::GET {
            return not_found();
        }
        let query = request.uri().query().unwrap_or("").to_owned();
        let path = request.uri().path().to_owned();
        match path.as_str() {
            "/" => text(StatusCode::OK, "ok"),
            "/healthz" => healthz(&self.handle),
            "/sleep" => sleep(&self.runtime, &query).await,
            "/stream" => stream(&self.runtime, &query),
            "/echo" => echo::answer(&mut request, &self.runtime),
            "/metrics" => metrics(&self.handle),
            _ => not_found(),
        }
    }
}

impl<R: Runtime, B: Send + 'static> tower_service::Service<Request<B>> for Routes<R> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let routes = self.clone();
        Box::pin(async move { Ok(routes.answer(request).await) })
    }
}

/// A plain-text answer.
///
/// ```
/// let response = lameduck_examples::routes::text(hyper::StatusCode::OK, "ok");
/// assert_eq!(response.status(), 200);
/// ```
pub fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(full(body.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

/// 404 `not found`.
///
/// ```
/// assert_eq!(lameduck_examples::routes::not_found().status(), 404);
/// ```
pub fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "not found")
}

/// `/healthz`: 200 `ok` while running, 503 `draining` from the first signal on.
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// assert_eq!(lameduck_examples::routes::healthz(&shutdown.handle()).status(), 200);
/// ```
pub fn healthz(handle: &Handle) -> Response<Body> {
    let ready = lameduck_hyper::readiness(handle);
    let status = ready.status();
    text(
        status,
        if status.is_success() {
            "ok"
        } else {
            "draining"
        },
    )
}

/// The process's Prometheus recorder, installed as the global `metrics` recorder on the
/// first call (the demos' [`Demo::with_options`](crate::demo::Demo::with_options), before
/// the shutdown runs, so it sees all the driver records). `None` if another recorder was
/// installed first.
///
/// ```
/// assert!(lameduck_examples::routes::prometheus().is_some());
/// ```
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// `/metrics`: lameduck's metrics (phase, connections, cuts, hook runs) in Prometheus text
/// format 0.0.4, brought up to date from `handle` first.
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// lameduck_examples::routes::prometheus();
/// let response = lameduck_examples::routes::metrics(&shutdown.handle());
/// assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
/// ```
pub fn metrics(handle: &Handle) -> Response<Body> {
    lameduck::metrics::record(handle);
    let body = prometheus()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    let mut response = text(StatusCode::OK, &body);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "text/plain; version=0.0.4".parse().unwrap(),
    );
    response
}

/// `/sleep?ms=N`: 200 `slept N` after N ms.
///
/// # Cancel safety
///
/// Cancel-safe: dropping it stops the sleep.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let timer = lameduck_tokio::Tokio::new();
/// assert_eq!(lameduck_examples::routes::sleep(&timer, "ms=1").await.status(), 200);
/// # });
/// ```
pub async fn sleep<T: Timer>(timer: &T, query: &str) -> Response<Body> {
    match param(query, "ms") {
        Ok(ms) => {
            timer.sleep(Duration::from_millis(ms)).await;
            text(StatusCode::OK, &format!("slept {ms}"))
        }
        Err(reason) => text(StatusCode::BAD_REQUEST, &reason),
    }
}

/// `/stream?chunks=N&interval_ms=M`: N lines `chunk i`, one every M ms.
///
/// ```
/// let timer = lameduck_tokio::Tokio::new();
/// let response = lameduck_examples::routes::stream(&timer, "chunks=2&interval_ms=oops");
/// assert_eq!(response.status(), 400);
/// ```
pub fn stream<T>(timer: &T, query: &str) -> Response<Body>
where
    T: Timer + Clone + Send + 'static,
    T::Sleep: Send + 'static,
{
    let parsed = param(query, "chunks").and_then(|chunks| {
        param(query, "interval_ms").map(|ms| (chunks, Duration::from_millis(ms)))
    });
    match parsed {
        Ok((chunks, interval)) => {
            let mut response = Response::new(Chunks::new(timer.clone(), chunks, interval).boxed());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain"),
            );
            response
        }
        Err(reason) => text(StatusCode::BAD_REQUEST, &reason),
    }
}

/// The whole-number query parameter `name`, or a one-line reason it is not there.
///
/// ```
/// use lameduck_examples::routes::param;
/// assert_eq!(param("ms=20", "ms"), Ok(20));
/// assert_eq!(param("ms=abc", "ms").unwrap_err(), "invalid query parameter ms: abc (expected a whole number)");
/// assert_eq!(param("", "ms").unwrap_err(), "missing query parameter ms");
/// ```
pub fn param(query: &str, name: &str) -> Result<u64, String> {
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
        .ok_or_else(|| format!("missing query parameter {name}"))?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid query parameter {name}: {} (expected a whole number)",
            value.escape_debug()
        ));
    }
    value
        .parse()
        .map_err(|_| format!("invalid query parameter {name}: {value} (too large)"))
}
