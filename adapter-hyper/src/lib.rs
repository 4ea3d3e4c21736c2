#![doc = include_str!("../README.md")]
// Without the feature `tls` the crate page's TLS links go to docs.rs, built with every feature.
#![cfg_attr(
    not(feature = "tls"),
    doc = "[`serve_tls`]: https://docs.rs/lameduck-hyper/latest/lameduck_hyper/fn.serve_tls.html
[`tls::Tls::reload`]: https://docs.rs/lameduck-hyper/latest/lameduck_hyper/tls/struct.Tls.html#method.reload
[`tls::Tls::from_config`]: https://docs.rs/lameduck-hyper/latest/lameduck_hyper/tls/struct.Tls.html#method.from_config
[`tls::Tls::handshake`]: https://docs.rs/lameduck-hyper/latest/lameduck_hyper/tls/struct.Tls.html#method.handshake"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod io;
mod listen;
mod readiness;
mod serve;
mod service;
mod shared;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;

pub use connection::serve_connection;
pub use listen::bind;
pub use readiness::readiness;
#[cfg(feature = "tls")]
pub use serve::serve_tls;
pub use serve::{serve, Serving};
