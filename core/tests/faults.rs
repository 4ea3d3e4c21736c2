//! Faults against the core, on the manual clock: hooks that panic or hang, a connection that
//! never closes, signal storms in every phase, and racing programmatic triggers. Nothing
//! here sleeps to wait: the manual clock jumps, and threads meet on channels and barriers.

use core::{
    future::pending,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};
use futures::future::join;
use lameduck::{
    hook::HookOutcome,
    runtime::Timer,
    test_util::{ManualClock, ScriptedSignals},
    Config, Hook, Phase, Report, Shutdown, Signal,
};
use std::{
    sync::{mpsc, Arc, Barrier},
    thread,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Counts how often each hook ran, so "never twice" is checked, not assumed.
#[derive(Clone, Default)]
struct Runs(Arc<[AtomicUsize; 8]>);

impl Runs {
    fn note(&self, index: usize) {
        self.0[index].fetch_add(1, Ordering::SeqCst);
    }

    fn of(&self, index: usize) -> usize {
        self.0[index].load(Ordering::SeqCst)
    }
}

/// An async hook that counts its run and succeeds.
fn counted(name: &'static str, runs: &Runs, index: usize) -> Hook {
    let runs = runs.clone();
    Hook::new_async(name, move || async move {
        runs.note(index);
        Ok::<(), String>(())
    })
}

fn outcomes(report: &Report) -> Vec<(String, HookOutcome)> {
    report
        .hooks()
        .iter()
        .map(|h| (h.name().to_owned(), h.outcome().clone()))
        .collect()
}

fn term_once() -> ScriptedSignals {
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    signals
}

#[test]
fn a_panicking_sync_hook_is_recorded_and_the_next_hook_still_runs() {
    let (clock, runs) = (ManualClock::new(), Runs::default());
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let hooks = shutdown.hooks();
    hooks
        .register(Hook::new("boom", || -> Result<(), String> {
            panic!("sync hook exploded")
        }))
        .unwrap();
    hooks.register(counted("after", &runs, 1)).unwrap();
    let report = clock.block_on(shutdown.run(clock.clone(), term_once()));
    assert_eq!(
        outcomes(&report),
        [
            (
                "boom".into(),
                HookOutcome::Panicked("sync hook exploded".into())
            ),
            ("after".into(), HookOutcome::Ok),
        ]
    );
    assert_eq!(runs.of(1), 1);
    assert_eq!(report.exit_code(), 1);
    assert_eq!(
        report.hooks()[0].to_string(),
        "hook boom: failed: panicked: sync hook exploded"
    );
}

#[test]
fn a_panicking_async_hook_is_recorded_and_the_next_hook_still_runs() {
    let (clock, runs) = (ManualClock::new(), Runs::default());
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let hooks = shutdown.hooks();
    hooks
        .register(Hook::new_async("boom", || async {
            if true {
                panic!("async hook exploded");
            }
            Ok::<(), String>(())
        }))
        .unwrap();
    hooks.register(counted("after", &runs, 1)).unwrap();
    let report = clock.block_on(shutdown.run(clock.clone(), term_once()));
    assert_eq!(
        report.hooks()[0].outcome(),
        &HookOutcome::Panicked("async hook exploded".into())
    );
    assert_eq!(report.hooks()[1].outcome(), &HookOutcome::Ok);
    assert_eq!((runs.of(1), report.exit_code()), (1, 1));
}

/// A sync hook runs on a thread of its own; while it works, the manual clock must not jump
/// to the hook's deadline just because the driver's task is waiting. The hook's real work
/// (20 ms of blocking, standing for a flush) takes no time on the manual clock.
#[test]
fn a_sync_hook_still_working_on_its_thread_is_not_timed_out_by_the_manual_clock() {
    let clock = ManualClock::new();
    let shutdown = Shutdown::new(Config::new().hook_timeout(ms(5000))).unwrap();
    shutdown
        .hooks()
        .register(Hook::new("flush", || {
            thread::sleep(ms(20)); // the hook's own work, not a wait in the test
            Ok::<(), String>(())
        }))
        .unwrap();
    let report = clock.block_on(shutdown.run(clock.clone(), term_once()));
    assert_eq!(report.hooks()[0].outcome(), &HookOutcome::Ok);
    assert_eq!((report.exit_code(), clock.now()), (0, Duration::ZERO));
}

#[test]
fn a_hanging_async_hook_is_cut_at_its_timeout_exactly_and_the_next_still_runs() {
    let (clock, runs) = (ManualClock::new(), Runs::default());
    let shutdown = Shutdown::new(Config::new().hook_timeout(ms(900))).unwrap();
    let hooks = shutdown.hooks();
    hooks
        .register(Hook::new_async("hang", pending::<Result<(), String>>).timeout(ms(250)))
        .unwrap();
    hooks.register(counted("after", &runs, 1)).unwrap();
    let report = clock.block_on(shutdown.run(clock.clone(), term_once()));
    assert_eq!(report.hooks()[0].outcome(), &HookOutcome::TimedOut);
    assert_eq!(report.hooks()[0].elapsed(), ms(250));
    assert_eq!(report.hooks()[0].to_string(), "hook hang: timed out");
    assert_eq!(report.hooks()[1].outcome(), &HookOutcome::Ok);
    assert_eq!((runs.of(1), report.exit_code()), (1, 1));
    assert_eq!(report.time_in(Phase::Hooks), Some(ms(250)));
}

/// A sync hook that never returns blocks its thread for good. The manual clock does not
/// guess when real work is over, so the test moves time itself, from outside the driver.
#[test]
fn a_hanging_sync_hook_is_cut_at_its_timeout_exactly_and_the_next_still_runs() {
    let (clock, runs) = (ManualClock::new(), Runs::default());
    let shutdown = Shutdown::new(Config::new().hook_timeout(ms(250))).unwrap();
    let handle = shutdown.handle();
    let (entered_tx, entered) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let hooks = shutdown.hooks();
    hooks
        .register(Hook::new("hang", move || {
            entered_tx.send(()).unwrap();
            let _ = released.recv(); // until the test ends: forever, for the shutdown
            Ok::<(), String>(())
        }))
        .unwrap();
    hooks.register(counted("after", &runs, 1)).unwrap();
    let driver = thread::spawn({
        let clock = clock.clone();
        move || clock.block_on(shutdown.run(clock.clone(), term_once()))
    });
    entered.recv().unwrap();
    clock.advance(ms(249));
    assert_eq!(handle.phase(), Phase::Hooks);
    assert_eq!(runs.of(1), 0);
    clock.advance(ms(1));
    let report = driver.join().unwrap();
    assert_eq!(report.hooks()[0].outcome(), &HookOutcome::TimedOut);
    assert_eq!(report.hooks()[0].elapsed(), ms(250));
    assert_eq!(report.hooks()[1].outcome(), &HookOutcome::Ok);
    assert_eq!((runs.of(1), report.exit_code()), (1, 1));
    drop(release);
}

#[test]
fn a_stuck_connection_is_cut_at_the_drain_deadline_exactly_and_the_hooks_still_run() {
    let (clock, runs) = (ManualClock::new(), Runs::default());
    let shutdown = Shutdown::new(Config::new().drain_timeout(ms(500))).unwrap();
    let handle = shutdown.handle();
    let stuck = handle.connection().unwrap();
    shutdown.hooks().register(counted("bye", &runs, 0)).unwrap();
    let report = clock.block_on(shutdown.run(clock.clone(), term_once()));
    assert_eq!(report.exit_code(), 2);
    assert_eq!((report.drained(), report.connections_left()), (false, 1));
    assert_eq!(report.time_in(Phase::Draining), Some(ms(500)));
    assert_eq!(clock.now(), ms(500));
    assert_eq!(runs.of(0), 1);
    assert_eq!(report.hooks()[0].outcome(), &HookOutcome::Ok);
    // The stuck connection was told to go: its cut future is complete.
    assert!(futures::executor::block_on(futures::future::poll_immediate(stuck.cut())).is_some());
    assert_eq!(
        report.to_string(),
        "shutdown: drained=false connections_left=1 elapsed_ms=500 reason=SIGTERM"
    );
}

#[test]
fn a_second_sigterm_during_the_hooks_does_not_restart_them() {
    let (clock, runs) = (ManualClock::new(), Runs::default());
    let signals = term_once();
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let hooks = shutdown.hooks();
    let (sender, counter) = (signals.clone(), runs.clone());
    hooks
        .register(Hook::new_async("first", move || async move {
            counter.note(0);
            sender.send(Signal::TERM);
            Ok::<(), String>(())
        }))
        .unwrap();
    hooks.register(counted("second", &runs, 1)).unwrap();
    let report = clock.block_on(shutdown.run(clock.clone(), signals));
    assert_eq!((runs.of(0), runs.of(1)), (1, 1));
    assert!(report.hooks().iter().all(|h| h.outcome().is_ok()));
    assert_eq!(report.hooks().len(), 2);
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn racing_triggers_from_many_threads_make_one_shutdown_that_every_waiter_sees() {
    const THREADS: usize = 16;
    let runs = Runs::default();
    let shutdown = Shutdown::new(Config::new().drain_timeout(ms(30_000))).unwrap();
    let handle = shutdown.handle();
    let stuck = handle.connection().unwrap();
    shutdown
        .hooks()
        .register(counted("once", &runs, 0))
        .unwrap();
    let start = Arc::new(Barrier::new(2 * THREADS + 1));
    let waiters: Vec<_> = (0..THREADS)
        .map(|_| {
            let (handle, start) = (handle.clone(), start.clone());
            thread::spawn(move || {
                let stopped = handle.stopped();
                start.wait();
                futures::executor::block_on(stopped)
            })
        })
        .collect();
    let triggers: Vec<_> = (0..THREADS)
        .map(|i| {
            let (trigger, start) = (shutdown.trigger(), start.clone());
            thread::spawn(move || {
                start.wait();
                for round in 0..100 {
                    if (i + round) % 2 == 0 {
                        trigger.shutdown();
                    } else {
                        trigger.force();
                    }
                }
            })
        })
        .collect();
    start.wait();
    // The drain deadline is 30 s on a clock nobody moves: only a force can end the drain.
    let clock = ManualClock::new();
    let report = futures::executor::block_on(shutdown.run(clock.clone(), ScriptedSignals::new()));
    triggers.into_iter().for_each(|t| t.join().unwrap());
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), report.summary());
    }
    assert_eq!(runs.of(0), 1);
    assert_eq!((report.exit_code(), report.connections_left()), (2, 1));
    assert_eq!(handle.summary(), Some(report.summary()));
    drop(stuck);
}

/// Where in the shutdown a storm of signals lands.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// All queued before the driver starts.
    BeforeRun,
    /// Sent once draining began, with a connection holding the drain open.
    WhileDraining,
    /// Sent from inside the first hook.
    DuringFirstHook,
}

/// `count` signals (TERM and INT alternating, starting with TERM) at `moment`, over three
/// counted hooks; returns the report and how often each hook ran.
fn storm(moment: Moment, count: usize) -> (Report, Runs) {
    let (clock, runs, signals) = (ManualClock::new(), Runs::default(), ScriptedSignals::new());
    let shutdown = Shutdown::new(Config::new().drain_timeout(ms(10_000))).unwrap();
    let handle = shutdown.handle();
    let nth = |i: usize| {
        if i % 2 == 0 {
            Signal::TERM
        } else {
            Signal::INT
        }
    };
    let send_from = {
        let signals = signals.clone();
        move |from: usize| (from..count).for_each(|i| signals.send(nth(i)))
    };
    let hooks = shutdown.hooks();
    let (counter, in_hook) = (runs.clone(), send_from.clone());
    let storm_in_hook = matches!(moment, Moment::DuringFirstHook);
    hooks
        .register(Hook::new_async("first", move || async move {
            counter.note(0);
            if storm_in_hook {
                in_hook(1);
            }
            Ok::<(), String>(())
        }))
        .unwrap();
    hooks.register(counted("second", &runs, 1)).unwrap();
    hooks.register(counted("third", &runs, 2)).unwrap();
    let mut held = None;
    match moment {
        Moment::BeforeRun => send_from(0),
        Moment::WhileDraining => held = handle.connection(),
        Moment::DuringFirstHook => signals.send(Signal::TERM),
    }
    let script = async {
        if let Moment::WhileDraining = moment {
            signals.send(Signal::TERM);
            handle.draining().await;
            send_from(1);
        }
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals.clone()), script));
    drop(held);
    (report, runs)
}

#[test]
fn signal_storms_never_run_a_hook_twice_and_exit_per_the_contract() {
    use HookOutcome::{Interrupted, Ok as Fine, Skipped};
    use Moment::{BeforeRun, DuringFirstHook, WhileDraining};
    // (moment, signals, exit code, outcomes). The third signal (TERM, 15) exits at once.
    let cases: &[(Moment, usize, u8, [HookOutcome; 3])] = &[
        (BeforeRun, 1, 0, [Fine, Fine, Fine]),
        // No connection open: the second signal lands in the hooks, where it forces nothing.
        (BeforeRun, 2, 0, [Fine, Fine, Fine]),
        (BeforeRun, 3, 143, [Interrupted, Skipped, Skipped]),
        (BeforeRun, 500, 143, [Interrupted, Skipped, Skipped]),
        // A connection holds the drain: the second signal cuts it (exit 2), hooks still run.
        (WhileDraining, 2, 2, [Fine, Fine, Fine]),
        (WhileDraining, 3, 143, [Interrupted, Skipped, Skipped]),
        (WhileDraining, 300, 143, [Interrupted, Skipped, Skipped]),
        (DuringFirstHook, 2, 0, [Fine, Fine, Fine]),
        (DuringFirstHook, 3, 143, [Fine, Interrupted, Skipped]),
        (DuringFirstHook, 400, 143, [Fine, Interrupted, Skipped]),
    ];
    for (moment, count, code, expected) in cases.iter().cloned() {
        let (report, runs) = storm(moment, count);
        let got: Vec<_> = report.hooks().iter().map(|h| h.outcome().clone()).collect();
        let case = format!("{moment:?} x{count}");
        assert_eq!(got, expected, "{case}");
        assert_eq!(report.exit_code(), code, "{case}");
        for (index, outcome) in expected.iter().enumerate() {
            let ran = runs.of(index);
            assert!(ran <= 1, "{case}: hook {index} ran {ran} times");
            if *outcome == Fine {
                assert_eq!(ran, 1, "{case}: hook {index}");
            }
            if *outcome == Skipped {
                assert_eq!(ran, 0, "{case}: hook {index}");
            }
        }
        if let WhileDraining = moment {
            assert_eq!(report.connections_left(), 1, "{case}");
        }
    }
}

/// A connection that arrives after the drain completed is refused, and the refusal must
/// not uncount a connection that was never counted (the count would wrap to 2^62 - 1).
#[test]
fn a_connection_refused_after_the_drain_does_not_underflow_the_count() {
    let clock = ManualClock::new();
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let handle = shutdown.handle();
    let report = clock.block_on(shutdown.run(clock.clone(), term_once()));
    assert_eq!(report.exit_code(), 0);
    assert!(handle.connection().is_none());
    let mut late = handle.events();
    late.event(lameduck::events::ConnEvent::New);
    late.event(lameduck::events::ConnEvent::Closed);
    assert!(!late.is_open());
    assert_eq!(handle.snapshot().open, 0);
    let tracker = lameduck::machine::Tracker::new();
    assert!(tracker.start_drain());
    assert!(tracker.guard().is_none());
    assert_eq!((tracker.open(), tracker.is_drained()), (0, true));
}
