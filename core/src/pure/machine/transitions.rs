//! The machine's transitions: entering phases, the drain, the cut, the hooks, the stop,
//! and the deadlines that fire them. Only the input methods call these.

use super::{Action, Machine};
use crate::{pure::phase::Phase, pure::signal::Signal};
use core::time::Duration;

impl Machine {
    pub(super) fn enter(&mut self, phase: Phase, now: Duration) {
        debug_assert!(phase > self.phase, "phases only move forward");
        self.phase = phase;
        self.entered[phase.index()] = Some(now);
        self.deadline = None;
        self.queue.push(Action::Enter(phase));
    }

    pub(super) fn begin_drain(&mut self, now: Duration) {
        self.enter(Phase::Draining, now);
        self.queue.push(Action::StopAccepting);
        self.deadline = deadline(now, self.config.drain_timeout);
    }

    pub(super) fn cut_and_run_hooks(&mut self, now: Duration) {
        self.cut = true;
        self.queue.push(Action::CutConnections);
        self.run_hooks(now);
    }

    pub(super) fn run_hooks(&mut self, now: Duration) {
        self.enter(Phase::Hooks, now);
        self.queue.push(Action::RunHook(self.next_hook));
    }

    pub(super) fn stop(&mut self, now: Duration) {
        self.enter(Phase::Stopped, now);
        self.queue.push(Action::Finish);
    }

    pub(super) fn exit(&mut self, signal: Signal, now: Duration) {
        self.exit = Some(signal);
        if matches!(self.phase, Phase::LameDuck | Phase::Draining) {
            self.cut = true;
            self.queue.push(Action::CutConnections);
        }
        if let Some(index) = self.hook.take() {
            self.queue.push(Action::AbandonHook(index));
        }
        self.stop(now);
    }

    /// Fires every deadline that `now` has reached; lame duck may expire at once.
    pub(super) fn expire(&mut self, now: Duration) {
        // Each round moves the phase forward or clears the deadline, so this ends.
        while let Some(deadline) = self.deadline {
            if now < deadline {
                return;
            }
            self.fire(now);
        }
    }

    fn fire(&mut self, now: Duration) {
        match self.phase {
            Phase::LameDuck => self.begin_drain(now),
            Phase::Draining => self.cut_and_run_hooks(now),
            Phase::Hooks => {
                if let Some(index) = self.hook.take() {
                    self.hooks_timed_out += 1;
                    self.deadline = None;
                    self.queue.push(Action::AbandonHook(index));
                    self.queue.push(Action::RunHook(self.next_hook));
                }
            }
            Phase::Running | Phase::Stopped => self.deadline = None,
        }
    }
}

/// `now + after`, saturating; a deadline that saturates to [`Duration::MAX`] is no deadline
/// (it could never be reached anyway), so "forever" configurations never fire.
pub(super) fn deadline(now: Duration, after: Duration) -> Option<Duration> {
    Some(now.saturating_add(after)).filter(|at| *at != Duration::MAX)
}
