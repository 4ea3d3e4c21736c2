//! A fixed ring of pending actions: the machine stays allocation-free.

use super::Action;

/// More than any run of inputs between two polls can produce: a request that expires lame
/// duck and a zero drain deadline at once yields six actions.
const CAPACITY: usize = 16;

#[derive(Clone, Debug)]
pub(super) struct ActionQueue {
    slots: [Option<Action>; CAPACITY],
    head: usize,
    len: usize,
}

impl ActionQueue {
    pub(super) const fn new() -> ActionQueue {
        ActionQueue {
            slots: [None; CAPACITY],
            head: 0,
            len: 0,
        }
    }

    /// Appends an action. A caller that never polls cannot make this panic: once full,
    /// the oldest action is overwritten (the phase itself is always readable).
    pub(super) fn push(&mut self, action: Action) {
        let tail = (self.head + self.len) % CAPACITY;
        self.slots[tail] = Some(action);
        if self.len == CAPACITY {
            self.head = (self.head + 1) % CAPACITY;
        } else {
            self.len += 1;
        }
    }

    pub(super) fn pop(&mut self) -> Option<Action> {
        if self.len == 0 {
            return None;
        }
        let action = self.slots[self.head].take();
        self.head = (self.head + 1) % CAPACITY;
        self.len -= 1;
        action
    }
}
