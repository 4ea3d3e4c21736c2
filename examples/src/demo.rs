//! What every demo does around `lameduck_hyper::serve`: parse the command line (exit 64 on
//! error), make the shutdown, register the hooks, bind, print the contract's lines.

use crate::{cli::Options, output, routes::Routes};
use lameduck::{Hook, Network, Shutdown};
use std::io::Write;

/// A demo's shutdown, made from its command line.
#[derive(Debug)]
pub struct Demo {
    /// The parsed command line.
    pub options: Options,
    /// The shutdown to run.
    pub shutdown: Shutdown,
}

impl Demo {
    /// Parses the process's arguments (one-line error and exit 64 if bad) and makes the
    /// shutdown with the `flush` hook registered.
    ///
    /// ```no_run
    /// let demo = lameduck_examples::demo::Demo::from_env_or_exit();
    /// assert_eq!(demo.shutdown.hooks().len(), 1);
    /// ```
    pub fn from_env_or_exit() -> Demo {
        Demo::with_options(Options::from_env_or_exit())
    }

    /// The shutdown for `options`, with the `flush` hook registered; installs the
    /// Prometheus recorder behind `/metrics` first.
    ///
    /// ```
    /// use lameduck_examples::{cli::Options, demo::Demo};
    /// let demo = Demo::with_options(Options::default());
    /// assert_eq!(demo.shutdown.hooks().len(), 1);
    /// ```
    pub fn with_options(options: Options) -> Demo {
        crate::routes::prometheus();
        let shutdown = match Shutdown::new(options.config()) {
            Ok(shutdown) => shutdown,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(crate::cli::EXIT_USAGE);
            }
        };
        let demo = Demo { options, shutdown };
        demo.register(flush());
        demo
    }

    /// Registers one more hook.
    ///
    /// ```
    /// use lameduck_examples::{cli::Options, demo::Demo};
    /// let demo = Demo::with_options(Options::default());
    /// demo.register(lameduck::Hook::new("close-store", || Ok::<(), &str>(())));
    /// assert_eq!(demo.shutdown.hooks().len(), 2);
    /// ```
    pub fn register(&self, hook: Hook) {
        // The shutdown has not started: registering cannot fail.
        let _ = self.shutdown.hooks().register(hook);
    }

    /// The contract's routes on `runtime`, answering for this demo's shutdown.
    ///
    /// ```
    /// use lameduck_examples::{cli::Options, demo::Demo};
    /// let demo = Demo::with_options(Options::default());
    /// let _routes = demo.routes(lameduck_smol::Smol::new());
    /// ```
    pub fn routes<R: lameduck::Runtime>(&self, runtime: R) -> Routes<R> {
        Routes::new(self.shutdown.handle(), runtime)
    }

    /// Serves `service` on the inherited listener (`LISTEN_FDS`) or the `--addr` one with
    /// `lameduck_hyper::serve`, upgrades in place on `SIGUSR2` (see [`crate::upgrade`]), and
    /// keeps the contract's output: `listening on` once the signal handlers are installed, each
    /// phase, each hook, the report line; then exits with the report's code. Binding
    /// failures exit 1.
    ///
    /// ```no_run
    /// use lameduck_examples::demo::Demo;
    /// # async fn f() {
    /// let demo = Demo::from_env_or_exit();
    /// let runtime = lameduck_tokio::Tokio::new();
    /// let routes = demo.routes(runtime);
    /// demo.serve(runtime, routes).await
    /// # }
    /// ```
    pub async fn serve<R, S, B>(self, runtime: R, service: S) -> !
    where
        R: Network,
        R::Stream: hyper::rt::Read + hyper::rt::Write,
        S: tower_service::Service<
                hyper::Request<hyper::body::Incoming>,
                Response = hyper::Response<B>,
            > + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let listener = crate::upgrade::listener_or_exit(&self.options);
        let handle = self.shutdown.handle();
        crate::upgrade::on_usr2(&runtime, &listener, &handle, self.shutdown.trigger());
        let (phases_done, phases_printed) =
            futures_util::future::FutureExt::remote_handle(output::phases(handle.clone()));
        runtime.spawn(phases_done);
        runtime.spawn(output::progress(handle.clone(), runtime.clone()));
        // Subscribed before the shutdown runs: no reload is missed.
        runtime.spawn(output::reloads(handle.clone()));
        runtime.spawn(lameduck::systemd::heartbeat(handle, runtime.clone()));
        let server = lameduck_hyper::serve(runtime, listener, service, self.shutdown);
        // After `serve` installed the signal handlers: a signal sent as soon as a watcher
        // reads this line is a shutdown request, not the default action.
        output::listening(server.local_addr().unwrap_or("?"));
        // READY=1 and MAINPID= first (systemd follows the successor), then the predecessor,
        // if any, stops accepting; connections queued meanwhile wait in the shared accept
        // queue for this process's first poll.
        lameduck::systemd::ready();
        crate::upgrade::serving();
        let report = server.await;
        phases_printed.await;
        output::finish(&report)
    }
}

/// The `flush` hook: flushes stdout and says so on stderr (`hook flush running`, which the
/// tests count to prove it ran once).
///
/// ```
/// assert_eq!(lameduck_examples::demo::flush().name(), "flush");
/// ```
pub fn flush() -> Hook {
    Hook::new("flush", || {
        eprintln!("hook flush running");
        std::io::stdout().flush()
    })
}

/// Binds the demo's listener with a backlog for bursts, or prints the error and exits 1.
///
/// ```
/// use lameduck_examples::{cli::Options, demo::bind_or_exit};
/// let options = Options { addr: "127.0.0.1:0".parse().unwrap(), ..Options::default() };
/// let listener = bind_or_exit(&options);
/// assert_ne!(listener.local_addr().unwrap().port(), 0);
/// ```
pub fn bind_or_exit(options: &Options) -> std::net::TcpListener {
    match lameduck_hyper::bind(options.addr) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", options.addr);
            std::process::exit(1);
        }
    }
}
