#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod drain;
mod goodbye;
#[cfg(feature = "grpc")]
#[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
pub mod grpc;
mod io;
pub mod layer;
mod listen;
mod readiness;
pub mod rt;
mod serve;
mod service;
mod shared;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;

pub use connection::serve_connection;
pub use layer::ShutdownLayer;
#[cfg(any(feature = "ws", feature = "axum"))]
mod ws;

pub use drain::{AtDrain, EndAtDrain, SSE_SHUTDOWN};
pub use listen::bind;
pub use readiness::readiness;
#[cfg(feature = "tls")]
pub use serve::serve_tls;
pub use serve::{serve, Serving};
#[cfg(any(feature = "ws", feature = "axum"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "ws", feature = "axum"))))]
pub use ws::{CloseMessage, GoingAway, CLOSE_GRACE};
