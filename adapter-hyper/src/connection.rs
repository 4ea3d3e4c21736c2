//! [`serve_connection`]: one connection served by hyper under a shutdown — counted with its
//! requests, told to finish when draining starts, dropped when the drain is cut.

use crate::{io::Counted, service::Counting, shared::Conn};
use core::{
    future::{poll_fn, Future},
    pin::pin,
    sync::atomic::{AtomicBool, Ordering},
    task::Poll,
    time::Duration,
};
use futures_util::future::{select, Either};
use http_body::Body;
use hyper::{
    body::Incoming,
    rt::{Read, Write},
    Request, Response,
};
use hyper_util::{server::conn::auto, service::TowerToHyperService};
use lameduck::{runtime::Runtime, Connection};
use std::sync::Arc;

pub(crate) type BoxError = Box<dyn core::error::Error + Send + Sync>;

/// How long a connection may sit idle, after draining started, without closing (a peer that
/// never sent a byte, or half a request) before it is dropped.
const IDLE_GRACE: Duration = Duration::from_secs(1);

/// How long a connection that has sent nothing yet when the drain starts may take to send
/// its first bytes before it is closed.
const FIRST_BYTES_GRACE: Duration = Duration::from_millis(250);

/// hyper spawns HTTP/2 streams (and upgrades' work) on the runtime.
#[derive(Clone)]
struct Exec<R>(R);

impl<R: Runtime, F: Future<Output = ()> + Send + 'static> hyper::rt::Executor<F> for Exec<R> {
    fn execute(&self, future: F) {
        self.0.spawn(future);
    }
}

/// Serves one connection with `service` until it ends, under the shutdown `connection`
/// belongs to: HTTP/1.1 (with upgrades, and half-closed peers answered) and HTTP/2 with
/// prior knowledge, told apart by the first bytes.
///
/// For servers with an accept loop of their own (TLS handshakes, say); [`serve`](crate::serve)
/// calls it for each connection it accepts.
///
/// - The connection stays counted while anything of it lives: hyper's connection, a response
///   body being sent, or the socket handed to an upgrade (`101`, WebSocket) — the upgraded
///   socket is counted until the handler drops it, and fails (reads and writes return
///   `ConnectionAborted`) once the drain is cut. No handler code is needed for that; to say
///   goodbye first, the handler of an upgrade request finds the [`Connection`] in the
///   request's extensions and awaits [`going_away`](Connection::going_away).
/// - It is busy while a request is in flight (from the service call until the response body
///   ends) or a write is blocked on a peer that does not read; idle otherwise.
/// - When draining starts it gets hyper's graceful shutdown at once: an idle HTTP/1
///   connection closes, a response in flight carries `Connection: close`, HTTP/2 sends
///   GOAWAY and finishes its open streams. An HTTP/1 connection that stays idle for a short
///   grace (1 s) without closing — a peer that never sent a request, or half of one — is
///   dropped. A busy one is waited for.
/// - When the drain is cut (deadline, second signal) it is dropped.
///
/// # Cancel safety
///
/// Dropping the future drops the connection (the client sees it closed).
///
/// ```no_run
/// use lameduck::{Config, runtime::{Network, Runtime}, Shutdown};
/// use lameduck_tokio::Tokio;
/// # async fn f(service: axum::Router) -> std::io::Result<()> {
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let runtime = Tokio::new();
/// let mut acceptor = runtime.listen(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
/// let stream = std::future::poll_fn(|cx| runtime.poll_accept(&mut acceptor, cx)).await?;
/// // (a TLS handshake on `stream` would go here)
/// if let Some(connection) = shutdown.handle().connection() {
///     runtime.spawn(lameduck_hyper::serve_connection(runtime, stream, connection, service));
/// }
/// # Ok(()) }
/// ```
pub fn serve_connection<R, I, S, B>(
    runtime: R,
    io: I,
    connection: Connection,
    service: S,
) -> impl Future<Output = ()> + Send + 'static
where
    R: Runtime,
    I: Read + Write + Send + Unpin + 'static,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let conn = Arc::new(Conn {
        connection,
        http2: AtomicBool::new(false),
        heard: AtomicBool::new(false),
    });
    async move {
        let mut builder = auto::Builder::new(Exec(runtime.clone()));
        // A peer that shut its write side after the request still reads the answer.
        builder.http1().half_close(true);
        let service = Counting::new(TowerToHyperService::new(service), conn.clone());
        let io = Counted::new(io, conn.clone());
        let served = builder.serve_connection_with_upgrades(io, service);
        let connection = &conn.connection;
        let mut served = pin!(served);
        match select(served.as_mut(), connection.going_away()).await {
            // Ended on its own (the peer closed, or it was upgraded), or failed.
            Either::Left(_) => return,
            Either::Right(((), _)) => {}
        }
        // A connection the drain finds silent may have been accepted a moment ago, its
        // request on the way or unread in the socket: it gets a short grace for its first
        // bytes, so that it is answered rather than closed unheard.
        if !conn.heard.load(Ordering::Relaxed) {
            let mut grace = pin!(runtime.sleep(FIRST_BYTES_GRACE));
            let ended = poll_fn(|cx| {
                if served.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(true);
                }
                // Read inside the poll above: checked after it, nothing is missed.
                if conn.heard.load(Ordering::Relaxed) || grace.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
                Poll::Pending
            })
            .await;
            if ended {
                return;
            }
        }
        // hyper-util's auto builder only sets a flag when it is still detecting the
        // protocol (nothing read yet) and wakes no one: the `select` below polls the
        // connection again at once, which is what makes a silent connection close now
        // rather than at the deadline.
        served.as_mut().graceful_shutdown();
        let idle_past_grace = async {
            loop {
                connection.idle().await;
                runtime.sleep(IDLE_GRACE).await;
                if conn.http2.load(Ordering::Relaxed) {
                    // Waited for until it closes, or the drain is cut.
                    core::future::pending::<()>().await;
                }
                if connection.is_idle() {
                    return;
                }
            }
        };
        let _ = select(served, select(connection.cut(), pin!(idle_past_grace))).await;
    }
}
