//! Metrics on the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): whichever
//! recorder the application installs (a Prometheus exporter, statsd, a test recorder)
//! receives them.
//!
//! | name | kind | labels | value |
//! | --- | --- | --- | --- |
//! | `lameduck_phase` | gauge | `phase` | 1 for the current phase, 0 for the others |
//! | `lameduck_connections` | gauge | `state` = `idle` \| `active` | open connections by state |
//! | `lameduck_connections_cut_total` | counter | | connections cut at the drain deadline or by force |
//! | `lameduck_hook_runs_total` | counter | `hook`, `outcome` = `ok` \| `failed` \| `timed_out` \| `interrupted` | hook runs by outcome |
//! | `lameduck_phase_seconds` | gauge | `phase` | how long each finished shutdown phase lasted |
//! | `lameduck_reloads_total` | counter | | reload requests received |
//!
//! The driver records phase changes, hook outcomes, cuts and reloads as they happen, and
//! the connection gauges at each phase change; nothing is recorded per connection (the hot
//! path stays as it is). Call [`record`] before rendering a scrape so the phase and
//! connection gauges are current.

use crate::{
    facade::handle::Handle,
    facade::report::{HookOutcome, HookReport},
    facade::shared::Shared,
    pure::machine::Summary,
    pure::phase::Phase,
    pure::tracker::Snapshot,
};
use ::metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
use alloc::string::String;

const PHASE: &str = "lameduck_phase";
const CONNECTIONS: &str = "lameduck_connections";
const CUT: &str = "lameduck_connections_cut_total";
const HOOK_RUNS: &str = "lameduck_hook_runs_total";
const PHASE_SECONDS: &str = "lameduck_phase_seconds";
const RELOADS: &str = "lameduck_reloads_total";

/// The `outcome` label values a hook run can have (a skipped hook never ran).
const OUTCOMES: [&str; 4] = ["ok", "failed", "timed_out", "interrupted"];

/// Brings the phase and connection gauges up to date from `handle`, and makes sure every
/// counter (one per registered hook and outcome) exists, at 0 if nothing happened yet: call
/// it right before rendering a scrape.
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// lameduck::metrics::record(&shutdown.handle());
/// ```
pub fn record(handle: &Handle) {
    let shared = &*handle.shared;
    describe();
    gauges(&handle.snapshot());
    counter!(CUT).increment(0);
    counter!(RELOADS).increment(0);
    // Collected first: the recorder is not called under the registry's lock.
    let names = shared.hooks.lock().names();
    for name in names {
        for outcome in OUTCOMES {
            counter!(HOOK_RUNS, "hook" => String::from(&*name), "outcome" => outcome).increment(0);
        }
    }
}

pub(crate) fn started(shared: &Shared) {
    describe();
    gauges(&shared.tracker.snapshot(shared.phase()));
    counter!(CUT).increment(0);
}

pub(crate) fn phase(shared: &Shared, phase: Phase, summary: &Summary) {
    gauges(&shared.tracker.snapshot(phase));
    for earlier in Phase::ALL.into_iter().take_while(|p| *p < phase) {
        if let Some(spent) = summary.time_in(earlier) {
            gauge!(PHASE_SECONDS, "phase" => earlier.name()).set(spent.as_secs_f64());
        }
    }
}

pub(crate) fn hook(report: &HookReport) {
    let outcome = match report.outcome() {
        HookOutcome::Ok => "ok",
        HookOutcome::Failed(_) | HookOutcome::Panicked(_) => "failed",
        HookOutcome::TimedOut => "timed_out",
        HookOutcome::Interrupted => "interrupted",
        HookOutcome::Skipped => return,
    };
    counter!(HOOK_RUNS, "hook" => String::from(report.name()), "outcome" => outcome).increment(1);
}

pub(crate) fn cut(connections: usize) {
    counter!(CUT).increment(connections as u64);
}

pub(crate) fn reload() {
    counter!(RELOADS).increment(1);
}

fn gauges(snapshot: &Snapshot) {
    for phase in Phase::ALL {
        let current = if phase == snapshot.phase { 1.0 } else { 0.0 };
        gauge!(PHASE, "phase" => phase.name()).set(current);
    }
    gauge!(CONNECTIONS, "state" => "idle").set(snapshot.idle as f64);
    gauge!(CONNECTIONS, "state" => "active").set(snapshot.active as f64);
}

/// The descriptions, given to the recorder installed at the time (once per call: recorders
/// keep the last one, and a recorder installed later still gets them from [`record`]).
fn describe() {
    describe_gauge!(PHASE, "1 for the current shutdown phase, 0 for the others");
    describe_gauge!(CONNECTIONS, "open connections, idle or active");
    describe_counter!(CUT, "connections cut at the drain deadline or by force");
    describe_counter!(HOOK_RUNS, "shutdown hook runs by outcome");
    describe_gauge!(
        PHASE_SECONDS,
        Unit::Seconds,
        "how long each finished shutdown phase lasted"
    );
    describe_counter!(RELOADS, "reload requests received");
}
