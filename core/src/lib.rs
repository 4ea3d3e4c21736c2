#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

// The layers, one folder each, each importing only the layers below it: `pure` (no
// allocation without `alloc`: builds for bare metal), `facade` (`alloc`: the shared state a
// server holds), `os` (`std`: sockets, upgrades, systemd), `testkit` (`test-util`). Paths
// inside the crate name the layer they reach (`crate::pure::machine::Machine`).
mod pure;

#[cfg(feature = "alloc")]
mod facade;
#[cfg(feature = "metrics")]
pub use facade::metrics;

#[cfg(feature = "std")]
mod os;
#[cfg(feature = "systemd")]
pub use os::systemd;
#[cfg(feature = "std")]
pub use os::{accept, upgrade};

#[cfg(feature = "test-util")]
mod testkit;
#[cfg(feature = "test-util")]
pub use testkit::{conformance, test_util};

pub use pure::config::{Config, ConfigError, Escalation};
pub use pure::machine::{Action, HookResult, Machine, Summary};
pub use pure::phase::{Phase, Reason};
pub use pure::signal::{Signal, SignalSet};
pub use pure::tracker::{Guard, Snapshot, Tracker};
pub use pure::traits::{SignalSource, Timer};

#[cfg(feature = "alloc")]
pub use facade::connection::{ConnEvent, Connection, Events, Idle, InFlight};
#[cfg(feature = "alloc")]
pub use facade::handle::Handle;
#[cfg(feature = "alloc")]
pub use facade::hooks::{Hook, RegisterError};
#[cfg(feature = "alloc")]
pub use facade::reached::{Reached, Stopped};
#[cfg(feature = "alloc")]
pub use facade::registry::HookRegistry;
#[cfg(feature = "alloc")]
pub use facade::reload::Reloads;
#[cfg(feature = "alloc")]
pub use facade::report::{HookOutcome, HookReport, Report};
#[cfg(feature = "alloc")]
pub use facade::runtime::{BoxError, Runtime};
#[cfg(feature = "alloc")]
pub use facade::shutdown::{Shutdown, Trigger};
#[cfg(feature = "std")]
pub use os::net::{Listener, Network};
#[cfg(feature = "alloc")]
pub use pure::tracker::Drained;
