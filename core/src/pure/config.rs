//! Durations, shutdown signals and the escalation policy, checked before anything runs.

use crate::pure::phase::Phase;
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

/// When connections are asked to leave: HTTP/1.1 responses carry `connection: close` and
/// HTTP/2 connections are sent GOAWAY (by the HTTP adapters, which read it from
/// [`Handle::config`](crate::Handle::config)).
///
/// Saying goodbye from the first signal matters behind a layer-4 balancer (kube-proxy,
/// haproxy `mode tcp`, a client's own pool): only new connections move when the server turns
/// unready, so a pooled keep-alive connection stays on it until the server closes it, and a
/// close of an idle connection races the client about to reuse it. Told `connection: close`
/// on a response during the lame duck, the client leaves one response at a time while the
/// server still serves.
///
/// ```
/// use lameduck::{Config, Goodbye, Phase};
/// assert_eq!(Config::new().goodbye, Goodbye::FirstSignal);
/// assert_eq!(Goodbye::Drain.phase(), Phase::Draining);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Goodbye {
    /// From the first signal on, the lame duck included: every response during the lame
    /// duck tells its client to leave, while the listener still accepts.
    #[default]
    FirstSignal,
    /// Only when draining starts (the listener is closed by then): pooled connections stay
    /// through the lame duck and the drain closes those that are idle.
    Drain,
}

impl Goodbye {
    /// The phase from which connections are told to leave.
    ///
    /// ```
    /// use lameduck::{Goodbye, Phase};
    /// assert_eq!(Goodbye::FirstSignal.phase(), Phase::LameDuck);
    /// ```
    pub const fn phase(self) -> Phase {
        match self {
            Goodbye::FirstSignal => Phase::LameDuck,
            Goodbye::Drain => Phase::Draining,
        }
    }
}

/// Shutdown configuration: lame-duck duration, drain deadline, hook timeout, shutdown and
/// reload signals, escalation, when to say goodbye, and the supervisor's stop budget.
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
    /// When connections are told to leave (default [`Goodbye::FirstSignal`]). Set with
    /// [`Config::goodbye`].
    pub goodbye: Goodbye,
    /// How long the supervisor waits between its stop signal and its kill (default
    /// [`Duration::MAX`]: no limit). Set with [`Config::stop_budget`].
    pub stop_budget: Duration,
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
            goodbye: Goodbye::FirstSignal,
            stop_budget: Duration::MAX,
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

    /// When connections are told to leave (default [`Goodbye::FirstSignal`]).
    ///
    /// ```
    /// use lameduck::{Config, Goodbye};
    /// let c = Config::new().goodbye(Goodbye::Drain);
    /// assert_eq!(c.goodbye, Goodbye::Drain);
    /// ```
    #[must_use]
    pub const fn goodbye(mut self, goodbye: Goodbye) -> Config {
        self.goodbye = goodbye;
        self
    }

    /// How long the process may take from the first signal to its exit before its supervisor
    /// kills it: systemd's `TimeoutStopSec`, Kubernetes' `terminationGracePeriodSeconds`
    /// (default [`Duration::MAX`]: no limit). [`Config::validate`] then refuses a
    /// configuration whose [`stop_time`](Config::stop_time) does not fit in it: a shutdown
    /// killed half-way runs no hooks and reports nothing, so the mistake is better found at
    /// start than at the first deploy.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lameduck::{Config, ConfigError};
    /// let c = Config::new().stop_budget(Duration::from_secs(30)); // Kubernetes' default
    /// // 30 s drain + 5 s hook do not fit:
    /// assert!(matches!(c.validate(), Err(ConfigError::OverStopBudget { .. })));
    /// let c = c.lame_duck(Duration::from_secs(5)).drain_timeout(Duration::from_secs(15));
    /// assert!(c.validate().is_ok());
    /// ```
    #[must_use]
    pub const fn stop_budget(mut self, budget: Duration) -> Config {
        self.stop_budget = budget;
        self
    }

    /// The longest a shutdown can take from its first signal to its exit, with one hook at
    /// the default hook timeout: lame duck + drain deadline + hook timeout (saturating at
    /// [`Duration::MAX`]). Each further hook can add its own timeout: leave room for them in
    /// the [`stop_budget`](Config::stop_budget).
    ///
    /// ```
    /// use core::time::Duration;
    /// let c = lameduck::Config::new().lame_duck(Duration::from_secs(5));
    /// assert_eq!(c.stop_time(), Duration::from_secs(5 + 30 + 5));
    /// ```
    pub const fn stop_time(&self) -> Duration {
        self.lame_duck
            .saturating_add(self.drain_timeout)
            .saturating_add(self.hook_timeout)
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
    /// escalate but no signal shuts down, [`ConfigError::OverStopBudget`] if the
    /// [`stop_time`](Config::stop_time) exceeds the [`stop_budget`](Config::stop_budget)
    /// (equal fits).
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
        let needed = self.stop_time();
        if needed.as_nanos() > self.stop_budget.as_nanos() {
            return Err(ConfigError::OverStopBudget {
                needed,
                budget: self.stop_budget,
            });
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
    /// Lame duck + drain deadline + hook timeout exceed the supervisor's stop budget: the
    /// process would be killed before its shutdown ends.
    OverStopBudget {
        /// [`Config::stop_time`].
        needed: Duration,
        /// [`Config::stop_budget`].
        budget: Duration,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroHookTimeout => f.write_str("hook timeout must be greater than zero"),
            ConfigError::EscalationWithoutSignals => {
                f.write_str("escalation on repeated signals needs at least one shutdown signal")
            }
            ConfigError::OverStopBudget { needed, budget } => write!(
                f,
                "lame duck + drain timeout + hook timeout ({} ms) exceed the stop budget ({} ms)",
                needed.as_millis(),
                budget.as_millis()
            ),
        }
    }
}

/// The variant and its message, so that `.expect` on a rejected config reads as the reason:
/// `ZeroHookTimeout: hook timeout must be greater than zero`.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ConfigError::ZeroHookTimeout => "ZeroHookTimeout",
            ConfigError::EscalationWithoutSignals => "EscalationWithoutSignals",
            ConfigError::OverStopBudget { .. } => "OverStopBudget",
        };
        write!(f, "{name}: {self}")
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_configuration_that_fits_its_stop_budget_is_accepted() {
        let c = Config::new()
            .lame_duck(S(5))
            .drain_timeout(S(20))
            .hook_timeout(S(5))
            .stop_budget(S(30));
        assert_eq!(c.stop_time(), S(30));
        assert_eq!(c.validate(), Ok(c), "equal fits");
    }

    #[test]
    fn a_configuration_over_its_stop_budget_is_refused_with_both_numbers() {
        let c = Config::new()
            .lame_duck(S(5))
            .drain_timeout(S(20))
            .hook_timeout(S(5))
            .stop_budget(S(29));
        let error = c.validate().unwrap_err();
        assert_eq!(
            error,
            ConfigError::OverStopBudget {
                needed: S(30),
                budget: S(29)
            }
        );
        #[cfg(feature = "alloc")]
        assert_eq!(
            alloc::string::ToString::to_string(&error),
            "lame duck + drain timeout + hook timeout (30000 ms) exceed the stop budget (29000 ms)"
        );
    }

    #[test]
    fn without_a_stop_budget_any_deadline_is_accepted() {
        let c = Config::new()
            .lame_duck(Duration::MAX)
            .drain_timeout(Duration::MAX);
        assert_eq!(c.stop_time(), Duration::MAX, "saturates, never overflows");
        assert!(c.validate().is_ok());
        // An endless drain never fits a finite budget.
        assert!(c.stop_budget(S(3600)).validate().is_err());
    }

    #[test]
    fn the_defaults_do_not_fit_kubernetes_default_grace_period() {
        // 30 s drain + 5 s hook > terminationGracePeriodSeconds' 30 s.
        assert!(Config::new().stop_budget(S(30)).validate().is_err());
        assert!(Config::new().stop_budget(S(35)).validate().is_ok());
    }

    #[test]
    fn the_goodbye_starts_at_the_first_signal_unless_asked_for_at_the_drain() {
        assert_eq!(Config::new().goodbye.phase(), Phase::LameDuck);
        assert_eq!(
            Config::new().goodbye(Goodbye::Drain).goodbye.phase(),
            Phase::Draining
        );
    }

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
