//! [`serve_connection`]: one connection served by hyper under a shutdown — counted with its
//! requests, told to finish when draining starts, dropped when the drain is cut.

use crate::{io::Counted, service::Counting, shared::Conn};
use core::{
    future::{poll_fn, Future},
    pin::pin,
    sync::atomic::Ordering,
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

/// How long a connection may sit idle without closing before it is dropped: after draining
/// started (a peer that never sent a byte, or half a request), or after its HTTP/2 GOAWAY
/// (a peer that never answers the GOAWAY's PING).
const IDLE_GRACE: Duration = Duration::from_secs(1);

/// How long a connection that has sent nothing yet when the drain starts may take to send
/// its first bytes before it is closed.
const FIRST_BYTES_GRACE: Duration = Duration::from_millis(250);

/// After a hand-over to a successor (which serves the same port), how long an idle HTTP/1
/// connection stays open for its client's next request, answered with `connection: close`,
/// before it is closed. Closing it at once raced the client about to reuse it: every
/// keep-alive client lost one request per upgrade. A client silent for the whole window is
/// closed (its next request goes to a new connection, which the successor takes).
const HANDOVER_GOODBYE: Duration = Duration::from_secs(1);

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
/// For servers with an accept loop of their own; [`serve`](crate::serve) calls it for each
/// connection it accepts. With TLS (feature `tls`), the handshake goes first:
/// `lameduck_hyper::tls::Tls::handshake`, as below.
///
/// - The connection stays counted while anything of it lives: hyper's connection, a response
///   body being sent, or the socket handed to an upgrade (`101`, WebSocket) — the upgraded
///   socket is counted until the handler drops it, and fails (reads and writes return
///   `ConnectionAborted`) once the drain is cut. No handler code is needed for that; to say
///   goodbye first, the handler of an upgrade request finds the [`Connection`] in the
///   request's extensions and awaits [`draining`](Connection::draining).
/// - It is busy while a request is in flight (from the service call until the response body
///   ends) or a write is blocked on a peer that does not read; idle otherwise.
/// - From the goodbye on (`lameduck::Config::goodbye`: the first signal by default, so
///   the lame duck included, while the listener still accepts) it tells its peer to leave
///   but goes on serving: every HTTP/1.1 response carries `connection: close` (hyper closes
///   the connection after it), and an HTTP/2 connection is sent the graceful GOAWAY (at once,
///   or at its first request if the goodbye found it still silent). An idle HTTP/1
///   keep-alive connection is left open through the lame duck: closing it would race a
///   client about to reuse it, which is what the goodbye avoids; its next response tells it.
///   An HTTP/2 connection is closed once it has been idle for a second after its GOAWAY
///   when its peer has written nothing since (so never answered the GOAWAY's PING, which
///   h2 would wait for without a bound), and it counts as drained; a peer that answered is
///   left to h2, which closes the connection once its streams are done (flow-controlled
///   response bytes included).
/// - When draining starts it gets hyper's graceful shutdown at once (if not sent already):
///   an idle HTTP/1 connection closes, a response in flight carries `Connection: close`.
///   A connection that stays idle for a short grace (1 s) without closing — a peer that
///   never sent a request, or half of one, or an HTTP/2 peer that never answers the PING —
///   is dropped. A busy one is waited for.
/// - When the drain is cut (deadline, second signal) it is dropped.
/// - Every close lingers: after the last answer and the end of the write side, what the
///   peer still sends (pipelined requests that will not be answered) is read and dropped
///   until the peer closes or has been quiet for 250 ms, so that late bytes cannot make the
///   kernel reset the connection and destroy answers the peer has not read yet. The
///   connection is busy meanwhile. A client that closes on end of stream (hyper's pool,
///   browsers, proxies) ends it at once; an idle connection whose client was silent for
///   250 ms of the lame duck is closed at the drain without it.
///
/// # Cancel safety
///
/// Dropping the future drops the connection (the client sees it closed).
///
/// ```no_run
/// use lameduck::{accept, Config, Shutdown, runtime::Network};
/// use lameduck_hyper::rt::HyperIo;
/// use lameduck_tokio::Tokio;
/// # async fn f(service: axum::Router) -> std::io::Result<()> {
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let runtime = Tokio::new();
/// let acceptor = runtime.listen(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
/// let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
/// tokio::spawn(accept::serve(runtime, acceptor, handle, trigger, move |stream, connection| {
///     let service = service.clone();
///     async move {
///         // (a TLS handshake on `stream` would go here, on the connection's own task)
///         lameduck_hyper::serve_connection(runtime, stream.hyper_io(), connection, service).await
///     }
/// }));
/// # Ok(()) }
/// ```
///
/// Over TLS (feature `tls`):
///
/// ```no_run
/// # #[cfg(feature = "tls")]
/// # async fn f(service: axum::Router) -> std::io::Result<()> {
/// use lameduck::{accept, runtime::Network, Config, Shutdown};
/// use lameduck_hyper::{rt::HyperIo, tls::Tls};
/// use lameduck_tokio::Tokio;
///
/// let tls = Tls::from_pem_files("cert.pem", "key.pem").expect("a certificate and its key");
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let runtime = Tokio::new();
/// let acceptor = runtime.listen(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
/// let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
/// tokio::spawn(accept::serve(runtime, acceptor, handle, trigger, move |stream, connection| {
///     let (service, tls) = (service.clone(), tls.clone());
///     async move {
///         // Bounded by the handshake timeout, given up when draining starts.
///         if let Ok(stream) = tls.handshake(&runtime, stream.hyper_io(), &connection).await {
///             lameduck_hyper::serve_connection(runtime, stream, connection, service).await;
///         }
///     }
/// }));
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
    let conn = Arc::new(Conn::new(connection));
    async move {
        let mut builder = auto::Builder::new(Exec(runtime.clone()));
        // A peer that shut its write side after the request still reads the answer.
        builder.http1().half_close(true);
        let service = Counting::new(TowerToHyperService::new(service), conn.clone());
        let io = Counted::new(io, conn.clone(), runtime.clone());
        let served = builder.serve_connection_with_upgrades(io, service);
        let connection = &conn.connection;
        let mut served = pin!(served);
        // Running, until the goodbye (the first signal by default).
        match select(served.as_mut(), connection.goodbye()).await {
            // Ended on its own (the peer closed, or it was upgraded), or failed.
            Either::Left(_) => return,
            Either::Right(((), _)) => {}
        }
        // From now on `spoke` says whether the peer wrote since the goodbye: one that stays
        // silent through a linger's length of the lame duck is closed at the drain without
        // lingering (see `io::Counted`).
        conn.spoke.store(false, Ordering::Relaxed);
        let goodbye_at = runtime.now();
        // From the goodbye on, an HTTP/2 connection that went `idle_for` a second after its
        // GOAWAY (no stream in flight, no write blocked) is closed, whether or not its peer
        // answered the GOAWAY's PING (h2 waits for that answer without a bound). Polled only
        // once the GOAWAY is sent; at the drain it bounds every idle connection.
        let mut idle = pin!(idle_for(&runtime, &conn, IDLE_GRACE));
        let mut told = false;
        // The goodbye until the drain: HTTP/1 responses say `connection: close` (the counting
        // service sees to it) and an idle HTTP/1 connection is left alone, as closing it
        // would race its client about to reuse it; an HTTP/2 connection gets GOAWAY once it
        // is known to be one (now, or at its first request). With the goodbye at the drain
        // (`Goodbye::Drain`) this ends at once.
        let mut draining = pin!(connection.draining());
        let draining = poll_fn(|cx| {
            if served.as_mut().poll(cx).is_ready() {
                return Poll::Ready(false);
            }
            if !told && conn.http2.load(Ordering::Relaxed) {
                told = true;
                // From now on `heard` says whether the peer wrote after the GOAWAY (see
                // `idle_for`).
                conn.heard.store(false, Ordering::Relaxed);
                served.as_mut().graceful_shutdown();
                // Polled again for the GOAWAY to be written: graceful_shutdown wakes no one.
                if served.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
            }
            if told && idle.as_mut().poll(cx).is_ready() {
                return Poll::Ready(false);
            }
            if draining.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            Poll::Pending
        })
        .await;
        if !draining {
            return;
        }
        // A connection the drain finds silent may have been accepted a moment ago, its
        // request on the way or unread in the socket: it gets a short grace for its first
        // bytes, so that it is answered rather than closed unheard. One already open and
        // silent for that long since the goodbye (through the lame duck: a preconnected
        // socket that never asked) had its grace: it is closed now.
        let young = runtime.now().saturating_sub(goodbye_at) < FIRST_BYTES_GRACE;
        if !told && !conn.heard.load(Ordering::Relaxed) && young {
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
        // After a hand-over an HTTP/1 connection is not closed under its client: its next
        // response says `connection: close` (the goodbye holds while draining), and hyper
        // closes it once written. Only one still idle after the window is closed here.
        if !told && conn.connection.handed_over() {
            let mut window = pin!(runtime.sleep(HANDOVER_GOODBYE));
            let mut cut = pin!(conn.connection.cut());
            let ended = poll_fn(|cx| {
                if served.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(true);
                }
                if window.as_mut().poll(cx).is_ready() || cut.as_mut().poll(cx).is_ready() {
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
        if !told {
            // Idle, a linger's length or more after the goodbye: if the peer has been silent
            // since the goodbye too (checked at the close, `Conn::closed_quietly`), the quiet
            // a close lingers for was already seen (a pipelining client is not silent that
            // long while its next requests are on the way), so the close does not wait again.
            let quiet = runtime.now().saturating_sub(goodbye_at) >= crate::io::LINGER;
            if quiet && connection.is_idle() {
                conn.closed_idle.store(true, Ordering::Relaxed);
            }
            served.as_mut().graceful_shutdown();
        }
        let _ = select(served, select(connection.cut(), idle)).await;
    }
}

/// Completes once the connection has stayed idle for `grace` (checked at its end): no
/// request in flight and no write blocked. hyper's connection is polled before this in each
/// wake-up, so what the last response queued has been written to the socket (or the write
/// is blocked, which makes the connection busy) when this completes.
///
/// An HTTP/2 connection whose peer wrote anything after its GOAWAY (the answer to the
/// GOAWAY's PING, a window update) is never completed here: h2 then closes it itself once
/// its streams are done, response bytes still held by the peer's flow-control window
/// included, which the count here cannot see. A peer that wrote nothing since cannot open
/// that window either: nothing it could still receive is lost by closing.
async fn idle_for<R: Runtime>(runtime: &R, conn: &Conn, grace: Duration) {
    let connection = &conn.connection;
    loop {
        connection.idle().await;
        runtime.sleep(grace).await;
        if conn.http2.load(Ordering::Relaxed) && conn.heard.load(Ordering::Relaxed) {
            core::future::pending::<()>().await;
        }
        if connection.is_idle() {
            return;
        }
    }
}
