//! What a finished (or running) shutdown amounts to, without allocation.

use crate::{
    pure::phase::{Phase, Reason},
    pure::signal::Signal,
};
use core::time::Duration;

/// The machine's account of a shutdown: reason, whether connections were cut, hooks, exit code.
///
/// The driver's [`Report`](crate::Report) adds hook names and outcomes to this.
///
/// ```
/// use lameduck::{Config, machine::Machine, Reason, Signal};
/// use core::time::Duration;
/// let mut m = Machine::new(Config::new()).unwrap();
/// m.request(Reason::Signal(Signal::TERM), Duration::ZERO);
/// m.request(Reason::Signal(Signal::TERM), Duration::from_millis(10));
/// m.record_cut(2);
/// let s = m.summary();
/// assert_eq!((s.drained(), s.connections_left(), s.exit_code()), (false, 2, 2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub(super) reason: Option<Reason>,
    pub(super) exit: Option<Signal>,
    pub(super) cut: bool,
    pub(super) connections_left: usize,
    pub(super) hooks_started: usize,
    pub(super) hooks_failed: usize,
    pub(super) hooks_timed_out: usize,
    pub(super) entered: [Option<Duration>; 5],
}

impl Summary {
    /// What started the shutdown (`None` while still running).
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert!(m.summary().reason().is_none());
    /// ```
    pub const fn reason(&self) -> Option<Reason> {
        self.reason
    }

    /// Whether every connection closed on its own (nothing was cut).
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert!(m.summary().drained());
    /// ```
    pub const fn drained(&self) -> bool {
        self.connections_left == 0
    }

    /// Whether the drain was cut short (deadline, second signal, force, or exit), even if
    /// nothing was left to cut.
    ///
    /// ```
    /// let mut m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// m.force(core::time::Duration::ZERO);
    /// assert!(m.summary().forced());
    /// ```
    pub const fn forced(&self) -> bool {
        self.cut
    }

    /// How many connections were open when they were cut.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.summary().connections_left(), 0);
    /// ```
    pub const fn connections_left(&self) -> usize {
        self.connections_left
    }

    /// The signal that ended the shutdown at once (the third), if one did.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.summary().exit_signal(), None);
    /// ```
    pub const fn exit_signal(&self) -> Option<Signal> {
        self.exit
    }

    /// How many hooks were started.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.summary().hooks_started(), 0);
    /// ```
    pub const fn hooks_started(&self) -> usize {
        self.hooks_started
    }

    /// How many hooks failed (error or panic); timeouts are counted apart.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.summary().hooks_failed(), 0);
    /// ```
    pub const fn hooks_failed(&self) -> usize {
        self.hooks_failed
    }

    /// How many hooks passed their deadline.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.summary().hooks_timed_out(), 0);
    /// ```
    pub const fn hooks_timed_out(&self) -> usize {
        self.hooks_timed_out
    }

    /// When `phase` was entered, on the caller's clock.
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine, Phase};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// m.force(Duration::from_millis(4));
    /// assert_eq!(m.summary().entered(Phase::Hooks), Some(Duration::from_millis(4)));
    /// assert_eq!(m.summary().entered(Phase::Stopped), None);
    /// ```
    pub const fn entered(&self, phase: Phase) -> Option<Duration> {
        self.entered[phase.index()]
    }

    /// How long `phase` lasted (until the next phase entered), if both ends are known.
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine, Phase, Reason};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new().lame_duck(Duration::from_millis(50))).unwrap();
    /// m.request(Reason::Requested, Duration::ZERO);
    /// m.tick(Duration::from_millis(50));
    /// assert_eq!(m.summary().time_in(Phase::LameDuck), Some(Duration::from_millis(50)));
    /// ```
    pub fn time_in(&self, phase: Phase) -> Option<Duration> {
        let start = self.entered[phase.index()]?;
        let end = self.entered[phase.index() + 1..].iter().flatten().next()?;
        Some(end.saturating_sub(start))
    }

    /// From the start of the shutdown (the first shutdown signal or request) to the stop, if
    /// both are known.
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// m.force(Duration::from_millis(1));
    /// m.hooks_exhausted(Duration::from_millis(9));
    /// assert_eq!(m.summary().elapsed(), Some(Duration::from_millis(8)));
    /// ```
    pub fn elapsed(&self) -> Option<Duration> {
        let start = self.entered[Phase::LameDuck.index()]?;
        let end = self.entered[Phase::Stopped.index()]?;
        Some(end.saturating_sub(start))
    }

    /// The process exit code this outcome maps to: 128+N after an exit signal, 2 if
    /// connections were cut, 1 if a hook failed or timed out or serving failed
    /// ([`Reason::Failed`]), otherwise 0.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.summary().exit_code(), 0);
    /// ```
    pub const fn exit_code(&self) -> u8 {
        if let Some(signal) = self.exit {
            signal.exit_code()
        } else if self.connections_left > 0 {
            2
        } else if self.hooks_failed + self.hooks_timed_out > 0
            || matches!(self.reason, Some(Reason::Failed))
        {
            // Serving failed for good: not a clean stop, however the drain went.
            1
        } else {
            0
        }
    }
}
