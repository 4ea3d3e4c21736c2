//! systemd's file-descriptor store: a listening socket the server bound itself is handed to
//! systemd (`FDSTORE=1`, `FDNAME=<name>`, the socket with the datagram), which keeps it open
//! while the service restarts and passes it to the next start as socket activation would
//! (`LISTEN_FDS`, `LISTEN_FDNAMES`). A `systemctl restart` then refuses nothing: connections
//! queue in the kept socket while no process serves it, and the next one takes them.
//!
//! Only when the unit has a store: systemd (v254 and later) sets `FDSTORE` to its size,
//! `FileDescriptorStoreMax=`. Without one, systemd would close what it is sent and log a
//! warning; nothing is sent then.

use core::mem::MaybeUninit;
use std::{env, io::IoSlice, os::fd::BorrowedFd};

/// Hands a copy of `socket` to systemd's fd store under `name`, if `NOTIFY_SOCKET` is set
/// and the unit has a store (`FDSTORE` above 0): `true` if it was sent. Never blocks (a
/// datagram systemd has no room for is dropped, and the socket is then not stored).
pub(crate) fn store(name: &str, socket: BorrowedFd<'_>) -> bool {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let Some(path) = env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    let room = env::var("FDSTORE")
        .ok()
        .and_then(|size| size.trim().parse::<u32>().ok());
    if room.unwrap_or(0) == 0 {
        return false;
    }
    let Ok(notify) = super::unix::connected(&path) else {
        return false;
    };
    let message = std::format!("FDSTORE=1\nFDNAME={name}\n");
    let fds = [socket];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return false;
    }
    let sent = sendmsg(
        &notify,
        &[IoSlice::new(message.as_bytes())],
        &mut control,
        // Non-blocking already (`connected`); a datagram socket raises no SIGPIPE.
        SendFlags::empty(),
    );
    sent.is_ok_and(|n| n == message.len())
}
