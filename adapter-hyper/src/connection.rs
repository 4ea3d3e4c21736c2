//! Connection futures that can be shut down gracefully, and how one is driven under a
//! shutdown: graceful shutdown when draining starts, dropped when the drain is cut, and
//! dropped after a short grace if it sits idle meanwhile.

use crate::counted::ConnState;
use core::error::Error as StdError;
use core::{future::Future, pin::Pin, time::Duration};
use futures_util::future::{select, Either};
use hyper::{
    body::{Body, Incoming},
    rt::{Read, Write},
    service::{HttpService, Service},
    Request, Response,
};
use hyper_util::server::conn::auto;
use lameduck::{Phase, Timer};
use std::sync::Arc;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A connection future that can be asked to finish gracefully: hyper's and hyper-util's
/// server connections.
///
/// `graceful_shutdown` must make the connection stop taking new requests and complete once
/// the ones in flight are answered (HTTP/1: no keep-alive, idle connections close at once;
/// HTTP/2: GOAWAY).
///
/// ```
/// fn takes<C: lameduck_hyper::GracefulConnection>(_: C) {}
/// ```
pub trait GracefulConnection: Future<Output = Result<(), Self::Error>> {
    /// What the connection fails with.
    type Error;

    /// Starts the graceful shutdown; the future must still be polled to its end.
    ///
    /// ```
    /// use lameduck_hyper::GracefulConnection;
    /// fn finish_soon<C: GracefulConnection>(conn: core::pin::Pin<&mut C>) {
    ///     conn.graceful_shutdown();
    /// }
    /// ```
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, B, S> GracefulConnection for hyper::server::conn::http1::Connection<I, S>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: Read + Write + Unpin,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    type Error = hyper::Error;

    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self);
    }
}

impl<I, B, S> GracefulConnection for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: Read + Write + Unpin + Send + 'static,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    type Error = hyper::Error;

    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

impl<I, B, S, E> GracefulConnection for hyper::server::conn::http2::Connection<I, S, E>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: Read + Write + Unpin,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    type Error = hyper::Error;

    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http2::Connection::graceful_shutdown(self);
    }
}

impl<I, S, E, B> GracefulConnection for auto::Connection<'_, I, S, E>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    I: Read + Write + Unpin + 'static,
    E: auto::HttpServerConnExec<S::Future, B>,
{
    type Error = BoxError;

    fn graceful_shutdown(self: Pin<&mut Self>) {
        auto::Connection::graceful_shutdown(self);
    }
}

impl<I, S, E, B> GracefulConnection for auto::UpgradeableConnection<'_, I, S, E>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    I: Read + Write + Unpin + Send + 'static,
    E: auto::HttpServerConnExec<S::Future, B>,
{
    type Error = BoxError;

    fn graceful_shutdown(self: Pin<&mut Self>) {
        auto::UpgradeableConnection::graceful_shutdown(self);
    }
}

/// How a connection served under a shutdown ended.
///
/// ```
/// use lameduck_hyper::Closed;
/// assert_ne!(Closed::Finished, Closed::Cut);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Closed {
    /// It ended on its own before draining started (the peer closed, or it was upgraded).
    Finished,
    /// Draining started; it finished what was in flight and closed (errors after that
    /// point, such as a peer reset or a cancelled protocol detection, also count here).
    Drained,
    /// Draining started and it sat idle past the grace without closing (a peer that never
    /// sent a byte, or half a request): it was dropped.
    Idle,
    /// The drain was cut (deadline, second signal) while it was open: it was dropped.
    Cut,
}

/// How long a connection that has begun no request when draining starts gets to begin one
/// (its request may already wait in the socket, unread) before it is shut down.
const FIRST_REQUEST: Duration = Duration::from_millis(100);

/// Drives `conn` to its end under the shutdown `state` belongs to.
///
/// `shutdown` is `graceful_shutdown` (a function rather than a [`GracefulConnection`] bound:
/// going through the trait trips the compiler's `Send` check of the caller's future on
/// connections that carry a lifetime, rust-lang/rust#110338).
pub(crate) async fn drive<C, E, T>(
    conn: C,
    shutdown: fn(Pin<&mut C>),
    state: Arc<ConnState>,
    timer: &T,
    grace: Duration,
) -> Result<Closed, E>
where
    C: Future<Output = Result<(), E>>,
    T: Timer,
{
    let handle = state.handle().clone();
    let mut conn = core::pin::pin!(conn);
    let going_away = handle.draining();
    match select(conn.as_mut(), going_away).await {
        Either::Left((result, _)) => return result.map(|()| Closed::Finished),
        Either::Right(((), _)) => {}
    }
    // A connection with no request begun yet may have one waiting in its socket: one the
    // accept loop took from the backlog at the drain, or one accepted just before it on a
    // runtime whose first read waits for the reactor to report the socket (tokio). Shut
    // down now, hyper-util's auto connection would cancel its protocol detection and close
    // it unanswered; so it gets a short while (at most the grace) to begin its request.
    if !state.has_started() {
        let first = core::pin::pin!(state.wait_started());
        let wait = core::pin::pin!(timer.sleep(grace.min(FIRST_REQUEST)));
        let cut = handle.reached(Phase::Hooks);
        match select(conn.as_mut(), select(cut, select(first, wait))).await {
            Either::Left((_result, _)) => return Ok(Closed::Drained),
            Either::Right((Either::Left(..), _)) => return Ok(Closed::Cut),
            Either::Right((Either::Right(..), _)) => {}
        }
    }
    // hyper-util's auto builder only sets a flag when it is still detecting the protocol
    // (nothing read yet) and wakes no one: the `select` below polls the connection again at
    // once, which is what makes a silent connection close now rather than at the deadline.
    shutdown(conn.as_mut());
    let idle_past_grace = async {
        loop {
            state.wait_idle().await;
            timer.sleep(grace).await;
            if state.in_flight() == 0 {
                return;
            }
        }
    };
    let cut = handle.reached(Phase::Hooks);
    let idle_past_grace = core::pin::pin!(idle_past_grace);
    let ended = select(conn, select(cut, idle_past_grace));
    Ok(match ended.await {
        Either::Left((_result, _)) => Closed::Drained,
        Either::Right((Either::Left(..), _)) => Closed::Cut,
        Either::Right((Either::Right(..), _)) => Closed::Idle,
    })
}
