//! The I/O of one connection, carrying its count: whoever owns the socket (hyper, then an
//! upgrade's handler) keeps the connection counted, blocked writes make it busy, a close
//! lingers until the peer's unread requests are drained (so the close does not reset the
//! answers already written), and the socket fails once the drain is cut.

use crate::shared::Conn;
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use hyper::rt::{Read, ReadBuf, ReadBufCursor, Write};
use lameduck::{future::Reached, runtime::Timer};
use std::{io, sync::Arc};

/// How long a closing connection waits for more of its peer's bytes once none are left to
/// read: bytes arriving after the close would make the kernel reset the connection, which
/// throws away the answers the peer has not read yet.
pub(crate) const LINGER: Duration = Duration::from_millis(250);

/// `io`, counted as the connection `conn` stands for.
pub(crate) struct Counted<I, C: Timer> {
    io: I,
    conn: Arc<Conn>,
    /// Mirrors the connection's write-blocked mark, so flowing writes touch no atomic.
    blocked: bool,
    /// Registered only once the socket waits: completes when the drain is cut.
    cut: Option<Reached>,
    /// Times the linger of a close.
    timer: C,
    closing: Closing<C::Sleep>,
}

/// Where a close (hyper's `poll_shutdown`) stands.
enum Closing<S> {
    Open,
    /// The write side is shut (the peer got every answer and a FIN); the peer's bytes are
    /// read and dropped until it closes too, or it has been quiet for [`LINGER`].
    Lingering(Option<Pin<Box<S>>>),
    Closed,
}

// Nothing of it is pinned in place (the sleep is boxed): the runtime need not be `Unpin`.
impl<I: Unpin, C: Timer> Unpin for Counted<I, C> {}

impl<I, C: Timer> Counted<I, C> {
    pub(crate) fn new(io: I, conn: Arc<Conn>, timer: C) -> Counted<I, C> {
        Counted {
            io,
            conn,
            blocked: false,
            cut: None,
            timer,
            closing: Closing::Open,
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

impl<I: Read + Write + Unpin, C: Timer> Counted<I, C> {
    /// Lingers after the write side was shut: reads and drops what the peer still sends
    /// (pipelined requests that will not be answered) until it closes, or sends nothing
    /// for [`LINGER`]. Closing a socket with unread bytes in its receive queue resets the
    /// connection, and a reset makes the peer's kernel drop every answer it has not read
    /// yet: the answers written would be lost while the report counted them as served.
    /// The connection stays busy meanwhile (the drain waits for it, up to its deadline).
    ///
    /// Being idle is not enough to skip it: a pipelining client is idle between two of its
    /// requests, with answers still unread, while its next requests are on the way
    /// (`drains.rs`' pipelining test is reset without the linger). What is: the quiet seen
    /// *before* the close. A connection the drain closed idle after its peer had been
    /// silent for [`LINGER`] or longer (through the lame duck), and silent since, ends its
    /// close at once (`Conn::closed_quietly`).
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [core::mem::MaybeUninit::<u8>::uninit(); 4096];
        loop {
            let Closing::Lingering(quiet) = &mut self.closing else {
                return Poll::Ready(Ok(()));
            };
            let mut buf = ReadBuf::uninit(&mut scratch);
            match Pin::new(&mut self.io).poll_read(cx, buf.unfilled()) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    // More bytes: wait for quiet afresh (and the quiet seen before the close
                    // no longer counts).
                    *quiet = None;
                    self.conn.heard();
                }
                // The peer closed (or failed): nothing can reset what it read.
                Poll::Ready(_) => break,
                // Quiet for a linger's length already before the close, and since.
                Poll::Pending if self.conn.closed_quietly() => break,
                Poll::Pending => {
                    let timer = &self.timer;
                    let quiet = quiet.get_or_insert_with(|| Box::pin(timer.sleep(LINGER)));
                    if quiet.as_mut().poll(cx).is_ready() {
                        break;
                    }
                    return self.pending(cx);
                }
            }
        }
        self.closing = Closing::Closed;
        Poll::Ready(Ok(()))
    }
}

fn cut_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the drain was cut")
}

impl<I: Read + Unpin, C: Timer> Read for Counted<I, C> {
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

impl<I: Read + Write + Unpin, C: Timer> Write for Counted<I, C> {
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
        if let Closing::Open = this.closing {
            let poll = Pin::new(&mut this.io).poll_shutdown(cx);
            core::task::ready!(this.wrote(poll, cx))?;
            // Busy until the linger ends: the peer may not have the answers yet.
            this.blocked = true;
            this.conn.connection.write_blocked(true);
            this.closing = Closing::Lingering(None);
        }
        let lingered = this.poll_linger(cx);
        if lingered.is_ready() && this.blocked {
            this.blocked = false;
            this.conn.connection.write_blocked(false);
        }
        lingered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::Ordering;
    use futures::{task::noop_waker_ref, FutureExt};
    use hyper_util::rt::TokioIo;
    use lameduck::{Config, Shutdown};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    /// A timer whose sleeps never end: a linger that waits for quiet never ends here.
    #[derive(Clone)]
    struct Never;

    impl Timer for Never {
        type Sleep = core::future::Pending<()>;

        fn now(&self) -> Duration {
            Duration::ZERO
        }

        fn sleep(&self, _: Duration) -> Self::Sleep {
            core::future::pending()
        }
    }

    /// The server's side of an in-memory connection, counted; the client's side.
    fn counted(shutdown: &Shutdown) -> (Counted<TokioIo<DuplexStream>, Never>, DuplexStream) {
        let (server, client) = tokio::io::duplex(1024);
        let conn = Arc::new(Conn::new(shutdown.handle().connection().expect("running")));
        (Counted::new(TokioIo::new(server), conn, Never), client)
    }

    fn shut(io: &mut Counted<TokioIo<DuplexStream>, Never>) -> Poll<io::Result<()>> {
        Pin::new(io).poll_shutdown(&mut Context::from_waker(noop_waker_ref()))
    }

    #[test]
    fn a_close_after_a_quiet_lame_duck_does_not_linger() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let (mut io, mut client) = counted(&shutdown);
        io.conn.spoke.store(false, Ordering::Relaxed);
        io.conn.closed_idle.store(true, Ordering::Relaxed);
        assert!(
            matches!(shut(&mut io), Poll::Ready(Ok(()))),
            "closed at once"
        );
        assert!(io.conn.connection.is_idle());
        let mut rest = Vec::new();
        client
            .read_to_end(&mut rest)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert!(rest.is_empty(), "the client sees the end of the stream");

        // The peer wrote after the quiet (a request racing the close): it lingers.
        let (mut io, mut client) = counted(&shutdown);
        io.conn.spoke.store(false, Ordering::Relaxed);
        io.conn.closed_idle.store(true, Ordering::Relaxed);
        client.write_all(b"GET /").now_or_never().unwrap().unwrap();
        assert!(shut(&mut io).is_pending(), "lingers");
        drop(client);
        assert!(matches!(shut(&mut io), Poll::Ready(Ok(()))));
    }

    #[test]
    fn a_close_lingers_until_the_peer_closes_or_goes_quiet() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let (mut io, mut client) = counted(&shutdown);
        assert!(shut(&mut io).is_pending(), "lingers");
        assert!(!io.conn.connection.is_idle(), "busy while it lingers");
        client
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .now_or_never()
            .unwrap()
            .unwrap();
        assert!(shut(&mut io).is_pending(), "more bytes: still lingers");
        drop(client);
        assert!(
            matches!(shut(&mut io), Poll::Ready(Ok(()))),
            "the peer closed"
        );
        assert!(io.conn.connection.is_idle());
    }
}
