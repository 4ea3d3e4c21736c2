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

// The layers, one folder each: `pure` (no allocation: builds for bare metal), `facade`
// (`alloc`: the shared state a server holds), `os` (`std`: sockets, upgrades, systemd),
// `testkit` (`test-util`). The paths below keep `crate::machine` and the like short.
mod pure;
use pure::{config, machine, phase, signal, sync, tracker, traits};

#[cfg(feature = "alloc")]
mod facade;
#[cfg(feature = "metrics")]
pub use facade::metrics;
#[cfg(feature = "alloc")]
use facade::{
    connection, handle, hooks, listen, observe, reload, report, runtime, shared, trace, waiters,
};

#[cfg(feature = "std")]
mod os;
#[cfg(feature = "std")]
use os::net;
#[cfg(feature = "systemd")]
pub use os::systemd;
#[cfg(feature = "std")]
pub use os::{accept, upgrade};

#[cfg(feature = "test-util")]
mod testkit;
#[cfg(feature = "test-util")]
pub use testkit::{conformance, test_util};

pub use config::{Config, ConfigError, Escalation, Goodbye};
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
