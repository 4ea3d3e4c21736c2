//! The `metrics` feature: what a recorder receives through a whole shutdown, on the manual
//! clock (metrics-util's debugging recorder, installed for this thread only).

use core::{future::pending, time::Duration};
use lameduck::{
    test_util::{ManualClock, ScriptedSignals},
    Config, Hook, Shutdown, Signal,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::sync::{Arc, Mutex};

type Values = Vec<(String, Vec<(String, String)>, DebugValue)>;

/// Every metric as (name, labels sorted, value). Reading resets the debugging recorder's
/// values (counters count again from 0, gauges read 0 until set again).
fn read(snapshotter: &Snapshotter) -> Values {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let mut labels: Vec<_> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            (key.name().to_owned(), labels, value)
        })
        .collect()
}

fn value<'a>(values: &'a Values, name: &str, labels: &[(&str, &str)]) -> Option<&'a DebugValue> {
    values
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| v)
}

fn gauge(values: &Values, name: &str, labels: &[(&str, &str)]) -> f64 {
    match value(values, name, labels) {
        Some(DebugValue::Gauge(v)) => v.into_inner(),
        other => panic!("{name} {labels:?}: not a gauge: {other:?}"),
    }
}

fn counter(values: &Values, name: &str, labels: &[(&str, &str)]) -> u64 {
    match value(values, name, labels) {
        Some(DebugValue::Counter(v)) => *v,
        other => panic!("{name} {labels:?}: not a counter: {other:?}"),
    }
}

fn current_phase(values: &Values) -> Vec<String> {
    ["running", "lame-duck", "draining", "hooks", "stopped"]
        .into_iter()
        .filter(|p| gauge(values, "lameduck_phase", &[("phase", p)]) == 1.0)
        .map(String::from)
        .collect()
}

#[test]
fn a_recorder_follows_a_shutdown() {
    let ms = Duration::from_millis;
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let config = Config::new()
        .lame_duck(ms(100))
        .drain_timeout(ms(500))
        .hook_timeout(ms(1000));
    let shutdown = Shutdown::new(config).unwrap();
    let handle = shutdown.handle();
    let seen_in_hook = Arc::new(Mutex::new(None));
    let (seen, in_hook) = (seen_in_hook.clone(), snapshotter.clone());
    let hooks = shutdown.hooks();
    hooks
        .register(Hook::new_async("look", move || async move {
            *seen.lock().unwrap() = Some(read(&in_hook));
            Ok::<(), &str>(())
        }))
        .unwrap();
    hooks
        .register(Hook::new_async("fails", || async { Err("disk full") }))
        .unwrap();
    hooks
        .register(Hook::new_async("hangs", pending::<Result<(), &str>>).timeout(ms(200)))
        .unwrap();
    // One idle connection and one active, neither closing: both are cut at the deadline.
    let idle = handle.connection().unwrap();
    let stuck = handle.connection().unwrap();
    let request = stuck.request();

    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    let report = metrics::with_local_recorder(&recorder, || {
        lameduck::metrics::record(&handle);
        let before = read(&snapshotter);
        assert_eq!(current_phase(&before), ["running"]);
        let idle_connections = [("state", "idle")];
        assert_eq!(
            gauge(&before, "lameduck_connections", &idle_connections),
            1.0
        );
        assert_eq!(
            gauge(&before, "lameduck_connections", &[("state", "active")]),
            1.0
        );
        assert_eq!(counter(&before, "lameduck_connections_cut_total", &[]), 0);
        for hook in ["look", "fails", "hangs"] {
            for outcome in ["ok", "failed", "timed_out"] {
                let labels = [("hook", hook), ("outcome", outcome)];
                assert_eq!(counter(&before, "lameduck_hook_runs_total", &labels), 0);
            }
        }
        // A reload first: counted, and it does not start the shutdown.
        signals.send(Signal::HUP);
        signals.send(Signal::TERM);
        clock.block_on(shutdown.run(clock.clone(), signals.clone()))
    });
    assert_eq!(report.exit_code(), 2);
    assert_eq!(report.reason(), lameduck::Reason::Signal(Signal::TERM));

    let during = seen_in_hook.lock().unwrap().take().expect("the hook ran");
    assert_eq!(current_phase(&during), ["hooks"]);
    assert_eq!(counter(&during, "lameduck_connections_cut_total", &[]), 2);
    assert_eq!(counter(&during, "lameduck_reloads_total", &[]), 1);
    let seconds =
        |values: &Values, phase| gauge(values, "lameduck_phase_seconds", &[("phase", phase)]);
    assert_eq!(seconds(&during, "lame-duck"), 0.1);
    assert_eq!(seconds(&during, "draining"), 0.5);

    let after = read(&snapshotter);
    assert_eq!(current_phase(&after), ["stopped"]);
    let runs = |hook, outcome| {
        counter(
            &after,
            "lameduck_hook_runs_total",
            &[("hook", hook), ("outcome", outcome)],
        )
    };
    assert_eq!(runs("look", "ok"), 1);
    assert_eq!(runs("fails", "failed"), 1);
    assert_eq!(runs("hangs", "timed_out"), 1);
    assert_eq!(seconds(&after, "hooks"), 0.2);
    assert_eq!(seconds(&after, "draining"), 0.5);
    drop((idle, request, stuck));
}
