//! The phase machine: pure, allocation-free, clock-free.
//!
//! Inputs are method calls that carry `now` (a [`Duration`] since an arbitrary start the
//! caller chooses); outputs are [`Action`]s drained with [`Machine::poll_action`] and the next
//! deadline from [`Machine::next_deadline`]. A timeout that is not due yet is a no-op, so a
//! spurious wake-up can never move the machine. This is what the driver runs and what the
//! model checker and property tests drive directly.
//!
//! | phase | entered on | the deadline (from entering) | leaves on | a signal here |
//! | --- | --- | --- | --- | --- |
//! | `Running` | creation | none | the first request (signal or program) | the first starts the shutdown |
//! | `LameDuck` | the first request | `lame_duck`: then `Draining` (skipped when zero, or for a handover) | the deadline, or a force | the second forces: straight to `Hooks` |
//! | `Draining` | the lame duck's end | `drain_timeout`: then the open connections are cut | the last connection closing, the deadline, or a force | the second forces (cut, `Hooks`); the third exits |
//! | `Hooks` | the drain's end | each hook's own timeout (or `hook_timeout`): then it is abandoned and the next runs | the last hook ending | nothing left to force: the hooks go on; the third exits at once, skipping the rest |
//! | `Stopped` | the last hook, or an exit signal | none | never | ignored |
//!
//! Only signals count towards escalation (see [`Machine::request`]); `force` always forces.

use crate::{
    pure::config::{Config, ConfigError, Escalation},
    pure::phase::{Phase, Reason},
};
use core::time::Duration;

mod queue;
mod summary;
#[cfg(test)]
mod tests;
mod transitions;

use queue::ActionQueue;
pub use summary::Summary;
use transitions::deadline;

/// What the machine asks its driver to do, in order.
///
/// ```
/// use lameduck::{machine::{Action, Machine}, Config, Phase, Reason};
/// use core::time::Duration;
/// let mut m = Machine::new(Config::new()).unwrap();
/// m.request(Reason::Requested, Duration::ZERO);
/// assert_eq!(m.poll_action(), Some(Action::Enter(Phase::LameDuck)));
/// assert_eq!(m.poll_action(), Some(Action::Enter(Phase::Draining)));
/// assert_eq!(m.poll_action(), Some(Action::StopAccepting));
/// assert_eq!(m.poll_action(), None);
/// ```
///
/// Exhaustive on purpose: a driver must handle every action, and a new one would change
/// what every driver has to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new phase began: publish it (whoever waits for it wakes).
    Enter(Phase),
    /// The drain began: accept loops stop and close their listeners when they see
    /// `Draining` (new connects are refused from now on); the driver checks whether the
    /// tracker — set draining as `Draining` was entered — is already empty. Comes right
    /// after `Enter(Draining)`.
    StopAccepting,
    /// Waiting for connections is over with some still open (deadline, force): each cuts
    /// itself when it sees the next phase; the driver reports how many were left with
    /// [`Machine::record_cut`].
    CutConnections,
    /// Start hook `index` and report it with [`Machine::hook_started`], or report that there
    /// is no such hook with [`Machine::hooks_exhausted`].
    RunHook(usize),
    /// Hook `index` passed its deadline: drop it; it has been recorded as timed out.
    AbandonHook(usize),
    /// The shutdown is over; [`Machine::summary`] is final.
    Finish,
}

/// How a hook ended, as the machine records it.
///
/// ```
/// assert_ne!(lameduck::machine::HookResult::Ok, lameduck::machine::HookResult::Failed);
/// ```
///
/// Exhaustive on purpose: the machine only needs to know whether a hook counts as failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookResult {
    /// It returned success.
    Ok,
    /// It returned an error or panicked.
    Failed,
}

/// The shutdown phase machine: pure, allocation-free, clock-free.
///
/// Inputs are method calls that carry `now` (a [`Duration`] since an arbitrary start the
/// caller chooses); outputs are [`Action`]s drained with [`poll_action`](Self::poll_action)
/// and the next deadline from [`next_deadline`](Self::next_deadline). A tick before the
/// deadline is a no-op, so a spurious wake-up never moves the machine.
///
/// ```
/// use lameduck::{machine::{Action, Machine}, Config, Phase, Reason, Signal};
/// use core::time::Duration;
/// let ms = Duration::from_millis;
/// let mut m = Machine::new(Config::new().drain_timeout(ms(500))).unwrap();
/// m.request(Reason::Signal(Signal::TERM), ms(0));
/// while m.poll_action().is_some() {}
/// assert_eq!(m.next_deadline(), Some(ms(500)));
/// m.tick(ms(499));
/// assert_eq!(m.phase(), Phase::Draining);
/// m.tick(ms(500));
/// assert_eq!(m.poll_action(), Some(Action::CutConnections));
/// ```
#[derive(Clone, Debug)]
pub struct Machine {
    config: Config,
    phase: Phase,
    reason: Option<Reason>,
    /// Shutdown signals seen (programmatic requests do not count: see [`Machine::request`]).
    requests: u8,
    exit: Option<crate::pure::signal::Signal>,
    cut: bool,
    connections_left: usize,
    deadline: Option<Duration>,
    /// The hook being run, if one is.
    hook: Option<usize>,
    next_hook: usize,
    hooks_failed: usize,
    hooks_timed_out: usize,
    entered: [Option<Duration>; 5],
    queue: ActionQueue,
}

impl Machine {
    /// A machine in [`Phase::Running`].
    ///
    /// # Errors
    ///
    /// The configuration's own [`Config::validate`] error.
    ///
    /// ```
    /// assert!(lameduck::machine::Machine::new(lameduck::Config::new()).is_ok());
    /// ```
    pub const fn new(config: Config) -> Result<Machine, ConfigError> {
        let config = match config.validate() {
            Ok(c) => c,
            Err(e) => return Err(e),
        };
        Ok(Machine {
            config,
            phase: Phase::Running,
            reason: None,
            requests: 0,
            exit: None,
            cut: false,
            connections_left: 0,
            deadline: None,
            hook: None,
            next_hook: 0,
            hooks_failed: 0,
            hooks_timed_out: 0,
            entered: [None; 5],
            queue: ActionQueue::new(),
        })
    }

    /// The current phase.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.phase(), lameduck::Phase::Running);
    /// ```
    pub const fn phase(&self) -> Phase {
        self.phase
    }

    /// The configuration the machine runs with.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(*m.config(), lameduck::Config::new());
    /// ```
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The instant at which [`tick`](Self::tick) will next do something, if any.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.next_deadline(), None);
    /// ```
    pub const fn next_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The next action to take, oldest first.
    ///
    /// ```
    /// let mut m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.poll_action(), None);
    /// ```
    pub fn poll_action(&mut self) -> Option<Action> {
        self.queue.pop()
    }

    /// A shutdown request. Returns whether it did anything.
    ///
    /// The first request starts the shutdown; with [`Reason::Upgrade`] it skips the lame-duck
    /// period (draining starts at once). A signal outside the configured set does
    /// nothing. Later programmatic requests do nothing (they are idempotent); later signals
    /// escalate per the [`Escalation`] policy: the second *signal* forces while lame-duck or
    /// draining, the third ends everything at once with `128 + N`.
    ///
    /// Only signals count towards escalation, because only an operator sends them: a
    /// shutdown the program started itself (a failed listener, an in-place upgrade handing
    /// over, [`Trigger::shutdown`](crate::Trigger::shutdown)) is followed by the operator's
    /// own first `SIGTERM` often enough (a supervisor stopping what it sees stopping), and
    /// that one must not cut connections. Its second signal forces, its third exits.
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine, Phase, Reason, Signal};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// assert!(!m.request(Reason::Signal(Signal::HUP), Duration::ZERO));
    /// assert!(m.request(Reason::Signal(Signal::TERM), Duration::ZERO));
    /// assert_eq!(m.phase(), Phase::Draining);
    /// ```
    pub fn request(&mut self, reason: Reason, now: Duration) -> bool {
        let signal = match reason {
            Reason::Signal(s) if !self.config.signals.contains(s) => return false,
            Reason::Signal(s) => Some(s),
            _ => None,
        };
        if self.phase == Phase::Stopped {
            return false;
        }
        if self.phase == Phase::Running {
            self.requests = u8::from(signal.is_some());
            self.reason = Some(reason);
            self.enter(Phase::LameDuck, now);
            // A hand-over needs no lame duck: the successor already accepts from the same
            // sockets, so the period is zero and lame duck ends at once (still entered, so
            // every shutdown walks the same phases).
            let lame_duck = match reason {
                Reason::Upgrade => Duration::ZERO,
                _ => self.config.lame_duck,
            };
            self.deadline = deadline(now, lame_duck);
            self.expire(now);
            return true;
        }
        let Some(signal) = signal else { return false };
        self.requests = self.requests.saturating_add(1);
        match (self.config.escalation, self.requests) {
            // The first signal after a programmatic start: the operator's first request,
            // and the shutdown is already as graceful as it gets.
            (_, 1) | (Escalation::Ignore, _) | (Escalation::ForceOnly, 3..) => false,
            (Escalation::ForceThenExit, 3..) => {
                self.exit(signal, now);
                true
            }
            (_, _) => self.force(now),
        }
    }

    /// Forces the shutdown: stop waiting for connections, cut them, go to the hooks. Starts
    /// the shutdown first if it has not started. Returns whether it did anything.
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine, Phase};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// assert!(m.force(Duration::ZERO));
    /// assert_eq!(m.phase(), Phase::Hooks);
    /// assert!(!m.force(Duration::ZERO));
    /// ```
    pub fn force(&mut self, now: Duration) -> bool {
        match self.phase {
            Phase::Running => {
                self.request(Reason::Requested, now);
                self.force(now)
            }
            Phase::LameDuck => {
                self.begin_drain(now);
                self.cut_and_run_hooks(now);
                true
            }
            Phase::Draining => {
                self.cut_and_run_hooks(now);
                true
            }
            Phase::Hooks | Phase::Stopped => false,
        }
    }

    /// Time passed: fires the deadline if `now` has reached it. Early ticks do nothing.
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine, Phase, Reason};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new().lame_duck(Duration::from_secs(1))).unwrap();
    /// m.request(Reason::Requested, Duration::ZERO);
    /// m.tick(Duration::from_millis(999));
    /// assert_eq!(m.phase(), Phase::LameDuck);
    /// m.tick(Duration::from_secs(1));
    /// assert_eq!(m.phase(), Phase::Draining);
    /// ```
    pub fn tick(&mut self, now: Duration) {
        self.expire(now);
    }

    /// The connection tracker reports that every connection closed while draining.
    /// Ignored outside [`Phase::Draining`].
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine, Phase, Reason};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// m.request(Reason::Requested, Duration::ZERO);
    /// m.drained(Duration::from_millis(3));
    /// assert_eq!(m.phase(), Phase::Hooks);
    /// ```
    pub fn drained(&mut self, now: Duration) {
        if self.phase == Phase::Draining {
            self.run_hooks(now);
        }
    }

    /// Reports how many connections were still open when [`Action::CutConnections`] was
    /// carried out. Any number above zero makes the exit code 2.
    ///
    /// ```
    /// use lameduck::{Config, machine::Machine};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// m.force(Duration::ZERO);
    /// m.record_cut(3);
    /// assert_eq!(m.summary().connections_left(), 3);
    /// ```
    pub fn record_cut(&mut self, connections_left: usize) {
        if self.cut {
            self.connections_left = connections_left;
        }
    }

    /// Reports that hook `index`, asked for by [`Action::RunHook`], started, bounded by
    /// `timeout` (`None`: the configured default). Stale indices are ignored.
    ///
    /// ```
    /// use lameduck::{machine::{Action, Machine}, Config};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// m.force(Duration::ZERO);
    /// while m.poll_action() != Some(Action::RunHook(0)) {}
    /// m.hook_started(0, None, Duration::from_secs(1));
    /// assert_eq!(m.next_deadline(), Some(Duration::from_secs(6)));
    /// ```
    pub fn hook_started(&mut self, index: usize, timeout: Option<Duration>, now: Duration) {
        if self.phase == Phase::Hooks && self.hook.is_none() && index == self.next_hook {
            self.hook = Some(index);
            self.next_hook = index.saturating_add(1);
            let timeout = timeout.unwrap_or(self.config.hook_timeout);
            self.deadline = deadline(now, timeout);
        }
    }

    /// Reports how hook `index` ended; the next hook is asked for. Stale or repeated
    /// reports (the hook already timed out, say) are ignored.
    ///
    /// ```
    /// use lameduck::{machine::{Action, HookResult, Machine}, Config};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// m.force(Duration::ZERO);
    /// while m.poll_action() != Some(Action::RunHook(0)) {}
    /// m.hook_started(0, None, Duration::ZERO);
    /// m.hook_finished(0, HookResult::Failed);
    /// assert_eq!(m.poll_action(), Some(Action::RunHook(1)));
    /// assert_eq!(m.summary().hooks_failed(), 1);
    /// ```
    pub fn hook_finished(&mut self, index: usize, result: HookResult) {
        if self.hook != Some(index) {
            return;
        }
        if result == HookResult::Failed {
            self.hooks_failed += 1;
        }
        self.hook = None;
        self.deadline = None;
        self.queue.push(Action::RunHook(self.next_hook));
    }

    /// Reports that there is no hook at the index last asked for: the shutdown is over.
    ///
    /// ```
    /// use lameduck::{machine::{Action, Machine}, Config, Phase};
    /// use core::time::Duration;
    /// let mut m = Machine::new(Config::new()).unwrap();
    /// m.force(Duration::ZERO);
    /// m.hooks_exhausted(Duration::from_millis(7));
    /// assert_eq!(m.phase(), Phase::Stopped);
    /// assert_eq!(m.summary().exit_code(), 0);
    /// ```
    pub fn hooks_exhausted(&mut self, now: Duration) {
        if self.phase == Phase::Hooks && self.hook.is_none() {
            self.stop(now);
        }
    }

    /// What happened so far; final once [`Action::Finish`] was emitted.
    ///
    /// ```
    /// let m = lameduck::machine::Machine::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(m.summary().reason(), None);
    /// ```
    pub fn summary(&self) -> Summary {
        Summary {
            reason: self.reason,
            exit: self.exit,
            cut: self.cut,
            connections_left: self.connections_left,
            hooks_started: self.next_hook,
            hooks_failed: self.hooks_failed,
            hooks_timed_out: self.hooks_timed_out,
            entered: self.entered,
        }
    }
}
