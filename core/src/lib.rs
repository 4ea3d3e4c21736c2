#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod config;
mod machine;
mod phase;
mod signal;
mod sync;
#[cfg(feature = "alloc")]
mod trace;
mod tracker;
mod traits;

#[cfg(feature = "alloc")]
mod connection;
#[cfg(feature = "alloc")]
mod driver;
#[cfg(feature = "alloc")]
mod handle;
#[cfg(feature = "alloc")]
mod hooks;
#[cfg(feature = "alloc")]
mod listen;
#[cfg(feature = "alloc")]
mod observe;
#[cfg(feature = "alloc")]
mod reload;
#[cfg(feature = "alloc")]
mod report;
#[cfg(feature = "alloc")]
mod runtime;
#[cfg(feature = "alloc")]
mod shared;

#[cfg(feature = "std")]
pub mod accept;
#[cfg(feature = "test-util")]
pub mod conformance;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "std")]
mod net;
#[cfg(feature = "systemd")]
pub mod systemd;
#[cfg(feature = "test-util")]
pub mod test_util;
#[cfg(feature = "std")]
pub mod upgrade;

pub use config::{Config, ConfigError, Escalation};
pub use machine::{Action, HookResult, Machine, Summary};
pub use phase::{Phase, Reason};
pub use signal::{Signal, SignalSet};
pub use tracker::{Guard, Snapshot, Tracker};
pub use traits::{SignalSource, Timer};

#[cfg(feature = "alloc")]
pub use connection::{ConnEvent, Connection, Events, Idle, InFlight};
#[cfg(feature = "alloc")]
pub use handle::{Handle, Reached, Shutdown, Stopped, Trigger};
#[cfg(feature = "alloc")]
pub use hooks::{Hook, HookRegistry, RegisterError};
#[cfg(feature = "std")]
pub use net::{Listener, Network};
#[cfg(feature = "alloc")]
pub use reload::Reloads;
#[cfg(feature = "alloc")]
pub use report::{HookOutcome, HookReport, Report};
#[cfg(feature = "alloc")]
pub use runtime::{BoxError, Runtime};
#[cfg(feature = "alloc")]
pub use tracker::Drained;
