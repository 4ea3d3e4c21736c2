//! [`ShutdownLayer`]: lameduck for servers it does not run (`axum::serve`, tonic's own
//! transport, axum-server), as a tower layer.
//!
//! Such a server accepts and closes its connections itself, with no hook per connection for
//! lameduck to count. The layer sees requests, so a request stands for a connection: each
//! one is counted on the shutdown's tracker (a [`lameduck::events::OwnedGuard`], no
//! allocation) from the call until its response body ends or is dropped, so the drain waits
//! for every response in flight, a streamed one included. [`lameduck::Shutdown::run`]
//! drives the phases; the server's own graceful shutdown starts on
//! [`lameduck::Handle::draining`], and a [`lameduck::events::Hold`] taken before serving and
//! dropped when the server's graceful future ends keeps the drain open until the server has
//! closed its connections too.
//!
//! What the server's own accept loop does, not lameduck's, and so what the layer cannot:
//!
//! - close the listener at the drain (axum's graceful shutdown does, at once), hand it to
//!   a successor or take it from systemd (pass the listener you inherited);
//! - close idle keep-alive connections at the drain and tell HTTP/2 connections GOAWAY
//!   (the server's graceful shutdown does what it does: axum's closes idle HTTP/1
//!   connections and sends GOAWAY, at the drain, not from the first signal);
//! - drop a connection that is silent or stalled in its request header: axum's graceful
//!   shutdown waits for it, so a hold on that future keeps the drain open to its deadline;
//! - see a write blocked on a client that does not read: a response is over for the layer
//!   when its body has ended, not when its bytes left (the hold covers it only as long as
//!   the server's graceful future waits for its connections);
//! - cut what is left at the drain deadline: the report says so (exit code 2), and the
//!   process exits with the connections still open;
//! - count an idle connection: the snapshot shows requests in flight as busy connections,
//!   never an idle one.

pub use crate::service::ResponseBody;
use crate::{goodbye::Kind, service::Count};
use core::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};
use http_body::Body;
use hyper::{Request, Response};
use lameduck::{events::OwnedGuard, Handle};

/// A tower layer that counts each request on a lameduck shutdown until its response body
/// ends, adds `connection: close` to HTTP/1 responses from the first signal on (the lame
/// duck included), and puts the shutdown's [`Handle`] in every request's extensions (and a
/// [`lameduck::Connection`] in each upgrade request's, which the upgraded connection keeps
/// counted until it drops it, and whose `draining` tells it when to say goodbye).
///
/// For servers lameduck does not run; with [`serve`](crate::serve) nothing of this is
/// needed. See the [module](crate::layer) for what a foreign accept loop cannot do.
///
/// # Cost
///
/// Measured per request on `GET /` against the same router bare (`benches/axum_layer.rs`):
/// 2–4 % around a whole router, as a server that takes any tower service runs it
/// (`ShutdownLayer::new(handle).layer(router)` for hyper-util or axum-server); 8–12 % through
/// axum's `Router::layer`, which `axum::serve` needs (it takes only axum's response body), of
/// which `Router::layer` itself takes 2–5 %: it boxes the layered route, and the counted
/// response body into axum's.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use lameduck::{Config, Report, Shutdown};
/// use lameduck_hyper::ShutdownLayer;
///
/// #[tokio::main]
/// async fn main() -> Report {
///     let shutdown = Shutdown::new(Config::new()).expect("valid config");
///     let handle = shutdown.handle();
///     let app = Router::new()
///         .route("/", get(|| async { "hello" }))
///         .layer(ShutdownLayer::new(handle.clone()));
///     let runtime = lameduck_tokio::Tokio::new();
///     // Before serving: a signal from now on is a shutdown request.
///     let signals = lameduck::runtime::Runtime::signals(&runtime, handle.config().listened_signals())
///         .expect("signal handlers");
///     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.expect("port free");
///     // Keeps the drain open until axum has closed its connections.
///     let hold = handle.hold();
///     tokio::spawn(async move {
///         let _ = axum::serve(listener, app)
///             .with_graceful_shutdown(handle.draining())
///             .await;
///         drop(hold);
///     });
///     shutdown.run(runtime, signals).await
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ShutdownLayer {
    handle: Handle,
}

impl ShutdownLayer {
    /// The layer for the shutdown `handle` observes.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let _layer = lameduck_hyper::ShutdownLayer::new(shutdown.handle());
    /// ```
    pub fn new(handle: Handle) -> ShutdownLayer {
        ShutdownLayer { handle }
    }
}

impl<S> tower_layer::Layer<S> for ShutdownLayer {
    type Service = ShutdownService<S>;

    fn layer(&self, inner: S) -> ShutdownService<S> {
        ShutdownService {
            inner,
            handle: self.handle.clone(),
        }
    }
}

/// `inner`, its requests counted on a lameduck shutdown. Made by [`ShutdownLayer`].
///
/// ```
/// use tower_layer::Layer;
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let router: axum::Router = axum::Router::new();
/// let _counted = lameduck_hyper::ShutdownLayer::new(shutdown.handle()).layer(router);
/// ```
#[derive(Clone, Debug)]
pub struct ShutdownService<S> {
    inner: S,
    handle: Handle,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for ShutdownService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // None once the drain has completed: the request is still served (nothing is
        // refused that the server let in), uncounted.
        let guard = self.handle.guard();
        let kind = Kind::of(&request);
        // An upgraded connection outlives its request: its own counted connection, which
        // the handler moves into the upgraded task (allocated only for upgrades).
        if let Kind::Upgrade { .. } = kind {
            if let Some(connection) = self.handle.connection() {
                request.extensions_mut().insert(connection);
            }
        }
        request.extensions_mut().insert(self.handle.clone());
        ResponseFuture {
            future: self.inner.call(request),
            guard,
            closable: kind == Kind::Closable,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ShutdownService`]: the request stays counted until the
    /// body it yields ends.
    ///
    /// # Cancel safety
    ///
    /// Dropping it ends the request's count: nothing is lost.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        guard: Option<OwnedGuard>,
        // Whether the response may say goodbye with `connection: close` (plain HTTP/1).
        closable: bool,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        let guard = this.guard.take();
        Poll::Ready(result.map(|mut response| {
            // No guard: the drain has completed, so goodbye. The rule (which requests,
            // from which phase per `Config::goodbye`) is `lameduck_hyper::serve`'s own.
            let goodbye = guard
                .as_ref()
                .is_none_or(|guard| guard.handle().says_goodbye());
            if *this.closable && goodbye {
                crate::goodbye::close_after(&mut response);
            }
            response.map(|body| ResponseBody::new(body, guard.map(Count::Guard), None))
        }))
    }
}
