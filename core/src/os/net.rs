//! [`Network`]: a runtime that accepts connections from listening sockets (feature `std`),
//! and the [`Listener`]s it takes.

use crate::facade::runtime::Runtime;
use alloc::string::{String, ToString};
use core::task::{Context, Poll};
use std::{fmt, io};

/// A listening socket, bound by the caller (or passed by a supervisor, or inherited from a
/// predecessor): TCP, or on Unix a Unix-domain socket.
///
/// Made from the standard library's listeners with `From`; a runtime's own listener turns
/// into one with its `into_std()`.
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let listener = lameduck::runtime::Listener::from(listener);
/// assert!(listener.local_addr().unwrap().starts_with("127.0.0.1:"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Listener {
    /// A TCP listener.
    Tcp(std::net::TcpListener),
    /// A Unix-domain stream listener.
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
}

impl Listener {
    /// The address it listens on, as `IP:PORT` or a socket path.
    ///
    /// # Errors
    ///
    /// The socket's own error.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let port = listener.local_addr().unwrap().port();
    /// let listener = lameduck::runtime::Listener::from(listener);
    /// assert_eq!(listener.local_addr().unwrap(), format!("127.0.0.1:{port}"));
    /// ```
    pub fn local_addr(&self) -> io::Result<String> {
        match self {
            Listener::Tcp(listener) => listener.local_addr().map(|addr| addr.to_string()),
            #[cfg(unix)]
            Listener::Unix(listener) => {
                let addr = listener.local_addr()?;
                Ok(addr.as_pathname().map_or_else(
                    || String::from("(unnamed)"),
                    |path| path.display().to_string(),
                ))
            }
        }
    }

    /// Puts the socket in non-blocking mode, as async runtimes need it.
    ///
    /// # Errors
    ///
    /// The socket's own error.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// lameduck::runtime::Listener::from(listener).set_nonblocking().unwrap();
    /// ```
    pub fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(listener) => listener.set_nonblocking(true),
            #[cfg(unix)]
            Listener::Unix(listener) => listener.set_nonblocking(true),
        }
    }
}

impl From<std::net::TcpListener> for Listener {
    fn from(listener: std::net::TcpListener) -> Listener {
        Listener::Tcp(listener)
    }
}

#[cfg(unix)]
impl From<std::os::unix::net::UnixListener> for Listener {
    fn from(listener: std::os::unix::net::UnixListener) -> Listener {
        Listener::Unix(listener)
    }
}

/// A [`Runtime`] that accepts connections: it registers a [`Listener`] with its reactor and
/// accepts from it, so that servers generic over the runtime (`lameduck-hyper`'s `serve`)
/// name no runtime.
///
/// # Contract
///
/// - [`listen`](Self::listen) is called within the runtime; the listener it returns is
///   dropped (and the socket closed) when the caller drops it.
/// - [`poll_accept`](Self::poll_accept) returns `Ready` with a connection the kernel has
///   queued, or `Pending` (waking the task later) when none is: a caller that stops
///   polling at the first `Pending` has taken exactly what was queued.
///
/// ```
/// fn serves_on<N: lameduck::runtime::Network>(_: &N) {}
/// ```
pub trait Network: Runtime {
    /// A listener registered with the runtime.
    type Acceptor: Send + Unpin + 'static;
    /// An accepted connection.
    type Stream: Send + Unpin + 'static;

    /// Registers `listener` with the runtime (making it non-blocking).
    ///
    /// # Errors
    ///
    /// The runtime could not register the socket.
    fn listen(&self, listener: Listener) -> io::Result<Self::Acceptor>;

    /// Accepts the next queued connection.
    ///
    /// # Errors
    ///
    /// The accept error; sort it with [`accept::AcceptError::classify`](crate::os::accept::AcceptError::classify).
    fn poll_accept(
        &self,
        acceptor: &mut Self::Acceptor,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Self::Stream>>;

    /// Takes a connection the kernel has queued, without waiting: `None` when none is. The
    /// accept loop calls it when draining starts, until `None`, to serve the backlog
    /// instead of resetting it with the listener
    /// ([`accept::Accept::try_accept`](crate::os::accept::Accept::try_accept)).
    ///
    /// The default polls [`poll_accept`](Self::poll_accept) with a waker that does
    /// nothing, which the contract above makes exact. A runtime whose `poll_accept` answers
    /// from a readiness cache (tokio's) should override it with a plain non-blocking
    /// `accept(2)`: the cache may not have seen what was queued since its last event.
    ///
    /// # Errors
    ///
    /// The accept error, as [`poll_accept`](Self::poll_accept)'s.
    fn try_accept(&self, acceptor: &mut Self::Acceptor) -> Option<io::Result<Self::Stream>> {
        let mut cx = Context::from_waker(core::task::Waker::noop());
        match self.poll_accept(acceptor, &mut cx) {
            Poll::Ready(accepted) => Some(accepted),
            Poll::Pending => None,
        }
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.local_addr() {
            Ok(addr) => f.write_str(&addr),
            Err(_) => f.write_str("(unknown address)"),
        }
    }
}
