#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod connection;
mod counted;
mod graceful;
mod listen;
mod readiness;
mod service;
mod upgrade;

pub use connection::{Closed, GracefulConnection};
pub use counted::{Counted, Events};
pub use graceful::Graceful;
pub use hyper_util::service::TowerToHyperService;
pub use listen::{backlog, bind, MIN_BACKLOG};
pub use readiness::readiness;
pub use service::{Tracked, TrackedBody, TrackedFuture};
pub use upgrade::{Upgrade, UpgradeGuard};
