//! Property tests: random (and malformed) connection-event sequences and random machine
//! inputs. The count never goes negative, phases only move forward, hooks start at most once.

#![cfg(not(miri))] // thousands of random cases: too slow under miri; the unit and driver tests run there

use core::time::Duration;
use lameduck::{
    events::{ConnEvent, Events},
    machine::{Action, Escalation, HookResult, Machine},
    Config, Connection, Phase, Reason, Shutdown, Signal,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Event(usize, ConnEvent),
    DropConnection(usize),
    DropHijacked,
    StartDrain,
}

fn event() -> impl Strategy<Value = ConnEvent> {
    prop_oneof![
        Just(ConnEvent::New),
        Just(ConnEvent::Active),
        Just(ConnEvent::Idle),
        Just(ConnEvent::Hijacked),
        Just(ConnEvent::Closed),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..6usize, event()).prop_map(|(c, e)| Step::Event(c, e)),
        1 => (0..6usize).prop_map(Step::DropConnection),
        1 => Just(Step::DropHijacked),
        1 => Just(Step::StartDrain),
    ]
}

/// What the model expects of one connection.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Model {
    Unseen,
    Open { idle: bool },
    Refused,
    Done,
}

/// A shutdown whose driver runs on its own thread, so the test can start the drain the way
/// a real server does (a trigger) and then watch the tracker through the handle.
struct Running {
    handle: lameduck::Handle,
    trigger: lameduck::Trigger,
    driver: Option<std::thread::JoinHandle<lameduck::Report>>,
}

impl Running {
    fn new() -> Running {
        // No deadline: only the connections decide when the drain ends.
        let shutdown = Shutdown::new(Config::new().drain_timeout(Duration::MAX)).unwrap();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let driver = std::thread::spawn(move || {
            let clock = lameduck::test_util::ManualClock::new();
            let signals = lameduck::test_util::ScriptedSignals::new();
            futures::executor::block_on(shutdown.run(clock, signals))
        });
        Running {
            handle,
            trigger,
            driver: Some(driver),
        }
    }

    /// Starts draining and returns once the tracker drains (the phase is published after).
    fn start_drain(&self) {
        self.trigger.shutdown();
        futures::executor::block_on(self.handle.reached(Phase::Draining));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.trigger.force();
        if let Some(driver) = self.driver.take() {
            driver.join().unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn event_sequences_never_underflow(steps in proptest::collection::vec(step(), 0..120)) {
        let running = Running::new();
        let handle = running.handle.clone();
        let mut conns: Vec<Events> = (0..6).map(|_| handle.events()).collect();
        let mut models = [Model::Unseen; 6];
        let mut hijacked: Vec<Connection> = Vec::new();
        let mut anomalies = 0usize;
        let (mut draining, mut drained) = (false, false);

        for step in steps {
            match step {
                Step::Event(i, ev) => {
                    let out = conns[i].event(ev);
                    models[i] = match (models[i], ev) {
                        (Model::Unseen, ConnEvent::New) if drained => { anomalies += 1; Model::Refused }
                        (Model::Unseen, ConnEvent::New) => Model::Open { idle: false },
                        (Model::Open { .. }, ConnEvent::Active) => Model::Open { idle: false },
                        (Model::Open { .. }, ConnEvent::Idle) => Model::Open { idle: true },
                        (Model::Open { .. }, ConnEvent::Hijacked) => {
                            hijacked.push(out.expect("hijack hands over the guard"));
                            Model::Done
                        }
                        (Model::Open { .. }, ConnEvent::Closed) => Model::Done,
                        (Model::Refused, _) => Model::Refused,
                        (m, _) => { anomalies += 1; m }
                    };
                }
                Step::DropConnection(i) => {
                    conns[i] = handle.events();
                    models[i] = Model::Unseen;
                }
                Step::DropHijacked => { hijacked.pop(); }
                Step::StartDrain if !draining => { running.start_drain(); draining = true; }
                Step::StartDrain => {}
            }
            let open = models.iter().filter(|m| matches!(m, Model::Open { .. })).count() + hijacked.len();
            let idle = models.iter().filter(|m| matches!(m, Model::Open { idle: true })).count();
            drained |= draining && open == 0;
            let s = handle.snapshot();
            prop_assert_eq!(s.open, open);
            prop_assert_eq!(s.idle, idle);
            prop_assert_eq!(s.active, open - idle);
            prop_assert_eq!(s.anomalies, anomalies);
            // Probing with a guard is safe: while not drained and draining, open > 0.
            prop_assert_eq!(handle.connection().is_none(), drained);
        }
    }

    #[test]
    fn machine_inputs_keep_the_invariants(inputs in proptest::collection::vec(input(), 0..80), policy in 0..3u8) {
        let escalation = [Escalation::ForceThenExit, Escalation::ForceOnly, Escalation::Ignore][policy as usize];
        let config = Config::new()
            .lame_duck(Duration::from_millis(20))
            .drain_timeout(Duration::from_millis(50))
            .hook_timeout(Duration::from_millis(10))
            .escalation(escalation);
        let mut m = Machine::new(config).unwrap();
        let mut now = Duration::ZERO;
        let mut last_phase = Phase::Running;
        let mut asked: Option<usize> = None;
        let mut started = std::collections::BTreeSet::new();
        let mut finished = false;
        for input in inputs {
            match input {
                Input::Request(Some(n)) => { m.request(Reason::Signal(Signal::new(n)), now); }
                Input::Request(None) => { m.request(Reason::Requested, now); }
                Input::Force => { m.force(now); }
                Input::Advance(d) => { now += Duration::from_millis(d); m.tick(now); }
                Input::Drained => m.drained(now),
                Input::Cut(n) => m.record_cut(n),
                Input::Start(Some(t)) => {
                    if let Some(i) = asked.take() {
                        prop_assert!(started.insert(i), "hook {} started twice", i);
                        m.hook_started(i, Some(Duration::from_millis(t)), now);
                    }
                }
                Input::Start(None) => { if asked.take().is_some() { m.hooks_exhausted(now) } }
                Input::Finish(i, ok) => m.hook_finished(i, if ok { HookResult::Ok } else { HookResult::Failed }),
            }
            while let Some(action) = m.poll_action() {
                prop_assert!(!finished, "an action after Finish: {:?}", action);
                match action {
                    Action::Enter(p) => { prop_assert!(p > last_phase); last_phase = p; }
                    Action::RunHook(i) => asked = Some(i),
                    Action::Finish => { finished = true; asked = None; }
                    _ => {}
                }
            }
            prop_assert_eq!(m.phase(), last_phase);
            if let Some(deadline) = m.next_deadline() {
                prop_assert!(deadline > now || m.phase() == Phase::Hooks && deadline >= now);
            }
        }
        let s = m.summary();
        let code = s.exit_code();
        prop_assert!(matches!(code, 0..=2) || s.exit_signal().map(|sig| sig.exit_code()) == Some(code));
        prop_assert!(s.hooks_started() == started.len());
    }
}

#[derive(Clone, Debug)]
enum Input {
    Request(Option<u8>),
    Force,
    Advance(u64),
    Drained,
    Cut(usize),
    Start(Option<u64>),
    Finish(usize, bool),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        3 => proptest::option::weighted(0.9, prop_oneof![Just(1u8), Just(2), Just(3), Just(15), 0..=255u8]).prop_map(Input::Request),
        1 => Just(Input::Force),
        4 => (0..40u64).prop_map(Input::Advance),
        2 => Just(Input::Drained),
        1 => (0..4usize).prop_map(Input::Cut),
        3 => proptest::option::weighted(0.8, 0..30u64).prop_map(Input::Start),
        3 => (0..6usize, any::<bool>()).prop_map(|(i, ok)| Input::Finish(i, ok)),
    ]
}
