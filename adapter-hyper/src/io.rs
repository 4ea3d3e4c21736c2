//! The I/O of one connection, carrying its count: whoever owns the socket (hyper, then an
//! upgrade's handler) keeps the connection counted, blocked writes make it busy, and the
//! socket fails once the drain is cut.

use crate::shared::Conn;
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use hyper::rt::{Read, ReadBufCursor, Write};
use lameduck::future::Reached;
use std::{io, sync::Arc};

/// `io`, counted as the connection `conn` stands for.
pub(crate) struct Counted<I> {
    io: I,
    conn: Arc<Conn>,
    /// Mirrors the connection's write-blocked mark, so flowing writes touch no atomic.
    blocked: bool,
    /// Registered only once the socket waits: completes when the drain is cut.
    cut: Option<Reached>,
}

impl<I> Counted<I> {
    pub(crate) fn new(io: I, conn: Arc<Conn>) -> Counted<I> {
        Counted {
            io,
            conn,
            blocked: false,
            cut: None,
        }
    }

    /// After a `Pending` from the socket: `Err` if the drain was cut (the waiter then fails
    /// rather than holding the connection), otherwise still `Pending`, and woken at the cut.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let conn = &self.conn;
        let cut = self.cut.get_or_insert_with(|| conn.connection.cut());
        match Pin::new(cut).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(cut_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote<T>(&mut self, poll: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Pending => {
                if !self.blocked {
                    self.blocked = true;
                    self.conn.connection.write_blocked(true);
                }
                self.pending(cx)
            }
            ready => {
                if self.blocked {
                    self.blocked = false;
                    self.conn.connection.write_blocked(false);
                }
                ready
            }
        }
    }
}

fn cut_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the drain was cut")
}

impl<I: Read + Unpin> Read for Counted<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => this.pending(cx),
            ready => {
                this.conn.heard();
                ready
            }
        }
    }
}

impl<I: Write + Unpin> Write for Counted<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.wrote(poll, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.wrote(poll, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.wrote(poll, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.wrote(poll, cx)
    }
}
