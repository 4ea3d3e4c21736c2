//! [`Network`]: a runtime that accepts connections from listening sockets (feature `std`),
//! the [`Listener`]s it takes, what turns into them ([`IntoListeners`]) and the [`Socket`]s
//! it hands out.

use crate::facade::runtime::Runtime;
use alloc::{
    string::{String, ToString},
    vec,
    vec::Vec,
};
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

    /// This listener as a runtime's own listener, `T` for TCP and `U` for a Unix-domain
    /// socket, through their `TryFrom` of the standard library's listener (tokio's and
    /// async-io's have it), non-blocking first: the usual body of [`Network::listen`].
    ///
    /// On a platform without Unix-domain sockets `U` is not asked for anything.
    ///
    /// # Errors
    ///
    /// The socket's or the runtime's own error.
    ///
    /// ```
    /// use lameduck::runtime::{Listener, Socket};
    /// use std::{io, net::TcpListener};
    ///
    /// /// A runtime's listener: here, the standard library's, polled by hand.
    /// #[derive(Debug)]
    /// struct Polled<L>(L);
    /// impl TryFrom<TcpListener> for Polled<TcpListener> {
    ///     type Error = io::Error;
    ///     fn try_from(listener: TcpListener) -> io::Result<Self> { Ok(Polled(listener)) }
    /// }
    /// # #[cfg(unix)]
    /// # impl TryFrom<std::os::unix::net::UnixListener> for Polled<std::os::unix::net::UnixListener> {
    /// #     type Error = io::Error;
    /// #     fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<Self> { Ok(Polled(listener)) }
    /// # }
    /// # #[cfg(unix)] type Unix = Polled<std::os::unix::net::UnixListener>;
    /// # #[cfg(not(unix))] type Unix = std::convert::Infallible;
    ///
    /// let listener = Listener::from(TcpListener::bind("127.0.0.1:0")?);
    /// let socket: Socket<Polled<TcpListener>, Unix> = listener.into_socket()?;
    /// assert!(matches!(socket, Socket::Tcp(_)));
    /// # Ok::<(), io::Error>(())
    /// ```
    #[cfg(unix)]
    pub fn into_socket<T, U>(self) -> io::Result<Socket<T, U>>
    where
        T: TryFrom<std::net::TcpListener, Error = io::Error>,
        U: TryFrom<std::os::unix::net::UnixListener, Error = io::Error>,
    {
        self.set_nonblocking()?;
        match self {
            Listener::Tcp(listener) => T::try_from(listener).map(Socket::Tcp),
            Listener::Unix(listener) => U::try_from(listener).map(Socket::Unix),
        }
    }

    /// This listener as a runtime's own listener (see the Unix version).
    ///
    /// # Errors
    ///
    /// The socket's or the runtime's own error.
    #[cfg(not(unix))]
    pub fn into_socket<T, U>(self) -> io::Result<Socket<T, U>>
    where
        T: TryFrom<std::net::TcpListener, Error = io::Error>,
    {
        self.set_nonblocking()?;
        match self {
            Listener::Tcp(listener) => T::try_from(listener).map(Socket::Tcp),
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
/// accepts from it. The one accept abstraction: [`accept::serve`](crate::os::accept::serve) (the
/// accept loop) runs over it, and so servers generic over the runtime (`lameduck-hyper`'s
/// `serve`) name no runtime.
///
/// # Contract
///
/// - [`listen`](Self::listen) is called within the runtime; the acceptor it returns is
///   dropped (and the socket closed) when the caller drops it.
/// - [`poll_accept`](Self::poll_accept) returns `Ready` with a connection the kernel has
///   queued, or `Pending` (waking the task later) when none is: a caller that stops
///   polling at the first `Pending` has taken exactly what was queued.
///
/// A runtime's acceptor and stream are usually a [`Socket`] of its own listener and stream
/// types; the connection's I/O traits are the runtime's (tokio's, futures-io), which an HTTP
/// server bridges to its own (`lameduck-hyper` does, per I/O family).
///
/// ```
/// use lameduck::{accept, runtime::{Network, Runtime}, Shutdown};
///
/// /// Serves `listener` on any runtime: each connection is dropped at once.
/// fn start<N: Network>(network: N, listener: std::net::TcpListener, shutdown: &Shutdown) -> std::io::Result<()> {
///     let acceptor = network.listen(listener.into())?;
///     let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
///     network.spawn(accept::serve(network.clone(), acceptor, handle, trigger, |stream, connection| async move {
///         drop((stream, connection));
///     }));
///     Ok(())
/// }
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
    /// instead of resetting it with the listener.
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

    /// The listening socket under `acceptor`, for what the accept loop does to the socket
    /// itself when draining starts: on Linux, a filter that stops new TCP handshakes before
    /// the listener closes, so that no connection is reset for completing its handshake
    /// between the last `accept(2)` and the close (see [`accept::serve`](crate::os::accept::serve)).
    ///
    /// The default, `None`, leaves that window open. The runtime adapters return the
    /// socket; a runtime whose acceptor is a [`Socket`] of file-descriptor types returns
    /// `Some(acceptor.as_fd())`.
    #[cfg(unix)]
    fn fd<'a>(&self, acceptor: &'a Self::Acceptor) -> Option<std::os::fd::BorrowedFd<'a>> {
        let _ = acceptor;
        None
    }
}

/// A listener or a stream of either family, as the file descriptor it is.
#[cfg(unix)]
impl<T: std::os::fd::AsFd, U: std::os::fd::AsFd> std::os::fd::AsFd for Socket<T, U> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Socket::Tcp(socket) => socket.as_fd(),
            Socket::Unix(socket) => socket.as_fd(),
        }
    }
}

/// A TCP or a Unix-domain socket, of a runtime's own types: what a [`Network`] accepts
/// from (`T` and `U` its listeners) and what it accepts (its streams).
///
/// On a platform without Unix-domain sockets a runtime names `U` as
/// [`Infallible`](core::convert::Infallible).
///
/// ```
/// let socket: lameduck::runtime::Socket<std::net::TcpListener, std::convert::Infallible> =
///     lameduck::runtime::Socket::Tcp(std::net::TcpListener::bind("127.0.0.1:0").unwrap());
/// assert!(matches!(socket, lameduck::runtime::Socket::Tcp(_)));
/// ```
#[derive(Debug)]
pub enum Socket<T, U> {
    /// A TCP socket.
    Tcp(T),
    /// A Unix-domain stream socket.
    Unix(U),
}

/// One listening socket or several, as [`Listener`]s for a [`Network`] `N`: the standard
/// library's listeners, [`Listener`], arrays and `Vec`s of them, and (implemented by the
/// runtime adapters) a runtime's own listeners, such as `tokio::net::TcpListener`.
///
/// `N` is the runtime the listeners are for, so that its adapter may implement this for its
/// own listener types.
///
/// ```
/// use lameduck::runtime::IntoListeners;
/// let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let listeners = IntoListeners::<()>::into_listeners([a, b]).unwrap();
/// assert_eq!(listeners.len(), 2);
/// ```
pub trait IntoListeners<N> {
    /// The listeners, in order.
    ///
    /// # Errors
    ///
    /// A runtime's listener could not be taken out of its reactor.
    fn into_listeners(self) -> io::Result<Vec<Listener>>;
}

impl<N> IntoListeners<N> for Listener {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        Ok(vec![self])
    }
}

impl<N> IntoListeners<N> for std::net::TcpListener {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        Ok(vec![self.into()])
    }
}

#[cfg(unix)]
impl<N> IntoListeners<N> for std::os::unix::net::UnixListener {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        Ok(vec![self.into()])
    }
}

impl<N, L: IntoListeners<N>> IntoListeners<N> for Vec<L> {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        let mut all = Vec::with_capacity(self.len());
        for listeners in self {
            all.extend(listeners.into_listeners()?);
        }
        Ok(all)
    }
}

impl<N, L: IntoListeners<N>, const K: usize> IntoListeners<N> for [L; K] {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        IntoListeners::<N>::into_listeners(Vec::from(self))
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
