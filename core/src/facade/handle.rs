//! [`Handle`]: observes the shutdown, counts connections and subscribes to reloads.

use crate::{
    facade::connection::{Connection, Events},
    facade::reached::{Reached, Stopped},
    facade::reload::Reloads,
    facade::shared::Shared,
    pure::config::Config,
    pure::machine::Summary,
    pure::phase::Phase,
    pure::sync::Arc,
    pure::tracker::Snapshot,
};

/// The read side: phase, readiness, counts, and futures for phase changes. Cheap to clone.
///
/// ```
/// use lameduck::{Config, Phase, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let handle = shutdown.handle();
/// let conn = handle.connection().unwrap();
/// assert_eq!(handle.snapshot().open, 1);
/// # drop(conn);
/// ```
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The current phase.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(shutdown.handle().phase(), lameduck::Phase::Running);
    /// ```
    pub fn phase(&self) -> Phase {
        self.shared.phase()
    }

    /// Whether to report ready to a load balancer: only while running.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(shutdown.handle().is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.phase().is_ready()
    }

    /// Whether connections should now tell their peers to leave
    /// ([`Config::goodbye`](crate::Config::goodbye)): HTTP/1.1 responses carry
    /// `connection: close`, HTTP/2 connections are sent GOAWAY. One relaxed atomic load.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(!shutdown.handle().says_goodbye());
    /// ```
    pub fn says_goodbye(&self) -> bool {
        self.shared.says_goodbye()
    }

    /// Phase and connection counts, read now.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let snapshot = shutdown.handle().snapshot();
    /// assert_eq!((snapshot.open, snapshot.anomalies), (0, 0));
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        self.shared.tracker.snapshot(self.phase())
    }

    /// The configuration the shutdown runs with.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(*shutdown.handle().config(), lameduck::Config::new());
    /// ```
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Counts a new connection; `None` once the drain has completed (the connection should
    /// then be closed unserved).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().expect("still running");
    /// # drop(conn);
    /// ```
    pub fn connection(&self) -> Option<Connection> {
        Connection::new(self.shared.clone())
    }

    /// A connection reported through events ([`ConnEvent`](crate::events::ConnEvent)), as servers
    /// with a connection-state hook do.
    ///
    /// ```
    /// use lameduck::events::ConnEvent;
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let mut conn = shutdown.handle().events();
    /// conn.event(ConnEvent::New);
    /// conn.event(ConnEvent::Closed);
    /// ```
    pub fn events(&self) -> Events {
        Events::new(self.shared.clone())
    }

    /// Completes once `phase` (or a later one) is reached.
    ///
    /// ```
    /// use lameduck::{Config, Phase, Shutdown};
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// let reached = shutdown.handle().reached(Phase::Running);
    /// futures::executor::block_on(reached);
    /// ```
    pub fn reached(&self, phase: Phase) -> Reached {
        Reached::new(self.shared.clone(), phase)
    }

    /// Completes when draining starts: stop accepting, close idle connections.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let _draining = shutdown.handle().draining();
    /// ```
    pub fn draining(&self) -> Reached {
        self.reached(Phase::Draining)
    }

    /// Whether this process handed its listeners to a successor
    /// ([`Trigger::handover`](crate::Trigger::handover)): see
    /// [`Connection::handed_over`](crate::Connection::handed_over).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(!shutdown.handle().handed_over());
    /// ```
    pub fn handed_over(&self) -> bool {
        self.shared.handed_over()
    }

    /// Completes when the shutdown has stopped, with its summary; every caller gets the same.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let _stopped = shutdown.handle().stopped();
    /// ```
    pub fn stopped(&self) -> Stopped {
        Stopped {
            reached: self.reached(Phase::Stopped),
        }
    }

    /// The summary, once stopped.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(shutdown.handle().summary().is_none());
    /// ```
    pub fn summary(&self) -> Option<Summary> {
        self.shared.summary.get().copied()
    }

    /// The reload requests from now on: each signal of the config's reload set
    /// ([`Config::reload`](crate::Config::reload), default `SIGHUP`) that the driver
    /// takes after this call, as a stream of that signal. It ends once the shutdown has
    /// stopped. A reload signal never shuts down; with no subscriber it is dropped.
    ///
    /// The subscription starts here, not at the first poll: subscribe before running the
    /// shutdown (a spawned task may first run after the driver took a signal).
    ///
    /// Reloads that arrive between two polls are merged into one (the last signal), as
    /// POSIX merges pending signals: a subscriber reloads at least once after each request.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use lameduck::{test_util::{ManualClock, ScriptedSignals}, Config, Shutdown, Signal};
    /// let clock = ManualClock::new();
    /// let signals = ScriptedSignals::new();
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// let mut reloads = shutdown.handle().reloads();
    /// signals.send(Signal::HUP);
    /// signals.send(Signal::TERM);
    /// let report = clock.block_on(shutdown.run(clock.clone(), signals));
    /// assert_eq!(report.exit_code(), 0);
    /// let seen: Vec<Signal> = futures::executor::block_on(reloads.collect());
    /// assert_eq!(seen, [Signal::HUP]);
    /// ```
    pub fn reloads(&self) -> Reloads {
        Reloads::new(self.shared.clone())
    }
}

/// The handle of the shutdown a connection is counted by.
///
/// ```
/// use lameduck::{Config, Handle, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let conn = shutdown.handle().connection().unwrap();
/// assert!(Handle::from(&conn).is_ready());
/// ```
impl From<&Connection> for Handle {
    fn from(connection: &Connection) -> Handle {
        Handle {
            shared: connection.shared().clone(),
        }
    }
}
