//! The operating-system layer (feature `std`): sockets and the accept loop, inherited
//! listeners and in-place upgrades, systemd.

pub mod accept;
pub(crate) mod net;
pub(crate) mod signals;
#[cfg(feature = "systemd")]
pub mod systemd;
pub mod upgrade;
