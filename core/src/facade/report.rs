//! The driver's final account: the machine's summary plus each hook's name and outcome.

use crate::{
    pure::machine::Summary,
    pure::phase::{Phase, Reason},
};
use alloc::{borrow::Cow, string::String, vec::Vec};
use core::{fmt, time::Duration};

/// How one hook ended.
///
/// ```
/// use lameduck::hook::HookOutcome;
/// assert!(HookOutcome::Ok.is_ok());
/// assert!(!HookOutcome::TimedOut.is_ok());
/// assert_eq!(HookOutcome::Failed("disk full".into()).to_string(), "failed: disk full");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookOutcome {
    /// It succeeded.
    Ok,
    /// It returned an error, shown here.
    Failed(String),
    /// It panicked (caught with `std`); the panic message, if it was a string.
    Panicked(String),
    /// It passed its timeout and was dropped.
    TimedOut,
    /// It was running when a final signal ended the shutdown at once.
    Interrupted,
    /// It never ran: a final signal ended the shutdown first.
    Skipped,
}

impl HookOutcome {
    /// Whether the hook succeeded.
    ///
    /// ```
    /// assert!(lameduck::hook::HookOutcome::Ok.is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        matches!(self, HookOutcome::Ok)
    }
}

impl fmt::Display for HookOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookOutcome::Ok => f.write_str("ok"),
            HookOutcome::Failed(reason) => write!(f, "failed: {reason}"),
            HookOutcome::Panicked(message) => write!(f, "failed: panicked: {message}"),
            HookOutcome::TimedOut => f.write_str("timed out"),
            HookOutcome::Interrupted => f.write_str("interrupted"),
            HookOutcome::Skipped => f.write_str("skipped"),
        }
    }
}

/// One hook's line in the [`Report`]. Its `Display` is the demo contract's
/// `hook <name>: ok | failed: <reason> | timed out`.
///
/// ```
/// use lameduck::{hook::HookOutcome, test_util::ManualClock, Config, Hook, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// shutdown.hooks().register(Hook::new("flush logs", || Err("disk full"))).unwrap();
/// shutdown.trigger().shutdown();
/// let clock = ManualClock::new();
/// let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
///
/// let hook = &report.hooks()[0];
/// assert_eq!(hook.name(), "flush logs");
/// assert_eq!(hook.outcome(), &HookOutcome::Failed("disk full".into()));
/// assert_eq!(hook.to_string(), "hook flush logs: failed: disk full");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookReport {
    pub(crate) name: Cow<'static, str>,
    pub(crate) outcome: HookOutcome,
    pub(crate) elapsed: Duration,
}

impl HookReport {
    /// The hook's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How it ended.
    pub fn outcome(&self) -> &HookOutcome {
        &self.outcome
    }

    /// How long it ran (zero if it never ran).
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl fmt::Display for HookReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hook {}: {}", self.name, self.outcome)
    }
}

/// What a shutdown did: reason, drained or cut, connections left, every hook's outcome,
/// time per phase, and the exit code. Returned by [`Shutdown::run`](crate::Shutdown::run).
///
/// Its `Display` is the demo contract's last line:
/// `shutdown: drained=<bool> connections_left=<n> elapsed_ms=<n> reason=<reason>`.
///
/// ```
/// use lameduck::{test_util::ManualClock, Config, Hook, Phase, Reason, Shutdown, Signal};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// shutdown.hooks().register(Hook::new("flush logs", || Ok::<(), &str>(()))).unwrap();
/// shutdown.hooks().register(Hook::new("close pool", || Err("pool busy"))).unwrap();
/// let clock = ManualClock::new();
/// let signals = futures::stream::iter([Signal::TERM]);
/// let report = clock.block_on(shutdown.run(clock.clone(), signals));
///
/// assert_eq!(report.reason(), Reason::Signal(Signal::TERM));
/// assert!(report.drained());
/// assert_eq!(report.connections_left(), 0);
/// assert_eq!(report.time_in(Phase::LameDuck), Some(Config::new().lame_duck));
/// let failed: Vec<&str> = report.hooks().iter().filter(|h| !h.outcome().is_ok()).map(|h| h.name()).collect();
/// assert_eq!(failed, ["close pool"]);
/// assert_eq!(report.exit_code(), 1); // a hook failed
/// assert!(report.to_string().starts_with("shutdown: drained=true connections_left=0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub(crate) summary: Summary,
    pub(crate) detail: Option<String>,
    pub(crate) hooks: Vec<HookReport>,
}

impl Report {
    /// The machine's summary (counts, phase times, exit code).
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// What started the shutdown.
    pub fn reason(&self) -> Reason {
        self.summary.reason().unwrap_or(Reason::Requested)
    }

    /// The detail given to [`Trigger::fail`](crate::Trigger::fail), if serving failed.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// Whether every connection closed before the deadline, nothing cut.
    pub fn drained(&self) -> bool {
        self.summary.drained()
    }

    /// Connections still open when they were cut.
    pub fn connections_left(&self) -> usize {
        self.summary.connections_left()
    }

    /// Every registered hook, in order, with its outcome.
    pub fn hooks(&self) -> &[HookReport] {
        &self.hooks
    }

    /// How long `phase` lasted.
    pub fn time_in(&self, phase: Phase) -> Option<Duration> {
        self.summary.time_in(phase)
    }

    /// From the start of the shutdown (the first shutdown signal or
    /// [`Trigger`](crate::Trigger) request) to the stop.
    pub fn elapsed(&self) -> Duration {
        self.summary.elapsed().unwrap_or_default()
    }

    /// The process exit code: 0 clean, 1 a hook failed or timed out, 2 connections were
    /// cut, 128+N a final signal N ended it at once.
    pub fn exit_code(&self) -> u8 {
        self.summary.exit_code()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shutdown: drained={} connections_left={} elapsed_ms={} reason=",
            self.drained(),
            self.connections_left(),
            self.elapsed().as_millis(),
        )?;
        match (self.reason(), &self.detail) {
            (Reason::Failed, Some(detail)) => write!(f, "failed: {detail}"),
            (reason, _) => write!(f, "{reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl Report {
    /// Ends the process now with [`exit_code`](Self::exit_code), stdout flushed, instead of
    /// returning the report from `main`.
    ///
    /// Returning from `main` first drops the async runtime, which joins its threads; each
    /// thread, exiting, hands back the memory the closed connections freed. With a thousand
    /// connections just drained that takes milliseconds (measured in `benches/README.md`),
    /// and a task that does not end holds it up. The shutdown is over when the report
    /// exists (the hooks ran): nothing is left for that teardown to do but destructors,
    /// which `exit` skips, as [`std::process::exit`] says.
    ///
    /// ```no_run
    /// # async fn f(server: impl core::future::Future<Output = lameduck::Report>) {
    /// server.await.exit()
    /// # }
    /// ```
    pub fn exit(&self) -> ! {
        std::process::exit(self.exit_code().into())
    }
}

/// `main` can return the report: it prints the summary and each hook's outcome to stderr
/// (one line each, as [`Report::write_to`] writes them) and the process exits with
/// [`Report::exit_code`].
///
/// ```
/// use std::process::Termination;
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// shutdown.trigger().shutdown();
/// let clock = lameduck::test_util::ManualClock::new();
/// let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
/// assert_eq!(report.report(), std::process::ExitCode::SUCCESS);
/// ```
#[cfg(feature = "std")]
impl std::process::Termination for Report {
    fn report(self) -> std::process::ExitCode {
        // The server has stopped serving: a slow stderr delays only the exit.
        let _ = self.write_to(&mut std::io::stderr().lock());
        std::process::ExitCode::from(self.exit_code())
    }
}

#[cfg(feature = "std")]
impl Report {
    /// Writes the summary line ([`Display`](fmt::Display)) and then one line per hook, in
    /// the order they ran (`hook flush: ok`, `hook close pool: timed out after 5000 ms`):
    /// what `main` prints when it returns the report.
    ///
    /// # Errors
    ///
    /// The writer's.
    ///
    /// ```
    /// use lameduck::{test_util::ManualClock, Config, Hook, Shutdown};
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// shutdown.hooks().register(Hook::new("flush", || Ok::<(), &str>(()))).unwrap();
    /// shutdown.trigger().shutdown();
    /// let clock = ManualClock::new();
    /// let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
    /// let mut out = Vec::new();
    /// report.write_to(&mut out).unwrap();
    /// assert_eq!(
    ///     String::from_utf8(out).unwrap(),
    ///     "shutdown: drained=true connections_left=0 elapsed_ms=0 reason=requested\nhook flush: ok\n"
    /// );
    /// ```
    pub fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(out, "{self}")?;
        for hook in &self.hooks {
            writeln!(out, "{hook}")?;
        }
        Ok(())
    }
}
