//! Test support (feature `test-util`): a manual clock, a scripted signal source, and an
//! executor that jumps the clock when everything waits — so shutdown logic is tested
//! without sleeping.

mod clock;
mod signals;

pub use clock::{ManualClock, ManualSleep, REAL_WORK_GRACE};
pub use signals::ScriptedSignals;
