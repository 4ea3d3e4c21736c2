//! gRPC under a shutdown: [`health`], tonic-health's reporter driven by the phases, and
//! [`EndStreams`], which ends the streams still open when draining starts with status
//! `UNAVAILABLE` (the client retries elsewhere) instead of holding the drain.
//!
//! tonic's services are plain `tower` services: route requests with `content-type:
//! application/grpc` to them and serve everything with [`serve`](crate::serve) on one port.
//! A stream ended by the drain is not a cut; unary calls in flight complete.

use crate::EndAtDrain;
use core::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};
use http_body::{Body, Frame};
use hyper::{header::HeaderValue, HeaderMap, Request, Response};
use lameduck::{Handle, Phase};
use tonic_health::{server::HealthReporter, ServingStatus};

/// The `grpc-status` a stream ended by the drain carries: 14, `UNAVAILABLE`.
pub const UNAVAILABLE: &str = "14";

/// Drives `reporter` by the phases of `handle`'s shutdown: the overall service `""` and
/// each of `services` are `SERVING` now, and `NOT_SERVING` from the first signal on (the
/// lame duck included). An open `Watch` receives the change at once; to end the `Watch`
/// streams when draining starts, serve the health service inside [`EndStreams`].
///
/// Spawn it on the runtime the server runs on; it completes once the statuses are
/// `NOT_SERVING`.
///
/// ```no_run
/// # async fn f(runtime: lameduck_tokio::Tokio) {
/// use lameduck::runtime::Runtime;
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let (reporter, health_service) = tonic_health::server::health_reporter();
/// runtime.spawn(lameduck_hyper::grpc::health(shutdown.handle(), reporter, ["lameduck.demo.v1.Demo"]));
/// # }
/// ```
///
/// # Cancel safety
///
/// Cancel-safe: dropping it stops following the phases (the statuses stay as they are).
pub async fn health<I>(handle: Handle, reporter: HealthReporter, services: I)
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut names: Vec<String> = vec![String::new()];
    names.extend(services.into_iter().map(|name| name.as_ref().to_owned()));
    for name in &names {
        reporter
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    handle.reached(Phase::LameDuck).await;
    for name in &names {
        reporter
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
}

/// A gRPC service (tonic's `Routes`, one tonic server, any `tower` service answering gRPC)
/// whose response streams still open when draining starts end at once with status
/// `UNAVAILABLE` (trailers `grpc-status: 14`, `grpc-message: server draining`) — a
/// server-streaming call, a health `Watch` — so that they do not hold the drain. What the
/// service already produced is sent first, so a unary call in flight completes.
///
/// ```
/// # fn f<S>(grpc: S) {
/// // `grpc`: tonic's `Routes` of the application's services and the health service.
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let grpc = lameduck_hyper::grpc::EndStreams::new(grpc, shutdown.handle());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct EndStreams<S> {
    inner: S,
    handle: Handle,
}

impl<S> EndStreams<S> {
    /// `inner`, its streams ended when `handle`'s shutdown starts draining.
    ///
    /// ```
    /// # fn f<S>(service: S) {
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let _grpc = lameduck_hyper::grpc::EndStreams::new(service, shutdown.handle());
    /// # }
    /// ```
    pub fn new(inner: S, handle: Handle) -> EndStreams<S> {
        EndStreams { inner, handle }
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for EndStreams<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<EndAtDrain<ResBody>>;
    type Error = S::Error;
    type Future = EndStreamsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        EndStreamsFuture {
            future: self.inner.call(request),
            handle: Some(self.handle.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// [`EndStreams`]' response future.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner service's future.
    pub struct EndStreamsFuture<F> {
        #[pin]
        future: F,
        handle: Option<Handle>,
    }
}

impl<F> core::fmt::Debug for EndStreamsFuture<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EndStreamsFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for EndStreamsFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<EndAtDrain<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        let draining = this.handle.take().map(|handle| handle.draining());
        Poll::Ready(result.map(|response| {
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", HeaderValue::from_static(UNAVAILABLE));
            trailers.insert("grpc-message", HeaderValue::from_static("server draining"));
            // What the service has is sent first: a unary answer completes.
            response.map(|body| {
                EndAtDrain::ending(body, draining, Some(Frame::trailers(trailers)), true)
            })
        }))
    }
}
