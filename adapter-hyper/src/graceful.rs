//! [`Graceful`]: serves one hyper connection under a shutdown.

use crate::{
    connection::drive, counted::ConnState, Closed, Counted, GracefulConnection, Tracked,
    TrackedBody,
};
use core::error::Error as StdError;
use core::time::Duration;
use hyper::{
    body::{Body, Incoming},
    rt::{Read, Write},
    server::conn::{http1, http2},
    service::Service,
    Request, Response,
};
use hyper_util::server::conn::auto;
use lameduck::Timer;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Serves hyper connections under a lameduck shutdown, one call per accepted connection.
///
/// Each connection is counted by the [`Counted`] it is given (a
/// [`ConnectionGuard`](lameduck::ConnectionGuard) from `handle.track()`, or [`Events`](crate::Events)),
/// idle whenever no request is in flight. When draining starts it gets `graceful_shutdown()`
/// at once: an idle HTTP/1 connection closes, a response in flight carries
/// `Connection: close` and then the connection closes, HTTP/2 sends GOAWAY and finishes its
/// open streams. (A connection that has begun no request yet first gets up to 100 ms, at
/// most the grace, to begin one: its request may be waiting in the socket, unread, and
/// would otherwise be closed unanswered.) A connection that stays idle for
/// [`grace`](Self::grace) after that without
/// closing (a peer that never sent a byte, or half a request) is dropped, and every
/// connection still open when the drain is cut is dropped.
///
/// The [`Timer`] is used only for these two waits, so this works on any runtime.
///
/// See the crate's example for a whole server.
///
/// ```
/// use lameduck_hyper::Graceful;
/// let graceful = Graceful::new(lameduck_tokio::TokioTimer::new())
///     .grace(core::time::Duration::from_millis(500));
/// ```
#[derive(Clone, Debug)]
pub struct Graceful<T> {
    timer: T,
    grace: Duration,
}

impl<T: Timer> Graceful<T> {
    /// The idle grace [`Graceful::new`] starts with: 1 s.
    ///
    /// ```
    /// use lameduck_hyper::Graceful;
    /// use lameduck_tokio::TokioTimer;
    /// assert_eq!(Graceful::<TokioTimer>::DEFAULT_GRACE.as_secs(), 1);
    /// ```
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(1);

    /// Serves with `timer` for the idle grace ([`DEFAULT_GRACE`](Self::DEFAULT_GRACE)).
    ///
    /// ```
    /// # fn f<T: lameduck::Timer>(timer: T) {
    /// let graceful = lameduck_hyper::Graceful::new(timer);
    /// # }
    /// ```
    pub fn new(timer: T) -> Graceful<T> {
        Graceful {
            timer,
            grace: Self::DEFAULT_GRACE,
        }
    }

    /// How long a connection may sit idle after draining started without closing before
    /// it is dropped.
    ///
    /// ```
    /// # fn f<T: lameduck::Timer>(timer: T) {
    /// let graceful = lameduck_hyper::Graceful::new(timer)
    ///     .grace(core::time::Duration::from_millis(200));
    /// # }
    /// ```
    pub fn grace(mut self, grace: Duration) -> Graceful<T> {
        self.grace = grace;
        self
    }

    /// The grace in force.
    ///
    /// ```
    /// # fn f<T: lameduck::Timer>(timer: T) {
    /// let graceful = lameduck_hyper::Graceful::new(timer);
    /// assert_eq!(graceful.grace_duration().as_secs(), 1);
    /// # }
    /// ```
    pub fn grace_duration(&self) -> Duration {
        self.grace
    }

    /// The low-level half: wraps `service` to count its requests on the connection
    /// `counted` stands for. Build the connection with the [`Tracked`] service and pass
    /// both to [`serve`](Self::serve).
    ///
    /// ```
    /// # fn f<T: lameduck::Timer, S>(graceful: lameduck_hyper::Graceful<T>, service: S, handle: lameduck::Handle) {
    /// let tracked = graceful.track(service, handle.track().unwrap());
    /// # }
    /// ```
    pub fn track<S>(&self, service: S, counted: impl Counted) -> Tracked<S> {
        Tracked::new(service, ConnState::new(counted))
    }

    /// The low-level half: drives `conn`, built with `tracked`, to its end under the
    /// shutdown (see the type's docs).
    ///
    /// With hyper-util's auto connections, which borrow their builder, call `into_owned()`
    /// first if the compiler cannot prove the spawned future `Send` ("implementation of
    /// `GracefulConnection` is not general enough", rust-lang/rust#110338) — or use
    /// [`serve_auto`](Self::serve_auto), which does.
    ///
    /// # Errors
    ///
    /// The connection's error, if it failed before draining started. Errors after that are
    /// expected (peers reset, protocol detection cancelled) and end in [`Closed::Drained`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection (and uncounts it, once hyper has dropped
    /// the responses in flight).
    ///
    /// ```no_run
    /// use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
    /// use hyper_util::rt::TokioIo;
    /// # async fn f(io: tokio::net::TcpStream, handle: lameduck::Handle) {
    /// let graceful = lameduck_hyper::Graceful::new(lameduck_tokio::TokioTimer::new());
    /// let service = service_fn(|_: Request<Incoming>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::from("ok")))
    /// });
    /// let tracked = graceful.track(service, handle.track().unwrap());
    /// let conn = http1::Builder::new().serve_connection(TokioIo::new(io), tracked.clone());
    /// let closed = graceful.serve(&tracked, conn).await;
    /// # }
    /// ```
    pub async fn serve<S, C>(&self, tracked: &Tracked<S>, conn: C) -> Result<Closed, C::Error>
    where
        C: GracefulConnection,
    {
        let state = tracked.state();
        drive(conn, C::graceful_shutdown, state, &self.timer, self.grace).await
    }

    /// Serves `io` with hyper-util's auto builder — HTTP/1.1 and HTTP/2 (prior knowledge)
    /// on one port, with upgrades — under the shutdown.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    ///
    /// # Cancel safety
    ///
    /// As [`serve`](Self::serve).
    ///
    /// ```no_run
    /// use hyper::{body::Incoming, service::service_fn, Request, Response};
    /// use hyper_util::rt::{TokioExecutor, TokioIo};
    /// # async fn f(io: tokio::net::TcpStream, handle: lameduck::Handle) {
    /// let graceful = lameduck_hyper::Graceful::new(lameduck_tokio::TokioTimer::new());
    /// let service = service_fn(|_: Request<Incoming>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::from("ok")))
    /// });
    /// let Some(guard) = handle.track() else { return };
    /// let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    /// let closed = graceful.serve_auto(&builder, TokioIo::new(io), service, guard).await;
    /// # }
    /// ```
    pub async fn serve_auto<I, S, B, E>(
        &self,
        builder: &auto::Builder<E>,
        io: I,
        service: S,
        counted: impl Counted,
    ) -> Result<Closed, BoxError>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone,
        S::Future: 'static,
        S::Error: Into<BoxError>,
        B: Body + 'static,
        B::Error: Into<BoxError>,
        I: Read + Write + Unpin + Send + 'static,
        E: auto::HttpServerConnExec<crate::TrackedFuture<S::Future>, TrackedBody<B>>
            + Clone
            + 'static,
    {
        let tracked = self.track(service, counted);
        // A client that sends its request and shuts down its write side (`nc -N`, some
        // HTTP/1.0 clients) is still answered: hyper's default closes at the read EOF.
        let mut builder = builder.clone();
        builder.http1().half_close(true);
        // Owned, so the future does not borrow the builder (which also keeps the compiler's
        // `Send` check of the caller's future free of the builder's lifetime).
        let conn = builder
            .serve_connection_with_upgrades(io, tracked.clone())
            .into_owned();
        let shutdown = auto::UpgradeableConnection::graceful_shutdown;
        drive(conn, shutdown, tracked.state(), &self.timer, self.grace).await
    }

    /// Serves `io` with hyper's HTTP/1 builder, with upgrades, under the shutdown.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    ///
    /// # Cancel safety
    ///
    /// As [`serve`](Self::serve).
    ///
    /// ```no_run
    /// use hyper::{body::Incoming, service::service_fn, Request, Response};
    /// use hyper_util::rt::{TokioExecutor, TokioIo};
    /// # async fn f(io: tokio::net::TcpStream, handle: lameduck::Handle) {
    /// let graceful = lameduck_hyper::Graceful::new(lameduck_tokio::TokioTimer::new());
    /// let service = service_fn(|_: Request<Incoming>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::from("ok")))
    /// });
    /// let Some(guard) = handle.track() else { return };
    /// let builder = hyper::server::conn::http1::Builder::new();
    /// let closed = graceful.serve_http1(&builder, TokioIo::new(io), service, guard).await;
    /// # }
    /// ```
    pub async fn serve_http1<I, S, B>(
        &self,
        builder: &http1::Builder,
        io: I,
        service: S,
        counted: impl Counted,
    ) -> Result<Closed, hyper::Error>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone,
        S::Error: Into<BoxError>,
        B: Body + 'static,
        B::Error: Into<BoxError>,
        I: Read + Write + Unpin + Send + 'static,
    {
        let tracked = self.track(service, counted);
        let conn = builder
            .serve_connection(io, tracked.clone())
            .with_upgrades();
        let shutdown = http1::UpgradeableConnection::graceful_shutdown;
        drive(conn, shutdown, tracked.state(), &self.timer, self.grace).await
    }

    /// Serves `io` with hyper's HTTP/2 builder under the shutdown.
    ///
    /// # Errors
    ///
    /// As [`serve`](Self::serve).
    ///
    /// # Cancel safety
    ///
    /// As [`serve`](Self::serve).
    ///
    /// ```no_run
    /// use hyper::{body::Incoming, service::service_fn, Request, Response};
    /// use hyper_util::rt::{TokioExecutor, TokioIo};
    /// # async fn f(io: tokio::net::TcpStream, handle: lameduck::Handle) {
    /// let graceful = lameduck_hyper::Graceful::new(lameduck_tokio::TokioTimer::new());
    /// let service = service_fn(|_: Request<Incoming>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::from("ok")))
    /// });
    /// let Some(guard) = handle.track() else { return };
    /// let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    /// let closed = graceful.serve_http2(&builder, TokioIo::new(io), service, guard).await;
    /// # }
    /// ```
    pub async fn serve_http2<I, S, B, E>(
        &self,
        builder: &http2::Builder<E>,
        io: I,
        service: S,
        counted: impl Counted,
    ) -> Result<Closed, hyper::Error>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone,
        S::Error: Into<BoxError>,
        B: Body + 'static,
        B::Error: Into<BoxError>,
        I: Read + Write + Unpin,
        E: hyper::rt::bounds::Http2ServerConnExec<crate::TrackedFuture<S::Future>, TrackedBody<B>>,
    {
        let tracked = self.track(service, counted);
        let conn = builder.serve_connection(io, tracked.clone());
        let shutdown = http2::Connection::graceful_shutdown;
        drive(conn, shutdown, tracked.state(), &self.timer, self.grace).await
    }
}
