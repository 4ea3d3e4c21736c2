//! Shared pieces of the demo servers.

#[cfg(unix)]
pub mod custom_rt;
