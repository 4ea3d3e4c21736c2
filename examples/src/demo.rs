//! What every demo does around `lameduck_hyper::serve` (`serve_tls` with `--tls-cert`): parse
//! the command line (exit 64 on error), make the shutdown, register the hooks, load the
//! certificate, bind, print the contract's lines.

use crate::{cli::Options, output, routes::Routes};
use lameduck::{runtime::Network, Hook, Shutdown};

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
    /// The environment variable `LAMEDUCK_DEMO_GOODBYE=drain` moves the goodbye
    /// (`connection: close`, GOAWAY) from the first signal to the drain
    /// (`lameduck::Goodbye::Drain`): a switch for measuring what saying goodbye early buys
    /// (`scripts/l4-pool.sh`), not part of the demo contract.
    ///
    /// ```
    /// use lameduck_examples::{cli::Options, demo::Demo};
    /// let demo = Demo::with_options(Options::default());
    /// assert_eq!(demo.shutdown.hooks().len(), 1);
    /// ```
    pub fn with_options(options: Options) -> Demo {
        crate::routes::prometheus();
        let mut config = options.config();
        if std::env::var_os("LAMEDUCK_DEMO_GOODBYE").is_some_and(|v| v == "drain") {
            config = config.goodbye(lameduck::Goodbye::Drain);
        }
        let shutdown = match Shutdown::new(config) {
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
    pub fn routes<R: lameduck::runtime::Runtime>(&self, runtime: R) -> Routes<R> {
        Routes::new(self.shutdown.handle(), runtime)
    }

    /// `http` with the contract's gRPC services beside it on the same port (see
    /// [`crate::grpc`]), on `runtime`.
    ///
    /// ```
    /// use lameduck_examples::{cli::Options, demo::Demo};
    /// # smol::block_on(async {
    /// let demo = Demo::with_options(Options::default());
    /// let runtime = lameduck_smol::Smol::new();
    /// let _service = demo.with_grpc(runtime, demo.routes(runtime));
    /// # });
    /// ```
    pub fn with_grpc<R: lameduck::runtime::Runtime, S>(
        &self,
        runtime: R,
        http: S,
    ) -> crate::grpc::WithGrpc<S> {
        crate::grpc::with_grpc(http, self.shutdown.handle(), runtime)
    }

    /// Serves `service` on the inherited listener (`LISTEN_FDS`) or the `--addr` one with
    /// `lameduck_hyper::serve` (`serve_tls` with `--tls-cert`: see [`tls_or_exit`]), upgrades in place on `SIGUSR2` (see [`crate::upgrade`]), and
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
        R::Stream: lameduck_hyper::rt::HyperIo,
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
        // Before the listener and the take-over: a certificate that cannot be loaded binds
        // and takes nothing.
        let tls = tls_or_exit(&self.options);
        let (upgrader, take_over) = crate::upgrade::upgrader_or_exit(&self.options);
        crate::upgrade::control_or_exit(&upgrader, &runtime, &self.shutdown, &self.options);
        let listener = crate::upgrade::listener_or_exit(&upgrader, &self.options);
        crate::upgrade::on_usr2(upgrader, &runtime, &self.shutdown);
        let trigger = self.shutdown.trigger();
        let handle = self.shutdown.handle();
        let (phases_done, phases_printed) =
            futures_util::future::FutureExt::remote_handle(output::phases(handle.clone()));
        runtime.spawn(phases_done);
        runtime.spawn(output::progress(handle.clone(), runtime.clone()));
        // Subscribed before the shutdown runs: no reload is missed.
        runtime.spawn(output::reloads(handle.clone()));
        let runtime_ = runtime.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            Some(tls) => lameduck_hyper::serve_tls(runtime, listener, tls, service, self.shutdown),
            None => lameduck_hyper::serve(runtime, listener, service, self.shutdown),
        };
        // After `serve` installed the signal handlers: a signal sent as soon as a watcher
        // reads this line is a shutdown request, not the default action.
        // `serve` said "ready" (READY=1 and MAINPID= to systemd, then to the predecessor,
        // if any, which stops accepting; connections queued meanwhile wait in the shared
        // accept queue for this process's first poll).
        output::listening(scheme, server.local_addr().unwrap_or("?"));
        crate::upgrade::serving(&runtime_, take_over, trigger, &self.options);
        let report = server.await;
        phases_printed.await;
        crate::upgrade::remove_pid_file(&handle);
        output::finish_as(
            &report,
            crate::upgrade::exit_code(report.exit_code().into()),
        )
    }
}

/// The `flush` hook: says so on stderr (`hook flush running`, which the tests count to prove
/// it ran once) and completes once the stdout lines printed so far were written. An async
/// hook: it starts no thread and blocks none (a sync hook would run on the runtime's blocking
/// pool, which starts a thread for it at shutdown).
///
/// ```
/// assert_eq!(lameduck_examples::demo::flush().name(), "flush");
/// ```
pub fn flush() -> Hook {
    Hook::new_async("flush", || async {
        output::diag("hook flush running");
        output::written().await;
        Ok::<(), core::convert::Infallible>(())
    })
}

/// The contract's TLS (`--tls-cert`, `--tls-key`): the certificate and key loaded, their
/// fingerprint printed (`reload: tls certificate sha256:<hex>`), each reload's outcome
/// printed the same way or as `reload: failed: <reason>`; `None` without the options. A
/// pair that cannot be loaded at start prints `error: <reason>` and exits 1.
///
/// ```
/// use lameduck_examples::{cli::Options, demo::tls_or_exit};
/// assert!(tls_or_exit(&Options::default()).is_none());
/// ```
pub fn tls_or_exit(options: &Options) -> Option<lameduck_hyper::tls::Tls> {
    let (cert, key) = options.tls.as_ref()?;
    let tls = match lameduck_hyper::tls::Tls::from_pem_files(cert, key) {
        Ok(tls) => tls,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    if let Some(fingerprint) = tls.certificate() {
        output::line(format_args!("reload: tls certificate sha256:{fingerprint}"));
    }
    let tls = tls
        .handshake_timeout(options.tls_handshake_timeout)
        .on_reload(|outcome| match outcome {
            Ok(fingerprint) => {
                output::line(format_args!("reload: tls certificate sha256:{fingerprint}"))
            }
            Err(error) => output::line(format_args!("reload: failed: {error}")),
        });
    Some(tls)
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

#[cfg(test)]
mod tests {
    use super::flush;
    use core::{future::Future, time::Duration};
    use lameduck::{
        hook::HookOutcome,
        runtime::{BoxError, Runtime, Timer},
        test_util::ScriptedSignals,
        Config, Shutdown, SignalSet,
    };
    use lameduck_tokio::Tokio;
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    /// Tokio, counting the work given to `spawn_blocking` (each may start a thread).
    #[derive(Clone, Default)]
    struct CountingBlocking {
        blocking: Arc<AtomicUsize>,
    }

    impl Timer for CountingBlocking {
        type Sleep = <Tokio as Timer>::Sleep;
        fn now(&self) -> Duration {
            Tokio::new().now()
        }
        fn sleep(&self, duration: Duration) -> Self::Sleep {
            Tokio::new().sleep(duration)
        }
    }

    impl Runtime for CountingBlocking {
        type Signals = <Tokio as Runtime>::Signals;
        fn signals(&self, set: SignalSet) -> Result<Self::Signals, BoxError> {
            Tokio::new().signals(set)
        }
        fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
            Tokio::new().spawn(task);
        }
        fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
            self.blocking.fetch_add(1, Ordering::SeqCst);
            Tokio::new().spawn_blocking(work);
        }
    }

    /// The shutdown's own path (a signal that reaches the hooks) takes no thread for the
    /// demo's hook: with a sync hook `spawn_blocking` would start one at the worst moment.
    #[tokio::test]
    async fn the_flush_hook_runs_without_a_blocking_thread() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        shutdown.hooks().register(flush()).unwrap();
        shutdown.trigger().shutdown();
        let runtime = CountingBlocking::default();
        let report = shutdown.run(runtime.clone(), ScriptedSignals::new()).await;
        let hooks: Vec<_> = report
            .hooks()
            .iter()
            .map(|hook| hook.outcome().clone())
            .collect();
        assert_eq!(hooks, [HookOutcome::Ok]);
        assert_eq!(runtime.blocking.load(Ordering::SeqCst), 0);
    }
}
