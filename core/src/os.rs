//! The operating-system layer (feature `std`): sockets and the accept loop, inherited
//! listeners and in-place upgrades, systemd.

pub mod accept;
// Below both `accept` (which stops handshakes at the drain) and `upgrade` (which takes a
// filter off an inherited socket), so that neither imports the other for it.
#[cfg(unix)]
pub(crate) mod handshakes;
pub(crate) mod net;
pub(crate) mod signals;
#[cfg(feature = "systemd")]
pub mod systemd;
pub mod upgrade;
