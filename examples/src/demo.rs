//! What every demo does before serving: parse the command line (exit 64 on error), make
//! the shutdown, register the hooks.

use crate::cli::Options;
use lameduck::{Hook, Shutdown};
use lameduck_tokio::TokioSignals;
use std::{io::Write, net::SocketAddr};

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

    /// The shutdown for `options`, with the `flush` hook registered.
    ///
    /// ```
    /// use lameduck_examples::{cli::Options, demo::Demo};
    /// let demo = Demo::with_options(Options::default());
    /// assert_eq!(demo.shutdown.hooks().len(), 1);
    /// ```
    pub fn with_options(options: Options) -> Demo {
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

    /// The tokio demos' start: the signal handlers first, so that a signal sent as soon as
    /// we say "listening" is ours, then the listener (exit 1 if either fails). Call it on
    /// a tokio runtime.
    ///
    /// ```
    /// use lameduck_examples::{cli::Options, demo::Demo};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let options = Options { addr: "127.0.0.1:0".parse().unwrap(), ..Options::default() };
    /// let (_signals, _listener, addr) = Demo::with_options(options).listen_tokio();
    /// assert_ne!(addr.port(), 0);
    /// # });
    /// ```
    pub fn listen_tokio(&self) -> (TokioSignals, tokio::net::TcpListener, SocketAddr) {
        let signals = match TokioSignals::new(self.shutdown.handle().config().shutdown_signals()) {
            Ok(signals) => signals,
            Err(error) => {
                eprintln!("error: cannot listen for signals: {error}");
                std::process::exit(1);
            }
        };
        let listener = bind_or_exit(&self.options);
        let listener =
            tokio::net::TcpListener::from_std(listener).expect("a tokio runtime is running");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        (signals, listener, addr)
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
        crate::output::diag("hook flush running");
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
