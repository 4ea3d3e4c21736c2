//! lameduck on an executor of your own: a [`Timer`] backed by one timer thread and a
//! [`SignalSource`](lameduck::runtime::SignalSource) backed by a signal-hook thread, with no async
//! runtime underneath: they wake whatever task polled them, on any executor (the
//! `custom_executor` example runs them on `futures::executor::block_on`), and on Unix a
//! [`Network`](lameduck::runtime::Network) over blocking sockets, for lameduck's accept loop.
//!
//! This is the file to copy when your executor is not tokio or smol; check your copy with
//! `lameduck::conformance::run` (feature `test-util`), as `tests/custom_conformance.rs`
//! does for this one.

use core::{
    cmp::Reverse,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
    time::Duration,
};
use futures::{channel::mpsc, Stream};
use lameduck::{
    runtime::{BoxError, Runtime, Timer},
    Signal, SignalSet,
};
use std::{
    collections::BinaryHeap,
    io,
    sync::{Arc, Condvar, Mutex, OnceLock, Weak},
    time::Instant,
};

/// A [`Timer`] whose sleeps are woken by one process-wide timer thread.
///
/// ```
/// use lameduck::runtime::Timer;
/// use lameduck_examples::custom_rt::ThreadTimer;
/// let timer = ThreadTimer::new();
/// futures::executor::block_on(timer.sleep(std::time::Duration::from_millis(5)));
/// assert!(timer.now() >= std::time::Duration::from_millis(5));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ThreadTimer {
    origin: Instant,
}

impl ThreadTimer {
    /// A timer whose zero is now (the thread starts with the first sleep of the process).
    ///
    /// ```
    /// let _timer = lameduck_examples::custom_rt::ThreadTimer::new();
    /// ```
    pub fn new() -> ThreadTimer {
        ThreadTimer {
            origin: Instant::now(),
        }
    }
}

impl Default for ThreadTimer {
    fn default() -> Self {
        ThreadTimer::new()
    }
}

impl Timer for ThreadTimer {
    type Sleep = Sleep;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep {
            // `None`: past what `Instant` can hold, so it never completes.
            deadline: Instant::now().checked_add(duration),
            slot: None,
        }
    }
}

/// One sleep's share with the timer thread: the waker to call at the deadline.
#[derive(Debug, Default)]
struct Slot {
    waker: Mutex<Option<Waker>>,
}

/// The future of [`ThreadTimer::sleep`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it drops its slot; the timer thread then skips it.
///
/// ```
/// use lameduck::runtime::Timer;
/// let sleep: lameduck_examples::custom_rt::Sleep =
///     lameduck_examples::custom_rt::ThreadTimer::new().sleep(std::time::Duration::ZERO);
/// futures::executor::block_on(sleep);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Option<Instant>,
    slot: Option<Arc<Slot>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(deadline) = this.deadline else {
            return Poll::Pending; // never completes, and no waker is ever needed
        };
        if Instant::now() >= deadline {
            this.slot = None;
            return Poll::Ready(());
        }
        match &this.slot {
            Some(slot) => {
                let mut waker = slot.waker.lock().unwrap_or_else(|e| e.into_inner());
                *waker = Some(cx.waker().clone());
            }
            None => {
                let slot = Arc::new(Slot {
                    waker: Mutex::new(Some(cx.waker().clone())),
                });
                timer_thread().add(deadline, &slot);
                this.slot = Some(slot);
            }
        }
        Poll::Pending
    }
}

/// The deadlines the timer thread waits for, earliest first.
#[derive(Debug, Default)]
struct Deadlines {
    queue: Mutex<BinaryHeap<Reverse<Entry>>>,
    changed: Condvar,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    slot: Weak<Slot>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

impl Deadlines {
    fn add(&self, at: Instant, slot: &Arc<Slot>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.push(Reverse(Entry {
            at,
            slot: Arc::downgrade(slot),
        }));
        self.changed.notify_one();
    }

    /// The timer thread: wake every sleep whose deadline passed, then wait for the next.
    fn run(&self) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            while queue.peek().is_some_and(|Reverse(e)| e.at <= now) {
                let Some(Reverse(entry)) = queue.pop() else {
                    break;
                };
                // A dropped sleep has no slot left: nothing to wake.
                if let Some(slot) = entry.slot.upgrade() {
                    let waker = slot.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
            }
            let wait = queue
                .peek()
                .map(|Reverse(e)| e.at.saturating_duration_since(now));
            queue = match wait {
                Some(wait) => match self.changed.wait_timeout(queue, wait) {
                    Ok((queue, _)) => queue,
                    Err(poisoned) => poisoned.into_inner().0,
                },
                None => self.changed.wait(queue).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

fn timer_thread() -> &'static Deadlines {
    static DEADLINES: OnceLock<&'static Deadlines> = OnceLock::new();
    DEADLINES.get_or_init(|| {
        let deadlines: &'static Deadlines = Box::leak(Box::default());
        std::thread::Builder::new()
            .name("lameduck-timer".into())
            .spawn(|| deadlines.run())
            .expect("spawn the timer thread");
        deadlines
    })
}

/// A [`SignalSource`](lameduck::runtime::SignalSource) fed by a signal-hook thread: the handlers are
/// installed by [`new`](Self::new), the thread forwards every signal into a channel, and
/// the stream is that channel. Unix only (signal-hook's iterator).
///
/// # Cancel safety
///
/// Polling `next()` is cancel-safe: a signal not yet taken stays in the channel.
///
/// ```no_run
/// use futures::StreamExt;
/// let mut signals = lameduck_examples::custom_rt::ThreadSignals::new(lameduck::SignalSet::DEFAULT).unwrap();
/// futures::executor::block_on(async { println!("{:?}", signals.next().await) });
/// ```
#[derive(Debug)]
pub struct ThreadSignals {
    received: mpsc::UnboundedReceiver<Signal>,
    handle: signal_hook::iterator::Handle,
}

impl ThreadSignals {
    /// Installs handlers for every signal in `set` and starts the forwarding thread.
    ///
    /// # Errors
    ///
    /// signal-hook refused a signal (`SIGKILL`, `SIGSTOP`, the fault signals), or the
    /// thread could not start.
    ///
    /// ```
    /// let signals = lameduck_examples::custom_rt::ThreadSignals::new(lameduck::SignalSet::DEFAULT);
    /// assert!(signals.is_ok());
    /// ```
    pub fn new(set: SignalSet) -> io::Result<ThreadSignals> {
        let numbers: Vec<i32> = set.iter().map(|s| s.number().into()).collect();
        let mut os = signal_hook::iterator::Signals::new(&numbers)?;
        let handle = os.handle();
        let (send, received) = mpsc::unbounded();
        std::thread::Builder::new()
            .name("lameduck-signals".into())
            .spawn(move || {
                // Ends when the handle is closed (the source dropped).
                for number in os.forever() {
                    let signal = Signal::new(u8::try_from(number).unwrap_or(u8::MAX));
                    if send.unbounded_send(signal).is_err() {
                        break;
                    }
                }
            })?;
        Ok(ThreadSignals { received, handle })
    }
}

impl Stream for ThreadSignals {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        Pin::new(&mut self.get_mut().received).poll_next(cx)
    }
}

impl Drop for ThreadSignals {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// The whole runtime: [`ThreadTimer`]'s time, [`ThreadSignals`], each task on a thread of
/// its own (run by `futures::executor::block_on`), blocking work on a thread of its own.
impl Runtime for ThreadTimer {
    type Signals = ThreadSignals;

    fn signals(&self, set: SignalSet) -> Result<ThreadSignals, BoxError> {
        Ok(ThreadSignals::new(set)?)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        std::thread::spawn(move || futures::executor::block_on(task));
    }

    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
        std::thread::spawn(work);
    }
}

/// Accepting on plain threads: a non-blocking `accept(2)`, and when nothing is queued a
/// thread that waits in `poll(2)` for the listener to be readable, then wakes the task. The
/// connections are blocking sockets: each is served on a task of its own, which is a thread
/// of its own (see [`Runtime::spawn`] above). TCP only.
#[cfg(unix)]
impl lameduck::runtime::Network for ThreadTimer {
    type Acceptor = Acceptor;
    type Stream = std::net::TcpStream;

    fn listen(&self, listener: lameduck::runtime::Listener) -> io::Result<Acceptor> {
        let lameduck::runtime::Listener::Tcp(listener) = listener else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "TCP only"));
        };
        listener.set_nonblocking(true)?;
        Ok(Acceptor {
            listener: Arc::new(listener),
            waiter: None,
        })
    }

    fn fd<'a>(&self, acceptor: &'a Acceptor) -> Option<std::os::fd::BorrowedFd<'a>> {
        Some(std::os::fd::AsFd::as_fd(&*acceptor.listener))
    }

    fn poll_accept(
        &self,
        acceptor: &mut Acceptor,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<std::net::TcpStream>> {
        match acceptor.listener.accept() {
            Ok((stream, _)) => Poll::Ready(stream.set_nonblocking(false).map(|()| stream)),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => match acceptor.wait(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

/// [`ThreadTimer`]'s registered listener. Dropping it stops its waiting thread first, so
/// the socket is closed (new connects refused) when the drop returns.
#[cfg(unix)]
#[derive(Debug)]
pub struct Acceptor {
    listener: Arc<std::net::TcpListener>,
    waiter: Option<Waiter>,
}

/// A thread in `poll(2)` on the listener and on a pipe that stops it.
#[cfg(unix)]
#[derive(Debug)]
struct Waiter {
    /// The task to wake; taken (left empty) by the thread once `poll(2)` returns.
    waker: Arc<Mutex<Option<Waker>>>,
    stop: std::os::fd::OwnedFd,
    thread: std::thread::JoinHandle<()>,
}

#[cfg(unix)]
impl Acceptor {
    /// Wakes `cx`'s task once the listener is readable.
    ///
    /// The waiting thread takes the waker out of the shared slot when `poll(2)` returns, under
    /// the slot's lock: a slot still holding a waker is a thread still waiting, which gets the
    /// new waker; an empty slot is a thread that has fired (or is about to end), so a new one
    /// is started. (Asking the thread whether it has *finished* instead loses the wake of a
    /// connection that arrives between its wake and its end.)
    fn wait(&mut self, cx: &Context<'_>) -> io::Result<()> {
        if let Some(waiter) = &self.waiter {
            let mut slot = waiter.waker.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(waker) = slot.as_mut() {
                waker.clone_from(cx.waker());
                return Ok(());
            }
        }
        if let Some(fired) = self.waiter.take() {
            // It has taken its waker: all that is left for it is to return.
            let _ = fired.thread.join();
        }
        let (stopped, stop) = rustix::pipe::pipe()?;
        let waker = Arc::new(Mutex::new(Some(cx.waker().clone())));
        let (listener, wake) = (Arc::clone(&self.listener), Arc::clone(&waker));
        let thread = std::thread::spawn(move || {
            use rustix::event::{poll, PollFd, PollFlags};
            let mut fds = [
                PollFd::new(&*listener, PollFlags::IN),
                PollFd::new(&stopped, PollFlags::IN),
            ];
            while let Err(rustix::io::Errno::INTR) = poll(&mut fds, None) {}
            let waker = wake.lock().unwrap_or_else(|e| e.into_inner()).take();
            if fds[1].revents().is_empty() {
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        });
        self.waiter = Some(Waiter {
            waker,
            stop,
            thread,
        });
        Ok(())
    }
}

#[cfg(unix)]
impl Drop for Acceptor {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            let _ = rustix::io::write(&waiter.stop, &[1]);
            let _ = waiter.thread.join();
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::ThreadTimer;
    use lameduck::runtime::{Listener, Network};
    use std::{net::TcpListener, sync::mpsc, time::Duration};

    /// Connections that arrive one at a time, each after the accept is pending again, are
    /// all accepted: the wake of the next one is never lost while the previous waiting thread
    /// ends. (A waiter that was asked whether it had *finished* lost it about once in a few
    /// hundred connections, and the accept loop then slept forever.)
    #[test]
    fn every_connection_arriving_while_the_accept_waits_is_accepted() {
        const CONNECTIONS: usize = 3000;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let runtime = ThreadTimer::new();
        let mut acceptor = runtime.listen(Listener::Tcp(listener)).expect("listen");
        let (pending, connect) = mpsc::channel::<()>();
        let client = std::thread::spawn(move || {
            // One connect per accept that has gone to sleep (closed at once: it stays queued).
            while connect.recv().is_ok() {
                drop(std::net::TcpStream::connect(addr).expect("connect"));
            }
        });
        let (done, accepted) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..CONNECTIONS {
                let mut asked = false;
                let stream = futures::executor::block_on(core::future::poll_fn(|cx| {
                    let poll = runtime.poll_accept(&mut acceptor, cx);
                    if poll.is_pending() && !asked {
                        asked = true;
                        pending.send(()).expect("client running");
                    }
                    poll
                }));
                stream.expect("accepted");
                done.send(()).expect("test waiting");
            }
            drop(pending);
        });
        for n in 0..CONNECTIONS {
            accepted
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("connection {n} was never accepted"));
        }
        client.join().expect("client");
    }
}
