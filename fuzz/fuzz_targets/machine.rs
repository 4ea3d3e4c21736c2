//! The phase machine under arbitrary inputs: any order, any values, any times.
//!
//! Invariants checked after every input: no panic (debug assertions are on), phases only
//! move forward (both the phase read back and the `Enter` actions), each hook index is
//! started at most once (and in increasing order), `Finish` comes once and only in
//! Stopped, and the exit code is 0, 1, 2 or 128+N for a signal N of the configured set.

#![no_main]

use arbitrary::Arbitrary;
use core::time::Duration;
use lameduck::{
    machine::{Action, Escalation, HookResult, Machine},
    Config, Phase, Reason, Signal,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    lame_duck_ms: u16,
    drain_ms: u16,
    hook_ms: u16,
    escalation: u8,
    /// Extra shutdown signals beyond the default set (INT, TERM, QUIT).
    extra_signal: Option<u8>,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Signal(u8),
    Requested,
    Failed,
    Force,
    Tick,
    Drained,
    RecordCut(usize),
    HookStarted {
        index: u8,
        timeout_ms: Option<u16>,
    },
    HookFinished {
        index: u8,
        ok: bool,
    },
    HooksExhausted,
    /// Time passes (`now` only moves forward, as every driver's clock does).
    Advance(u16),
    /// Time as given, even backwards: spurious or stale values must not break anything.
    At(u32),
    PollAll,
    PollOne,
}

fuzz_target!(|input: Input| {
    let mut config = Config::new()
        .lame_duck(Duration::from_millis(input.lame_duck_ms.into()))
        .drain_timeout(Duration::from_millis(input.drain_ms.into()))
        .hook_timeout(Duration::from_millis(u64::from(input.hook_ms).max(1)))
        .escalation(match input.escalation % 3 {
            0 => Escalation::ForceThenExit,
            1 => Escalation::ForceOnly,
            _ => Escalation::Ignore,
        });
    if let Some(n) = input.extra_signal {
        config = config.signal(Signal::new(n));
    }
    let signals = config.signals;
    let Ok(mut machine) = Machine::new(config) else {
        return;
    };
    let mut check = Checker::default();
    let mut now = Duration::ZERO;
    for op in input.ops {
        match op {
            Op::Signal(n) => {
                machine.request(Reason::Signal(Signal::new(n)), now);
            }
            Op::Requested => {
                machine.request(Reason::Requested, now);
            }
            Op::Failed => {
                machine.request(Reason::Failed, now);
            }
            Op::Force => {
                machine.force(now);
            }
            Op::Tick => machine.tick(now),
            Op::Drained => machine.drained(now),
            Op::RecordCut(n) => machine.record_cut(n),
            Op::HookStarted { index, timeout_ms } => {
                let before = machine.summary().hooks_started();
                let timeout = timeout_ms.map(|t| Duration::from_millis(t.into()));
                machine.hook_started(index.into(), timeout, now);
                if machine.summary().hooks_started() != before {
                    check.started(index.into());
                }
            }
            Op::HookFinished { index, ok } => {
                let result = if ok {
                    HookResult::Ok
                } else {
                    HookResult::Failed
                };
                machine.hook_finished(index.into(), result);
            }
            Op::HooksExhausted => machine.hooks_exhausted(now),
            Op::Advance(ms) => now = now.saturating_add(Duration::from_millis(ms.into())),
            Op::At(ms) => now = Duration::from_millis(ms.into()),
            Op::PollAll => {
                while let Some(action) = machine.poll_action() {
                    check.action(action, &machine);
                }
            }
            Op::PollOne => {
                if let Some(action) = machine.poll_action() {
                    check.action(action, &machine);
                }
            }
        }
        check.state(&machine, signals);
    }
});

struct Checker {
    phase: Phase,
    entered: Option<Phase>,
    last_started: Option<usize>,
    finished: bool,
}

impl Default for Checker {
    fn default() -> Self {
        Checker {
            phase: Phase::Running,
            entered: None,
            last_started: None,
            finished: false,
        }
    }
}

impl Checker {
    fn started(&mut self, index: usize) {
        if let Some(last) = self.last_started {
            assert!(index > last, "hook {index} started after hook {last}");
        }
        self.last_started = Some(index);
    }

    fn action(&mut self, action: Action, machine: &Machine) {
        match action {
            Action::Enter(phase) => {
                if let Some(last) = self.entered {
                    assert!(phase > last, "entered {phase:?} after {last:?}");
                }
                self.entered = Some(phase);
            }
            Action::Finish => {
                assert!(!self.finished, "Finish twice");
                assert_eq!(machine.phase(), Phase::Stopped);
                self.finished = true;
            }
            _ => {}
        }
    }

    fn state(&mut self, machine: &Machine, signals: lameduck::SignalSet) {
        let phase = machine.phase();
        assert!(
            phase >= self.phase,
            "phase went back: {:?} -> {phase:?}",
            self.phase
        );
        self.phase = phase;
        let summary = machine.summary();
        assert_eq!(
            summary.hooks_started(),
            self.last_started.map_or(0, |i| i + 1)
        );
        assert!(summary.hooks_failed() + summary.hooks_timed_out() <= summary.hooks_started());
        let code = summary.exit_code();
        match summary.exit_signal() {
            Some(signal) => {
                assert!(signals.contains(signal), "exit on {signal} outside the set");
                assert_eq!(code, 128 + signal.number());
                assert_eq!(phase, Phase::Stopped);
            }
            None => assert!(code <= 2, "exit code {code}"),
        }
        if phase == Phase::Running {
            assert_eq!(summary.reason(), None);
        } else {
            assert!(summary.reason().is_some());
        }
    }
}
