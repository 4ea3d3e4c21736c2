//! The end-to-end checks: a full shutdown, and escalation by repeated signals.

use super::{checks::within, ensure, fail, Failure, Harness};
use crate::{
    facade::hooks::Hook,
    facade::report::HookOutcome,
    facade::runtime::Runtime,
    facade::shutdown::Shutdown,
    pure::config::Config,
    pure::phase::Phase,
    pure::signal::{Signal, SignalSet},
    pure::traits::Timer,
};
use alloc::{format, sync::Arc, vec::Vec};
use core::{future::pending, time::Duration};
use futures_util::future::join;

fn hook_names(report: &crate::facade::report::Report) -> Vec<(&str, &HookOutcome)> {
    report
        .hooks()
        .iter()
        .map(|h| (h.name(), h.outcome()))
        .collect()
}

/// SIGTERM, lame duck, a connection that closes during the drain, two hooks: exit 0.
pub(super) fn end_to_end<H: Harness>(h: &H) -> Result<(), Failure> {
    const CHECK: &str = "shutdown end to end";
    h.block_on(async {
        let timer = h.runtime();
        let lame_duck = Duration::from_millis(30);
        let config = Config::new()
            .lame_duck(lame_duck)
            .drain_timeout(Duration::from_secs(30));
        let shutdown = Shutdown::new(config).map_err(|e| fail(CHECK, e))?;
        let order = Arc::new(spin::Mutex::new(Vec::new()));
        for name in ["first", "second"] {
            let order = order.clone();
            let hook = Hook::new_async(name, move || async move {
                order.lock().push(name);
                Ok::<(), &str>(())
            });
            shutdown
                .hooks()
                .register(hook)
                .map_err(|e| fail(CHECK, e))?;
        }
        let handle = shutdown.handle();
        let guard = handle
            .connection()
            .ok_or_else(|| fail(CHECK, "could not track a connection"))?;
        let signals = timer
            .signals(SignalSet::DEFAULT)
            .map_err(|e| fail(CHECK, e))?;
        let client = async {
            h.raise(Signal::TERM);
            within(&timer, guard.draining()).await;
            // In flight work finishing: the connection closes a little after the drain began.
            timer.sleep(Duration::from_millis(10)).await;
            drop(guard);
        };
        let run = within(&timer, shutdown.run(timer.clone(), signals));
        let (report, ()) = join(run, client).await;
        let report = report.ok_or_else(|| fail(CHECK, "the shutdown never finished"))?;
        ensure(
            CHECK,
            report.reason() == crate::pure::phase::Reason::Signal(Signal::TERM),
            || format!("reason {}", report.reason()),
        )?;
        ensure(CHECK, report.drained() && report.exit_code() == 0, || {
            format!("{report}")
        })?;
        ensure(CHECK, *order.lock() == ["first", "second"], || {
            format!("hooks ran as {:?}", order.lock())
        })?;
        ensure(
            CHECK,
            hook_names(&report).iter().all(|(_, o)| o.is_ok()),
            || format!("{:?}", hook_names(&report)),
        )?;
        let in_lame_duck = report.time_in(Phase::LameDuck).unwrap_or_default();
        ensure(CHECK, in_lame_duck >= lame_duck, || {
            format!("lame duck lasted {in_lame_duck:?}")
        })?;
        let drain = Duration::from_millis(10);
        let draining = report.time_in(Phase::Draining).unwrap_or_default();
        ensure(CHECK, draining >= drain, || {
            format!("draining lasted {draining:?}")
        })?;
        ensure(CHECK, handle.phase() == Phase::Stopped, || {
            format!("phase {}", handle.phase())
        })
    })
}

/// A connection that never closes and a hook that never returns: the second SIGTERM cuts
/// the connection, the third ends everything with 128 + 15.
pub(super) fn escalation<H: Harness>(h: &H) -> Result<(), Failure> {
    const CHECK: &str = "signal escalation";
    h.block_on(async {
        let timer = h.runtime();
        let config = Config::new()
            .drain_timeout(Duration::from_secs(3600))
            .hook_timeout(Duration::from_secs(3600));
        let shutdown = Shutdown::new(config).map_err(|e| fail(CHECK, e))?;
        let hangs = Hook::new_async("hangs", pending::<Result<(), &str>>);
        shutdown
            .hooks()
            .register(hangs)
            .map_err(|e| fail(CHECK, e))?;
        shutdown
            .hooks()
            .register(Hook::new_async("never", || async { Ok::<(), &str>(()) }))
            .map_err(|e| fail(CHECK, e))?;
        let handle = shutdown.handle();
        let stuck = handle
            .connection()
            .ok_or_else(|| fail(CHECK, "could not track a connection"))?;
        let signals = timer
            .signals(SignalSet::DEFAULT)
            .map_err(|e| fail(CHECK, e))?;
        let operator = async {
            // Each signal only after the one before took effect, so none is merged.
            h.raise(Signal::TERM);
            within(&timer, handle.reached(Phase::Draining)).await;
            h.raise(Signal::INT);
            within(&timer, handle.reached(Phase::Hooks)).await;
            h.raise(Signal::TERM);
        };
        let (report, ()) = join(
            within(&timer, shutdown.run(timer.clone(), signals)),
            operator,
        )
        .await;
        let report =
            report.ok_or_else(|| fail(CHECK, "the third signal did not end the shutdown"))?;
        drop(stuck);
        ensure(CHECK, report.exit_code() == 143, || {
            format!("exit code {}", report.exit_code())
        })?;
        ensure(CHECK, report.connections_left() == 1, || {
            format!("{report}")
        })?;
        ensure(
            CHECK,
            hook_names(&report)
                == [
                    ("hangs", &HookOutcome::Interrupted),
                    ("never", &HookOutcome::Skipped),
                ],
            || format!("{:?}", hook_names(&report)),
        )
    })
}
