//! Signals that arrive while the hooks run, on the manual clock. The contract: the second
//! signal forces, and in the hooks phase there is nothing left to cut, so the hooks go on,
//! each bounded by its own timeout (the signal neither cuts them short nor makes them time
//! out); a third signal exits at once with 128 + N, skipping the hooks not yet run.

use core::time::Duration;
use futures::future::join;
use lameduck::{
    hook::HookOutcome,
    runtime::Timer,
    test_util::{ManualClock, ScriptedSignals},
    Config, Hook, Phase, Report, Shutdown, Signal,
};
use std::{sync::mpsc, thread};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An async hook whose work takes `work` on the clock.
fn working(name: &'static str, clock: &ManualClock, work: Duration) -> Hook {
    let clock = clock.clone();
    Hook::new_async(name, move || async move {
        clock.sleep(work).await;
        Ok::<(), String>(())
    })
}

fn outcomes(report: &Report) -> Vec<(&str, &HookOutcome)> {
    report
        .hooks()
        .iter()
        .map(|h| (h.name(), h.outcome()))
        .collect()
}

/// Two hooks of 300 ms each (1 s timeout); SIGTERM at 0, then `more` signals at 100 ms
/// (while the first hook runs).
fn run_with_signals_in_hooks(more: usize) -> (Report, Duration) {
    let clock = ManualClock::new();
    let shutdown = Shutdown::new(Config::new().hook_timeout(ms(1000))).unwrap();
    let handle = shutdown.handle();
    shutdown
        .hooks()
        .register(working("first", &clock, ms(300)))
        .unwrap();
    shutdown
        .hooks()
        .register(working("second", &clock, ms(300)))
        .unwrap();
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    let sender = signals.clone();
    let later = async {
        clock.sleep(ms(100)).await;
        assert_eq!(handle.phase(), Phase::Hooks);
        for _ in 0..more {
            sender.send(Signal::TERM);
        }
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals), later));
    (report, clock.now())
}

#[test]
fn a_second_signal_in_the_hooks_phase_lets_each_hook_finish_within_its_own_timeout() {
    let (report, now) = run_with_signals_in_hooks(1);
    assert_eq!(
        outcomes(&report),
        [("first", &HookOutcome::Ok), ("second", &HookOutcome::Ok)]
    );
    // Each hook took its 300 ms of work: no timeout waited out, none cut short.
    assert_eq!(now, ms(600));
    assert_eq!(report.time_in(Phase::Hooks), Some(ms(600)));
    assert_eq!(report.exit_code(), 0);
    assert!(report.drained(), "nothing was open to cut");
}

#[test]
fn a_third_signal_in_the_hooks_phase_exits_at_once_skipping_the_rest() {
    let (report, now) = run_with_signals_in_hooks(2);
    assert_eq!(now, ms(100), "at once");
    assert_eq!(
        outcomes(&report),
        [
            ("first", &HookOutcome::Interrupted),
            ("second", &HookOutcome::Skipped)
        ]
    );
    assert_eq!(report.exit_code(), 128 + 15);
}

/// The seed's hooks are sync (a thread each). A second signal while one runs does not
/// abandon it: it finishes and the next one runs.
#[test]
fn a_second_signal_while_a_sync_hook_runs_lets_it_finish() {
    let clock = ManualClock::new();
    let shutdown = Shutdown::new(Config::new().hook_timeout(ms(1000))).unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    shutdown
        .hooks()
        .register(Hook::new("flush", move || {
            entered_tx.send(()).unwrap();
            released.recv().unwrap();
            Ok::<(), String>(())
        }))
        .unwrap();
    shutdown
        .hooks()
        .register(Hook::new("close-store", || Ok::<(), String>(())))
        .unwrap();
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    let sender = signals.clone();
    let driver = thread::spawn({
        let clock = clock.clone();
        move || clock.block_on(shutdown.run(clock.clone(), signals))
    });
    entered.recv().unwrap();
    sender.send(Signal::TERM);
    release.send(()).unwrap();
    let report = driver.join().unwrap();
    assert_eq!(
        outcomes(&report),
        [
            ("flush", &HookOutcome::Ok),
            ("close-store", &HookOutcome::Ok)
        ]
    );
    assert_eq!(report.exit_code(), 0);
    assert_eq!(clock.now(), Duration::ZERO, "no timeout waited out");
}
