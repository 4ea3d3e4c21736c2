//! The phases of a shutdown and the reasons one starts.

use crate::pure::signal::Signal;
use core::fmt;

/// Where a server is in its life. Phases only move forward and each is entered at most once.
///
/// ```
/// use lameduck::Phase;
/// assert!(Phase::Running < Phase::LameDuck && Phase::Hooks < Phase::Stopped);
/// assert_eq!(Phase::LameDuck.to_string(), "lame-duck");
/// ```
///
/// Exhaustive on purpose: the five phases are the model itself; a sixth would be a new
/// major version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Phase {
    /// Serving; ready for traffic.
    Running = 0,
    /// Shutdown was asked for: still serving, but no longer ready, so load balancers move away.
    LameDuck = 1,
    /// Listeners are closed; open connections are asked to finish.
    Draining = 2,
    /// The shutdown hooks run, in order, each once.
    Hooks = 3,
    /// Done: the report is final.
    Stopped = 4,
}

impl Phase {
    /// Every phase, in order.
    ///
    /// ```
    /// assert_eq!(lameduck::Phase::ALL.len(), 5);
    /// ```
    pub const ALL: [Phase; 5] = [
        Phase::Running,
        Phase::LameDuck,
        Phase::Draining,
        Phase::Hooks,
        Phase::Stopped,
    ];

    /// The lower-case name used in logs and the demo contract (`"lame-duck"`).
    ///
    /// ```
    /// assert_eq!(lameduck::Phase::Draining.name(), "draining");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::LameDuck => "lame-duck",
            Phase::Draining => "draining",
            Phase::Hooks => "hooks",
            Phase::Stopped => "stopped",
        }
    }

    /// Whether a server in this phase should report itself ready (only while running).
    ///
    /// ```
    /// assert!(lameduck::Phase::Running.is_ready());
    /// assert!(!lameduck::Phase::LameDuck.is_ready());
    /// ```
    pub const fn is_ready(self) -> bool {
        matches!(self, Phase::Running)
    }

    /// Whether listeners should still accept in this phase (running and lame duck).
    ///
    /// ```
    /// assert!(lameduck::Phase::LameDuck.accepts());
    /// assert!(!lameduck::Phase::Draining.accepts());
    /// ```
    pub const fn accepts(self) -> bool {
        matches!(self, Phase::Running | Phase::LameDuck)
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    #[cfg(feature = "alloc")]
    pub(crate) const fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::Running,
            1 => Phase::LameDuck,
            2 => Phase::Draining,
            3 => Phase::Hooks,
            _ => Phase::Stopped,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a shutdown started, or escalated.
///
/// ```
/// use lameduck::{Reason, Signal};
/// assert_eq!(Reason::Signal(Signal::TERM).to_string(), "SIGTERM");
/// assert_eq!(Reason::Requested.to_string(), "requested");
/// assert_eq!(Reason::Upgrade.to_string(), "upgrade");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// A process signal arrived.
    Signal(Signal),
    /// The program asked for it (a [`Trigger`](crate::Trigger), or the machine's input directly).
    Requested,
    /// Serving failed for good (a listener died, say); the report carries the detail.
    Failed,
    /// A successor took over the listening sockets and serves (an in-place upgrade, see
    /// [`Trigger::handover`](crate::Trigger::handover)): the lame-duck period is skipped,
    /// since nothing needs to move traffic away — the successor accepts from the same sockets.
    Upgrade,
}

impl Reason {
    /// The signal, if a signal was the reason.
    ///
    /// ```
    /// use lameduck::{Reason, Signal};
    /// assert_eq!(Reason::Signal(Signal::INT).signal(), Some(Signal::INT));
    /// assert_eq!(Reason::Requested.signal(), None);
    /// ```
    pub const fn signal(self) -> Option<Signal> {
        match self {
            Reason::Signal(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Signal(s) => s.fmt(f),
            Reason::Requested => f.write_str("requested"),
            Reason::Failed => f.write_str("failed"),
            Reason::Upgrade => f.write_str("upgrade"),
        }
    }
}
