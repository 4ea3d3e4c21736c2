//! Reload signals (default `SIGHUP`) on the manual clock: never a shutdown, never an
//! escalation; handed to the subscribers of `Handle::reloads`, dropped without any.

use core::time::Duration;
use futures::{future::join, StreamExt};
use lameduck::{
    runtime::Timer,
    test_util::{ManualClock, ScriptedSignals},
    Config, Phase, Reason, Shutdown, Signal, SignalSet,
};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn sighup_without_subscribers_changes_nothing() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    let script = async {
        for _ in 0..3 {
            signals.send(Signal::HUP);
            clock.sleep(ms(100)).await;
            assert_eq!(handle.phase(), Phase::Running);
        }
        trigger.shutdown();
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals.clone()), script));
    assert_eq!(report.reason(), Reason::Requested);
    assert_eq!(report.exit_code(), 0);
    assert_eq!(clock.now(), ms(300));
}

#[test]
fn each_reload_reaches_every_subscriber_and_the_stream_ends_when_stopped() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let handle = shutdown.handle();
    let (mut first, second) = (handle.reloads(), handle.reloads());
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    let script = async {
        signals.send(Signal::HUP);
        assert_eq!(first.next().await, Some(Signal::HUP));
        assert_eq!(clock.now(), ms(0));
        clock.sleep(ms(50)).await;
        signals.send(Signal::HUP);
        assert_eq!(first.next().await, Some(Signal::HUP));
        assert_eq!(clock.now(), ms(50));
        signals.send(Signal::TERM);
        // Nothing more: the stream ends once the shutdown has stopped.
        assert_eq!(first.next().await, None);
        assert_eq!(handle.phase(), Phase::Stopped);
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals.clone()), script));
    assert_eq!(report.reason(), Reason::Signal(Signal::TERM));
    // The other subscriber polled only now: the two reloads are merged, then the end.
    let rest: Vec<Signal> = futures::executor::block_on(second.collect());
    assert_eq!(rest, [Signal::HUP]);
    // Subscribing after the stop: an ended stream.
    assert_eq!(futures::executor::block_on(handle.reloads().next()), None);
}

#[test]
fn sighup_during_the_drain_neither_forces_nor_exits() {
    let shutdown = Shutdown::new(Config::new().drain_timeout(ms(500))).unwrap();
    let handle = shutdown.handle();
    let guard = handle.connection().unwrap();
    let mut reloads = handle.reloads();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    let script = async {
        guard.draining().await;
        for n in 1..=3 {
            clock.sleep(ms(100)).await;
            signals.send(Signal::HUP);
            assert_eq!(reloads.next().await, Some(Signal::HUP), "reload {n}");
            assert_eq!(handle.phase(), Phase::Draining);
        }
        guard.cut().await;
        assert_eq!(clock.now(), ms(500), "cut at the deadline, not by a reload");
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals.clone()), script));
    assert_eq!(report.summary().exit_signal(), None);
    assert_eq!(report.exit_code(), 2);
    assert_eq!(report.time_in(Phase::Draining), Some(ms(500)));
}

#[test]
fn a_signal_in_both_sets_shuts_down() {
    let config = Config::new().signal(Signal::HUP);
    assert!(config.reload_signals().is_empty());
    let shutdown = Shutdown::new(config).unwrap();
    let mut reloads = shutdown.handle().reloads();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::HUP);
    let report = clock.block_on(shutdown.run(clock.clone(), signals));
    assert_eq!(report.reason(), Reason::Signal(Signal::HUP));
    assert_eq!(futures::executor::block_on(reloads.next()), None);
}

#[test]
fn the_reload_set_is_configurable() {
    let usr1 = Signal::new(10);
    let config = Config::new().reload(SignalSet::EMPTY.with(usr1));
    assert_eq!(
        config.listened_signals(),
        SignalSet::DEFAULT.with(usr1),
        "a source listens for both sets"
    );
    let shutdown = Shutdown::new(config).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let mut reloads = handle.reloads();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    let script = async {
        // SIGHUP is in neither set now: ignored.
        signals.send(Signal::HUP);
        signals.send(usr1);
        assert_eq!(reloads.next().await, Some(usr1));
        assert_eq!(handle.phase(), Phase::Running);
        trigger.shutdown();
    };
    let (report, ()) = clock.block_on(join(shutdown.run(clock.clone(), signals.clone()), script));
    assert_eq!(report.reason(), Reason::Requested);
}
