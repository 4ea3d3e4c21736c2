//! Every transition of the machine, driven by hand with exact times.

use super::*;
use crate::{
    pure::config::Escalation,
    pure::signal::{Signal, SignalSet},
};
use alloc_free::actions;
use core::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const TERM: Reason = Reason::Signal(Signal::TERM);
const INT: Reason = Reason::Signal(Signal::INT);

mod escalation;
mod handover;

/// Collects pending actions into a fixed array (the machine's tests stay no-alloc).
mod alloc_free {
    use super::*;

    pub(super) struct Actions {
        items: [Option<Action>; 16],
        len: usize,
    }

    impl Actions {
        pub(super) fn as_slice(&self) -> &[Option<Action>] {
            &self.items[..self.len]
        }
    }

    impl PartialEq<[Action]> for Actions {
        fn eq(&self, other: &[Action]) -> bool {
            self.len == other.len()
                && self
                    .as_slice()
                    .iter()
                    .zip(other)
                    .all(|(a, b)| *a == Some(*b))
        }
    }

    impl<const N: usize> PartialEq<[Action; N]> for Actions {
        fn eq(&self, other: &[Action; N]) -> bool {
            *self == other[..]
        }
    }

    impl core::fmt::Debug for Actions {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_list()
                .entries(self.as_slice().iter().flatten())
                .finish()
        }
    }

    pub(super) fn actions(m: &mut Machine) -> Actions {
        let mut out = Actions {
            items: [None; 16],
            len: 0,
        };
        while let Some(a) = m.poll_action() {
            out.items[out.len] = Some(a);
            out.len += 1;
        }
        out
    }
}

fn machine(config: Config) -> Machine {
    Machine::new(config).unwrap()
}

/// A machine that has entered Draining at 0 with the given config.
fn draining(config: Config) -> Machine {
    let mut m = machine(config);
    m.request(TERM, ms(0));
    let _ = actions(&mut m);
    assert_eq!(m.phase(), Phase::Draining);
    m
}

#[test]
fn starts_running_with_no_deadline() {
    let mut m = machine(Config::new());
    assert_eq!(m.phase(), Phase::Running);
    assert_eq!(m.next_deadline(), None);
    m.tick(Duration::MAX);
    m.drained(ms(1));
    assert_eq!(m.phase(), Phase::Running);
    assert_eq!(actions(&mut m), []);
}

#[test]
fn invalid_config_is_rejected() {
    let err = Machine::new(Config::new().hook_timeout(Duration::ZERO)).unwrap_err();
    assert_eq!(err, ConfigError::ZeroHookTimeout);
}

#[test]
fn request_enters_lame_duck_until_its_deadline_exactly() {
    let mut m = machine(Config::new().lame_duck(ms(1000)));
    assert!(m.request(TERM, ms(10)));
    assert_eq!(actions(&mut m), [Action::Enter(Phase::LameDuck)]);
    assert_eq!(m.next_deadline(), Some(ms(1010)));
    m.tick(ms(1009));
    assert_eq!(m.phase(), Phase::LameDuck);
    m.tick(ms(1010));
    assert_eq!(
        actions(&mut m),
        [Action::Enter(Phase::Draining), Action::StopAccepting]
    );
    assert_eq!(m.next_deadline(), Some(ms(1010 + 30_000)));
}

#[test]
fn drain_deadline_fires_at_500_not_499() {
    let mut m = draining(Config::new().drain_timeout(ms(500)));
    m.tick(ms(499));
    assert_eq!(m.phase(), Phase::Draining);
    assert_eq!(actions(&mut m), []);
    m.tick(ms(500));
    assert_eq!(
        actions(&mut m),
        [
            Action::CutConnections,
            Action::Enter(Phase::Hooks),
            Action::RunHook(0)
        ]
    );
    assert!(m.summary().forced());
}

#[test]
fn drained_moves_to_hooks_only_while_draining() {
    let mut m = machine(Config::new().lame_duck(ms(100)));
    m.drained(ms(0));
    m.request(Reason::Requested, ms(0));
    let _ = actions(&mut m);
    m.drained(ms(1));
    assert_eq!(m.phase(), Phase::LameDuck);
    m.tick(ms(100));
    let _ = actions(&mut m);
    m.drained(ms(150));
    assert_eq!(
        actions(&mut m),
        [Action::Enter(Phase::Hooks), Action::RunHook(0)]
    );
    assert!(!m.summary().forced());
    assert_eq!(m.summary().time_in(Phase::Draining), Some(ms(50)));
}

#[test]
fn hooks_run_in_order_then_stop() {
    let mut m = draining(Config::new());
    m.drained(ms(5));
    assert_eq!(
        actions(&mut m),
        [Action::Enter(Phase::Hooks), Action::RunHook(0)]
    );
    m.hook_started(0, None, ms(5));
    assert_eq!(m.next_deadline(), Some(ms(5005)));
    m.hook_finished(0, HookResult::Ok);
    assert_eq!(actions(&mut m), [Action::RunHook(1)]);
    m.hook_started(1, Some(ms(10)), ms(6));
    assert_eq!(m.next_deadline(), Some(ms(16)));
    m.hook_finished(1, HookResult::Ok);
    assert_eq!(actions(&mut m), [Action::RunHook(2)]);
    m.hooks_exhausted(ms(7));
    assert_eq!(
        actions(&mut m),
        [Action::Enter(Phase::Stopped), Action::Finish]
    );
    let s = m.summary();
    assert_eq!(
        (s.hooks_started(), s.exit_code(), s.elapsed()),
        (2, 0, Some(ms(7)))
    );
}

#[test]
fn hook_timeout_fires_exactly_and_late_results_are_ignored() {
    let mut m = draining(Config::new().hook_timeout(ms(100)));
    m.drained(ms(0));
    let _ = actions(&mut m);
    m.hook_started(0, None, ms(0));
    m.tick(ms(99));
    assert_eq!(actions(&mut m), []);
    m.tick(ms(100));
    assert_eq!(
        actions(&mut m),
        [Action::AbandonHook(0), Action::RunHook(1)]
    );
    m.hook_finished(0, HookResult::Ok); // too late: ignored
    assert_eq!(actions(&mut m), []);
    m.hooks_exhausted(ms(101));
    let s = m.summary();
    assert_eq!(
        (s.hooks_timed_out(), s.hooks_failed(), s.exit_code()),
        (1, 0, 1)
    );
}

#[test]
fn hook_reports_for_other_indices_are_ignored() {
    let mut m = machine(Config::new());
    m.force(ms(0));
    let _ = actions(&mut m);
    m.hook_started(1, None, ms(0)); // not asked for
    m.hook_finished(0, HookResult::Failed); // not started
    assert_eq!(m.next_deadline(), None);
    m.hook_started(0, None, ms(0));
    m.hook_started(0, None, ms(1)); // twice: ignored
    assert_eq!(m.next_deadline(), Some(ms(5000)));
    m.hooks_exhausted(ms(1)); // a hook is running: ignored
    assert_eq!(m.phase(), Phase::Hooks);
    m.hook_finished(0, HookResult::Failed);
    m.hook_finished(0, HookResult::Failed); // repeated: ignored
    assert_eq!(m.summary().hooks_failed(), 1);
}

#[test]
fn zero_durations_pass_straight_through() {
    let mut m = machine(Config::new().drain_timeout(Duration::ZERO));
    m.request(TERM, ms(7));
    assert_eq!(
        actions(&mut m),
        [
            Action::Enter(Phase::LameDuck),
            Action::Enter(Phase::Draining),
            Action::StopAccepting,
            Action::CutConnections,
            Action::Enter(Phase::Hooks),
            Action::RunHook(0),
        ]
    );
    m.record_cut(0);
    m.hooks_exhausted(ms(7));
    assert_eq!(m.summary().exit_code(), 0);
    assert_eq!(m.summary().elapsed(), Some(Duration::ZERO));
}

#[test]
fn max_durations_saturate_without_panicking() {
    let config = Config::new()
        .lame_duck(Duration::MAX)
        .drain_timeout(Duration::MAX)
        .hook_timeout(Duration::MAX);
    // Duration::MAX means "no deadline": nothing overflows, nothing ever fires.
    let mut m = machine(config);
    m.request(TERM, ms(5));
    assert_eq!(m.next_deadline(), None);
    m.tick(Duration::MAX);
    assert_eq!(m.phase(), Phase::LameDuck);
    m.request(TERM, Duration::MAX); // the second signal still forces
    let _ = actions(&mut m);
    m.hook_started(0, None, Duration::MAX);
    assert_eq!(m.next_deadline(), None);
    m.tick(Duration::MAX);
    assert_eq!(actions(&mut m), []);
    // A large but finite duration saturates to the same "never".
    let mut m = machine(Config::new().drain_timeout(Duration::from_secs(u64::MAX)));
    m.request(TERM, Duration::from_secs(u64::MAX / 2));
    let _ = actions(&mut m);
    assert_eq!(m.next_deadline(), None);
    m.drained(Duration::MAX);
    assert_eq!(m.phase(), Phase::Hooks);
}

#[test]
fn ticks_before_and_after_stop_are_harmless() {
    let mut m = machine(Config::new());
    m.force(ms(0));
    m.hooks_exhausted(ms(0));
    let _ = actions(&mut m);
    for t in [0, 1, u64::MAX] {
        m.tick(ms(t));
        m.drained(ms(t));
        m.hooks_exhausted(ms(t));
        assert!(!m.force(ms(t)));
    }
    assert_eq!(actions(&mut m), []);
    assert_eq!(m.phase(), Phase::Stopped);
}

#[test]
fn record_cut_without_a_cut_is_ignored() {
    let mut m = draining(Config::new());
    m.record_cut(9);
    m.drained(ms(1));
    m.hooks_exhausted(ms(1));
    assert_eq!(m.summary().connections_left(), 0);
    assert_eq!(m.summary().exit_code(), 0);
}

#[test]
fn an_unpolled_queue_never_panics() {
    let mut m = machine(Config::new().drain_timeout(Duration::ZERO));
    m.request(TERM, ms(0));
    for i in 0..40 {
        m.hook_started(i, None, ms(0));
        m.hook_finished(i, HookResult::Ok);
    }
    assert_eq!(m.summary().hooks_started(), 40);
    let mut n = 0;
    while m.poll_action().is_some() {
        n += 1;
    }
    assert_eq!(n, 16);
}

#[test]
fn each_phase_is_entered_once_and_in_order() {
    let mut m = machine(Config::new().lame_duck(ms(10)).drain_timeout(ms(10)));
    let mut entered = [0u8; 5];
    let mut last = Phase::Running;
    let mut feed = |m: &mut Machine| {
        while let Some(a) = m.poll_action() {
            if let Action::Enter(p) = a {
                assert!(p > last);
                last = p;
                entered[p.index()] += 1;
            }
        }
    };
    m.request(TERM, ms(0));
    feed(&mut m);
    for t in 0..50 {
        m.tick(ms(t));
        m.request(TERM, ms(t));
        m.drained(ms(t));
        feed(&mut m);
        m.hooks_exhausted(ms(t));
        feed(&mut m);
    }
    assert_eq!(entered, [0, 1, 1, 1, 1]);
}
