//! [`Smol`](crate::Smol) as a [`Network`]: async-io's TCP and Unix listeners, and their
//! connections as hyper I/O.

use async_io::Async;
use core::{
    pin::Pin,
    task::{Context, Poll},
};
use hyper::rt::{Read, ReadBufCursor, Write};
use lameduck::runtime::{Listener, Network};
use smol_hyper::rt::FuturesIo;
use std::io;

/// A listener registered with async-io's reactor. Made by [`Network::listen`].
///
/// ```
/// use lameduck::runtime::Network;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let _acceptor = lameduck_smol::Smol::new().listen(listener.into()).unwrap();
/// ```
#[derive(Debug)]
pub struct Acceptor(Listening);

#[derive(Debug)]
enum Listening {
    Tcp(Async<std::net::TcpListener>),
    #[cfg(unix)]
    Unix(Async<std::os::unix::net::UnixListener>),
}

/// A connection accepted on async-io, readable and writable by hyper. Made by
/// [`Network::poll_accept`].
///
/// ```
/// fn takes(_: lameduck_smol::Stream) {}
/// ```
#[derive(Debug)]
pub struct Stream(Connected);

// smol-hyper's `FuturesIo` bridges futures-io to hyper's I/O traits (without copying through
// an initialised buffer); it stays inside this type.
#[derive(Debug)]
enum Connected {
    Tcp(FuturesIo<Async<std::net::TcpStream>>),
    #[cfg(unix)]
    Unix(FuturesIo<Async<std::os::unix::net::UnixStream>>),
}

/// Accepts once without blocking: `Pending` (after registering for readiness) when nothing
/// is queued.
fn poll_accept<L, S>(
    listener: &Async<L>,
    accept: impl Fn(&L) -> io::Result<S>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<S>> {
    loop {
        match accept(listener.get_ref()) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                core::task::ready!(listener.poll_readable(cx))?;
            }
            result => return Poll::Ready(result),
        }
    }
}

impl Network for crate::Smol {
    type Acceptor = Acceptor;
    type Stream = Stream;

    fn listen(&self, listener: Listener) -> io::Result<Acceptor> {
        Ok(Acceptor(match listener {
            Listener::Tcp(listener) => Listening::Tcp(Async::new(listener)?),
            #[cfg(unix)]
            Listener::Unix(listener) => Listening::Unix(Async::new(listener)?),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("a listener async-io cannot serve: {other:?}"),
                ))
            }
        }))
    }

    fn poll_accept(
        &self,
        acceptor: &mut Acceptor,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Stream>> {
        match &acceptor.0 {
            Listening::Tcp(listener) => {
                poll_accept(listener, |l| l.accept(), cx).map(|accepted| {
                    let (stream, _) = accepted?;
                    // Responses go out as written, not held back by Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    Ok(Stream(Connected::Tcp(FuturesIo::new(Async::new(stream)?))))
                })
            }
            #[cfg(unix)]
            Listening::Unix(listener) => {
                poll_accept(listener, |l| l.accept(), cx).map(|accepted| {
                    let (stream, _) = accepted?;
                    Ok(Stream(Connected::Unix(FuturesIo::new(Async::new(stream)?))))
                })
            }
        }
    }
}

impl Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().0 {
            Connected::Tcp(io) => Pin::new(io).poll_read(cx, buf),
            #[cfg(unix)]
            Connected::Unix(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().0 {
            Connected::Tcp(io) => Pin::new(io).poll_write(cx, buf),
            #[cfg(unix)]
            Connected::Unix(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().0 {
            Connected::Tcp(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            Connected::Unix(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.0 {
            Connected::Tcp(io) => io.is_write_vectored(),
            #[cfg(unix)]
            Connected::Unix(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().0 {
            Connected::Tcp(io) => Pin::new(io).poll_flush(cx),
            #[cfg(unix)]
            Connected::Unix(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().0 {
            Connected::Tcp(io) => Pin::new(io).poll_shutdown(cx),
            #[cfg(unix)]
            Connected::Unix(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}
