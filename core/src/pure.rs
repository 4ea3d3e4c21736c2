//! The pure layer: no allocation, no clock, no I/O — what builds for bare metal with neither
//! `std` nor `alloc`, and what the model checker and property tests drive directly.

pub(crate) mod config;
#[cfg(feature = "alloc")]
pub(crate) mod listen;
pub(crate) mod machine;
pub(crate) mod phase;
pub(crate) mod signal;
pub(crate) mod sync;
pub(crate) mod tracker;
pub(crate) mod traits;
