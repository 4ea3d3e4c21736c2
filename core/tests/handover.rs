//! `Trigger::handover` end to end on the manual clock: draining starts at once, whatever
//! the configured lame-duck period.

use core::time::Duration;
use futures::future::join;
use lameduck::{
    runtime::Timer,
    test_util::{ManualClock, ScriptedSignals},
    Config, Phase, Reason, Shutdown,
};

#[test]
fn handover_drains_at_once_and_exits_zero() {
    let shutdown = Shutdown::new(Config::new().lame_duck(Duration::from_secs(5))).unwrap();
    let handle = shutdown.handle();
    let trigger = shutdown.trigger();
    let conn = handle.connection().unwrap();
    let clock = ManualClock::new();
    let connection = async {
        conn.draining().await;
        assert_eq!(clock.now(), Duration::ZERO, "no lame-duck period");
        assert_eq!(handle.phase(), Phase::Draining);
        clock.sleep(Duration::from_millis(40)).await;
        drop(conn);
    };
    trigger.handover();
    let (report, ()) = clock.block_on(join(
        shutdown.run(clock.clone(), ScriptedSignals::new()),
        connection,
    ));
    assert_eq!(report.reason(), Reason::Upgrade);
    assert_eq!(report.exit_code(), 0);
    assert!(report.drained());
    assert_eq!(clock.now(), Duration::from_millis(40));
}
