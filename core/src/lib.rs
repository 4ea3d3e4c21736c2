#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

// The layers, one folder each, each importing only the layers below it: `pure` (no
// allocation without `alloc`: builds for bare metal), `facade` (`alloc`: the shared state a
// server holds), `os` (`std`: sockets, upgrades, systemd), `testkit` (`test-util`). Paths
// inside the crate name the layer they reach (`crate::pure::machine::Machine`).
mod pure;

#[cfg(feature = "alloc")]
mod facade;
#[cfg(feature = "metrics")]
pub use facade::metrics;

#[cfg(feature = "std")]
mod os;
#[cfg(feature = "systemd")]
pub use os::systemd;
#[cfg(feature = "std")]
pub use os::{accept, upgrade};

#[cfg(feature = "test-util")]
mod testkit;
#[cfg(feature = "test-util")]
pub use testkit::{conformance, test_util};

// The crate root: what a server author uses. Bare metal and runtime authors have their modules
// below; the futures the handles return, the hooks' outcomes and the connection-state events
// have theirs.
pub use pure::config::{Config, ConfigError, Goodbye};
pub use pure::phase::{Phase, Reason};
pub use pure::signal::{Signal, SignalSet};
pub use pure::tracker::Snapshot;

#[cfg(feature = "alloc")]
pub use facade::connection::{Connection, InFlight};
#[cfg(feature = "alloc")]
pub use facade::handle::Handle;
#[cfg(feature = "alloc")]
pub use facade::hooks::Hook;
#[cfg(feature = "alloc")]
pub use facade::registry::HookRegistry;
#[cfg(feature = "alloc")]
pub use facade::report::Report;
#[cfg(feature = "alloc")]
pub use facade::shutdown::{Shutdown, Trigger};

pub mod machine {
    //! For bare metal: the phase machine and the connection tracker, with neither `std` nor
    //! `alloc`. A server on an async runtime uses [`Shutdown`](crate::Shutdown) instead, which
    //! drives them.
    //!
    //! ```
    //! use core::time::Duration;
    //! use lameduck::{machine::{Action, Machine, Tracker}, Config, Phase, Reason};
    //! static TRACKER: Tracker = Tracker::new();
    //! let mut machine = Machine::new(Config::new()).unwrap();
    //! machine.request(Reason::Requested, Duration::ZERO);
    //! assert_eq!(machine.poll_action(), Some(Action::Enter(Phase::LameDuck)));
    //! assert_eq!(machine.poll_action(), Some(Action::Enter(Phase::Draining)));
    //! assert_eq!(machine.poll_action(), Some(Action::StopAccepting));
    //! assert!(TRACKER.start_drain()); // nothing open: drained at once
    //! machine.drained(Duration::ZERO);
    //! ```

    pub use crate::pure::config::Escalation;
    pub use crate::pure::machine::{Action, HookResult, Machine, Summary};
    #[cfg(feature = "alloc")]
    pub use crate::pure::tracker::Drained;
    pub use crate::pure::tracker::{Guard, Tracker};
}

pub mod runtime {
    //! For runtime authors: what a runtime adapter implements — time and signals
    //! ([`Timer`], [`SignalSource`], [`Runtime`]) and sockets ([`Network`], [`Listener`],
    //! [`IntoListeners`], [`Socket`]). The conformance suite (feature `test-util`) checks an
    //! implementation. A signal source unblocks the signals it handles with
    //! [`unblock_signals`].

    #[cfg(feature = "alloc")]
    pub use crate::facade::runtime::{BoxError, Runtime};
    #[cfg(feature = "std")]
    pub use crate::os::net::{IntoListeners, Listener, Network, Socket};
    #[cfg(feature = "std")]
    pub use crate::os::signals::unblock_signals;
    pub use crate::pure::traits::{SignalSource, Timer};
}

#[cfg(feature = "alloc")]
pub mod future {
    //! The futures and streams the handles return: a phase reached ([`Reached`]), the
    //! shutdown stopped ([`Stopped`]), a connection idle ([`Idle`]), reload requests
    //! ([`Reloads`]).

    pub use crate::facade::connection::Idle;
    pub use crate::facade::reached::{Reached, Stopped};
    pub use crate::facade::reload::Reloads;
}

#[cfg(feature = "alloc")]
pub mod hook {
    //! What became of the hooks: each one's [`HookReport`] and [`HookOutcome`] in the
    //! [`Report`](crate::Report), and why one could not be registered ([`RegisterError`]).

    pub use crate::facade::hooks::RegisterError;
    pub use crate::facade::report::{HookOutcome, HookReport};
}

#[cfg(feature = "alloc")]
pub mod events {
    //! Connections reported as state changes (Go's `ConnState`), for servers that see
    //! events rather than own a [`Connection`](crate::Connection) per socket; and counts
    //! with no `Connection` at all, for servers that show only their requests (a tower
    //! layer: [`OwnedGuard`] per request, a [`Hold`] while the server closes its own).

    pub use crate::facade::connection::{ConnEvent, Events};
    pub use crate::facade::owned::{Hold, OwnedGuard};
}
