//! tokio's I/O family (feature `tokio`): hyper-util's `TokioIo`.

use super::HyperIo;
use hyper_util::rt::TokioIo;

/// tokio's TCP stream, through hyper-util's `TokioIo`.
impl HyperIo for tokio::net::TcpStream {
    type Io = TokioIo<Self>;

    fn hyper_io(self) -> Self::Io {
        TokioIo::new(self)
    }
}

/// tokio's Unix-domain stream, through hyper-util's `TokioIo`.
#[cfg(unix)]
impl HyperIo for tokio::net::UnixStream {
    type Io = TokioIo<Self>;

    fn hyper_io(self) -> Self::Io {
        TokioIo::new(self)
    }
}
