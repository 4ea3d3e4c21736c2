//! [`serve`]: an accept loop that stops at the drain, and the [`Listener`]s it accepts from.

use core::future::Future;
use lameduck::{accept, Connection, Handle, Trigger};
use std::io;

/// A listener [`serve`] accepts from: tokio's TCP and Unix listeners, or your own.
///
/// ```
/// fn takes<L: lameduck_tokio::Listener>(_: L) {}
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// takes(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
/// # });
/// ```
pub trait Listener: Send + 'static {
    /// An accepted connection.
    type Io: Send + 'static;
    /// The peer's address.
    type Addr: Send + 'static;

    /// Accepts the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_;
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    type Addr = core::net::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_ {
        tokio::net::TcpListener::accept(self)
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_ {
        tokio::net::UnixListener::accept(self)
    }
}

/// Accepts connections while the phase allows it (running, lame duck), and returns as soon
/// as draining starts, dropping `listener` so that new connection attempts are refused at
/// once rather than left waiting in a backlog no one reads.
///
/// Each accepted connection is counted with [`Handle::connection`] and handed, with its
/// [`Connection`], to `serve_conn`, whose future is spawned with [`tokio::spawn`]. The
/// connection should select on [`Connection::going_away`] (finish what is in flight,
/// then close) and [`Connection::cut`] (close now), and drop the guard when it closes.
///
/// Accept errors are sorted as [`lameduck::accept::serve`] (the loop this runs) describes:
/// a failed pending connection is skipped; running out of file descriptors or memory backs
/// off (10 ms doubling to 1 s, on [`Tokio`](crate::Tokio)) and serving goes on; a broken
/// listener starts the shutdown with [`Trigger::fail`] (`accept: <error>`) and this returns.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future stops accepting and drops the listener; connections
/// already spawned go on.
///
/// ```no_run
/// use lameduck::{Config, Runtime, Shutdown};
/// use tokio::{io::AsyncWriteExt, net::TcpListener};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let runtime = lameduck_tokio::Tokio::new();
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
/// tokio::spawn(lameduck_tokio::serve(
///     listener,
///     shutdown.handle(),
///     shutdown.trigger(),
///     |mut stream, _peer, connection| async move {
///         tokio::select! {
///             _ = stream.write_all(b"hello\n") => {}
///             () = connection.cut() => {}
///         }
///     },
/// ));
/// let signals = runtime.signals(shutdown.handle().config().signals).unwrap();
/// let report = shutdown.run(runtime, signals).await;
/// # });
/// ```
pub async fn serve<L, F, Fut>(listener: L, handle: Handle, trigger: Trigger, mut serve_conn: F)
where
    L: Listener,
    F: FnMut(L::Io, L::Addr, Connection) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let spawn = |(io, addr), guard| {
        tokio::spawn(serve_conn(io, addr, guard));
    };
    let timer = crate::Tokio::new();
    accept::serve(Accepting(listener), handle, trigger, timer, spawn).await;
}

/// A [`Listener`] as the core's [`accept::Accept`] (a wrapper: both are foreign to the other).
struct Accepting<L>(L);

impl<L: Listener> accept::Accept for Accepting<L> {
    type Conn = (L::Io, L::Addr);

    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Conn>> + '_ {
        self.0.accept()
    }
}
