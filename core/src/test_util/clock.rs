//! A clock that moves only when told to, or, under its own `block_on`, when all is idle.

use crate::{sync::Arc, Timer};
use alloc::{collections::BTreeMap, sync::Arc as StdArc, task::Wake};
use core::{
    fmt,
    future::Future,
    pin::{pin, Pin},
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll, Waker},
    time::Duration,
};

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
/// use lameduck::{test_util::ManualClock, Timer};
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
}

impl ManualClock {
    /// A clock at zero.
    ///
    /// ```
    /// use lameduck::Timer;
    /// assert!(lameduck::test_util::ManualClock::new().now().is_zero());
    /// ```
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves time forward by `by` (saturating) and wakes every sleep now due.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lameduck::{test_util::ManualClock, Timer};
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
    /// use lameduck::{test_util::ManualClock, Timer};
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

    /// Runs `future` to completion on this thread. Whenever it waits and nothing woke it,
    /// the clock jumps to the earliest pending sleep (as a paused runtime clock does), so
    /// timeouts happen at once and in order.
    ///
    /// A sync [`Hook`](crate::Hook) runs on a thread of its own and counts as work under
    /// way: while one runs, time stands still and this waits for a real wake-up (the hook's
    /// result, or another thread calling [`advance`](Self::advance)) however long it takes,
    /// instead of jumping to the hook's deadline. A paused tokio runtime treats
    /// `spawn_blocking` the same way. A hook abandoned at its timeout no longer counts, so
    /// a test of a sync hook that never returns moves time itself with `advance`.
    ///
    /// Otherwise, before jumping it gives other real work a short grace
    /// ([`REAL_WORK_GRACE`]) to wake the future (another thread dropping a guard, say).
    ///
    /// # Panics
    ///
    /// If the future waits on something other than this clock's sleeps and nothing wakes
    /// it for 5 s of real time: it could never finish, and a test should say so rather
    /// than hang.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lameduck::{test_util::ManualClock, Timer};
    /// let clock = ManualClock::new();
    /// clock.block_on(clock.sleep(Duration::from_secs(3600)));
    /// assert_eq!(clock.now(), Duration::from_secs(3600));
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        struct Flag(AtomicBool, std::thread::Thread);
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
        let in_flight = crate::blocking::InFlight::for_current_thread();
        loop {
            if flag.0.swap(false, Ordering::SeqCst) {
                let poll = crate::blocking::scope(&in_flight, || future.as_mut().poll(&mut cx));
                if let Poll::Ready(out) = poll {
                    return out;
                }
                continue;
            }
            if in_flight.busy() {
                // Unparked by a wake (the flag) or by the work's release.
                std::thread::park();
                continue;
            }
            // SeqCst loads here and in `busy` pair with the hook thread's wake-then-release:
            // a wake sent before the last release is seen below, before time moves.
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
/// use lameduck::{test_util::ManualClock, Timer};
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
