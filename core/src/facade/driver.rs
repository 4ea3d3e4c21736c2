//! The driver: runs the phase machine against a [`Runtime`], a [`SignalSource`], the
//! connection tracker, programmatic triggers and the hooks, and returns the [`Report`].
//!
//! It awaits only futures from the traits, from event-listener and the hooks themselves,
//! combined by hand in one `poll_fn`, so it runs on any executor.

use crate::{
    facade::observe,
    facade::report::Report,
    facade::report::{HookOutcome, HookReport},
    facade::runtime::Runtime,
    facade::shared::{Shared, REQUEST_FAILED, REQUEST_FORCE, REQUEST_HANDOVER, REQUEST_SHUTDOWN},
    pure::listen::poll_until,
    pure::machine::{Action, HookResult, Machine},
    pure::phase::{Phase, Reason},
    pure::signal::Signal,
    pure::sync::Arc,
    pure::traits::SignalSource,
};
use alloc::{borrow::Cow, boxed::Box, vec::Vec};
use core::{
    future::{poll_fn, Future},
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use event_listener::EventListener;

mod hook_task;

/// Runs the shutdown of `shared` to its end: the body of [`Shutdown::run`](crate::Shutdown::run).
pub(crate) async fn run<R: Runtime, S: SignalSource>(
    shared: Arc<Shared>,
    runtime: R,
    signals: S,
) -> Report {
    let machine = match Machine::new(shared.config) {
        Ok(machine) => machine,
        Err(_) => unreachable!("the config was validated by Shutdown::new"),
    };
    Driver {
        shared,
        timer: runtime,
        signals: Some(signals),
        machine,
        sleep: None,
        requests: None,
        drained: None,
        hook: None,
        hooks: Vec::new(),
    }
    .run()
    .await
}

struct RunningHook {
    index: usize,
    name: Cow<'static, str>,
    started: Duration,
    future: hook_task::HookFuture,
}

enum Wake {
    Requests,
    Signal(Signal),
    SignalsEnded,
    Drained,
    Hook(HookOutcome),
    Deadline,
}

struct Driver<T: Runtime, S> {
    shared: Arc<Shared>,
    timer: T,
    signals: Option<S>,
    machine: Machine,
    sleep: Option<(Duration, Pin<Box<T::Sleep>>)>,
    requests: Option<EventListener>,
    drained: Option<EventListener>,
    hook: Option<RunningHook>,
    hooks: Vec<HookReport>,
}

impl<T: Runtime, S: SignalSource> Driver<T, S> {
    async fn run(mut self) -> Report {
        observe::started(&self.shared);
        while !self.apply_actions() {
            let wake = poll_fn(|cx| self.poll_wake(cx)).await;
            let now = self.timer.now();
            match wake {
                Wake::Requests => {
                    let bits = self.shared.take_requests();
                    if bits & REQUEST_FAILED != 0 {
                        self.machine.request(Reason::Failed, now);
                    }
                    if bits & REQUEST_HANDOVER != 0 {
                        self.machine.request(Reason::Upgrade, now);
                    }
                    if bits & REQUEST_SHUTDOWN != 0 {
                        self.machine.request(Reason::Requested, now);
                    }
                    if bits & REQUEST_FORCE != 0 {
                        self.machine.force(now);
                    }
                }
                // A reload signal goes to the reload subscribers, never to the machine.
                Wake::Signal(signal) if self.shared.config.reload_signals().contains(signal) => {
                    self.shared.reload.notify(signal);
                    observe::reload(signal);
                }
                Wake::Signal(signal) => {
                    let acted = self.machine.request(Reason::Signal(signal), now);
                    observe::signal(signal, acted);
                }
                Wake::SignalsEnded => self.signals = None,
                Wake::Drained => self.machine.drained(now),
                Wake::Hook(outcome) => self.finish_hook(outcome, now),
                Wake::Deadline => {
                    self.sleep = None;
                    self.machine.tick(now);
                }
            }
        }
        Report {
            summary: self.machine.summary(),
            detail: self.shared.failure.lock().clone(),
            hooks: self.hooks,
        }
    }

    /// Carries out the machine's actions; `true` once it finished.
    fn apply_actions(&mut self) -> bool {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Enter(phase) => self.enter(phase),
                Action::StopAccepting => {
                    // The tracker started draining as the phase was entered.
                    if self.shared.tracker.is_drained() {
                        self.machine.drained(self.timer.now());
                    }
                }
                Action::CutConnections => {
                    let open = self.shared.tracker.open();
                    self.machine.record_cut(open);
                    observe::cut(open);
                }
                Action::RunHook(index) => self.start_hook(index),
                Action::AbandonHook(_) => {
                    let outcome = if self.machine.summary().exit_signal().is_some() {
                        HookOutcome::Interrupted
                    } else {
                        HookOutcome::TimedOut
                    };
                    self.finish_hook(outcome, self.timer.now());
                }
                Action::Finish => return true,
            }
        }
        false
    }

    fn enter(&mut self, phase: Phase) {
        if phase == Phase::Stopped {
            // Hooks never run are reported as skipped, and the registry closes, in one
            // critical section; the summary is published before the phase, so whoever
            // sees Stopped finds it.
            let never_run = self.shared.hooks.lock().close();
            self.hooks
                .extend(never_run.into_iter().map(|name| HookReport {
                    name,
                    outcome: HookOutcome::Skipped,
                    elapsed: Duration::ZERO,
                }));
            let summary = self.machine.summary();
            self.shared.summary.call_once(|| summary);
            self.shared.reload.close();
        }
        if phase == Phase::Draining {
            // Before the phase is published: whoever sees Draining finds the tracker draining.
            self.shared.tracker.start_drain();
        }
        self.shared.set_phase(phase);
        observe::phase(&self.shared, phase, &self.machine.summary());
    }

    fn start_hook(&mut self, index: usize) {
        let now = self.timer.now();
        let hook = self.shared.hooks.lock().take_or_close(index);
        match hook {
            None => self.machine.hooks_exhausted(now),
            Some(hook) => {
                self.machine.hook_started(index, hook.timeout, now);
                self.hook = Some(RunningHook {
                    index,
                    name: hook.name,
                    started: now,
                    future: hook_task::start(hook.run, &self.timer),
                });
            }
        }
    }

    /// Records the running hook's outcome (dropping its future) and tells the machine.
    fn finish_hook(&mut self, outcome: HookOutcome, now: Duration) {
        let Some(hook) = self.hook.take() else { return };
        let result = if outcome.is_ok() {
            HookResult::Ok
        } else {
            HookResult::Failed
        };
        let report = HookReport {
            name: hook.name,
            outcome,
            elapsed: now.saturating_sub(hook.started),
        };
        observe::hook(&report);
        self.hooks.push(report);
        // After a timeout or an exit the machine has already moved on and ignores this.
        self.machine.hook_finished(hook.index, result);
    }

    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        let shared = &*self.shared;
        if poll_until(&mut self.requests, &shared.requested, cx, || {
            shared.has_requests()
        })
        .is_ready()
        {
            return Poll::Ready(Wake::Requests);
        }
        if let Some(signals) = &mut self.signals {
            if let Poll::Ready(next) = Pin::new(signals).poll_next(cx) {
                return Poll::Ready(next.map_or(Wake::SignalsEnded, Wake::Signal));
            }
        }
        if self.machine.phase() == Phase::Draining {
            let tracker = &shared.tracker;
            if poll_until(&mut self.drained, &tracker.drained, cx, || {
                tracker.is_drained()
            })
            .is_ready()
            {
                return Poll::Ready(Wake::Drained);
            }
        }
        if let Some(hook) = &mut self.hook {
            if let Poll::Ready(outcome) = hook.future.as_mut().poll(cx) {
                return Poll::Ready(Wake::Hook(outcome));
            }
        }
        self.poll_deadline(cx)
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        let Some(deadline) = self.machine.next_deadline() else {
            self.sleep = None;
            return Poll::Pending;
        };
        if self.sleep.as_ref().map(|(at, _)| *at) != Some(deadline) {
            let wait = deadline.saturating_sub(self.timer.now());
            self.sleep = Some((deadline, Box::pin(self.timer.sleep(wait))));
        }
        match &mut self.sleep {
            Some((_, sleep)) => sleep.as_mut().poll(cx).map(|()| Wake::Deadline),
            None => Poll::Pending,
        }
    }
}
