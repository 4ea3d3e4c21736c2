//! The pure layer: no clock, no I/O, and it imports nothing from the layers above it — what
//! builds for bare metal with neither `std` nor `alloc`, and what the model checker and
//! property tests drive directly. Without `alloc` nothing here allocates; with it, the one
//! allocation is event-listener's, when something first waits for the drain
//! ([`Drained`](crate::machine::Drained), through [`listen`]).

pub(crate) mod config;
#[cfg(feature = "alloc")]
pub(crate) mod listen;
pub(crate) mod machine;
pub(crate) mod phase;
pub(crate) mod signal;
pub(crate) mod sync;
pub(crate) mod tracker;
pub(crate) mod traits;
