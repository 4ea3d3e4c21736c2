//! futures-io's I/O family (feature `smol`): async-io's sockets through smol-hyper's
//! `FuturesIo`, with a close that shuts the write side.

use super::HyperIo;
use async_io::Async;
use core::{
    pin::Pin,
    task::{Context, Poll},
};
use futures_io::{AsyncRead, AsyncWrite};
use smol_hyper::rt::FuturesIo;
use std::{io, net::Shutdown};

/// async-io's TCP stream (smol's, async-std's), through smol-hyper's `FuturesIo`.
impl HyperIo for Async<std::net::TcpStream> {
    type Io = FuturesIo<Closing<std::net::TcpStream>>;

    fn hyper_io(self) -> Self::Io {
        FuturesIo::new(Closing(self))
    }
}

/// async-io's Unix-domain stream, through smol-hyper's `FuturesIo`.
#[cfg(unix)]
impl HyperIo for Async<std::os::unix::net::UnixStream> {
    type Io = FuturesIo<Closing<std::os::unix::net::UnixStream>>;

    fn hyper_io(self) -> Self::Io {
        FuturesIo::new(Closing(self))
    }
}

/// An async-io stream whose close (hyper's `poll_shutdown`) shuts its write side, as
/// tokio's does. async-io's own `poll_close` only flushes: the peer then sees no end of
/// stream until the socket is dropped, so a `connection: close` answer kept its client
/// waiting, and a closing connection's linger (which waits for the peer to close in turn)
/// always ran to its end.
///
/// ```
/// fn takes(_: lameduck_hyper::rt::Closing<std::net::TcpStream>) {}
/// ```
#[derive(Debug)]
pub struct Closing<T>(Async<T>);

/// A stream socket whose write side can be shut.
trait ShutWrite {
    fn shut_write(&self) -> io::Result<()>;
}

impl ShutWrite for std::net::TcpStream {
    fn shut_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl ShutWrite for std::os::unix::net::UnixStream {
    fn shut_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl<T> AsyncRead for Closing<T>
where
    Async<T>: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<T: ShutWrite> AsyncWrite for Closing<T>
where
    Async<T>: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        core::task::ready!(Pin::new(&mut this.0).poll_flush(cx))?;
        match this.0.get_ref().shut_write() {
            // The peer is gone already: nothing left to end.
            Err(error) if error.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            done => Poll::Ready(done),
        }
    }
}
