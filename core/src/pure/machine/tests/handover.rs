//! A hand-over to a successor ([`Reason::Upgrade`]): a shutdown without the lame-duck period.

use super::*;

#[test]
fn handover_skips_the_configured_lame_duck() {
    let mut m = machine(Config::new().lame_duck(ms(5000)).drain_timeout(ms(300)));
    assert!(m.request(Reason::Upgrade, ms(10)));
    assert_eq!(
        actions(&mut m),
        [
            Action::Enter(Phase::LameDuck),
            Action::Enter(Phase::Draining),
            Action::StopAccepting,
        ]
    );
    assert_eq!(m.phase(), Phase::Draining);
    assert_eq!(
        m.next_deadline(),
        Some(ms(310)),
        "the drain deadline still holds"
    );
    m.drained(ms(20));
    assert_eq!(m.phase(), Phase::Hooks);
    let summary = m.summary();
    assert_eq!(summary.reason(), Some(Reason::Upgrade));
    assert_eq!(summary.exit_code(), 0);
}

#[test]
fn a_request_keeps_its_lame_duck() {
    // The control for the test above: only the hand-over skips lame duck.
    let mut m = machine(Config::new().lame_duck(ms(5000)));
    m.request(Reason::Requested, ms(10));
    assert_eq!(actions(&mut m), [Action::Enter(Phase::LameDuck)]);
    assert_eq!(m.next_deadline(), Some(ms(5010)));
}

#[test]
fn handover_after_a_shutdown_began_changes_nothing() {
    let mut m = machine(Config::new().lame_duck(ms(5000)));
    m.request(TERM, ms(0));
    let _ = actions(&mut m);
    assert!(!m.request(Reason::Upgrade, ms(10)));
    assert_eq!(m.phase(), Phase::LameDuck);
    assert_eq!(m.next_deadline(), Some(ms(5000)));
    assert_eq!(m.summary().reason(), Some(TERM));
}

#[test]
fn signals_after_a_handover_escalate_as_after_any_programmatic_start() {
    let mut m = machine(Config::new().lame_duck(ms(5000)));
    m.request(Reason::Upgrade, ms(0));
    let _ = actions(&mut m);
    // The operator's first signal (a supervisor stopping the old process) cuts nothing.
    assert!(!m.request(TERM, ms(5)));
    assert_eq!(actions(&mut m), []);
    assert!(m.request(TERM, ms(10)));
    assert_eq!(
        actions(&mut m),
        [
            Action::CutConnections,
            Action::Enter(Phase::Hooks),
            Action::RunHook(0),
        ]
    );
}
