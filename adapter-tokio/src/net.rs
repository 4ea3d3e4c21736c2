//! [`Tokio`](crate::Tokio) as a [`Network`]: tokio's TCP and Unix listeners, and their
//! connections as hyper I/O.

use core::{
    pin::Pin,
    task::{Context, Poll},
};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::TokioIo;
use lameduck::runtime::{Listener, Network};
use std::io;

/// A listener registered with tokio. Made by [`Network::listen`].
///
/// ```
/// use lameduck::runtime::Network;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let _acceptor = lameduck_tokio::Tokio::new().listen(listener.into()).unwrap();
/// # });
/// ```
#[derive(Debug)]
pub struct Acceptor(Listening);

#[derive(Debug)]
enum Listening {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

/// A connection accepted on tokio, readable and writable by hyper. Made by
/// [`Network::poll_accept`].
///
/// ```
/// fn takes(_: lameduck_tokio::Stream) {}
/// ```
#[derive(Debug)]
pub struct Stream(Connected);

// hyper-util's `TokioIo` bridges tokio's I/O traits to hyper's (without copying through an
// initialised buffer); it stays inside this type.
#[derive(Debug)]
enum Connected {
    Tcp(TokioIo<tokio::net::TcpStream>),
    #[cfg(unix)]
    Unix(TokioIo<tokio::net::UnixStream>),
}

impl Network for crate::Tokio {
    type Acceptor = Acceptor;
    type Stream = Stream;

    fn listen(&self, listener: Listener) -> io::Result<Acceptor> {
        listener.set_nonblocking()?;
        Ok(Acceptor(match listener {
            Listener::Tcp(listener) => Listening::Tcp(tokio::net::TcpListener::from_std(listener)?),
            #[cfg(unix)]
            Listener::Unix(listener) => {
                Listening::Unix(tokio::net::UnixListener::from_std(listener)?)
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("a listener tokio cannot serve: {other:?}"),
                ))
            }
        }))
    }

    fn poll_accept(
        &self,
        acceptor: &mut Acceptor,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Stream>> {
        match &mut acceptor.0 {
            Listening::Tcp(listener) => listener.poll_accept(cx).map_ok(|(stream, _)| {
                // Responses go out as written, not held back by Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                Stream(Connected::Tcp(TokioIo::new(stream)))
            }),
            #[cfg(unix)]
            Listening::Unix(listener) => listener
                .poll_accept(cx)
                .map_ok(|(stream, _)| Stream(Connected::Unix(TokioIo::new(stream)))),
        }
    }

    /// One `accept(2)` on a duplicate of the listening socket (sharing its non-blocking
    /// flag), around tokio's readiness cache: that cache may not have seen the connections
    /// queued since the reactor's last event, and `poll_accept` would say `Pending`.
    #[cfg(unix)]
    fn try_accept(&self, acceptor: &mut Acceptor) -> Option<io::Result<Stream>> {
        use crate::serve::accept_now;
        Some(match &acceptor.0 {
            Listening::Tcp(listener) => accept_now(listener, std::net::TcpListener::accept)?
                .and_then(|(stream, _)| {
                    stream.set_nonblocking(true)?;
                    let stream = tokio::net::TcpStream::from_std(stream)?;
                    let _ = stream.set_nodelay(true);
                    Ok(Stream(Connected::Tcp(TokioIo::new(stream))))
                }),
            Listening::Unix(listener) => {
                accept_now(listener, std::os::unix::net::UnixListener::accept)?.and_then(
                    |(stream, _)| {
                        stream.set_nonblocking(true)?;
                        let stream = tokio::net::UnixStream::from_std(stream)?;
                        Ok(Stream(Connected::Unix(TokioIo::new(stream))))
                    },
                )
            }
        })
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
