#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod goodbye;
mod io;
mod listen;
mod readiness;
mod serve;
mod service;
mod shared;

pub use connection::serve_connection;
pub use listen::bind;
pub use readiness::readiness;
pub use serve::{serve, Serving};
