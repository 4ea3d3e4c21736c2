//! The driver end to end on the manual clock: exact deadlines, hooks, triggers, handles.

use core::{future::pending, time::Duration};
use futures::future::join;
use lameduck::{
    events::ConnEvent,
    hook::{HookOutcome, RegisterError},
    runtime::Timer,
    test_util::{ManualClock, ScriptedSignals},
    Config, Hook, Phase, Reason, Report, Shutdown, Signal,
};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn outcomes(report: &Report) -> Vec<(String, HookOutcome)> {
    report
        .hooks()
        .iter()
        .map(|h| (h.name().to_owned(), h.outcome().clone()))
        .collect()
}

/// Runs `shutdown` on a fresh manual clock with `TERM` already sent.
fn run_after_term(shutdown: Shutdown) -> (Report, ManualClock) {
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    (clock.block_on(shutdown.run(clock.clone(), signals)), clock)
}

#[test]
fn nothing_to_drain_is_immediate() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let handle = shutdown.handle();
    let (report, clock) = run_after_term(shutdown);
    assert_eq!(clock.now(), Duration::ZERO);
    assert_eq!(report.exit_code(), 0);
    assert!(report.drained());
    assert_eq!(report.reason(), Reason::Signal(Signal::TERM));
    assert_eq!(handle.phase(), Phase::Stopped);
    assert_eq!(handle.summary(), Some(report.summary()));
}

#[test]
fn the_last_connection_ends_the_drain_at_once() {
    let shutdown = Shutdown::new(Config::new().lame_duck(ms(300))).unwrap();
    let handle = shutdown.handle();
    let guard = handle.connection().unwrap();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    let connection = async {
        guard.draining().await;
        assert_eq!(clock.now(), ms(300), "draining starts when lame duck ends");
        assert!(!handle.is_ready());
        clock.sleep(ms(200)).await;
        drop(guard);
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals), connection));
    assert_eq!(report.time_in(Phase::LameDuck), Some(ms(300)));
    assert_eq!(report.time_in(Phase::Draining), Some(ms(200)));
    assert_eq!(report.elapsed(), ms(500));
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn a_stuck_connection_is_cut_at_the_deadline_exactly() {
    let shutdown = Shutdown::new(Config::new().drain_timeout(ms(500))).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    shutdown
        .hooks()
        .register(Hook::new_async("flush", move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<(), &str>(())
        }))
        .unwrap();
    let guard = shutdown.handle().connection().unwrap();
    let (report, clock) = run_after_term(shutdown);
    assert_eq!(clock.now(), ms(500));
    assert_eq!(report.time_in(Phase::Draining), Some(ms(500)));
    assert_eq!((report.drained(), report.connections_left()), (false, 1));
    assert_eq!(report.exit_code(), 2);
    assert_eq!(ran.load(Ordering::SeqCst), 1, "hooks still ran");
    assert_eq!(
        report.to_string(),
        "shutdown: drained=false connections_left=1 elapsed_ms=500 reason=SIGTERM"
    );
    drop(guard);
}

#[test]
fn the_cut_future_fires_when_the_drain_is_cut() {
    let shutdown = Shutdown::new(Config::new().drain_timeout(ms(50))).unwrap();
    let guard = shutdown.handle().connection().unwrap();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::INT);
    let connection = async {
        guard.cut().await;
        let at = clock.now();
        drop(guard);
        at
    };
    let (report, cut_at) = clock.block_on(join(shutdown.run(clock.clone(), signals), connection));
    assert_eq!(cut_at, ms(50));
    assert_eq!(report.exit_code(), 2);
}

#[test]
fn hooks_run_once_in_order_with_their_outcomes() {
    let shutdown = Shutdown::new(Config::new().hook_timeout(ms(100))).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let hooks = shutdown.hooks();
    for (name, fail) in [("a", false), ("b", true), ("c", false)] {
        let order = order.clone();
        hooks
            .register(Hook::new(name, move || {
                order.lock().unwrap().push(name);
                if fail {
                    Err("disk full")
                } else {
                    Ok(())
                }
            }))
            .unwrap();
    }
    hooks
        .register(Hook::new_async("hangs", pending::<Result<(), &str>>).timeout(ms(30)))
        .unwrap();
    let (report, clock) = run_after_term(shutdown);
    assert_eq!(*order.lock().unwrap(), ["a", "b", "c"]);
    assert_eq!(
        outcomes(&report),
        [
            ("a".into(), HookOutcome::Ok),
            ("b".into(), HookOutcome::Failed("disk full".into())),
            ("c".into(), HookOutcome::Ok),
            ("hangs".into(), HookOutcome::TimedOut),
        ]
    );
    assert_eq!(
        clock.now(),
        ms(30),
        "the hook's own timeout, not the default"
    );
    assert_eq!(report.hooks()[3].elapsed(), ms(30));
    assert_eq!(report.hooks()[1].to_string(), "hook b: failed: disk full");
    assert_eq!(report.hooks()[3].to_string(), "hook hangs: timed out");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn registering_after_stopped_is_a_typed_error() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let hooks = shutdown.hooks();
    let _ = run_after_term(shutdown);
    let late = Hook::new("late", || Ok::<(), &str>(()));
    assert_eq!(hooks.register(late), Err(RegisterError::Stopped));
}

#[test]
fn a_hook_registered_by_a_running_hook_still_runs() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let hooks = shutdown.hooks();
    let registry = hooks.clone();
    hooks
        .register(Hook::new("first", move || {
            registry
                .register(Hook::new("added", || Ok::<(), &str>(())))
                .map_err(|e| e.to_string())
        }))
        .unwrap();
    let (report, _) = run_after_term(shutdown);
    let names: Vec<_> = report.hooks().iter().map(|h| h.name()).collect();
    assert_eq!(names, ["first", "added"]);
}

#[test]
#[cfg_attr(miri, ignore = "100 000 hooks take minutes under miri")]
fn a_hundred_thousand_hooks_each_run_once_in_order() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    for i in 0..100_000 {
        let next = next.clone();
        let hook = Hook::new_async("n", move || async move {
            // Each hook sees exactly its own index: in order, none twice, none skipped.
            match next.compare_exchange(i, i + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => Ok(()),
                Err(seen) => Err(format!("hook {i} ran after {seen}")),
            }
        });
        shutdown.hooks().register(hook).unwrap();
    }
    let (report, _) = run_after_term(shutdown);
    assert_eq!(next.load(Ordering::SeqCst), 100_000);
    assert_eq!(report.hooks().len(), 100_000);
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn trigger_requests_work_without_signals() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let trigger = shutdown.trigger();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.close(); // the source ends at once: the driver must go on without it
    let program = async {
        clock.sleep(ms(10)).await;
        trigger.fail("accept: too many open files");
        trigger.shutdown();
        trigger.fail("ignored: only the first detail is kept");
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals), program));
    assert_eq!(report.reason(), Reason::Failed);
    assert_eq!(report.detail(), Some("accept: too many open files"));
    // Drained and every hook fine, but serving failed: not a clean stop.
    assert_eq!((report.drained(), report.exit_code()), (true, 1));
    assert!(report
        .to_string()
        .ends_with("reason=failed: accept: too many open files"));
}

#[test]
fn force_cuts_and_runs_hooks() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let guard = shutdown.handle().connection().unwrap();
    shutdown
        .hooks()
        .register(Hook::new("h", || Ok::<(), &str>(())))
        .unwrap();
    shutdown.trigger().force();
    let clock = ManualClock::new();
    let report = clock.block_on(shutdown.run(clock.clone(), ScriptedSignals::new()));
    assert_eq!((report.connections_left(), report.exit_code()), (1, 2));
    assert_eq!(report.reason(), Reason::Requested);
    assert!(report.hooks()[0].outcome().is_ok());
    drop(guard);
}

#[test]
fn concurrent_and_repeated_triggers_see_one_outcome() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let handle = shutdown.handle();
    let trigger = shutdown.trigger();
    let waiters: Vec<_> = (0..8)
        .map(|i| {
            let (trigger, handle) = (trigger.clone(), handle.clone());
            std::thread::spawn(move || {
                for _ in 0..100 {
                    trigger.shutdown();
                }
                if i % 2 == 0 {
                    trigger.force();
                }
                futures::executor::block_on(handle.stopped())
            })
        })
        .collect();
    let clock = ManualClock::new();
    let report = clock.block_on(shutdown.run(clock.clone(), ScriptedSignals::new()));
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), report.summary());
    }
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn readiness_and_phase_futures_follow_the_phases() {
    let shutdown = Shutdown::new(Config::new().lame_duck(ms(100))).unwrap();
    let handle = shutdown.handle();
    assert!(handle.is_ready());
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::QUIT);
    let watcher = async {
        let mut seen = Vec::new();
        for phase in [
            Phase::LameDuck,
            Phase::Draining,
            Phase::Hooks,
            Phase::Stopped,
        ] {
            handle.reached(phase).await;
            seen.push((phase, clock.now(), handle.is_ready()));
        }
        seen
    };
    let (report, seen) = clock.block_on(join(shutdown.run(clock.clone(), signals), watcher));
    assert_eq!(
        seen,
        [
            (Phase::LameDuck, ms(0), false),
            (Phase::Draining, ms(100), false),
            (Phase::Hooks, ms(100), false),
            (Phase::Stopped, ms(100), false),
        ]
    );
    assert_eq!(report.reason(), Reason::Signal(Signal::QUIT));
}

#[test]
fn a_hijacked_connection_holds_the_drain_until_dropped() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let handle = shutdown.handle();
    let mut conn = handle.events();
    conn.event(ConnEvent::New);
    conn.event(ConnEvent::Active);
    let upgraded = conn.event(ConnEvent::Hijacked).unwrap();
    conn.event(ConnEvent::Closed); // after hijack: an anomaly, not a second close
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    let upgraded_task = async {
        upgraded.draining().await;
        clock.sleep(ms(70)).await; // says goodbye
        drop(upgraded);
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals), upgraded_task));
    assert_eq!(report.time_in(Phase::Draining), Some(ms(70)));
    assert_eq!(report.exit_code(), 0);
    assert_eq!(handle.snapshot().anomalies, 1);
}

#[test]
fn signals_not_in_the_set_are_ignored_by_the_driver() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let trigger = shutdown.trigger();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::HUP);
    signals.send(Signal::HUP);
    let later = async {
        clock.sleep(ms(1000)).await;
        signals.send(Signal::INT);
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals.clone()), later));
    assert_eq!(report.reason(), Reason::Signal(Signal::INT));
    assert_eq!(report.summary().entered(Phase::LameDuck), Some(ms(1000)));
    drop(trigger);
}
