//! [`Tokio`] as a [`Network`]: tokio's TCP and Unix listeners and streams.

use crate::Tokio;
use core::task::{Context, Poll};
use lameduck::runtime::{IntoListeners, Listener, Network, Socket};
use std::io;
use tokio::net::{TcpListener, TcpStream};

#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};
#[cfg(not(unix))]
type UnixListener = core::convert::Infallible;
#[cfg(not(unix))]
type UnixStream = core::convert::Infallible;

impl Network for Tokio {
    type Acceptor = Socket<TcpListener, UnixListener>;
    type Stream = Socket<TcpStream, UnixStream>;

    fn listen(&self, listener: Listener) -> io::Result<Self::Acceptor> {
        listener.into_socket()
    }

    fn poll_accept(
        &self,
        acceptor: &mut Self::Acceptor,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Self::Stream>> {
        match acceptor {
            Socket::Tcp(listener) => listener.poll_accept(cx).map_ok(|(stream, _)| tcp(stream)),
            #[cfg(unix)]
            Socket::Unix(listener) => listener.poll_accept(cx).map_ok(|(s, _)| Socket::Unix(s)),
            #[cfg(not(unix))]
            Socket::Unix(never) => match *never {},
        }
    }

    /// One `accept(2)` on a duplicate of the listening socket (sharing its non-blocking
    /// flag), around tokio's readiness cache: that cache may not have seen the connections
    /// queued since the reactor's last event, and `poll_accept` would say `Pending`.
    #[cfg(unix)]
    fn try_accept(&self, acceptor: &mut Self::Acceptor) -> Option<io::Result<Self::Stream>> {
        use std::os::{fd::AsFd, unix::net};
        let fd = acceptor.as_fd().try_clone_to_owned();
        let accepted = fd.and_then(|fd| match acceptor {
            Socket::Tcp(_) => {
                let (stream, _) = std::net::TcpListener::from(fd).accept()?;
                stream.set_nonblocking(true)?;
                Ok(tcp(TcpStream::from_std(stream)?))
            }
            Socket::Unix(_) => {
                let (stream, _) = net::UnixListener::from(fd).accept()?;
                stream.set_nonblocking(true)?;
                Ok(Socket::Unix(UnixStream::from_std(stream)?))
            }
        });
        match accepted {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => None,
            other => Some(other),
        }
    }

    /// The listener itself (for the accept loop's filter at the drain, on Linux).
    #[cfg(unix)]
    fn fd<'a>(&self, acceptor: &'a Self::Acceptor) -> Option<std::os::fd::BorrowedFd<'a>> {
        Some(std::os::fd::AsFd::as_fd(acceptor))
    }
}

/// A TCP connection whose responses go out as written, not held back by Nagle's algorithm.
fn tcp(stream: TcpStream) -> Socket<TcpStream, UnixStream> {
    let _ = stream.set_nodelay(true);
    Socket::Tcp(stream)
}

/// tokio's listener, taken out of its reactor (within the runtime) to be served by
/// [`Tokio`]: `lameduck_hyper::serve(Tokio::new(), listener, ..)` takes it as it is.
impl IntoListeners<Tokio> for TcpListener {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        Ok(vec![self.into_std()?.into()])
    }
}

/// tokio's Unix listener, as its TCP one.
#[cfg(unix)]
impl IntoListeners<Tokio> for UnixListener {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        Ok(vec![self.into_std()?.into()])
    }
}
