//! One TLS connection over hyper's I/O traits: the handshake, bounded and given up when the
//! drain starts, then a stream that ends every graceful close with `close_notify`.
//!
//! rustls is driven here directly over `hyper::rt::Read + Write`, the traits every runtime's
//! stream already implements for `serve` (`Network::Stream`), rather than through
//! tokio-rustls (tokio I/O only) or futures-rustls (futures-io only): one implementation
//! for every runtime, with no second bridge in between. Plaintext is read with rustls's
//! `BufRead` straight into hyper's buffer: no zeroing and no copy through a buffer of ours.

use core::{
    future::poll_fn,
    pin::{pin, Pin},
    task::{ready, Context, Poll, Waker},
    time::Duration,
};
use futures_util::future::{select, Either};
use hyper::rt::{Read, ReadBuf, ReadBufCursor, Write};
use lameduck::{runtime::Timer, Connection};
use rustls::{ServerConfig, ServerConnection};
use std::{
    io::{self, BufRead, Write as _},
    sync::Arc,
};

/// A TLS connection (server side) over `io`, past its handshake: hyper's `Read` and
/// `Write` over the plaintext. Made by [`Tls::handshake`](super::Tls::handshake); hand it
/// to [`serve_connection`](crate::serve_connection).
///
/// `poll_shutdown` sends `close_notify` before it shuts the socket; dropped without it
/// while the drain is not cut, the stream still tries (once, without waiting) to send
/// `close_notify`, so that every graceful close ends with it; after a cut it sends nothing.
///
/// ```no_run
/// # fn f<I: hyper::rt::Read + hyper::rt::Write + Unpin>(stream: lameduck_hyper::tls::TlsStream<I>) {
/// let http2 = stream.tls().alpn_protocol() == Some(b"h2");
/// # }
/// ```
pub struct TlsStream<I: Read + Write + Unpin> {
    io: I,
    tls: ServerConnection,
    /// The drain's view of this connection: a stream dropped after a cut says nothing.
    connection: Connection,
    /// `close_notify` was queued (by `poll_shutdown`, or on drop).
    closing: bool,
}

/// Does the TLS handshake on `io` for `connection`: the stream once it is done; an error
/// if it failed, took longer than `timeout` (`TimedOut`), or draining started first
/// (`Interrupted`: a handshake never holds the drain, it is dropped at once as an idle
/// connection would be).
pub(crate) async fn handshake<T: Timer, I: Read + Write + Unpin>(
    timer: &T,
    io: I,
    connection: Connection,
    config: Arc<ServerConfig>,
    timeout: Duration,
) -> io::Result<TlsStream<I>> {
    let tls = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut stream = TlsStream {
        io,
        tls,
        connection,
        closing: false,
    };
    let draining = stream.connection.draining();
    let done = {
        let handshake = poll_fn(|cx| stream.poll_handshake(cx));
        let sleep = pin!(timer.sleep(timeout));
        let stop = select(sleep, draining);
        match select(pin!(handshake), stop).await {
            Either::Left((done, _)) => done,
            Either::Right((Either::Left(_), _)) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the tls handshake timed out",
            )),
            Either::Right((Either::Right(_), _)) => Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "draining started during the tls handshake",
            )),
        }
    };
    done.map(|()| stream)
}

/// `io` as `std::io::Read` for rustls: `Pending` is `WouldBlock` (the waker is registered).
struct SyncRead<'a, 'b, I> {
    io: &'a mut I,
    cx: &'a mut Context<'b>,
}

impl<I: Read + Unpin> io::Read for SyncRead<'_, '_, I> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut *self.io).poll_read(self.cx, buf.unfilled()) {
            Poll::Ready(Ok(())) => Ok(buf.filled().len()),
            Poll::Ready(Err(error)) => Err(error),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// `io` as `std::io::Write` for rustls: `Pending` is `WouldBlock` (the waker is registered).
struct SyncWrite<'a, 'b, I> {
    io: &'a mut I,
    cx: &'a mut Context<'b>,
}

impl<I: Write + Unpin> io::Write for SyncWrite<'_, '_, I> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        pending_is_would_block(Pin::new(&mut *self.io).poll_write(self.cx, buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        pending_is_would_block(Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        pending_is_would_block(Pin::new(&mut *self.io).poll_flush(self.cx))
    }
}

fn pending_is_would_block<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

fn would_block_is_pending<T>(result: io::Result<T>) -> Poll<io::Result<T>> {
    match result {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        result => Poll::Ready(result),
    }
}

impl<I: Read + Write + Unpin> TlsStream<I> {
    /// The rustls connection: the protocol chosen with ALPN, the server name the client
    /// asked for (SNI), the protocol version, the client's certificates.
    ///
    /// ```no_run
    /// # fn f<I: hyper::rt::Read + hyper::rt::Write + Unpin>(stream: &lameduck_hyper::tls::TlsStream<I>) {
    /// let name = stream.tls().server_name();
    /// # }
    /// ```
    pub fn tls(&self) -> &ServerConnection {
        &self.tls
    }

    /// Reads TLS records from the socket and processes them: the bytes read (0 at the
    /// peer's end of stream).
    fn read_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let read = ready!(would_block_is_pending(self.tls.read_tls(&mut SyncRead {
            io: &mut self.io,
            cx,
        })))?;
        if let Err(error) = self.tls.process_new_packets() {
            // rustls queued an alert saying why: best effort, the connection ends anyway.
            let _ = self.write_io(cx);
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, error)));
        }
        Poll::Ready(Ok(read))
    }

    /// Writes queued TLS records to the socket: the bytes written.
    fn write_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        would_block_is_pending(self.tls.write_tls(&mut SyncWrite {
            io: &mut self.io,
            cx,
        }))
    }

    /// Writes every queued TLS record; `Pending` while the socket does not take them.
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            if ready!(self.write_io(cx))? == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_write_queued(cx))?;
            if !self.tls.is_handshaking() {
                return Pin::new(&mut self.io).poll_flush(cx);
            }
            if ready!(self.read_io(cx))? == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the tls handshake",
                )));
            }
        }
    }
}

impl<I: Read + Write + Unpin> Read for TlsStream<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let mut reader = this.tls.reader();
            match reader.fill_buf() {
                Ok(plaintext) => {
                    // Empty: the peer sent `close_notify`, the end of the stream.
                    let n = plaintext.len().min(buf.remaining());
                    buf.put_slice(&plaintext[..n]);
                    reader.consume(n);
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // The peer's TCP stream ended without `close_notify` (many clients close so):
                // an end of stream. HTTP frames its messages, so hyper still tells a
                // truncated request from a complete one.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                    return Poll::Ready(Ok(()))
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
            // Records rustls wants sent first (a key update's answer): best effort here, the
            // next write or flush sends them too.
            if this.tls.wants_write() {
                let _ = this.poll_write_queued(cx);
            }
            ready!(this.read_io(cx))?;
        }
    }
}

impl<I: Read + Write + Unpin> Write for TlsStream<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut taken = 0;
        loop {
            // Encrypted into rustls's send buffer at once (up to its limit, 64 KiB).
            taken += this.tls.writer().write(&buf[taken..])?;
            while this.tls.wants_write() {
                match this.write_io(cx) {
                    Poll::Ready(Ok(0)) if taken == 0 => {
                        return Poll::Ready(Err(io::ErrorKind::WriteZero.into()))
                    }
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(taken)),
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    // What was taken is buffered, and the next write or flush sends it.
                    Poll::Pending if taken > 0 => return Poll::Ready(Ok(taken)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if taken == buf.len() {
                return Poll::Ready(Ok(taken));
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_queued(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    /// Sends `close_notify` (once), everything still queued before it, then shuts the
    /// socket's write side: the peer reads a clean end of stream.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.closing = true;
            this.tls.send_close_notify();
        }
        ready!(this.poll_write_queued(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

impl<I: Read + Write + Unpin> core::fmt::Debug for TlsStream<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsStream")
            .field("tls", &self.tls)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl<I: Read + Write + Unpin> Drop for TlsStream<I> {
    /// A stream dropped without `poll_shutdown` (hyper drops a connection it closes before
    /// reading a request; an upgrade's handler drops its socket) still says `close_notify`
    /// when that is a graceful close: one write attempt, never waiting (a socket with room
    /// for 24 bytes takes it; a full one is not waited for). After a cut it says nothing.
    fn drop(&mut self) {
        if self.closing || self.tls.is_handshaking() || self.connection.is_cut() {
            return;
        }
        self.tls.send_close_notify();
        let mut cx = Context::from_waker(Waker::noop());
        let _ = self.poll_write_queued(&mut cx);
    }
}
