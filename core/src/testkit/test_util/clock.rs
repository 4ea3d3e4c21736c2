//! A clock that moves only when told to, or, under its own `block_on`, when all is idle.

use super::ScriptedSignals;
use crate::{
    facade::runtime::{BoxError, Runtime},
    pure::signal::SignalSet,
    pure::sync::Arc,
    pure::traits::Timer,
};
use alloc::{boxed::Box, collections::BTreeMap, sync::Arc as StdArc, task::Wake, vec::Vec};
use core::{
    fmt,
    future::Future,
    pin::{pin, Pin},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    task::{Context, Poll, Waker},
    time::Duration,
};
use std::{sync::Mutex, thread::Thread};

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the clock's clones share beside the time: spawned tasks, blocking work under way,
/// and the scripted signals its [`Runtime::signals`] hands out.
#[derive(Default)]
struct Executor {
    tasks: Mutex<Vec<Task>>,
    /// The waker of the `block_on` running now, if any: a spawn wakes it.
    runner: Mutex<Option<Waker>>,
    /// Blocking work under way (see `block_on`); SeqCst throughout, see there.
    blocking: AtomicUsize,
    /// Threads to unpark when blocking work ends.
    waiters: Mutex<Vec<Thread>>,
    signals: ScriptedSignals,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking task leaves plain data behind: still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long [`ManualClock::block_on`] waits for a real wake-up (a hook thread finishing,
/// another thread dropping a guard) before it lets time jump.
pub const REAL_WORK_GRACE: Duration = Duration::from_millis(5);

#[derive(Default)]
struct State {
    now: Duration,
    next_id: u64,
    /// Pending sleeps by (deadline, id): ordered, so the earliest is first.
    sleepers: BTreeMap<(Duration, u64), Waker>,
}

/// A [`Timer`] whose time moves only by [`advance`](Self::advance), or by
/// [`block_on`](Self::block_on) when the future it runs is waiting on nothing but sleeps.
///
/// Clones share the same time. Deadlines fire exactly: a sleep of 500 ms completes when
/// the clock reaches 500 ms, not at 499.
///
/// ```
/// use core::time::Duration;
/// use lameduck::{test_util::ManualClock, runtime::Timer};
/// let clock = ManualClock::new();
/// let sleep = clock.sleep(Duration::from_millis(500));
/// clock.advance(Duration::from_millis(499));
/// assert_eq!(clock.pending_sleeps(), 0); // not polled yet, so not registered
/// clock.block_on(sleep); // jumps to 500 ms: nothing else could happen first
/// assert_eq!(clock.now(), Duration::from_millis(500));
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    state: Arc<spin::Mutex<State>>,
    executor: StdArc<Executor>,
}

impl ManualClock {
    /// A clock at zero.
    ///
    /// ```
    /// use lameduck::runtime::Timer;
    /// assert!(lameduck::test_util::ManualClock::new().now().is_zero());
    /// ```
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves time forward by `by` (saturating) and wakes every sleep now due.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lameduck::{test_util::ManualClock, runtime::Timer};
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(clock.now(), Duration::from_secs(3));
    /// ```
    pub fn advance(&self, by: Duration) {
        let target = self.state.lock().now.saturating_add(by);
        self.advance_to(target);
    }

    /// Moves time to `at` if that is later than now, waking every sleep due.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lameduck::{test_util::ManualClock, runtime::Timer};
    /// let clock = ManualClock::new();
    /// clock.advance_to(Duration::from_secs(2));
    /// clock.advance_to(Duration::from_secs(1)); // never backwards
    /// assert_eq!(clock.now(), Duration::from_secs(2));
    /// ```
    pub fn advance_to(&self, at: Duration) {
        let due = {
            let mut state = self.state.lock();
            state.now = state.now.max(at);
            let now = state.now;
            let later = state.sleepers.split_off(&(now, u64::MAX));
            core::mem::replace(&mut state.sleepers, later)
        };
        // Woken outside the lock: a waker may poll right away.
        due.into_values().for_each(Waker::wake);
    }

    /// How many sleeps are registered and not yet due.
    ///
    /// ```
    /// assert_eq!(lameduck::test_util::ManualClock::new().pending_sleeps(), 0);
    /// ```
    pub fn pending_sleeps(&self) -> usize {
        self.state.lock().sleepers.len()
    }

    /// The earliest pending deadline.
    ///
    /// ```
    /// assert_eq!(lameduck::test_util::ManualClock::new().next_deadline(), None);
    /// ```
    pub fn next_deadline(&self) -> Option<Duration> {
        self.state.lock().sleepers.keys().next().map(|(at, _)| *at)
    }

    /// Sends `signal` to the stream [`Runtime::signals`] hands out (every clone of the
    /// clock shares one).
    ///
    /// ```
    /// use lameduck::{test_util::ManualClock, Config, runtime::Runtime, Shutdown, Signal, SignalSet};
    /// let clock = ManualClock::new();
    /// let signals = clock.signals(SignalSet::DEFAULT).unwrap();
    /// clock.send(Signal::TERM);
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// let report = clock.block_on(shutdown.run(clock.clone(), signals));
    /// assert_eq!(report.exit_code(), 0);
    /// ```
    pub fn send(&self, signal: crate::pure::signal::Signal) {
        self.executor.signals.send(signal);
    }

    /// Runs `future` to completion on this thread, with every task [spawned](Runtime::spawn)
    /// on the clock. Whenever they all wait and nothing woke them, the clock jumps to the
    /// earliest pending sleep (as a paused runtime clock does), so timeouts happen at once
    /// and in order.
    ///
    /// Work given to [`Runtime::spawn_blocking`] (a sync [`Hook`](crate::Hook)) runs on a
    /// thread of its own and counts as under way until it returns: meanwhile time stands
    /// still and this waits for a real wake-up however long it takes, instead of jumping to
    /// the hook's deadline. A paused tokio runtime treats `spawn_blocking` the same way. A
    /// test of a sync hook that never returns moves time itself with
    /// [`advance`](Self::advance) from another thread.
    ///
    /// Otherwise, before jumping it gives other real work a short grace
    /// ([`REAL_WORK_GRACE`]) to wake the future (another thread dropping a connection, say).
    ///
    /// # Panics
    ///
    /// If the future waits on something other than this clock's sleeps and nothing wakes
    /// it for 5 s of real time: it could never finish, and a test should say so rather
    /// than hang.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lameduck::{test_util::ManualClock, runtime::Timer};
    /// let clock = ManualClock::new();
    /// clock.block_on(clock.sleep(Duration::from_secs(3600)));
    /// assert_eq!(clock.now(), Duration::from_secs(3600));
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        struct Flag(AtomicBool, Thread);
        impl Wake for Flag {
            fn wake(self: StdArc<Self>) {
                self.0.store(true, Ordering::SeqCst);
                self.1.unpark();
            }
        }
        let flag = StdArc::new(Flag(AtomicBool::new(true), std::thread::current()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let executor = &*self.executor;
        let previous = lock(&executor.runner).replace(waker.clone());
        lock(&executor.waiters).push(std::thread::current());
        let out = loop {
            if flag.0.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    break out;
                }
                self.poll_tasks(&mut cx);
                continue;
            }
            if executor.blocking.load(Ordering::SeqCst) != 0 {
                // Unparked by a wake (the flag) or by the work's end.
                std::thread::park();
                continue;
            }
            // SeqCst loads here and above pair with the blocking thread's wake-then-end:
            // a wake sent before the work ended is seen below, before time moves.
            std::thread::park_timeout(REAL_WORK_GRACE);
            if flag.0.load(Ordering::SeqCst) {
                continue;
            }
            match self.next_deadline() {
                Some(at) => self.advance_to(at),
                // Nothing to jump to: only another thread can wake the future now. Give it
                // a generous while (a loaded machine may take long to schedule it) before
                // calling it a hang.
                None if woken_within(&flag.0, HANG_BOUND) => {}
                None => panic!(
                    "ManualClock::block_on: the future waits on something that never wakes it"
                ),
            }
        };
        *lock(&executor.runner) = previous;
        let me = std::thread::current().id();
        lock(&executor.waiters).retain(|t| t.id() != me);
        out
    }

    /// Polls every spawned task once, keeping those still pending (tasks spawned meanwhile
    /// are kept too, and polled on the next round: their spawn woke the runner).
    fn poll_tasks(&self, cx: &mut Context<'_>) {
        let mut tasks = core::mem::take(&mut *lock(&self.executor.tasks));
        tasks.retain_mut(|task| task.as_mut().poll(cx).is_pending());
        lock(&self.executor.tasks).extend(tasks);
    }
}

impl Runtime for ManualClock {
    type Signals = ScriptedSignals;

    /// The clock's one scripted stream (whatever `set` is): [`send`](ManualClock::send)
    /// feeds it.
    fn signals(&self, _set: SignalSet) -> Result<ScriptedSignals, BoxError> {
        Ok(self.executor.signals.clone())
    }

    /// The task runs under the clock's [`block_on`](ManualClock::block_on) (the one
    /// running now, or the next).
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        lock(&self.executor.tasks).push(Box::pin(task));
        if let Some(runner) = &*lock(&self.executor.runner) {
            runner.wake_by_ref();
        }
    }

    /// On a thread of its own, counted as work under way until it returns.
    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
        let executor = self.executor.clone();
        executor.blocking.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name(alloc::string::String::from("lameduck-blocking"))
            .spawn({
                let executor = executor.clone();
                move || {
                    struct End(StdArc<Executor>);
                    impl Drop for End {
                        fn drop(&mut self) {
                            // After the work (and its result's wake-up), even if it panicked.
                            self.0.blocking.fetch_sub(1, Ordering::SeqCst);
                            lock(&self.0.waiters).iter().for_each(Thread::unpark);
                        }
                    }
                    let _end = End(executor);
                    work();
                }
            });
        if spawned.is_err() {
            // The work is dropped: whoever waits for its result hears it never came.
            executor.blocking.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// How long `block_on` waits for another thread's wake-up, with no sleep to jump to, before
/// it panics: far above any scheduling delay, and only ever spent by a test that hangs.
const HANG_BOUND: Duration = Duration::from_secs(5);

/// Parks until `woken` is set (true) or `bound` of real time passed (false).
fn woken_within(woken: &AtomicBool, bound: Duration) -> bool {
    let start = std::time::Instant::now();
    while !woken.load(Ordering::SeqCst) {
        match bound.checked_sub(start.elapsed()) {
            Some(left) if !left.is_zero() => std::thread::park_timeout(left),
            _ => return false,
        }
    }
    true
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("ManualClock")
            .field("now", &state.now)
            .field("pending_sleeps", &state.sleepers.len())
            .finish()
    }
}

impl Timer for ManualClock {
    type Sleep = ManualSleep;

    fn now(&self) -> Duration {
        self.state.lock().now
    }

    fn sleep(&self, duration: Duration) -> ManualSleep {
        let mut state = self.state.lock();
        let id = state.next_id;
        state.next_id += 1;
        ManualSleep {
            clock: self.clone(),
            deadline: state.now.saturating_add(duration),
            id,
        }
    }
}

/// The sleep of a [`ManualClock`]: completes when the clock reaches its deadline.
///
/// # Cancel safety
///
/// Dropping it unregisters it; other sleeps are unaffected.
///
/// ```
/// use core::time::Duration;
/// use lameduck::{test_util::ManualClock, runtime::Timer};
/// let clock = ManualClock::new();
/// drop(clock.sleep(Duration::MAX));
/// assert_eq!(clock.pending_sleeps(), 0);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ManualSleep {
    clock: ManualClock,
    deadline: Duration,
    id: u64,
}

impl fmt::Debug for ManualSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualSleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.clock.state.lock();
        let key = (self.deadline, self.id);
        if state.now >= self.deadline {
            state.sleepers.remove(&key);
            return Poll::Ready(());
        }
        state.sleepers.insert(key, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        self.clock
            .state
            .lock()
            .sleepers
            .remove(&(self.deadline, self.id));
    }
}
