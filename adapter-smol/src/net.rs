//! [`Smol`] as a [`Network`]: async-io's TCP and Unix listeners and streams.

use crate::Smol;
use async_io::Async;
use core::task::{Context, Poll};
use lameduck::runtime::{IntoListeners, Listener, Network, Socket};
use std::{io, net::TcpListener, net::TcpStream};

#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
#[cfg(not(unix))]
type UnixListener = core::convert::Infallible;
#[cfg(not(unix))]
type UnixStream = core::convert::Infallible;

impl Network for Smol {
    type Acceptor = Socket<Async<TcpListener>, Async<UnixListener>>;
    type Stream = Socket<Async<TcpStream>, Async<UnixStream>>;

    fn listen(&self, listener: Listener) -> io::Result<Self::Acceptor> {
        listener.into_socket()
    }

    /// One `accept(2)`, and on `WouldBlock` a wait for readiness: the default
    /// `try_accept` (a no-op waker) is then a plain non-blocking accept.
    fn poll_accept(
        &self,
        acceptor: &mut Self::Acceptor,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Self::Stream>> {
        loop {
            let accepted = match acceptor {
                Socket::Tcp(listener) => listener.get_ref().accept().map(|(stream, _)| {
                    // Responses go out as written, not held back by Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    Async::new(stream).map(Socket::Tcp)
                }),
                #[cfg(unix)]
                Socket::Unix(listener) => listener
                    .get_ref()
                    .accept()
                    .map(|(stream, _)| Async::new(stream).map(Socket::Unix)),
                #[cfg(not(unix))]
                Socket::Unix(never) => match *never.get_ref() {},
            };
            match accepted {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Ok(registered) => return Poll::Ready(registered),
                Err(error) => return Poll::Ready(Err(error)),
            }
            core::task::ready!(match acceptor {
                Socket::Tcp(listener) => listener.poll_readable(cx),
                #[cfg(unix)]
                Socket::Unix(listener) => listener.poll_readable(cx),
                #[cfg(not(unix))]
                Socket::Unix(never) => match *never.get_ref() {},
            })?;
        }
    }

    /// The listener itself (for the accept loop's filter at the drain, on Linux).
    #[cfg(unix)]
    fn fd<'a>(&self, acceptor: &'a Self::Acceptor) -> Option<std::os::fd::BorrowedFd<'a>> {
        Some(std::os::fd::AsFd::as_fd(acceptor))
    }
}

/// async-net's listener (smol's), out of its reactor, to be served by [`Smol`]:
/// `lameduck_hyper::serve(Smol::new(), listener, ..)` takes it as it is.
impl IntoListeners<Smol> for async_net::TcpListener {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        let listener = std::sync::Arc::<Async<TcpListener>>::from(self);
        // A duplicate of the socket: the original leaves the reactor with its last clone.
        Ok(vec![listener.get_ref().try_clone()?.into()])
    }
}

/// async-net's Unix listener, as its TCP one.
#[cfg(unix)]
impl IntoListeners<Smol> for async_net::unix::UnixListener {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        let listener = std::sync::Arc::<Async<UnixListener>>::from(self);
        Ok(vec![listener.get_ref().try_clone()?.into()])
    }
}

/// async-io's listener (async-std's), out of its reactor.
impl IntoListeners<Smol> for Async<TcpListener> {
    fn into_listeners(self) -> io::Result<Vec<Listener>> {
        Ok(vec![self.into_inner()?.into()])
    }
}
