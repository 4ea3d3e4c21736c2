//! One call per event of the driver (started, phase entered, signal, reload, hook outcome,
//! connections cut), fanned out to what is switched on: `tracing`, `metrics`, `systemd`.
//! With none of those features these calls are empty and vanish.
//!
//! The façade never calls the operating-system layer: systemd's phase messages reach the
//! driver through [`watch_phases`], which that layer calls when a server first talks to
//! systemd.

use crate::{
    facade::report::HookReport, facade::shared::Shared, facade::trace, pure::machine::Summary,
    pure::phase::Phase, pure::signal::Signal,
};

pub(crate) fn started(shared: &Shared) {
    #[cfg(feature = "metrics")]
    crate::facade::metrics::started(shared);
    let _ = shared;
}

pub(crate) fn phase(shared: &Shared, phase: Phase, summary: &Summary) {
    trace::phase(phase, &shared.tracker);
    #[cfg(feature = "metrics")]
    crate::facade::metrics::phase(shared, phase, summary);
    #[cfg(feature = "systemd")]
    if let Some(watcher) = PHASE_WATCHER.get() {
        watcher(shared, phase, summary);
    }
    let _ = summary;
}

pub(crate) fn signal(signal: Signal, acted: bool) {
    trace::signal(signal, acted);
}

pub(crate) fn reload(signal: Signal) {
    trace::reload(signal);
    #[cfg(feature = "metrics")]
    crate::facade::metrics::reload();
}

pub(crate) fn hook(report: &HookReport) {
    trace::hook(report);
    #[cfg(feature = "metrics")]
    crate::facade::metrics::hook(report);
}

pub(crate) fn cut(connections: usize) {
    #[cfg(feature = "metrics")]
    crate::facade::metrics::cut(connections);
    let _ = connections;
}

/// Who else hears each phase the driver enters: set once per process, by the layer above.
#[cfg(feature = "systemd")]
static PHASE_WATCHER: spin::Once<fn(&Shared, Phase, &Summary)> = spin::Once::new();

/// Makes `watcher` hear every phase the driver enters from now on, in this process; only
/// the first call counts.
#[cfg(feature = "systemd")]
pub(crate) fn watch_phases(watcher: fn(&Shared, Phase, &Summary)) {
    PHASE_WATCHER.call_once(|| watcher);
}
