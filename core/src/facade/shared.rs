//! The state the driver, its handles and the connection guards share.

use crate::{
    facade::hooks::HookList,
    facade::waiters::Waiters,
    pure::config::Config,
    pure::machine::Summary,
    pure::phase::Phase,
    pure::signal::Signal,
    pure::sync::{AtomicBool, AtomicU8, Ordering},
    pure::tracker::Tracker,
};
use alloc::string::String;
use event_listener::Event;

/// Programmatic requests, as bits the driver takes all at once.
pub(crate) const REQUEST_SHUTDOWN: u8 = 1;
pub(crate) const REQUEST_FORCE: u8 = 2;
pub(crate) const REQUEST_FAILED: u8 = 4;
pub(crate) const REQUEST_HANDOVER: u8 = 8;

/// `repr(C)` with the tracker first, so that the tracker's word sits in the same cache line
/// as the `Arc`'s reference counts right before it: taking and dropping a
/// [`Connection`](crate::Connection) touches both, and in Rust's own layout the
/// 16-byte-aligned `Config` came first and pushed the word into the next line (two lines
/// bouncing between cores per connection instead of one).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Shared {
    pub(crate) tracker: Tracker,
    pub(crate) config: Config,
    phase: AtomicU8,
    /// One waiter set per phase, notified when that phase is reached: entering the lame
    /// duck wakes only who waits for it, not every connection waiting for the drain.
    pub(crate) reached: [Waiters; 5],
    requests: AtomicU8,
    /// Notified on every programmatic request.
    pub(crate) requested: Event,
    pub(crate) failure: spin::Mutex<Option<String>>,
    pub(crate) summary: spin::Once<Summary>,
    pub(crate) hooks: spin::Mutex<HookList>,
    /// Reload requests, for [`Handle::reloads`](crate::Handle::reloads).
    pub(crate) reload: ReloadState,
    /// Closes the copies of listening sockets kept elsewhere (an upgrader's), which would
    /// keep the sockets listening after the accept loops dropped theirs: run by the first
    /// accept loop that sees the drain, before it takes its backlog (see `accept::serve`).
    #[cfg(feature = "std")]
    pub(crate) copies: spin::Mutex<alloc::vec::Vec<Close>>,
    /// Set by [`Trigger::handover`](crate::facade::shutdown::Trigger::handover), for good: a
    /// successor serves from the same listening sockets, which outlive this process's.
    handed_over: AtomicBool,
}

/// What closes copies of listening sockets (see [`Shared::close_copies`]).
#[cfg(feature = "std")]
pub(crate) struct Close(pub(crate) alloc::boxed::Box<dyn FnOnce() + Send>);

#[cfg(feature = "std")]
impl core::fmt::Debug for Close {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Close")
    }
}

impl Shared {
    pub(crate) fn new(config: Config) -> Shared {
        Shared {
            tracker: Tracker::new(),
            config,
            phase: AtomicU8::new(Phase::Running as u8),
            reached: core::array::from_fn(|_| Waiters::new()),
            requests: AtomicU8::new(0),
            requested: Event::new(),
            failure: spin::Mutex::new(None),
            summary: spin::Once::new(),
            hooks: spin::Mutex::new(HookList::default()),
            reload: ReloadState::default(),
            #[cfg(feature = "std")]
            copies: spin::Mutex::new(alloc::vec::Vec::new()),
            handed_over: AtomicBool::new(false),
        }
    }

    /// Runs (once) what closes the listeners' copies; returns once they are closed, even
    /// when another caller runs them (the lock is held meanwhile).
    #[cfg(feature = "std")]
    pub(crate) fn close_copies(&self) {
        let mut copies = self.copies.lock();
        for close in copies.drain(..) {
            (close.0)();
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        // Acquire pairs with the Release in `set_phase`: whoever sees a phase sees what the
        // driver did before entering it (the summary, for Stopped).
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Whether connections are now told to leave ([`Config::goodbye`]): read once per
    /// response by the HTTP adapters, so Relaxed: it orders nothing, only the phase itself
    /// is wanted (a response that just misses the change says goodbye on the next one).
    pub(crate) fn says_goodbye(&self) -> bool {
        self.phase.load(Ordering::Relaxed) >= self.config.goodbye.phase() as u8
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        // Only the driver sets phases, one at a time, forward: the swap gives the phases
        // passed over (the machine may skip the lame duck), each of whose waiters wake.
        let before = Phase::from_u8(self.phase.swap(phase as u8, Ordering::AcqRel));
        if phase > before {
            for passed in &self.reached[before.index() + 1..=phase.index()] {
                passed.wake_all();
            }
        }
    }

    pub(crate) fn request(&self, bits: u8) {
        // Release: a failure detail stored before the request is visible to the driver.
        self.requests.fetch_or(bits, Ordering::Release);
        self.requested.notify(usize::MAX);
    }

    /// Records that a successor serves from this process's listening sockets (before the
    /// hand-over request, which publishes it: the request's Release orders this store).
    pub(crate) fn hand_over(&self) {
        self.handed_over.store(true, Ordering::Relaxed);
        self.request(REQUEST_HANDOVER);
    }

    /// Whether a successor serves from this process's listening sockets.
    pub(crate) fn handed_over(&self) -> bool {
        self.handed_over.load(Ordering::Relaxed)
    }

    pub(crate) fn has_requests(&self) -> bool {
        self.requests.load(Ordering::Acquire) != 0
    }

    pub(crate) fn take_requests(&self) -> u8 {
        // Acquire pairs with the Release in `request`.
        self.requests.swap(0, Ordering::Acquire)
    }
}

/// The reload requests so far, shared by the driver and the subscribers.
#[derive(Debug, Default)]
pub(crate) struct ReloadState {
    /// Reloads are rare: a lock keeps the count, the last signal and the end together
    /// without an argument about orderings.
    state: spin::Mutex<Seen>,
    /// Notified on every reload and at the end.
    pub(crate) event: Event,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seen {
    pub(crate) count: u64,
    pub(crate) last: Option<Signal>,
    pub(crate) closed: bool,
}

impl ReloadState {
    /// A reload signal arrived: every subscriber sees it once.
    pub(crate) fn notify(&self, signal: Signal) {
        {
            let mut state = self.state.lock();
            state.count += 1;
            state.last = Some(signal);
        }
        self.event.notify(usize::MAX);
    }

    /// The shutdown stopped: the subscribers' streams end after what they have not seen.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.event.notify(usize::MAX);
    }

    pub(crate) fn seen(&self) -> Seen {
        *self.state.lock()
    }
}
