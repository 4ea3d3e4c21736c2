//! Durations, shutdown signals and the escalation policy, checked before anything runs.

use crate::pure::signal::{Signal, SignalSet};
use core::{fmt, time::Duration};

/// What repeated shutdown signals do while a shutdown is under way.
///
/// Only signals count, whoever started the shutdown: after a programmatic
/// [`Trigger::shutdown`](crate::Trigger::shutdown) (itself idempotent) the first signal
/// changes nothing, the second forces, the third exits (see
/// [`Machine::request`](crate::machine::Machine::request) for why). [`Trigger::force`](crate::Trigger::force)
/// always forces.
///
/// ```
/// use lameduck::{Config, machine::Escalation};
/// let config = Config::new().escalation(Escalation::ForceOnly);
/// assert_eq!(config.escalation, Escalation::ForceOnly);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Escalation {
    /// The second signal forces (stops waiting, cuts connections, goes to the hooks); the
    /// third ends the shutdown at once with exit code `128 + N`, skipping hooks not yet run.
    #[default]
    ForceThenExit,
    /// The second signal forces; later ones are ignored.
    ForceOnly,
    /// Signals after the first are ignored.
    Ignore,
}

/// Shutdown configuration: lame-duck duration, drain deadline, hook timeout, shutdown and
/// reload signals, escalation.
///
/// Setters chain; the result is checked by [`Config::validate`], which
/// [`Machine::new`](crate::machine::Machine::new) and [`Shutdown::new`](crate::Shutdown::new) call.
///
/// ```
/// use core::time::Duration;
/// use lameduck::{Config, Signal};
/// let config = Config::new()
///     .lame_duck(Duration::from_secs(5))
///     .drain_timeout(Duration::from_secs(20))
///     .signal(Signal::HUP);
/// assert!(config.validate().is_ok());
/// assert_eq!(config.drain_timeout, Duration::from_secs(20));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Config {
    /// How long to keep serving, not ready, once the shutdown starts (the first shutdown
    /// signal or [`Trigger`](crate::Trigger) request; default 0). Set with
    /// [`Config::lame_duck`].
    pub lame_duck: Duration,
    /// The drain deadline, counted from the start of draining (default 30 s). Set with
    /// [`Config::drain_timeout`].
    pub drain_timeout: Duration,
    /// The bound on each hook that has no timeout of its own (default 5 s). Set with
    /// [`Config::hook_timeout`].
    pub hook_timeout: Duration,
    /// The signals that shut down (default `SIGINT`, `SIGTERM`, `SIGQUIT`). Set with
    /// [`Config::signals`] and [`Config::signal`].
    pub signals: SignalSet,
    /// The signals that ask for a reload (default `SIGHUP`); one that also shuts down shuts
    /// down. Set with [`Config::reload`].
    pub reload: SignalSet,
    /// What repeated signals do (default [`Escalation::ForceThenExit`]). Set with
    /// [`Config::escalation`].
    pub escalation: Escalation,
}

impl Config {
    /// The defaults: no lame-duck period, a 30 s drain deadline, 5 s per hook,
    /// `SIGINT`/`SIGTERM`/`SIGQUIT` shut down, `SIGHUP` reloads, [`Escalation::ForceThenExit`].
    ///
    /// ```
    /// let config = lameduck::Config::new();
    /// assert_eq!(config.hook_timeout.as_secs(), 5);
    /// ```
    pub const fn new() -> Config {
        Config {
            lame_duck: Duration::ZERO,
            drain_timeout: Duration::from_secs(30),
            hook_timeout: Duration::from_secs(5),
            signals: SignalSet::DEFAULT,
            reload: SignalSet::EMPTY.with(Signal::HUP),
            escalation: Escalation::ForceThenExit,
        }
    }

    /// How long to keep serving, not ready, once the shutdown starts (the first shutdown
    /// signal or [`Trigger`](crate::Trigger) request; default 0).
    ///
    /// ```
    /// let c = lameduck::Config::new().lame_duck(core::time::Duration::from_millis(1500));
    /// assert_eq!(c.lame_duck.as_millis(), 1500);
    /// ```
    #[must_use]
    pub const fn lame_duck(mut self, duration: Duration) -> Config {
        self.lame_duck = duration;
        self
    }

    /// How long draining may take before the connections left are cut (default 30 s).
    /// [`Duration::MAX`] (as for every duration here) means no deadline at all.
    ///
    /// ```
    /// let c = lameduck::Config::new().drain_timeout(core::time::Duration::ZERO);
    /// assert!(c.validate().is_ok());
    /// ```
    #[must_use]
    pub const fn drain_timeout(mut self, duration: Duration) -> Config {
        self.drain_timeout = duration;
        self
    }

    /// The bound on a hook that sets none of its own (default 5 s; must not be zero).
    ///
    /// ```
    /// let c = lameduck::Config::new().hook_timeout(core::time::Duration::ZERO);
    /// assert!(c.validate().is_err());
    /// ```
    #[must_use]
    pub const fn hook_timeout(mut self, duration: Duration) -> Config {
        self.hook_timeout = duration;
        self
    }

    /// Replaces the set of signals that shut down.
    ///
    /// ```
    /// use lameduck::{Config, SignalSet, Signal};
    /// let c = Config::new().signals(SignalSet::EMPTY.with(Signal::TERM));
    /// assert!(!c.signals.contains(Signal::INT));
    /// ```
    #[must_use]
    pub const fn signals(mut self, signals: SignalSet) -> Config {
        self.signals = signals;
        self
    }

    /// Adds one signal to the set that shuts down.
    ///
    /// ```
    /// use lameduck::{Config, Signal};
    /// assert!(Config::new().signal(Signal::HUP).signals.contains(Signal::HUP));
    /// ```
    #[must_use]
    pub const fn signal(mut self, signal: Signal) -> Config {
        self.signals = self.signals.with(signal);
        self
    }

    /// Replaces the set of reload signals (default `SIGHUP`): they never shut down; the
    /// driver hands each to the subscribers of [`Handle::reloads`](crate::Handle::reloads)
    /// and drops it when there are none. A signal in both sets shuts down.
    ///
    /// ```
    /// use lameduck::{Config, Signal, SignalSet};
    /// let c = Config::new().reload(SignalSet::EMPTY.with(Signal::new(10)));
    /// assert!(c.reload_signals().contains(Signal::new(10)));
    /// assert!(!c.reload_signals().contains(Signal::HUP));
    /// ```
    #[must_use]
    pub const fn reload(mut self, signals: SignalSet) -> Config {
        self.reload = signals;
        self
    }

    /// Sets what repeated signals do.
    ///
    /// ```
    /// use lameduck::{Config, machine::Escalation};
    /// let c = Config::new().escalation(Escalation::Ignore);
    /// assert_eq!(c.escalation, Escalation::Ignore);
    /// ```
    #[must_use]
    pub const fn escalation(mut self, policy: Escalation) -> Config {
        self.escalation = policy;
        self
    }

    /// The signals that ask for a reload: the reload set without the shutdown signals.
    ///
    /// ```
    /// use lameduck::{Config, Signal};
    /// assert!(Config::new().reload_signals().contains(Signal::HUP));
    /// assert!(Config::new().signal(Signal::HUP).reload_signals().is_empty());
    /// ```
    pub const fn reload_signals(&self) -> SignalSet {
        self.reload.difference(self.signals)
    }

    /// Every signal the driver acts on, shutdown and reload: what a
    /// [`SignalSource`](crate::runtime::SignalSource) must listen for from its creation on.
    ///
    /// ```
    /// use lameduck::{Config, Signal, SignalSet};
    /// assert_eq!(Config::new().listened_signals(), SignalSet::DEFAULT.with(Signal::HUP));
    /// ```
    pub const fn listened_signals(&self) -> SignalSet {
        self.signals.union(self.reload)
    }

    /// Checks the combination.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroHookTimeout`] if the default hook timeout is zero (no hook could
    /// ever succeed), [`ConfigError::EscalationWithoutSignals`] if repeated signals are to
    /// escalate but no signal shuts down.
    ///
    /// ```
    /// use lameduck::{Config, ConfigError, machine::Escalation, SignalSet};
    /// let c = Config::new().signals(SignalSet::EMPTY);
    /// assert_eq!(c.validate(), Err(ConfigError::EscalationWithoutSignals));
    /// assert!(c.escalation(Escalation::Ignore).validate().is_ok());
    /// ```
    pub const fn validate(&self) -> Result<Config, ConfigError> {
        if self.hook_timeout.is_zero() {
            return Err(ConfigError::ZeroHookTimeout);
        }
        if self.signals.is_empty() && !matches!(self.escalation, Escalation::Ignore) {
            return Err(ConfigError::EscalationWithoutSignals);
        }
        Ok(*self)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// A configuration that cannot work, named.
///
/// ```
/// use lameduck::ConfigError;
/// assert_eq!(ConfigError::ZeroHookTimeout.to_string(), "hook timeout must be greater than zero");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// The default hook timeout is zero, so every hook would time out before it starts.
    ZeroHookTimeout,
    /// The escalation policy escalates on repeated signals, but the signal set is empty.
    EscalationWithoutSignals,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::ZeroHookTimeout => "hook timeout must be greater than zero",
            ConfigError::EscalationWithoutSignals => {
                "escalation on repeated signals needs at least one shutdown signal"
            }
        })
    }
}

/// The variant and its message, so that `.expect` on a rejected config reads as the reason:
/// `ZeroHookTimeout: hook timeout must be greater than zero`.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ConfigError::ZeroHookTimeout => "ZeroHookTimeout",
            ConfigError::EscalationWithoutSignals => "EscalationWithoutSignals",
        };
        write!(f, "{name}: {self}")
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::ConfigError;

    /// What `.expect` prints for a rejected config names the reason, not only the variant.
    #[test]
    fn debug_reads_as_the_reason() {
        extern crate alloc;
        assert_eq!(
            alloc::format!("{:?}", ConfigError::ZeroHookTimeout),
            "ZeroHookTimeout: hook timeout must be greater than zero"
        );
    }
}
