//! Platform-neutral signals and the set of signals that shut a server down.

use core::fmt;

/// A process signal, carried by its number so the core stays platform-neutral.
///
/// Adapters translate their runtime's signal type into this one. The numbers of the
/// associated constants are the POSIX ones shared by Linux, the BSDs and macOS; other
/// numbers can be carried with [`Signal::new`].
///
/// ```
/// use lameduck::Signal;
/// assert_eq!(Signal::TERM.number(), 15);
/// assert_eq!(Signal::TERM.to_string(), "SIGTERM");
/// assert_eq!(Signal::new(40).to_string(), "signal 40");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(u8);

impl Signal {
    /// `SIGHUP` (1): by default a reload request, not a shutdown signal.
    pub const HUP: Signal = Signal(1);
    /// `SIGINT` (2): Ctrl-C.
    pub const INT: Signal = Signal(2);
    /// `SIGQUIT` (3).
    pub const QUIT: Signal = Signal(3);
    /// `SIGTERM` (15): what orchestrators send.
    pub const TERM: Signal = Signal(15);

    /// A signal by number. Numbers above 127 are clamped to 127 so that `128 + n` is
    /// always a valid exit status.
    ///
    /// ```
    /// assert_eq!(lameduck::Signal::new(2), lameduck::Signal::INT);
    /// ```
    pub const fn new(number: u8) -> Signal {
        Signal(if number > 127 { 127 } else { number })
    }

    /// The signal's number.
    ///
    /// ```
    /// assert_eq!(lameduck::Signal::QUIT.number(), 3);
    /// ```
    pub const fn number(self) -> u8 {
        self.0
    }

    /// The conventional name (`"SIGTERM"`), if the number is one of the common ones.
    ///
    /// ```
    /// assert_eq!(lameduck::Signal::INT.name(), Some("SIGINT"));
    /// assert_eq!(lameduck::Signal::new(63).name(), None);
    /// ```
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "SIGHUP",
            2 => "SIGINT",
            3 => "SIGQUIT",
            6 => "SIGABRT",
            9 => "SIGKILL",
            10 => "SIGUSR1",
            12 => "SIGUSR2",
            13 => "SIGPIPE",
            14 => "SIGALRM",
            15 => "SIGTERM",
            _ => return None,
        })
    }

    /// The exit code a process ended by this signal reports: `128 + n`.
    ///
    /// ```
    /// assert_eq!(lameduck::Signal::TERM.exit_code(), 143);
    /// ```
    pub const fn exit_code(self) -> u8 {
        128 + self.0
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// A set of signals, as a bit set over the numbers 1 to 127.
///
/// ```
/// use lameduck::{Signal, SignalSet};
/// let set = SignalSet::DEFAULT;
/// assert!(set.contains(Signal::TERM) && set.contains(Signal::INT) && set.contains(Signal::QUIT));
/// assert!(!set.contains(Signal::HUP));
/// assert!(set.with(Signal::HUP).contains(Signal::HUP));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalSet(u128);

impl SignalSet {
    /// No signal at all: shutdown only through a [`Trigger`](crate::Trigger) or the machine's inputs.
    pub const EMPTY: SignalSet = SignalSet(0);
    /// `SIGINT`, `SIGTERM` and `SIGQUIT`.
    pub const DEFAULT: SignalSet = SignalSet::EMPTY
        .with(Signal::INT)
        .with(Signal::TERM)
        .with(Signal::QUIT);

    /// This set with `signal` added.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// assert!(SignalSet::EMPTY.with(Signal::HUP).contains(Signal::HUP));
    /// ```
    #[must_use]
    pub const fn with(self, signal: Signal) -> SignalSet {
        SignalSet(self.0 | (1u128 << signal.0))
    }

    /// This set with `signal` removed.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// assert!(!SignalSet::DEFAULT.without(Signal::QUIT).contains(Signal::QUIT));
    /// ```
    #[must_use]
    pub const fn without(self, signal: Signal) -> SignalSet {
        SignalSet(self.0 & !(1u128 << signal.0))
    }

    /// The signals in either set.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// let hup = SignalSet::EMPTY.with(Signal::HUP);
    /// assert!(SignalSet::DEFAULT.union(hup).contains(Signal::HUP));
    /// ```
    #[must_use]
    pub const fn union(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }

    /// The signals in this set and not in `other`.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// let term = SignalSet::EMPTY.with(Signal::TERM);
    /// assert!(!SignalSet::DEFAULT.difference(term).contains(Signal::TERM));
    /// ```
    #[must_use]
    pub const fn difference(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 & !other.0)
    }

    /// Whether `signal` is in the set.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// assert!(SignalSet::DEFAULT.contains(Signal::INT));
    /// ```
    pub const fn contains(self, signal: Signal) -> bool {
        self.0 & (1u128 << signal.0) != 0
    }

    /// Whether the set is empty.
    ///
    /// ```
    /// assert!(lameduck::SignalSet::EMPTY.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The signals in the set, lowest number first.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// let all: Vec<_> = SignalSet::DEFAULT.iter().collect();
    /// assert_eq!(all, [Signal::INT, Signal::QUIT, Signal::TERM]);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        (0u8..128)
            .filter(move |n| self.0 & (1u128 << n) != 0)
            .map(Signal)
    }
}

impl Default for SignalSet {
    fn default() -> Self {
        SignalSet::DEFAULT
    }
}
