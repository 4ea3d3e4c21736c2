//! [`Shutdown`] (the builder the driver consumes) and [`Trigger`] (asks for shutdown).

use crate::{
    facade::driver,
    facade::handle::Handle,
    facade::registry::HookRegistry,
    facade::report::Report,
    facade::runtime::Runtime,
    facade::shared::{Shared, REQUEST_FAILED, REQUEST_FORCE, REQUEST_SHUTDOWN},
    pure::config::{Config, ConfigError},
    pure::sync::Arc,
    pure::traits::SignalSource,
};
use alloc::string::ToString;
use core::fmt;

/// A shutdown to be run: make it, hand out its [`Handle`], [`Trigger`] and
/// [`HookRegistry`], then await [`Shutdown::run`](crate::Shutdown::run) with a timer and a
/// signal source.
///
/// ```
/// use lameduck::{Config, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let handle = shutdown.handle();
/// assert!(handle.is_ready());
/// ```
#[derive(Debug)]
pub struct Shutdown {
    pub(crate) shared: Arc<Shared>,
}

impl Shutdown {
    /// Runs the shutdown to its end on `runtime`, taking signals from `signals` (made by
    /// [`Runtime::signals`] before the server said it listens, so that no signal is lost),
    /// and returns the report. Sync hooks run on [`Runtime::spawn_blocking`].
    ///
    /// Serving goes on meanwhile; this waits for the first shutdown signal in the config's
    /// set (or a [`Trigger`](crate::Trigger) request), then walks the phases: lame duck,
    /// draining (until the last connection closes, the drain deadline passes, or a second
    /// signal forces), the hooks in order (each bounded by its timeout), stopped. A third
    /// signal ends it at once. The caller turns [`Report::exit_code`] into the process's.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropping the future abandons the shutdown where it stands (the
    /// phase stays where it was, hooks not yet run never run, a running hook is dropped).
    /// Await it to its end, typically as the last thing `main` does.
    ///
    /// ```
    /// use lameduck::{test_util::{ManualClock, ScriptedSignals}, Config, Hook, Shutdown, Signal};
    /// let clock = ManualClock::new();
    /// let signals = ScriptedSignals::new();
    /// signals.send(Signal::TERM);
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// shutdown.hooks().register(Hook::new_async("bye", || async { Ok::<(), &str>(()) })).unwrap();
    /// let report = clock.block_on(shutdown.run(clock.clone(), signals));
    /// assert_eq!(report.exit_code(), 0);
    /// assert_eq!(report.to_string(), "shutdown: drained=true connections_left=0 elapsed_ms=0 reason=SIGTERM");
    /// ```
    pub async fn run<R: Runtime, S: SignalSource>(self, runtime: R, signals: S) -> Report {
        driver::run(self.shared, runtime, signals).await
    }

    /// A shutdown in [`Phase::Running`](crate::Phase::Running), with no hooks yet.
    ///
    /// # Errors
    ///
    /// The configuration's [`Config::validate`] error.
    ///
    /// ```
    /// use lameduck::{Config, Shutdown};
    /// assert!(Shutdown::new(Config::new().hook_timeout(core::time::Duration::ZERO)).is_err());
    /// ```
    pub fn new(config: Config) -> Result<Shutdown, ConfigError> {
        let config = config.validate()?;
        Ok(Shutdown {
            shared: Arc::new(Shared::new(config)),
        })
    }

    /// The observer side, for accept loops, connections and readiness endpoints.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(shutdown.handle().phase(), lameduck::Phase::Running);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// The trigger side, to ask for shutdown from the program.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().shutdown();
    /// ```
    pub fn trigger(&self) -> Trigger {
        Trigger {
            shared: self.shared.clone(),
        }
    }

    /// The hook registry; hooks may be added until the shutdown stops.
    ///
    /// ```
    /// use lameduck::{Hook, Shutdown, Config};
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// shutdown.hooks().register(Hook::new("flush", || Ok::<(), &str>(()))).unwrap();
    /// ```
    pub fn hooks(&self) -> HookRegistry {
        HookRegistry {
            shared: self.shared.clone(),
        }
    }
}

/// Asks for a shutdown from the program. Cheap to clone; every method is idempotent.
///
/// ```
/// use lameduck::{Config, Phase, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let trigger = shutdown.trigger();
/// trigger.shutdown();
/// trigger.shutdown(); // no escalation: programmatic requests are idempotent
/// ```
#[derive(Clone, Debug)]
pub struct Trigger {
    shared: Arc<Shared>,
}

impl Trigger {
    /// Starts the shutdown, with [`Reason::Requested`](crate::Reason::Requested).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().shutdown();
    /// ```
    pub fn shutdown(&self) {
        self.shared.request(REQUEST_SHUTDOWN);
    }

    /// Starts the shutdown because a successor now serves from the same listening sockets
    /// (an in-place upgrade), with [`Reason::Upgrade`](crate::Reason::Upgrade): as
    /// [`shutdown`](Self::shutdown), without the lame-duck period.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().handover();
    /// ```
    pub fn handover(&self) {
        self.shared.hand_over();
    }

    /// Stops waiting for connections: cuts those left and goes to the hooks (starting the
    /// shutdown first if needed).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().force();
    /// ```
    pub fn force(&self) {
        self.shared.request(REQUEST_FORCE);
    }

    /// Starts the shutdown because serving failed for good, with
    /// [`Reason::Failed`](crate::Reason::Failed); the report carries `detail`. Only the
    /// first failure's detail is kept.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().fail("accept: too many open files");
    /// ```
    pub fn fail(&self, detail: impl fmt::Display) {
        self.shared
            .failure
            .lock()
            .get_or_insert_with(|| detail.to_string());
        self.shared.request(REQUEST_FAILED);
    }
}
