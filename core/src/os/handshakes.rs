//! Closing a TCP listener without resetting a connection whose handshake raced the close.
//!
//! `close(2)` on a listening socket resets every connection still in its queues, and that
//! includes one whose handshake completed between the drain's last `accept(2)` and the
//! close: its client saw `connect` succeed, sent its request, and reads a reset. TCP has no
//! "stop listening, keep the queue"; the sweep before the close only narrows the window.
//!
//! Linux closes it: a listening socket's filter (`SO_ATTACH_FILTER`) runs on every segment
//! that reaches the listener, the SYN that would begin a handshake and the ACK that completes
//! one (`tcp_v4_rcv`/`tcp_v6_rcv` call `tcp_filter` with the listener for both). A filter
//! that drops pure SYNs (SYN set, ACK clear) and passes everything else lets the handshakes
//! already begun complete into the accept queue while no new one begins: the new client's
//! SYN goes unanswered, it retransmits (after 1 s) and then meets the closed port (refused)
//! or the next process on it. The accept loop puts the filter on, sweeps, waits [`SETTLE`]
//! for the handshakes in flight, sweeps again and closes: nothing is left to reset.
//!
//! A connection accepted with the filter on inherits a copy (the kernel clones it into each
//! new socket); it drops only pure SYNs, which an established connection never receives.
//!
//! The filter belongs to the socket, not to the descriptor: on a socket that outlives this
//! process (one a successor serves, or a service manager's, which keeps a copy), it would
//! outlive the process too, and there the close resets nothing anyway. The accept loop puts
//! no filter on such a socket (see `Shared::handed_over` and `upgrade::inherit::managed`),
//! and a process that inherits a socket takes off any filter left on it ([`unfilter`]).
//! Elsewhere than Linux and Android nothing is done, and the window stays as narrow as the
//! sweep makes it.

use core::time::Duration;
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};

/// How long the accept loop, with new handshakes stopped, waits for those already begun to
/// complete before its last sweep: a handshake's last step is one trip from the client, well
/// under this for clients on the same host, network or data centre (a balancer's). A client
/// whose ACK takes longer is still reset. The wait holds the drain only when nothing else is
/// in flight: it is what an idle server's shutdown pays for the guarantee.
pub(super) const SETTLE: Duration = Duration::from_millis(20);

/// Stops new TCP handshakes on `socket`: `true` if the filter is now on (a TCP listener on
/// Linux or Android), `false` for anything else.
#[cfg(unix)]
pub(super) fn stop(socket: BorrowedFd<'_>) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use socket2::{SockFilter, SockRef};
        // Classic BPF over the TCP header (where a TCP socket's filter starts): load the
        // flags byte, keep SYN (0x02) and ACK (0x10), and drop (return 0) a SYN without ACK;
        // anything else passes whole (return u32::MAX).
        const LD_B_ABS: u16 = 0x30;
        const AND_K: u16 = 0x54;
        const JEQ_K: u16 = 0x15;
        const RET_K: u16 = 0x06;
        let program = [
            SockFilter::new(LD_B_ABS, 0, 0, 13),
            SockFilter::new(AND_K, 0, 0, 0x12),
            SockFilter::new(JEQ_K, 1, 0, 0x02),
            SockFilter::new(RET_K, 0, 0, u32::MAX),
            SockFilter::new(RET_K, 0, 0, 0),
        ];
        let socket = SockRef::from(&socket);
        let tcp = socket
            .local_addr()
            .is_ok_and(|addr| addr.as_socket().is_some());
        tcp && socket.attach_filter(&program).is_ok()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = socket;
        false
    }
}

/// Takes off a filter put on `socket` (by [`stop`], here or in a process that held the
/// socket before); nothing if there is none.
#[cfg(unix)]
pub(crate) fn unfilter(socket: &impl AsFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // ENOENT when there is no filter: nothing to do either way.
        let _ = socket2::SockRef::from(socket).detach_filter();
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = socket;
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::{stop, unfilter};
    use core::time::Duration;
    use std::{
        io::{Read, Write},
        net::{TcpListener, TcpStream},
        os::fd::AsFd,
    };

    /// A handshake completed before the filter is served; one begun after it is not
    /// answered; once the filter is off (as a process that inherits the socket takes it off),
    /// handshakes complete again.
    #[test]
    fn the_filter_stops_new_handshakes_only_and_comes_off() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut queued = TcpStream::connect(addr).unwrap();
        assert!(stop(listener.as_fd()));
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err(),
            "a handshake begun with the filter on"
        );
        // Taken and served with the filter on (the accepted socket has a copy of it).
        let (mut served, _) = listener.accept().unwrap();
        queued.write_all(b"ping").unwrap();
        let mut asked = [0; 4];
        served.read_exact(&mut asked).unwrap();
        served.write_all(b"pong").unwrap();
        let mut answer = [0; 4];
        queued.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"pong");
        unfilter(&listener);
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("the filter is off");
    }

    #[test]
    fn only_tcp_listeners_are_filtered() {
        let dir = std::env::temp_dir().join(std::format!("lameduck-filter-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let unix = std::os::unix::net::UnixListener::bind(&dir).unwrap();
        assert!(!stop(unix.as_fd()));
        let _ = std::fs::remove_file(&dir);
    }
}
