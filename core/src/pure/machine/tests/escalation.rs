//! Repeated requests: force on the second signal, exit on the third, the policies, and
//! the exit code each outcome maps to.

use super::*;

#[test]
fn second_signal_in_lame_duck_forces() {
    let mut m = machine(Config::new().lame_duck(ms(1000)));
    m.request(TERM, ms(0));
    let _ = actions(&mut m);
    assert!(m.request(INT, ms(10)));
    assert_eq!(
        actions(&mut m),
        [
            Action::Enter(Phase::Draining),
            Action::StopAccepting,
            Action::CutConnections,
            Action::Enter(Phase::Hooks),
            Action::RunHook(0),
        ]
    );
}

#[test]
fn second_signal_while_draining_forces_and_cut_count_sets_exit_2() {
    let mut m = draining(Config::new());
    assert!(m.request(TERM, ms(10)));
    assert_eq!(
        actions(&mut m),
        [
            Action::CutConnections,
            Action::Enter(Phase::Hooks),
            Action::RunHook(0)
        ]
    );
    m.record_cut(3);
    m.hooks_exhausted(ms(11));
    let s = m.summary();
    assert_eq!(
        (s.drained(), s.connections_left(), s.exit_code()),
        (false, 3, 2)
    );
}

#[test]
fn forcing_with_nothing_left_is_still_exit_0() {
    let mut m = draining(Config::new());
    m.request(TERM, ms(10));
    m.record_cut(0);
    m.hooks_exhausted(ms(10));
    assert!(m.summary().forced());
    assert_eq!(m.summary().exit_code(), 0);
}

#[test]
fn third_signal_exits_at_once_with_128_plus_n() {
    let mut m = draining(Config::new());
    m.request(TERM, ms(1));
    let _ = actions(&mut m);
    m.hook_started(0, None, ms(1));
    assert!(m.request(INT, ms(2)));
    assert_eq!(
        actions(&mut m),
        [
            Action::AbandonHook(0),
            Action::Enter(Phase::Stopped),
            Action::Finish
        ]
    );
    let s = m.summary();
    assert_eq!((s.exit_signal(), s.exit_code()), (Some(Signal::INT), 130));
    assert!(!m.request(TERM, ms(3)));
    assert_eq!(actions(&mut m), []);
}

#[test]
fn third_signal_before_hooks_cuts_and_exits() {
    let mut m = machine(Config::new().lame_duck(ms(100)));
    m.request(TERM, ms(0));
    m.request(TERM, ms(1)); // second: forces
    let _ = actions(&mut m);
    m.request(TERM, ms(2)); // third: exits during the hooks
    assert_eq!(
        actions(&mut m),
        [Action::Enter(Phase::Stopped), Action::Finish]
    );
    assert_eq!(m.summary().exit_code(), 143);
}

#[test]
fn force_only_ignores_the_third_and_ignore_ignores_the_second() {
    let mut m = draining(Config::new().escalation(Escalation::ForceOnly));
    m.request(TERM, ms(1));
    let _ = actions(&mut m);
    assert!(!m.request(TERM, ms(2)));
    assert_eq!(m.phase(), Phase::Hooks);
    assert_eq!(m.summary().exit_signal(), None);

    let mut m = draining(Config::new().escalation(Escalation::Ignore));
    for t in 1..100 {
        assert!(!m.request(TERM, ms(t)));
    }
    assert_eq!(m.phase(), Phase::Draining);
}

#[test]
fn signals_outside_the_set_do_nothing() {
    let mut m = machine(Config::new());
    assert!(!m.request(Reason::Signal(Signal::HUP), ms(0)));
    assert_eq!(m.phase(), Phase::Running);
    let mut m = machine(Config::new().signals(SignalSet::EMPTY.with(Signal::HUP)));
    assert!(!m.request(TERM, ms(0)));
    assert!(m.request(Reason::Signal(Signal::HUP), ms(0)));
    assert_eq!(m.summary().reason(), Some(Reason::Signal(Signal::HUP)));
}

#[test]
fn programmatic_requests_are_idempotent_and_do_not_count_as_a_signal() {
    let mut m = machine(Config::new().lame_duck(ms(100)));
    assert!(m.request(Reason::Failed, ms(0)));
    assert!(!m.request(Reason::Requested, ms(1)));
    assert!(!m.request(Reason::Requested, ms(2)));
    assert_eq!(m.phase(), Phase::LameDuck);
    assert_eq!(m.summary().reason(), Some(Reason::Failed));
    assert!(!m.request(TERM, ms(3))); // the operator's first signal: still graceful
    assert_eq!(m.phase(), Phase::LameDuck);
    assert!(m.request(TERM, ms(4))); // the second signal: forces
    assert_eq!(m.phase(), Phase::Hooks);
    assert!(m.request(TERM, ms(5))); // the third: exits
    assert_eq!(m.summary().exit_code(), 128 + 15);
}

#[test]
fn force_from_running_walks_every_phase_once() {
    let mut m = machine(Config::new().lame_duck(ms(100)));
    assert!(m.force(ms(4)));
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
    assert!(!m.force(ms(5)));
}

#[test]
fn exit_code_precedence() {
    // Cut connections outrank a failed hook.
    let mut m = draining(Config::new());
    m.tick(ms(30_000));
    m.record_cut(1);
    m.hook_started(0, None, ms(30_000));
    m.hook_finished(0, HookResult::Failed);
    m.hooks_exhausted(ms(30_001));
    assert_eq!(m.summary().exit_code(), 2);
    // A failed hook alone is 1.
    let mut m = draining(Config::new());
    m.drained(ms(1));
    m.hook_started(0, None, ms(1));
    m.hook_finished(0, HookResult::Failed);
    m.hooks_exhausted(ms(2));
    assert_eq!(m.summary().exit_code(), 1);
}
