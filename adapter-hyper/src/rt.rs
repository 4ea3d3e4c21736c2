//! The bridges from a runtime's I/O traits to hyper's, one per I/O family, behind features:
//! [`HyperIo`] says how a [`Network`](lameduck::runtime::Network)'s stream becomes hyper I/O.
//!
//! - feature `tokio`: tokio's `AsyncRead`/`AsyncWrite` (`tokio::net::TcpStream`,
//!   `UnixStream`), through hyper-util's `TokioIo` (reads into hyper's buffer without
//!   filling it first);
//! - feature `smol`: futures-io's (`async_io::Async<std::net::TcpStream>`, `UnixStream`:
//!   smol's and async-std's), through smol-hyper's `FuturesIo`.
//!
//! A [`Socket`] of two bridged streams is bridged: that is what `lameduck-tokio` and
//! `lameduck-smol` accept.

#[cfg(feature = "smol")]
mod futures_io;
#[cfg(feature = "smol")]
pub use futures_io::Closing;
#[cfg(feature = "tokio")]
mod tokio;

use core::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};
use hyper::rt::{Read, ReadBufCursor, Write};
use lameduck::runtime::Socket;
use std::io;

/// How a runtime's accepted stream becomes hyper I/O (`hyper::rt::Read` + `Write`).
///
/// Implemented for the runtimes' streams by this crate's features; a stream of your own
/// (your runtime's) implements it with a bridge of its own.
///
/// ```
/// # #[cfg(feature = "tokio")]
/// fn bridged<S: lameduck_hyper::rt::HyperIo>() {}
/// # #[cfg(feature = "tokio")]
/// bridged::<lameduck::runtime::Socket<tokio::net::TcpStream, tokio::net::UnixStream>>();
/// ```
pub trait HyperIo: Send + Unpin + 'static {
    /// The stream as hyper reads and writes it.
    type Io: Read + Write + Send + Unpin + 'static;

    /// Wraps the stream.
    fn hyper_io(self) -> Self::Io;
}

impl<T: HyperIo, U: HyperIo> HyperIo for Socket<T, U> {
    type Io = Either<T::Io, U::Io>;

    fn hyper_io(self) -> Self::Io {
        match self {
            Socket::Tcp(tcp) => Either::Tcp(tcp.hyper_io()),
            Socket::Unix(unix) => Either::Unix(unix.hyper_io()),
        }
    }
}

/// A platform without Unix-domain sockets: the TCP stream alone.
impl<T: HyperIo> HyperIo for Socket<T, Infallible> {
    type Io = T::Io;

    fn hyper_io(self) -> Self::Io {
        match self {
            Socket::Tcp(tcp) => tcp.hyper_io(),
            Socket::Unix(never) => match never {},
        }
    }
}

/// The hyper I/O of a [`Socket`]: TCP or Unix.
///
/// ```
/// fn takes<A, B>(_: lameduck_hyper::rt::Either<A, B>) {}
/// ```
#[derive(Debug)]
pub enum Either<T, U> {
    /// The TCP stream's.
    Tcp(T),
    /// The Unix-domain stream's.
    Unix(U),
}

impl<T: Read + Unpin, U: Read + Unpin> Read for Either<T, U> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Either::Tcp(io) => Pin::new(io).poll_read(cx, buf),
            Either::Unix(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl<T: Write + Unpin, U: Write + Unpin> Write for Either<T, U> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Either::Tcp(io) => Pin::new(io).poll_write(cx, buf),
            Either::Unix(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Either::Tcp(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Either::Unix(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Either::Tcp(io) => io.is_write_vectored(),
            Either::Unix(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Either::Tcp(io) => Pin::new(io).poll_flush(cx),
            Either::Unix(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Either::Tcp(io) => Pin::new(io).poll_shutdown(cx),
            Either::Unix(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}
