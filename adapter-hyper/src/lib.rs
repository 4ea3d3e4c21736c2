#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod drain;
#[cfg(feature = "grpc")]
#[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
pub mod grpc;
mod io;
mod listen;
mod readiness;
mod serve;
mod service;
mod shared;
#[cfg(any(feature = "ws", feature = "axum"))]
mod ws;

pub use connection::serve_connection;
pub use drain::{AtDrain, EndAtDrain, SSE_SHUTDOWN};
pub use listen::bind;
pub use readiness::readiness;
pub use serve::{serve, Serving};
#[cfg(any(feature = "ws", feature = "axum"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "ws", feature = "axum"))))]
pub use ws::{CloseMessage, GoingAway, CLOSE_GRACE};
