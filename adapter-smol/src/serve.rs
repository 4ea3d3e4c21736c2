//! [`serve`]: an accept loop that stops at the drain, and the [`Listener`]s it accepts from.

use core::{future::Future, pin::pin, task::Poll, time::Duration};
use lameduck::{ConnectionGuard, Handle, Trigger};
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
/// Each accepted connection is counted with [`Handle::track`] and handed, with its
/// [`ConnectionGuard`], to `serve_conn`, whose future is spawned with [`smol::spawn`]. The
/// connection should select on [`ConnectionGuard::going_away`] (finish what is in flight,
/// then close) and [`ConnectionGuard::cut`] (close now), and drop the guard when it closes.
///
/// Accept errors:
/// - a connection that failed before it was accepted (aborted, reset, or a network error
///   accept(2) passes on) is skipped, and the loop accepts the next one at once;
/// - running out of resources (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) backs off, from
///   10 ms doubling up to 1 s, reset by the next success, and keeps serving: no busy loop
///   while the pending connection waits for a file descriptor, no crash;
/// - anything else means the listener is broken: the shutdown starts with
///   [`Trigger::fail`] (the report's reason carries `accept: <error>`) and this returns.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future stops accepting and drops the listener; connections
/// already spawned go on.
///
/// ```no_run
/// use futures::{future, AsyncWriteExt};
/// use lameduck::{Config, Shutdown};
/// smol::block_on(async {
///     let shutdown = Shutdown::new(Config::new()).unwrap();
///     let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     smol::spawn(lameduck_smol::serve(
///         listener,
///         shutdown.handle(),
///         shutdown.trigger(),
///         |mut stream, _peer, guard| async move {
///             let write = std::pin::pin!(stream.write_all(b"hello\n"));
///             // Stop writing if the drain is cut short.
///             future::select(write, guard.cut()).await;
///         },
///     ))
///     .detach();
///     let report = lameduck_smol::run(shutdown).await.unwrap();
/// });
/// ```
pub async fn serve<L, F, Fut>(listener: L, handle: Handle, trigger: Trigger, mut serve_conn: F)
where
    L: Listener,
    F: FnMut(L::Io, L::Addr, ConnectionGuard) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut listener = listener;
    let mut draining = handle.draining();
    let mut backoff = Backoff::default();
    while handle.phase().accepts() {
        let accepted = {
            let mut accept = pin!(listener.accept());
            let next = core::future::poll_fn(|cx| {
                if let Poll::Ready(accepted) = accept.as_mut().poll(cx) {
                    return Poll::Ready(Some(accepted));
                }
                core::pin::Pin::new(&mut draining).poll(cx).map(|()| None)
            });
            match next.await {
                Some(accepted) => accepted,
                None => break,
            }
        };
        match accepted {
            Ok((io, addr)) => {
                backoff.reset();
                // `None` once the drain completed: the connection is dropped unserved.
                if let Some(guard) = handle.track() {
                    smol::spawn(serve_conn(io, addr, guard)).detach();
                }
            }
            Err(error) => match classify(&error) {
                AcceptError::Connection => {}
                AcceptError::Resources => {
                    let pause = pin!(async_io::Timer::after(backoff.next()));
                    let mut pause = pause;
                    let drained = core::future::poll_fn(|cx| {
                        if pause.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(false);
                        }
                        core::pin::Pin::new(&mut draining).poll(cx).map(|()| true)
                    });
                    if drained.await {
                        break;
                    }
                }
                AcceptError::Fatal => {
                    trigger.fail(format_args!("accept: {error}"));
                    break;
                }
            },
        }
    }
    drop(listener);
}

/// What an accept error means for the loop.
#[derive(Debug, PartialEq, Eq)]
enum AcceptError {
    /// One pending connection failed; the next may succeed at once.
    Connection,
    /// Out of file descriptors or memory: wait, then retry.
    Resources,
    /// The listener itself is broken.
    Fatal,
}

fn classify(error: &io::Error) -> AcceptError {
    use io::ErrorKind as K;
    match error.kind() {
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock => {
            return AcceptError::Connection
        }
        K::OutOfMemory => return AcceptError::Resources,
        _ => {}
    }
    #[cfg(unix)]
    if let Some(code) = error.raw_os_error() {
        // accept(2): errors of the pending connection are passed on and should be
        // treated like EAGAIN.
        let connection = [
            libc::EPROTO,
            libc::ENOPROTOOPT,
            libc::ENETDOWN,
            libc::ENETUNREACH,
            libc::EHOSTDOWN,
            libc::EHOSTUNREACH,
            libc::EPERM,
            libc::ETIMEDOUT,
        ];
        if connection.contains(&code) {
            return AcceptError::Connection;
        }
        if [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM].contains(&code) {
            return AcceptError::Resources;
        }
    }
    AcceptError::Fatal
}

/// The pause after running out of resources: 10 ms, doubling, at most 1 s.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn next(&mut self) -> Duration {
        let pause = Backoff::FIRST
            .saturating_mul(1 << self.failures.min(10))
            .min(Backoff::MAX);
        self.failures = self.failures.saturating_add(1);
        pause
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::default();
        let pauses: Vec<_> = (0..9).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(10));
    }

    #[test]
    fn accept_errors_are_sorted() {
        let os = io::Error::from_raw_os_error;
        assert_eq!(classify(&os(libc::EMFILE)), AcceptError::Resources);
        assert_eq!(classify(&os(libc::ENFILE)), AcceptError::Resources);
        assert_eq!(classify(&os(libc::ENOBUFS)), AcceptError::Resources);
        assert_eq!(classify(&os(libc::ECONNABORTED)), AcceptError::Connection);
        assert_eq!(classify(&os(libc::EPROTO)), AcceptError::Connection);
        assert_eq!(classify(&os(libc::EBADF)), AcceptError::Fatal);
        assert_eq!(classify(&os(libc::EINVAL)), AcceptError::Fatal);
    }
}
