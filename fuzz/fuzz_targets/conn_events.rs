//! The connection-event API and guards, over many connections, against a real driver run
//! polled step by step on the manual clock, with signals, triggers and time in between.
//!
//! Invariants checked after every input: no panic; the open count never wraps and equals
//! the number of live guards (connections in the open state, hijacked guards, tracked
//! guards); idle never exceeds open; phases only move forward; no hook runs twice; a
//! finished run's exit code is 0, 1, 2 or 128+N, its summary is the handle's, and a clean
//! drain leaves nothing open.

#![no_main]

use arbitrary::Arbitrary;
use core::{
    future::{pending, Future},
    pin::Pin,
    sync::atomic::{AtomicUsize, Ordering},
    task::{Context, Poll},
    time::Duration,
};
use lameduck::{
    events::{ConnEvent, Events},
    test_util::{ManualClock, ScriptedSignals},
    Config, Connection, Hook, InFlight, Phase, Report, Shutdown, Signal,
};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const SLOTS: usize = 16;

#[derive(Arbitrary, Debug)]
struct Input {
    lame_duck_ms: u8,
    drain_ms: u16,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Event {
    New,
    Active,
    Idle,
    Hijacked,
    Closed,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// An event on connection slot `n` (a fresh connection if the slot is empty).
    Event(u8, Event),
    /// Drops the connection in slot `n` (uncounting it if open) and empties the slot.
    DropConnection(u8),
    Track,
    DropGuard(u8),
    /// Starts a request on connection `n` (`true`), or ends the latest one (`false`).
    Request(u8, bool),
    /// Marks connection `n`'s writes blocked or flowing.
    WriteBlocked(u8, bool),
    /// 0: TERM, 1: INT, 2: HUP (not a shutdown signal), other: QUIT.
    Signal(u8),
    Shutdown,
    Force,
    Fail,
    Advance(u16),
    /// Polls the driver once.
    Poll,
}

type Run = Pin<Box<dyn Future<Output = Report>>>;

fuzz_target!(|input: Input| {
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    let config = Config::new()
        .lame_duck(Duration::from_millis(input.lame_duck_ms.into()))
        .drain_timeout(Duration::from_millis(input.drain_ms.into()))
        .hook_timeout(Duration::from_millis(100));
    let shutdown = Shutdown::new(config).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let runs: Arc<[AtomicUsize; 3]> = Arc::default();
    for index in 0..3 {
        let runs = runs.clone();
        let hook = Hook::new_async("hook", move || async move {
            runs[index].fetch_add(1, Ordering::SeqCst);
            if index == 1 {
                pending::<()>().await; // hangs: cut at its timeout
            }
            Ok::<(), String>(())
        });
        shutdown.hooks().register(hook).unwrap();
    }
    let mut run: Option<Run> = Some(Box::pin(shutdown.run(clock.clone(), signals.clone())));
    let mut report: Option<Report> = None;
    let mut connections: Vec<Option<Events>> = (0..SLOTS).map(|_| None).collect();
    // Each counted connection with its requests in flight (which keep it counted too).
    let mut guards: Vec<(Connection, Vec<InFlight>)> = Vec::new();
    let mut phase = Phase::Running;
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());

    for op in input.ops {
        match op {
            Op::Event(slot, event) => {
                let conn =
                    connections[usize::from(slot) % SLOTS].get_or_insert_with(|| handle.events());
                let event = match event {
                    Event::New => ConnEvent::New,
                    Event::Active => ConnEvent::Active,
                    Event::Idle => ConnEvent::Idle,
                    Event::Hijacked => ConnEvent::Hijacked,
                    Event::Closed => ConnEvent::Closed,
                };
                if let Some(guard) = conn.event(event) {
                    guards.push((guard, Vec::new()));
                }
            }
            Op::DropConnection(slot) => connections[usize::from(slot) % SLOTS] = None,
            Op::Track => guards.extend(handle.connection().map(|c| (c, Vec::new()))),
            Op::DropGuard(n) => {
                if !guards.is_empty() {
                    let n = usize::from(n) % guards.len();
                    drop(guards.swap_remove(n));
                }
            }
            Op::Request(n, start) => {
                if !guards.is_empty() {
                    let n = usize::from(n) % guards.len();
                    let (conn, requests) = &mut guards[n];
                    if start {
                        requests.push(conn.request());
                    } else {
                        requests.pop();
                    }
                }
            }
            Op::WriteBlocked(n, blocked) => {
                if !guards.is_empty() {
                    let n = usize::from(n) % guards.len();
                    guards[n].0.write_blocked(blocked);
                }
            }
            Op::Signal(n) => signals.send(match n {
                0 => Signal::TERM,
                1 => Signal::INT,
                2 => Signal::HUP,
                _ => Signal::QUIT,
            }),
            Op::Shutdown => trigger.shutdown(),
            Op::Force => trigger.force(),
            Op::Fail => trigger.fail("fuzzed failure"),
            Op::Advance(ms) => clock.advance(Duration::from_millis(ms.into())),
            Op::Poll => {
                if let Some(future) = &mut run {
                    if let Poll::Ready(done) = future.as_mut().poll(&mut cx) {
                        report = Some(done);
                        run = None;
                    }
                }
            }
        }

        let live = connections.iter().flatten().filter(|c| c.is_open()).count() + guards.len();
        let snapshot = handle.snapshot();
        assert_eq!(snapshot.open, live, "open count != live guards");
        assert!(snapshot.idle <= snapshot.open);
        let now = handle.phase();
        assert!(now >= phase, "phase went back: {phase:?} -> {now:?}");
        phase = now;
        for (index, count) in runs.iter().enumerate() {
            assert!(count.load(Ordering::SeqCst) <= 1, "hook {index} ran twice");
        }
        if let Some(report) = &report {
            assert_eq!(phase, Phase::Stopped);
            let code = report.exit_code();
            match report.summary().exit_signal() {
                Some(signal) => assert_eq!(code, 128 + signal.number()),
                None => assert!(code <= 2, "exit code {code}"),
            }
            assert_eq!(handle.summary(), Some(report.summary()));
            assert_eq!(report.hooks().len(), 3);
            if !report.summary().forced() {
                assert_eq!(live, 0, "drained cleanly, yet connections are open");
            }
        }
    }
});
