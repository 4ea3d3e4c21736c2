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

    /// Takes a connection already waiting in the backlog without waiting, `None` if none
    /// is: [`serve`] takes these when draining starts, before it closes the listener
    /// (see [`lameduck::accept::Accept::try_accept`]). The default is `None`: queued
    /// connections are then reset with the listener.
    fn try_accept(&mut self) -> Option<io::Result<(Self::Io, Self::Addr)>> {
        None
    }
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    type Addr = core::net::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_ {
        tokio::net::TcpListener::accept(self)
    }

    #[cfg(unix)]
    fn try_accept(&mut self) -> Option<io::Result<(Self::Io, Self::Addr)>> {
        let accepted = accept_now(self, std::net::TcpListener::accept)?;
        Some(accepted.and_then(|(stream, addr)| {
            stream.set_nonblocking(true)?;
            Ok((tokio::net::TcpStream::from_std(stream)?, addr))
        }))
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send + '_ {
        tokio::net::UnixListener::accept(self)
    }

    fn try_accept(&mut self) -> Option<io::Result<(Self::Io, Self::Addr)>> {
        let accepted = accept_now(self, std::os::unix::net::UnixListener::accept)?;
        Some(accepted.and_then(|(stream, addr)| {
            stream.set_nonblocking(true)?;
            Ok((tokio::net::UnixStream::from_std(stream)?, addr.into()))
        }))
    }
}

/// Accepts connections while the phase allows it (running, lame duck), and returns as soon
/// as draining starts, dropping `listener` so that new connection attempts are refused at
/// once rather than left waiting in a backlog no one reads. The connections already in
/// the backlog then are taken first ([`Listener::try_accept`]) and served like the others,
/// not reset with the listener; from the call on (not the first poll), the drain cannot
/// complete before that is done.
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
/// use lameduck::{Config, runtime::Runtime, Shutdown};
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
/// let signals = runtime.signals(shutdown.handle().config().listened_signals()).unwrap();
/// let report = shutdown.run(runtime, signals).await;
/// # });
/// ```
pub fn serve<L, F, Fut>(
    listener: L,
    handle: Handle,
    trigger: Trigger,
    mut serve_conn: F,
) -> impl Future<Output = ()>
where
    L: Listener,
    F: FnMut(L::Io, L::Addr, Connection) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let spawn = move |(io, addr), guard| {
        tokio::spawn(serve_conn(io, addr, guard));
    };
    let timer = crate::Tokio::new();
    // Called now, not at the first poll: the loop holds the drain open from here on.
    accept::serve(Accepting(listener), handle, trigger, timer, spawn)
}

/// A [`Listener`] as the core's [`accept::Accept`] (a wrapper: both are foreign to the other).
struct Accepting<L>(L);

impl<L: Listener> accept::Accept for Accepting<L> {
    type Conn = (L::Io, L::Addr);

    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Conn>> + '_ {
        self.0.accept()
    }

    fn try_accept(&mut self) -> Option<io::Result<Self::Conn>> {
        self.0.try_accept()
    }
}

/// One `accept(2)` on a duplicate of `listener`'s socket, which shares its non-blocking
/// flag: `None` on `WouldBlock`. It goes around the runtime's readiness, which may not
/// have seen what was queued since its last event.
#[cfg(unix)]
pub(crate) fn accept_now<L, S, A>(
    listener: &impl std::os::fd::AsFd,
    accept: impl FnOnce(&L) -> io::Result<(S, A)>,
) -> Option<io::Result<(S, A)>>
where
    L: From<std::os::fd::OwnedFd>,
{
    let dup = match listener.as_fd().try_clone_to_owned() {
        Ok(fd) => L::from(fd),
        Err(error) => return Some(Err(error)),
    };
    match accept(&dup) {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => None,
        other => Some(other),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::Listener;

    #[tokio::test]
    async fn try_accept_takes_what_is_queued_then_says_none() {
        let mut listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(listener.try_accept().is_none(), "nothing queued yet");
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        for client in &clients {
            let (_stream, peer) = listener.try_accept().expect("queued").unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
        }
        assert!(listener.try_accept().is_none(), "the backlog is empty");
        // The listener still accepts through the runtime afterwards.
        let _late = std::net::TcpStream::connect(addr).unwrap();
        Listener::accept(&mut listener).await.unwrap();
    }
}
