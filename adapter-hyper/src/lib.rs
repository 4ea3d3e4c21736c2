#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod io;
pub mod layer;
mod listen;
mod readiness;
mod serve;
mod service;
mod shared;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;

pub use connection::serve_connection;
pub use layer::ShutdownLayer;
pub use listen::bind;
pub use readiness::readiness;
#[cfg(feature = "tls")]
pub use serve::serve_tls;
pub use serve::{serve, Serving};
