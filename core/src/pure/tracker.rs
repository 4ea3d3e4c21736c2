//! Connection accounting: one atomic word (draining bits + open count) and a wake-up that
//! fires once, on the last exit while draining — never polled.

use crate::{
    pure::phase::Phase,
    pure::sync::{AtomicUsize, Ordering},
};
use core::fmt;

#[cfg(feature = "alloc")]
mod drained;
#[cfg(all(test, loom, feature = "alloc"))]
mod loom_models;
#[cfg(feature = "alloc")]
pub use drained::Drained;

/// Set once draining starts; new guards are still counted until the count first reaches zero.
const DRAINING: usize = 1 << (usize::BITS - 1);
/// Set exactly once, by whoever moves the word from "draining, zero open" to drained.
const DRAINED: usize = 1 << (usize::BITS - 2);
/// The open-connection count lives in the bits below the two flags.
const COUNT: usize = DRAINED - 1;

/// Counts open connections and tells when the last one closed after draining began.
///
/// It holds four words: the draining flags and the count, the busy connections, the
/// malformed event sequences and the holds (counted as open, not reported as connections);
/// it needs no allocator and can live in a `static`.
/// Connections are counted by [`Guard`]s (or, with `alloc`, by
/// [`Connection`](crate::Connection)s and the [`Events`](crate::events::Events) API).
///
/// ```
/// use lameduck::machine::Tracker;
/// static TRACKER: Tracker = Tracker::new();
/// let guard = TRACKER.guard().expect("not drained");
/// assert!(!TRACKER.start_drain());
/// assert!(!TRACKER.is_drained());
/// drop(guard);
/// assert!(TRACKER.is_drained());
/// ```
#[repr(C)]
pub struct Tracker {
    /// Moved when a connection opens or closes. First, so that in `Shared` (`repr(C)`, the
    /// tracker first) it sits right after the `Arc`'s counts, which the same calls move.
    word: AtomicUsize,
    _gap: Gap,
    /// Busy connections (requests in flight or writes blocked), moved when a connection
    /// turns busy or idle: counting busy rather than idle ones means a connection that
    /// opens and closes idle never touches it. At least 128 bytes from `word` (and from
    /// what follows the tracker), so the two are never in one cache line (false sharing:
    /// one core's request ends bouncing the line another core's connection opens need).
    busy: AtomicUsize,
    anomalies: AtomicUsize,
    /// Holds (see `hold`): counted in `word`, so they keep the drain open, but not
    /// reported as open connections.
    holds: AtomicUsize,
    _tail: Gap,
    #[cfg(feature = "alloc")]
    pub(crate) drained: event_listener::Event,
    /// How many times the drained transition fired; the loom models prove it is once.
    #[cfg(loom)]
    transitions: AtomicUsize,
}

impl Tracker {
    /// An empty tracker, not draining.
    ///
    /// ```
    /// assert_eq!(lameduck::machine::Tracker::new().open(), 0);
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Tracker {
        Tracker {
            word: AtomicUsize::new(0),
            _gap: Gap::NEW,
            busy: AtomicUsize::new(0),
            anomalies: AtomicUsize::new(0),
            holds: AtomicUsize::new(0),
            _tail: Gap::NEW,
            #[cfg(feature = "alloc")]
            drained: event_listener::Event::new(),
        }
    }

    /// An empty tracker, not draining (loom's atomics have no `const` constructor).
    #[cfg(loom)]
    pub fn new() -> Tracker {
        Tracker {
            word: AtomicUsize::new(0),
            _gap: Gap::NEW,
            busy: AtomicUsize::new(0),
            anomalies: AtomicUsize::new(0),
            holds: AtomicUsize::new(0),
            _tail: Gap::NEW,
            #[cfg(feature = "alloc")]
            drained: event_listener::Event::new(),
            transitions: AtomicUsize::new(0),
        }
    }

    /// Counts a new connection; `None` once the drain has completed (a connection that
    /// arrives then is not served). While draining but not yet drained, it is still counted.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// let guard = tracker.guard().unwrap();
    /// assert_eq!(tracker.open(), 1);
    /// drop(guard);
    /// tracker.start_drain();
    /// assert!(tracker.guard().is_none());
    /// ```
    pub fn guard(&self) -> Option<Guard<'_>> {
        // `then`, not `then_some`: a guard built eagerly and dropped on refusal would
        // release a count it never acquired.
        // A guard starts active (busy), as the connection it counts has work to do.
        self.acquire().then(|| {
            self.mark_busy(true);
            Guard {
                tracker: self,
                idle: false,
            }
        })
    }

    /// Begins draining. Returns `true` if nothing is open, in which case the tracker is
    /// drained now (and waiters are woken). Calling it again does nothing and returns
    /// whether the tracker is drained.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// assert!(tracker.start_drain());
    /// assert!(tracker.is_drained());
    /// ```
    pub fn start_drain(&self) -> bool {
        // AcqRel: acquire the releases of guards dropped before, so that "drained" implies
        // their work is visible; release our own prior writes to whoever sees DRAINING.
        let prev = self.word.fetch_or(DRAINING, Ordering::AcqRel);
        if prev & DRAINING != 0 {
            return self.is_drained();
        }
        prev & COUNT == 0 && self.mark_drained()
    }

    /// Whether draining has started.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// assert!(!tracker.is_draining());
    /// tracker.start_drain();
    /// assert!(tracker.is_draining());
    /// ```
    pub fn is_draining(&self) -> bool {
        // Acquire pairs with the AcqRel of `start_drain`.
        self.word.load(Ordering::Acquire) & DRAINING != 0
    }

    /// Whether draining started and every connection has closed since.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// assert!(!tracker.is_drained());
    /// ```
    pub fn is_drained(&self) -> bool {
        // Acquire pairs with the AcqRel CAS in `mark_drained`: everything the last guard
        // did before its drop is visible to whoever sees DRAINED.
        self.word.load(Ordering::Acquire) & DRAINED != 0
    }

    /// Connections open now.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// let _a = tracker.guard();
    /// assert_eq!(tracker.open(), 1);
    /// ```
    pub fn open(&self) -> usize {
        // Relaxed: a statistic; no other memory is published through it. Holds are
        // counted in the word after (and uncounted before) `holds` moves, so this never
        // reports a hold as a connection; it may miss a connection for that moment.
        (self.word.load(Ordering::Relaxed) & COUNT)
            .saturating_sub(self.holds.load(Ordering::Relaxed))
    }

    /// Open connections marked idle.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// let mut guard = tracker.guard().unwrap();
    /// guard.set_idle(true);
    /// assert_eq!(tracker.idle(), 1);
    /// ```
    pub fn idle(&self) -> usize {
        let open = self.open();
        open - self.busy_of(open)
    }

    /// Malformed connection-event sequences seen (and ignored) so far.
    ///
    /// ```
    /// assert_eq!(lameduck::machine::Tracker::new().anomalies(), 0);
    /// ```
    pub fn anomalies(&self) -> usize {
        self.anomalies.load(Ordering::Relaxed)
    }

    /// Counts read now, labelled with `phase` (the tracker itself knows no phases).
    ///
    /// ```
    /// use lameduck::{Phase, machine::Tracker};
    /// let tracker = Tracker::new();
    /// let mut guard = tracker.guard().unwrap();
    /// guard.set_idle(true);
    /// let s = tracker.snapshot(Phase::Running);
    /// assert_eq!((s.open, s.idle, s.active), (1, 1, 0));
    /// ```
    pub fn snapshot(&self, phase: Phase) -> Snapshot {
        // The open count read once: idle and active add up to it.
        let open = self.open();
        let active = self.busy_of(open);
        Snapshot {
            phase,
            open,
            idle: open - active,
            active,
            anomalies: self.anomalies(),
        }
    }

    /// A future that completes once the tracker is drained.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// tracker.start_drain();
    /// futures::executor::block_on(tracker.drained());
    /// ```
    #[cfg(feature = "alloc")]
    pub fn drained(&self) -> Drained<'_> {
        Drained::new(self)
    }

    /// Busy connections, at most `open` (the open count the caller read). Clamped, since
    /// the count and the open count are two words read one after the other, and two marks
    /// of one connection may land out of order (a moment below zero reads as a wrapped,
    /// huge value).
    fn busy_of(&self, open: usize) -> usize {
        // Relaxed: a statistic.
        let busy = self.busy.load(Ordering::Relaxed);
        if busy > usize::MAX / 2 {
            return 0;
        }
        busy.min(open)
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn record_anomaly(&self) {
        // Relaxed: a statistic.
        self.anomalies.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one more connection unless the drain has completed.
    pub(crate) fn acquire(&self) -> bool {
        // Relaxed suffices for the increment: the count is only ever decided on through
        // read-modify-writes of this one word, which are totally ordered.
        let prev = self.word.fetch_add(1, Ordering::Relaxed);
        if prev & DRAINED != 0 || prev & COUNT == COUNT - 1 {
            // Too late (or full): take it back. The word cannot reach "draining, zero, not
            // drained" through this, because DRAINED stays set (or the count stays high).
            self.word.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Keeps the drain from completing without counting a connection: an accept loop
    /// holds one while its listener is open, so that the connections still queued in the
    /// listener's backlog when draining starts can be taken and counted before the tracker
    /// may call itself drained. `false` once the drain has completed.
    #[cfg(feature = "std")]
    pub(crate) fn hold(&self) -> bool {
        // Relaxed: a statistic, read only by `open`.
        self.holds.fetch_add(1, Ordering::Relaxed);
        if self.acquire() {
            return true;
        }
        self.holds.fetch_sub(1, Ordering::Relaxed);
        false
    }

    /// Releases a hold that `hold` took.
    #[cfg(feature = "std")]
    pub(crate) fn unhold(&self) {
        self.release(false);
        self.holds.fetch_sub(1, Ordering::Relaxed);
    }

    /// Uncounts one connection that `acquire` counted; `busy` if it is counted busy.
    pub(crate) fn release(&self, busy: bool) {
        if busy {
            self.busy.fetch_sub(1, Ordering::Relaxed);
        }
        // Release: the connection's work happens-before whoever acquires DRAINED.
        let prev = self.word.fetch_sub(1, Ordering::Release);
        debug_assert!(prev & COUNT != 0, "release without acquire");
        if prev == DRAINING | 1 {
            self.mark_drained();
        }
    }

    /// Counts one connection more (`true`) or less as busy; the caller keeps the marks
    /// alternating per connection, so the sum is right even if two land out of order
    /// (atomics wrap; [`busy`](Self::busy) clamps the moment in between).
    pub(crate) fn mark_busy(&self, busy: bool) {
        // Relaxed: a statistic.
        if busy {
            self.busy.fetch_add(1, Ordering::Relaxed);
        } else {
            self.busy.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_idle(&self, was: &mut bool, idle: bool) {
        if *was != idle {
            *was = idle;
            self.mark_busy(!idle);
        }
    }

    /// Busy connections as the counter holds them, unclamped (the loom models check it
    /// returns to zero).
    #[cfg(all(test, loom))]
    pub(crate) fn busy_raw(&self) -> usize {
        self.busy.load(Ordering::Relaxed)
    }

    /// Moves "draining, zero open" to drained; only one caller ever succeeds, so waiters
    /// are woken exactly once.
    #[cold]
    fn mark_drained(&self) -> bool {
        // AcqRel: acquire the releases of every earlier guard drop, release them on to the
        // waiters that load DRAINED with Acquire.
        let won = self
            .word
            .compare_exchange(
                DRAINING,
                DRAINING | DRAINED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
        #[cfg(loom)]
        if won {
            self.transitions.fetch_add(1, Ordering::Relaxed);
        }
        #[cfg(feature = "alloc")]
        if won {
            self.drained.notify(usize::MAX);
        }
        won
    }
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("open", &self.open())
            .field("busy", &self.busy_of(self.open()))
            .field("draining", &self.is_draining())
            .field("drained", &self.is_drained())
            .field("anomalies", &self.anomalies())
            .finish()
    }
}

/// Bytes kept free between the tracker's words: 128 keeps two words in different cache lines
/// and different line pairs (x86-64 prefetches lines in adjacent pairs). An array rather
/// than `#[repr(align(128))]` (crossbeam-utils' `CachePadded` is that): aligning the tracker
/// would also move it 128 bytes away from the `Arc` counts in front of it in `Shared`,
/// which connection opens and closes move together with `word`.
#[derive(Clone, Copy)]
struct Gap(#[allow(dead_code)] [u8; 128 - size_of::<usize>()]);

impl Gap {
    const NEW: Gap = Gap([0; 128 - size_of::<usize>()]);
}

#[cfg(not(loom))]
impl Default for Tracker {
    fn default() -> Self {
        Tracker::new()
    }
}

/// One counted connection of a borrowed [`Tracker`]; dropping it uncounts the connection.
///
/// ```
/// let tracker = lameduck::machine::Tracker::new();
/// let mut guard = tracker.guard().unwrap();
/// guard.set_idle(true);
/// assert!(guard.is_idle());
/// ```
#[derive(Debug)]
#[must_use = "the connection is uncounted as soon as the guard is dropped"]
pub struct Guard<'a> {
    tracker: &'a Tracker,
    idle: bool,
}

impl Guard<'_> {
    /// Marks the connection idle (no request in flight) or active.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// let mut guard = tracker.guard().unwrap();
    /// guard.set_idle(true);
    /// guard.set_idle(false);
    /// assert_eq!(tracker.idle(), 0);
    /// ```
    pub fn set_idle(&mut self, idle: bool) {
        self.tracker.set_idle(&mut self.idle, idle);
    }

    /// Whether the connection is marked idle.
    ///
    /// ```
    /// let tracker = lameduck::machine::Tracker::new();
    /// assert!(!tracker.guard().unwrap().is_idle());
    /// ```
    pub fn is_idle(&self) -> bool {
        self.idle
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.tracker.release(!self.idle);
    }
}

/// Phase and connection counts at one moment.
///
/// ```
/// let tracker = lameduck::machine::Tracker::new();
/// let s = tracker.snapshot(lameduck::Phase::Running);
/// assert_eq!(s.open, s.idle + s.active);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Snapshot {
    /// The phase when the counts were read.
    pub phase: Phase,
    /// Connections open.
    pub open: usize,
    /// Open connections with no request in flight.
    pub idle: usize,
    /// Open connections with work in flight (`open - idle`).
    pub active: usize,
    /// Malformed connection-event sequences seen and ignored.
    pub anomalies: usize,
}
