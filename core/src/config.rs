//! Durations, shutdown signals and the escalation policy, checked before anything runs.

use crate::{Signal, SignalSet};
use core::{fmt, time::Duration};

/// What repeated shutdown signals do while a shutdown is under way.
///
/// Only signals count, whoever started the shutdown: after a programmatic
/// [`Trigger::shutdown`](crate::Trigger::shutdown) (itself idempotent) the first signal
/// changes nothing, the second forces, the third exits (see
/// [`Machine::request`](crate::Machine::request) for why). [`Trigger::force`](crate::Trigger::force)
/// always forces.
///
/// ```
/// use lameduck::{Config, Escalation};
/// let config = Config::new().escalation(Escalation::ForceOnly);
/// assert_eq!(config.escalation_policy(), Escalation::ForceOnly);
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
/// [`Machine::new`](crate::Machine::new) and [`Shutdown::new`](crate::Shutdown::new) call.
///
/// ```
/// use core::time::Duration;
/// use lameduck::{Config, Signal};
/// let config = Config::new()
///     .lame_duck(Duration::from_secs(5))
///     .drain_timeout(Duration::from_secs(20))
///     .signal(Signal::HUP);
/// assert!(config.validate().is_ok());
/// assert_eq!(config.drain_timeout_duration(), Duration::from_secs(20));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    lame_duck: Duration,
    drain_timeout: Duration,
    hook_timeout: Duration,
    signals: SignalSet,
    reload: SignalSet,
    escalation: Escalation,
}

impl Config {
    /// The defaults: no lame-duck period, a 30 s drain deadline, 5 s per hook,
    /// `SIGINT`/`SIGTERM`/`SIGQUIT` shut down, `SIGHUP` reloads, [`Escalation::ForceThenExit`].
    ///
    /// ```
    /// let config = lameduck::Config::new();
    /// assert_eq!(config.hook_timeout_duration().as_secs(), 5);
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

    /// How long to keep serving, not ready, after the first request (default 0).
    ///
    /// ```
    /// let c = lameduck::Config::new().lame_duck(core::time::Duration::from_millis(1500));
    /// assert_eq!(c.lame_duck_duration().as_millis(), 1500);
    /// ```
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
    pub const fn hook_timeout(mut self, duration: Duration) -> Config {
        self.hook_timeout = duration;
        self
    }

    /// Replaces the set of signals that shut down.
    ///
    /// ```
    /// use lameduck::{Config, SignalSet, Signal};
    /// let c = Config::new().signals(SignalSet::EMPTY.with(Signal::TERM));
    /// assert!(!c.shutdown_signals().contains(Signal::INT));
    /// ```
    pub const fn signals(mut self, signals: SignalSet) -> Config {
        self.signals = signals;
        self
    }

    /// Adds one signal to the set that shuts down.
    ///
    /// ```
    /// use lameduck::{Config, Signal};
    /// assert!(Config::new().signal(Signal::HUP).shutdown_signals().contains(Signal::HUP));
    /// ```
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
    /// let c = Config::new().reload_on(SignalSet::EMPTY.with(Signal::new(10)));
    /// assert!(c.reload_signals().contains(Signal::new(10)));
    /// assert!(!c.reload_signals().contains(Signal::HUP));
    /// ```
    pub const fn reload_on(mut self, signals: SignalSet) -> Config {
        self.reload = signals;
        self
    }

    /// Sets what repeated signals do.
    ///
    /// ```
    /// use lameduck::{Config, Escalation};
    /// let c = Config::new().escalation(Escalation::Ignore);
    /// assert_eq!(c.escalation_policy(), Escalation::Ignore);
    /// ```
    pub const fn escalation(mut self, policy: Escalation) -> Config {
        self.escalation = policy;
        self
    }

    /// The lame-duck duration.
    ///
    /// ```
    /// assert!(lameduck::Config::new().lame_duck_duration().is_zero());
    /// ```
    pub const fn lame_duck_duration(&self) -> Duration {
        self.lame_duck
    }

    /// The drain deadline, counted from the start of draining.
    ///
    /// ```
    /// assert_eq!(lameduck::Config::new().drain_timeout_duration().as_secs(), 30);
    /// ```
    pub const fn drain_timeout_duration(&self) -> Duration {
        self.drain_timeout
    }

    /// The default bound on each hook.
    ///
    /// ```
    /// assert_eq!(lameduck::Config::new().hook_timeout_duration().as_secs(), 5);
    /// ```
    pub const fn hook_timeout_duration(&self) -> Duration {
        self.hook_timeout
    }

    /// The signals that shut down.
    ///
    /// ```
    /// assert_eq!(lameduck::Config::new().shutdown_signals(), lameduck::SignalSet::DEFAULT);
    /// ```
    pub const fn shutdown_signals(&self) -> SignalSet {
        self.signals
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
    /// [`SignalSource`](crate::SignalSource) must listen for from its creation on.
    ///
    /// ```
    /// use lameduck::{Config, Signal, SignalSet};
    /// assert_eq!(Config::new().listened_signals(), SignalSet::DEFAULT.with(Signal::HUP));
    /// ```
    pub const fn listened_signals(&self) -> SignalSet {
        self.signals.union(self.reload)
    }

    /// The escalation policy.
    ///
    /// ```
    /// use lameduck::{Config, Escalation};
    /// assert_eq!(Config::new().escalation_policy(), Escalation::ForceThenExit);
    /// ```
    pub const fn escalation_policy(&self) -> Escalation {
        self.escalation
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
    /// use lameduck::{Config, ConfigError, Escalation, SignalSet};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

impl core::error::Error for ConfigError {}
