//! What an accept error means for an accept loop: skip it, back off, or give up.

use std::io;

/// What an error from accepting a connection means for the accept loop.
///
/// Sort an error with [`AcceptError::classify`]; [`serve`](super::serve) acts on it.
///
/// ```
/// use lameduck::accept::AcceptError;
/// use std::io;
/// let reset = io::Error::from(io::ErrorKind::ConnectionReset);
/// assert_eq!(AcceptError::classify(&reset), AcceptError::Connection);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptError {
    /// One pending connection failed before it was accepted (aborted, reset, or a network
    /// error accept(2) passes on); the next accept may succeed at once.
    ///
    /// ```
    /// use lameduck::accept::AcceptError;
    /// let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
    /// assert_eq!(AcceptError::classify(&aborted), AcceptError::Connection);
    /// ```
    Connection,
    /// Out of file descriptors, buffers or memory (`EMFILE`, `ENFILE`, `ENOBUFS`,
    /// `ENOMEM`): wait a while ([`Backoff`](super::Backoff)), then retry.
    ///
    /// ```
    /// use lameduck::accept::AcceptError;
    /// let oom = std::io::Error::from(std::io::ErrorKind::OutOfMemory);
    /// assert_eq!(AcceptError::classify(&oom), AcceptError::Resources);
    /// ```
    Resources,
    /// Anything else: the listener itself is broken.
    ///
    /// ```
    /// use lameduck::accept::AcceptError;
    /// let broken = std::io::Error::from(std::io::ErrorKind::InvalidInput);
    /// assert_eq!(AcceptError::classify(&broken), AcceptError::Fatal);
    /// ```
    Fatal,
}

impl AcceptError {
    /// Sorts an error returned by accepting a connection.
    ///
    /// By [`io::ErrorKind`] on every platform; on Unix also by the raw `errno`, following
    /// accept(2): errors of the pending connection (`EPROTO`, `ENOPROTOOPT`, `ENETDOWN`,
    /// `ENETUNREACH`, `EHOSTDOWN`, `EHOSTUNREACH`, `EPERM`, `ETIMEDOUT`) are passed on by the
    /// kernel and should be treated like `EAGAIN`.
    ///
    /// ```
    /// use lameduck::accept::AcceptError;
    /// # #[cfg(unix)] {
    /// let os = std::io::Error::from_raw_os_error;
    /// assert_eq!(AcceptError::classify(&os(libc::EMFILE)), AcceptError::Resources);
    /// assert_eq!(AcceptError::classify(&os(libc::EPROTO)), AcceptError::Connection);
    /// assert_eq!(AcceptError::classify(&os(libc::EBADF)), AcceptError::Fatal);
    /// # }
    /// ```
    pub fn classify(error: &io::Error) -> AcceptError {
        use io::ErrorKind as K;
        match error.kind() {
            K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock => {
                return AcceptError::Connection
            }
            K::OutOfMemory => return AcceptError::Resources,
            _ => {}
        }
        #[cfg(unix)]
        if let Some(code) = error.raw_os_error() {
            // accept(2): errors of the pending connection are passed on and should be
            // treated like EAGAIN.
            let connection = [
                libc::EPROTO,
                libc::ENOPROTOOPT,
                libc::ENETDOWN,
                libc::ENETUNREACH,
                libc::EHOSTDOWN,
                libc::EHOSTUNREACH,
                libc::EPERM,
                libc::ETIMEDOUT,
            ];
            if connection.contains(&code) {
                return AcceptError::Connection;
            }
            if [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM].contains(&code) {
                return AcceptError::Resources;
            }
        }
        AcceptError::Fatal
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::AcceptError;
    use std::io;

    #[test]
    fn accept_errors_are_sorted() {
        let os = io::Error::from_raw_os_error;
        let classify = AcceptError::classify;
        assert_eq!(classify(&os(libc::EMFILE)), AcceptError::Resources);
        assert_eq!(classify(&os(libc::ENFILE)), AcceptError::Resources);
        assert_eq!(classify(&os(libc::ENOBUFS)), AcceptError::Resources);
        assert_eq!(classify(&os(libc::ECONNABORTED)), AcceptError::Connection);
        assert_eq!(classify(&os(libc::EPROTO)), AcceptError::Connection);
        assert_eq!(classify(&os(libc::EBADF)), AcceptError::Fatal);
        assert_eq!(classify(&os(libc::EINVAL)), AcceptError::Fatal);
    }
}
