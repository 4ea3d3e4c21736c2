//! Graceful shutdown for hyper 1.x servers, on any runtime.
//!
//! [`Graceful`] serves each accepted connection under a [lameduck](lameduck) shutdown:
//!
//! - the connection is counted (by a [`ConnectionGuard`](lameduck::ConnectionGuard) or
//!   through lameduck's event API with [`Events`]) and is idle whenever no request is in
//!   flight — a request is in flight from the service call until its response body ends;
//! - when draining starts it gets hyper's `graceful_shutdown()` at once: idle HTTP/1
//!   connections close, a response in flight carries `Connection: close`, HTTP/2 sends
//!   GOAWAY and finishes its open streams;
//! - a connection that stays idle for a short grace after that (a peer that never sent a
//!   byte) is dropped, and any connection still open when the drain is cut is dropped;
//! - upgraded connections (`101`, WebSocket) stay counted through an [`UpgradeGuard`] that
//!   the handler takes from the request's [`Upgrade`] extension, and hear
//!   [`going_away`](UpgradeGuard::going_away) when draining starts.
//!
//! Plus [`bind`] (a listener with a backlog for bursts) and [`readiness`] (a `/healthz`
//! answer). The crate needs no runtime: time comes through [`lameduck::Timer`], spawning
//! through the executor you give hyper.
//!
//! ```no_run
//! # async fn serve<T: lameduck::Timer + Clone, S, E>(
//! #     listener: tokio::net::TcpListener, handle: lameduck::Handle, timer: T, service: S,
//! #     builder: hyper_util::server::conn::auto::Builder<E>) {}
//! // per accepted connection, on your runtime:
//! //   let guard = handle.track()?;   // counted until dropped
//! //   spawn(async move { graceful.serve_auto(&builder, io, service, guard).await });
//! ```
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
