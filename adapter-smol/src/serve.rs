//! [`serve`]: an accept loop that stops at the drain, and the [`Listener`]s it accepts from.

use core::future::Future;
use lameduck::{accept, Connection, Handle, Trigger};
use std::io;

/// A listener [`serve`] accepts from: async-net's TCP and Unix listeners,
/// `Async<std::net::TcpListener>`, or your own.
///
/// ```
/// fn takes<L: lameduck_smol::Listener>(_: L) {}
/// smol::block_on(async {
///     takes(async_net::TcpListener::bind("127.0.0.1:0").await.unwrap());
/// });
/// ```
pub trait Listener: Send + 'static {
    /// An accepted connection.
    type Io: Send + 'static;
    /// The peer's address.
    type Addr: Send + 'static;

    /// Accepts the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_;
}

impl Listener for async_net::TcpListener {
    type Io = async_net::TcpStream;
    type Addr = core::net::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_ {
        async_net::TcpListener::accept(self)
    }
}

impl Listener for async_io::Async<std::net::TcpListener> {
    type Io = async_io::Async<std::net::TcpStream>;
    type Addr = core::net::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_ {
        async_io::Async::<std::net::TcpListener>::accept(self)
    }
}

#[cfg(unix)]
impl Listener for async_net::unix::UnixListener {
    type Io = async_net::unix::UnixStream;
    type Addr = async_net::unix::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_ {
        async_net::unix::UnixListener::accept(self)
    }
}

/// Accepts connections while the phase allows it (running, lame duck), and returns as soon
/// as draining starts, dropping `listener` so that new connection attempts are refused at
/// once rather than left waiting in a backlog no one reads.
///
/// Each accepted connection is counted with [`Handle::connection`] and handed, with its
/// [`Connection`], to `serve_conn`, whose future is spawned with [`smol::spawn`]. The
/// connection should select on [`Connection::going_away`] (finish what is in flight,
/// then close) and [`Connection::cut`] (close now), and drop the guard when it closes.
///
/// Accept errors are sorted as [`lameduck::accept::serve`] (the loop this runs) describes:
/// a failed pending connection is skipped; running out of file descriptors or memory backs
/// off (10 ms doubling to 1 s, on [`Smol`](crate::Smol)) and serving goes on; a broken
/// listener starts the shutdown with [`Trigger::fail`] (`accept: <error>`) and this returns.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future stops accepting and drops the listener; connections
/// already spawned go on.
///
/// ```no_run
/// use futures::{future, AsyncWriteExt};
/// use lameduck::{Config, Runtime, Shutdown};
/// smol::block_on(async {
///     let runtime = lameduck_smol::Smol::new();
///     let shutdown = Shutdown::new(Config::new()).unwrap();
///     let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     smol::spawn(lameduck_smol::serve(
///         listener,
///         shutdown.handle(),
///         shutdown.trigger(),
///         |mut stream, _peer, connection| async move {
///             let write = std::pin::pin!(stream.write_all(b"hello\n"));
///             // Stop writing if the drain is cut short.
///             future::select(write, connection.cut()).await;
///         },
///     ))
///     .detach();
///     let signals = runtime.signals(shutdown.handle().config().signals).unwrap();
///     let report = shutdown.run(runtime, signals).await;
/// });
/// ```
pub async fn serve<L, F, Fut>(listener: L, handle: Handle, trigger: Trigger, mut serve_conn: F)
where
    L: Listener,
    F: FnMut(L::Io, L::Addr, Connection) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let spawn = |(io, addr), guard| {
        smol::spawn(serve_conn(io, addr, guard)).detach();
    };
    let timer = crate::Smol::new();
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
