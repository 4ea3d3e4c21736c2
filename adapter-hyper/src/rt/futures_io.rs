//! futures-io's I/O family (feature `smol`): async-io's sockets through smol-hyper's
//! `FuturesIo`.

use super::HyperIo;
use async_io::Async;
use smol_hyper::rt::FuturesIo;

/// async-io's TCP stream (smol's, async-std's), through smol-hyper's `FuturesIo`.
impl HyperIo for Async<std::net::TcpStream> {
    type Io = FuturesIo<Self>;

    fn hyper_io(self) -> Self::Io {
        FuturesIo::new(self)
    }
}

/// async-io's Unix-domain stream, through smol-hyper's `FuturesIo`.
#[cfg(unix)]
impl HyperIo for Async<std::os::unix::net::UnixStream> {
    type Io = FuturesIo<Self>;

    fn hyper_io(self) -> Self::Io {
        FuturesIo::new(self)
    }
}
