//! The listener's close races no handshake (Linux, Android): a connection that reaches the
//! listener between the drain's last `accept(2)` and its `close(2)` is never reset after its
//! `connect` succeeded. The window is held open on purpose, by a listener whose close takes
//! [`CLOSING`] (as a loaded machine's deregistration and close may).
#![cfg(any(target_os = "linux", target_os = "android"))]

use core::{
    future::Future,
    task::{Context, Poll},
    time::Duration,
};
use lameduck::{
    accept,
    runtime::{BoxError, Listener, Network, Runtime, Timer},
    Config, Shutdown, SignalSet,
};
use lameduck_tokio::Tokio;
use std::{
    io::{self, Read},
    net::{SocketAddr, TcpStream},
    sync::mpsc,
};

/// How long the listener's close takes.
const CLOSING: Duration = Duration::from_millis(300);

/// Tokio, with a listener whose close takes [`CLOSING`] and says when it begins.
#[derive(Clone)]
struct SlowClose(Tokio, mpsc::SyncSender<()>);

/// Tokio's acceptor, closed slowly.
struct Closing(Option<<Tokio as Network>::Acceptor>, mpsc::SyncSender<()>);

impl Drop for Closing {
    fn drop(&mut self) {
        let _ = self.1.try_send(());
        std::thread::sleep(CLOSING);
        drop(self.0.take());
    }
}

impl Timer for SlowClose {
    type Sleep = <Tokio as Timer>::Sleep;

    fn now(&self) -> Duration {
        self.0.now()
    }

    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.0.sleep(duration)
    }
}

impl Runtime for SlowClose {
    type Signals = <Tokio as Runtime>::Signals;

    fn signals(&self, set: SignalSet) -> Result<Self::Signals, BoxError> {
        self.0.signals(set)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(task);
    }

    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
        self.0.spawn_blocking(work);
    }
}

impl Network for SlowClose {
    type Acceptor = Closing;
    type Stream = <Tokio as Network>::Stream;

    fn listen(&self, listener: Listener) -> io::Result<Closing> {
        Ok(Closing(Some(self.0.listen(listener)?), self.1.clone()))
    }

    fn poll_accept(
        &self,
        acceptor: &mut Closing,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Self::Stream>> {
        let acceptor = acceptor.0.as_mut().expect("open until dropped");
        self.0.poll_accept(acceptor, cx)
    }

    fn try_accept(&self, acceptor: &mut Closing) -> Option<io::Result<Self::Stream>> {
        self.0
            .try_accept(acceptor.0.as_mut().expect("open until dropped"))
    }

    fn fd<'a>(&self, acceptor: &'a Closing) -> Option<std::os::fd::BorrowedFd<'a>> {
        self.0.fd(acceptor.0.as_ref().expect("open until dropped"))
    }
}

/// A connect while the listener closes: `Ok(())` if it was not answered (or refused), the
/// error a client would read if its handshake completed and the close then reset it.
fn connect_while_closing(addr: SocketAddr) -> Result<(), String> {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, CLOSING / 3) else {
        // Unanswered (the SYN was dropped) or refused: never a reset.
        return Ok(());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    match stream.read(&mut [0; 16]) {
        Err(error) => Err(format!("connected, then: {error}")),
        Ok(n) => Err(format!(
            "connected, then read {n} bytes from a server that sends none"
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_arriving_while_the_listener_closes_is_not_reset() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (closing, closes) = mpsc::sync_channel(1);
    let runtime = SlowClose(Tokio::new(), closing);
    let shutdown = Shutdown::new(Config::new().lame_duck(Duration::ZERO)).expect("config");
    let acceptor = runtime.listen(listener.into()).expect("listen");
    let accepting = accept::serve(
        runtime.clone(),
        acceptor,
        shutdown.handle(),
        shutdown.trigger(),
        |stream, connection| async move {
            drop((stream, connection));
        },
    );
    tokio::spawn(accepting);
    let client = tokio::task::spawn_blocking(move || {
        closes.recv().expect("the listener closes");
        connect_while_closing(addr)
    });
    shutdown.trigger().shutdown();
    let signals = runtime.signals(SignalSet::EMPTY).expect("signals");
    let report = shutdown.run(runtime, signals).await;
    assert_eq!(client.await.expect("client"), Ok(()));
    assert!(report.drained(), "{report}");
    // Closed now: refused.
    let refused = TcpStream::connect(addr).map(drop).map_err(|e| e.kind());
    assert_eq!(refused, Err(io::ErrorKind::ConnectionRefused));
}

/// After a hand-over the successor accepts from the very socket: the drain's close leaves
/// nothing on it that stops new handshakes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_handed_over_keeps_taking_connections() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    // The successor's copy.
    let successor = listener.try_clone().expect("a copy");
    let runtime = Tokio::new();
    let shutdown = Shutdown::new(Config::new()).expect("config");
    let acceptor = runtime.listen(listener.into()).expect("listen");
    tokio::spawn(accept::serve(
        runtime,
        acceptor,
        shutdown.handle(),
        shutdown.trigger(),
        |stream, connection| async move {
            drop((stream, connection));
        },
    ));
    shutdown.trigger().handover();
    let signals = runtime.signals(SignalSet::EMPTY).expect("signals");
    let report = shutdown.run(runtime, signals).await;
    assert!(report.drained(), "{report}");
    let connected = tokio::task::spawn_blocking(move || {
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map(drop)
    });
    connected
        .await
        .expect("client")
        .expect("the successor's socket answers");
    successor.accept().expect("queued for the successor");
}
