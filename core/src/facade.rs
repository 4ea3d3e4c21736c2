//! The shared-state façade (feature `alloc`): what a server holds — the shutdown and its
//! handles, connections, hooks, the driver that runs the pure machine on a `Runtime`, and the
//! report. It imports the pure layer, never the operating-system one.

pub(crate) mod connection;
pub(crate) mod driver;
pub(crate) mod handle;
pub(crate) mod hooks;
#[cfg(all(test, loom))]
mod loom_models;
#[cfg(feature = "metrics")]
pub mod metrics;
pub(crate) mod observe;
pub(crate) mod reached;
pub(crate) mod registry;
pub(crate) mod reload;
pub(crate) mod report;
pub(crate) mod runtime;
pub(crate) mod shared;
pub(crate) mod shutdown;
pub(crate) mod trace;
pub(crate) mod waiters;
