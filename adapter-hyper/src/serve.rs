//! [`serve`]: a whole graceful HTTP server in one call.

use crate::connection::{serve_connection, BoxError};
use accepting::Accepting;
use core::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use futures_util::future::join;
use http_body::Body;
use hyper::{
    body::Incoming,
    rt::{Read, Write},
    Request, Response,
};
use lameduck::{
    accept,
    runtime::{Listener, Network},
    Report, Shutdown,
};

/// Serves `service` on `listener` under `shutdown`, on `runtime`, until the shutdown stops;
/// resolves to its [`Report`] (return it from `main`: the process exits with its code).
///
/// HTTP/1.1 and HTTP/2 (prior knowledge) on one port, upgrades included; the service is any
/// `tower::Service` — an axum `Router`, tonic's routes, `tower::service_fn`. Each connection
/// is served as [`serve_connection`] describes: counted with its requests and its upgrades,
/// finished gracefully when draining starts, cut at the drain deadline.
///
/// The call itself, before the future is awaited, installs the signal handlers for the
/// shutdown's signals and registers the listener with the runtime: announce that the server
/// listens after it, so that a signal sent at once is taken as a shutdown request, not as the
/// default action that kills the process. Connections are accepted from the first poll
/// until draining starts; then the listener is closed, so new connection attempts are
/// refused at once. Accept errors are sorted as `lameduck::accept::serve` describes: out of
/// file descriptors backs off and goes on, a broken listener stops the server with
/// `Reason::Failed` (exit code 1).
///
/// If the signals or the listener cannot be set up, the future resolves at once to a report
/// of the failure (hooks still run; exit code 1).
///
/// With the feature `systemd`, once both are set up it tells systemd the server is ready
/// (`lameduck::systemd::ready`: `READY=1`, `MAINPID`) and spawns
/// `lameduck::systemd::heartbeat` (watchdog, drain progress); the phase changes are
/// reported by the shutdown itself. Without `NOTIFY_SOCKET` none of it does anything.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use lameduck::{Config, Hook, Report, Shutdown};
/// use std::time::Duration;
///
/// #[tokio::main]
/// async fn main() -> Report {
///     let app = Router::new().route("/", get(|| async { "hello" }));
///
///     let config = Config::new().lame_duck(Duration::from_secs(5)).drain_timeout(Duration::from_secs(20));
///     let shutdown = Shutdown::new(config).expect("valid config");
///     shutdown.hooks().register(Hook::new("flush", || Ok::<(), std::io::Error>(()))).expect("running");
///     let listener = std::net::TcpListener::bind("0.0.0.0:8080").expect("port free");
///     let server = lameduck_hyper::serve(lameduck_tokio::Tokio::new(), listener, app, shutdown);
///     println!("listening on {}", server.local_addr().unwrap_or("?"));
///     server.await
/// }
/// ```
///
/// # Cancel safety
///
/// Not cancel-safe: dropping the future stops accepting and abandons the shutdown where it
/// stands (connections already accepted go on, on their own tasks). Await it to its end.
pub fn serve<R, L, S, B>(runtime: R, listener: L, service: S, shutdown: Shutdown) -> Serving
where
    R: Network,
    R::Stream: Read + Write,
    L: Into<Listener>,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = listener.into();
    let local_addr = listener.local_addr().ok();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    // Both now, not at the first poll: see above.
    let signals = runtime.signals(handle.config().listened_signals());
    let acceptor = runtime.listen(listener);
    #[cfg(feature = "systemd")]
    if signals.is_ok() && acceptor.is_ok() {
        lameduck::systemd::ready();
        runtime.spawn(lameduck::systemd::heartbeat(
            handle.clone(),
            runtime.clone(),
        ));
    }
    let future = async move {
        let (signals, acceptor) = match (signals, acceptor) {
            (Ok(signals), Ok(acceptor)) => (signals, acceptor),
            (Err(error), _) => {
                trigger.fail(format_args!("cannot listen for signals: {error}"));
                return shutdown.run(runtime, futures_util::stream::empty()).await;
            }
            (_, Err(error)) => {
                trigger.fail(format_args!("cannot serve the listener: {error}"));
                return shutdown.run(runtime, futures_util::stream::empty()).await;
            }
        };
        let spawner = runtime.clone();
        let accepting = accept::serve(
            Accepting {
                runtime: runtime.clone(),
                acceptor,
            },
            handle,
            trigger,
            runtime.clone(),
            move |stream, connection| {
                let served = serve_connection(spawner.clone(), stream, connection, service.clone());
                spawner.spawn(served);
            },
        );
        let ((), report) = join(accepting, shutdown.run(runtime, signals)).await;
        report
    };
    Serving {
        local_addr,
        future: Box::pin(future),
    }
}

/// A server at work: resolves to the shutdown's [`Report`]. Made by [`serve`].
///
/// # Cancel safety
///
/// Not cancel-safe: see [`serve`].
///
/// ```no_run
/// # async fn f(server: lameduck_hyper::Serving) {
/// println!("listening on {}", server.local_addr().unwrap_or("?"));
/// let report = server.await;
/// # }
/// ```
#[must_use = "the server does nothing unless awaited"]
pub struct Serving {
    local_addr: Option<String>,
    future: Pin<Box<dyn Future<Output = Report> + Send>>,
}

impl Serving {
    /// The address the listener is bound to (`IP:PORT`, or a socket path).
    ///
    /// ```no_run
    /// # fn f(server: &lameduck_hyper::Serving) {
    /// let addr = server.local_addr();
    /// # }
    /// ```
    pub fn local_addr(&self) -> Option<&str> {
        self.local_addr.as_deref()
    }
}

impl fmt::Debug for Serving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serving")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Future for Serving {
    type Output = Report;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Report> {
        self.future.as_mut().poll(cx)
    }
}

mod accepting {
    use core::future::{poll_fn, Future};
    use lameduck::{accept::Accept, runtime::Network};
    use std::io;

    /// A runtime's acceptor as the core accept loop's source.
    pub(super) struct Accepting<R: Network> {
        pub(super) runtime: R,
        pub(super) acceptor: R::Acceptor,
    }

    impl<R: Network> Accept for Accepting<R> {
        type Conn = R::Stream;

        fn accept(&mut self) -> impl Future<Output = io::Result<R::Stream>> + '_ {
            poll_fn(move |cx| self.runtime.poll_accept(&mut self.acceptor, cx))
        }

        fn try_accept(&mut self) -> Option<io::Result<R::Stream>> {
            self.runtime.try_accept(&mut self.acceptor)
        }
    }
}
