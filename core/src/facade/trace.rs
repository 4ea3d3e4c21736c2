//! Observability (feature `tracing`): an event for every phase change, hook outcome and
//! signal, with counts. Without the feature these are empty and vanish.

use crate::facade::report::HookReport;
use crate::{pure::phase::Phase, pure::signal::Signal, pure::tracker::Tracker};

#[cfg(feature = "tracing")]
pub(crate) fn phase(phase: Phase, tracker: &Tracker) {
    tracing::info!(
        target: "lameduck",
        phase = phase.name(),
        open = tracker.open(),
        idle = tracker.idle(),
        anomalies = tracker.anomalies(),
        "phase changed"
    );
}

#[cfg(feature = "tracing")]
pub(crate) fn signal(signal: Signal, acted: bool) {
    tracing::info!(target: "lameduck", signal = signal.number(), acted, "signal received");
}

#[cfg(feature = "tracing")]
pub(crate) fn reload(signal: Signal) {
    tracing::info!(target: "lameduck", signal = signal.number(), "reload requested");
}

#[cfg(feature = "tracing")]
pub(crate) fn hook(report: &HookReport) {
    if report.outcome().is_ok() {
        tracing::info!(target: "lameduck", hook = report.name(), elapsed_ms = report.elapsed().as_millis() as u64, "hook ok");
    } else {
        tracing::warn!(target: "lameduck", hook = report.name(), outcome = %report.outcome(), elapsed_ms = report.elapsed().as_millis() as u64, "hook did not succeed");
    }
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn phase(_: Phase, _: &Tracker) {}

#[cfg(not(feature = "tracing"))]
pub(crate) fn signal(_: Signal, _: bool) {}

#[cfg(not(feature = "tracing"))]
pub(crate) fn reload(_: Signal) {}

#[cfg(not(feature = "tracing"))]
pub(crate) fn hook(_: &HookReport) {}
