//! Binding a listener with a backlog large enough for bursts of connections.

use core::net::SocketAddr;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;

/// The listen backlog [`bind`] asks for at least (the system may allow more).
const MIN_BACKLOG: i32 = 1024;

/// The backlog [`bind`] uses: [`MIN_BACKLOG`], or the system's maximum if that is larger
/// (Linux: `/proc/sys/net/core/somaxconn`; the kernel clamps to it anyway).
fn backlog() -> i32 {
    let system = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(0);
    system.max(MIN_BACKLOG)
}

/// Binds a non-blocking TCP listener on `addr` with room for at least 1024 pending
/// connections (the system's maximum if larger: `/proc/sys/net/core/somaxconn`) and
/// `SO_REUSEADDR` (not on Windows), ready to be turned into a runtime's listener
/// (`tokio::net::TcpListener::from_std`, `async_net::TcpListener::try_from`).
///
/// A burst of connects at a listener with the default backlog of 128 gets some of them
/// dropped or reset; with this they wait in the queue for the accept loop.
///
/// # Errors
///
/// The socket, bind or listen error.
///
/// ```
/// let listener = lameduck_hyper::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// assert_ne!(listener.local_addr().unwrap().port(), 0);
/// ```
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog())?;
    Ok(socket.into())
}
