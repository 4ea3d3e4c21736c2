//! systemd's service notifications (feature `systemd`): `sd_notify(3)` messages on the
//! socket named by `NOTIFY_SOCKET`.
//!
//! | when | message |
//! | --- | --- |
//! | [`ready`], once serving | `READY=1`, `MAINPID=<pid>`, `STATUS=running` |
//! | [`reloading`]: a reload or an upgrade starts | `RELOADING=1`, `MONOTONIC_USEC=<now>`, `STATUS=reloading` |
//! | [`reloaded`]: the reload is done, the upgrade failed | `READY=1`, `STATUS=running` |
//! | the shutdown starts (lame duck) | `STOPPING=1`, `STATUS=lame-duck: …`, `EXTEND_TIMEOUT_USEC=…` |
//! | draining starts | `STATUS=draining: N connection(s) left`, `EXTEND_TIMEOUT_USEC=…` |
//! | while draining, once a second ([`heartbeat`]) | `STATUS=draining: N connection(s) left, M ms to the deadline`, `EXTEND_TIMEOUT_USEC=…` |
//! | the hooks start | `STATUS=hooks: N to run`, `EXTEND_TIMEOUT_USEC=…` |
//! | during the lame duck and the hooks, every 30 minutes ([`heartbeat`]) | `EXTEND_TIMEOUT_USEC=…`: what is left, past the 71.6 min one message carries |
//! | stopped | `STATUS=stopped: drained=… connections_left=… exit_code=…` |
//! | every half `WATCHDOG_USEC`, when set ([`heartbeat`]) | `WATCHDOG=1` |
//!
//! `EXTEND_TIMEOUT_USEC` is the most the rest of the shutdown may take under the
//! configuration (lame duck, drain deadline, each hook's timeout) plus one second for the
//! process to exit, so systemd's stop timeout follows the configured deadlines instead of
//! killing a drain it was told about.
//!
//! The phase messages are sent by the driver itself, once [`ready`] or [`heartbeat`] was first
//! called in the process (that call subscribes them); [`ready`] is called by the server once
//! it listens (or by an upgrade's successor, which then becomes systemd's main process:
//! the unit needs `NotifyAccess=all` for that); [`heartbeat`] runs beside the server.
//!
//! A process that handed over to an upgrade's successor
//! ([`Trigger::handover`](crate::Trigger::handover)) says nothing about its own shutdown:
//! systemd's main process is the successor by then, and a `STOPPING=1` from the
//! predecessor would read as the service's.
//!
//! Nothing happens without `NOTIFY_SOCKET`, and nothing at all off Unix. Sending never
//! blocks: a datagram systemd has no room for is dropped, as a log line would be.
//!
//! Formats come from the [`sd-notify`](https://docs.rs/sd-notify) crate; the sending is
//! done here because `sd_notify::notify` sends on a blocking socket, which waits when
//! systemd's queue is full (a stuck service manager would then stall the shutdown).

#[cfg(unix)]
mod store;
#[cfg(unix)]
pub(crate) use store::store;

use crate::{facade::handle::Handle, pure::phase::Phase, pure::traits::Timer};
#[cfg(unix)]
use crate::{facade::shared::Shared, pure::machine::Summary};
#[cfg(unix)]
use core::time::Duration;

/// Tells systemd the server serves: `READY=1` with `MAINPID=<this process>` and
/// `STATUS=running`. Call it once listening (the listener bound, or taken over from a
/// predecessor or from socket activation): an in-place upgrade's successor calls it before
/// its predecessor stops. Does nothing without `NOTIFY_SOCKET`.
///
/// ```
/// lameduck::systemd::ready();
/// ```
pub fn ready() {
    crate::facade::observe::watch_phases(phase);
    #[cfg(unix)]
    {
        use sd_notify::NotifyState;
        let ready = [
            NotifyState::Ready,
            NotifyState::MainPid(std::process::id()),
            NotifyState::Status("running"),
            // The watchdog is this process's from now on (an upgrade's successor takes it
            // over here, its predecessor's pings stop): the first ping goes with READY.
            NotifyState::Watchdog,
        ];
        let keeps_watchdog = sd_notify::watchdog_enabled().is_some();
        unix::send(&ready[..if keeps_watchdog { 4 } else { 3 }]);
    }
}

/// Tells systemd a reload began, for `Type=notify-reload` units: `RELOADING=1` with
/// `MONOTONIC_USEC=<CLOCK_MONOTONIC in µs>` and `STATUS=reloading`; say [`reloaded`] when it
/// is done. An upgrade of either kind says it when it starts, and a failed one says
/// [`reloaded`]; a successful one ends with the successor's [`ready`] (with its
/// `MAINPID=`). Does nothing without `NOTIFY_SOCKET`.
///
/// ```
/// lameduck::systemd::reloading();
/// // ... re-read the configuration, then:
/// lameduck::systemd::reloaded();
/// ```
pub fn reloading() {
    #[cfg(unix)]
    if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
        unix::send(&[
            sd_notify::NotifyState::Reloading,
            now,
            sd_notify::NotifyState::Status("reloading"),
        ]);
    }
}

/// Tells systemd a reload ([`reloading`]) is done and this process serves on: `READY=1`,
/// `STATUS=running`. Does nothing without `NOTIFY_SOCKET`.
///
/// ```
/// lameduck::systemd::reloaded();
/// ```
pub fn reloaded() {
    #[cfg(unix)]
    unix::send(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("running"),
    ]);
}

/// What runs beside the server under systemd, until the shutdown has stopped: `WATCHDOG=1`
/// every half `WATCHDOG_USEC` (when systemd set it for this process), and while draining,
/// once a second, the drain progress as `STATUS=` with a fresh `EXTEND_TIMEOUT_USEC=`.
/// Completes at once without `NOTIFY_SOCKET` (or off Unix).
///
/// The watchdog is kept on the server's executor, through its [`Timer`], so a stalled
/// executor stops the pings and systemd notices.
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only stops the pings and progress messages.
///
/// ```
/// use lameduck::{test_util::ManualClock, Config, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let clock = ManualClock::new();
/// # std::env::remove_var("NOTIFY_SOCKET");
/// clock.block_on(lameduck::systemd::heartbeat(shutdown.handle(), clock.clone())); // no NOTIFY_SOCKET: done
/// ```
pub async fn heartbeat<T: Timer>(handle: Handle, timer: T) {
    crate::facade::observe::watch_phases(phase);
    #[cfg(unix)]
    unix::heartbeat(handle, timer).await;
    #[cfg(not(unix))]
    let _ = (handle, timer);
}

/// The driver entered `phase` (subscribed by [`ready`] and [`heartbeat`]).
#[cfg(unix)]
fn phase(shared: &Shared, phase: Phase, summary: &Summary) {
    unix::phase(shared, phase, summary);
}

#[cfg(not(unix))]
fn phase(_: &crate::facade::shared::Shared, _: Phase, _: &crate::pure::machine::Summary) {}

#[cfg(unix)]
mod unix {
    use super::*;
    use crate::pure::phase::Reason;
    use alloc::{format, string::String};
    use core::fmt::Write;
    use core::sync::atomic::{AtomicBool, Ordering};
    use futures_util::future::{select, Either};
    use sd_notify::NotifyState;
    use std::{ffi::OsStr, io, os::unix::net::UnixDatagram};

    /// Added to every `EXTEND_TIMEOUT_USEC`: the time to exit once stopped.
    const EXIT_SLACK: Duration = Duration::from_secs(1);
    /// The shortest period between watchdog pings.
    const WATCHDOG_MIN_PERIOD: Duration = Duration::from_millis(10);
    /// How often [`heartbeat`] reports the drain progress.
    const PROGRESS_EVERY: Duration = Duration::from_secs(1);
    /// How often [`heartbeat`] sends `EXTEND_TIMEOUT_USEC` again during the lame duck and
    /// the hooks: well within the most one message can carry (`u32::MAX` µs, 71.6 min), so
    /// that a longer lame duck or hook still has systemd's stop timeout extended to its end.
    const EXTEND_EVERY: Duration = Duration::from_secs(30 * 60);

    pub(super) fn enabled() -> bool {
        std::env::var_os("NOTIFY_SOCKET").is_some()
    }

    /// Sends `states` as one datagram, if `NOTIFY_SOCKET` is set; never blocks, never fails
    /// (an error is dropped: notifications are advice to the service manager).
    pub(super) fn send(states: &[NotifyState<'_>]) {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return;
        };
        let mut message = String::new();
        for state in states {
            let _ = writeln!(message, "{state}");
        }
        let _ = send_to(&path, message.as_bytes());
    }

    fn send_to(path: &OsStr, message: &[u8]) -> io::Result<()> {
        connected(path)?.send(message).map(drop)
    }

    /// A non-blocking datagram socket connected to the notify socket at `path`.
    pub(super) fn connected(path: &OsStr) -> io::Result<UnixDatagram> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::unix::ffi::OsStrExt;
            // `@name` is a socket in Linux's abstract namespace, as sd_notify(3) reads it.
            if let Some(name) = path.as_bytes().strip_prefix(b"@") {
                #[cfg(target_os = "android")]
                use std::os::android::net::SocketAddrExt;
                #[cfg(target_os = "linux")]
                use std::os::linux::net::SocketAddrExt;
                let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.connect_addr(&address)?;
                return Ok(socket);
            }
        }
        socket.connect(path)?;
        Ok(socket)
    }

    /// Microseconds for `EXTEND_TIMEOUT_USEC`, saturating at what the message carries.
    fn usec(duration: Duration) -> u32 {
        u32::try_from(duration.saturating_add(EXIT_SLACK).as_micros()).unwrap_or(u32::MAX)
    }

    /// The most the hooks still to run may take, and how many there are.
    fn hooks_left(shared: &Shared) -> (usize, Duration) {
        let default = shared.config.hook_timeout;
        shared.hooks.lock().time_left(default)
    }

    /// Process-wide, as the notify socket is; a plain flag, outside the loom models.
    /// Set once this process handed over to an upgrade's successor: systemd's main process
    /// is the successor then, and this one's stopping is not the service's (a `STOPPING=1`
    /// or `STATUS=` from it would be taken as the service's own), so it says nothing more.
    static HANDED_OVER: AtomicBool = AtomicBool::new(false);

    fn handed_over() -> bool {
        // Relaxed: a flag about messages to send, ordered with nothing else.
        HANDED_OVER.load(Ordering::Relaxed)
    }

    pub(super) fn phase(shared: &Shared, phase: Phase, summary: &Summary) {
        if summary.reason() == Some(Reason::Upgrade) {
            HANDED_OVER.store(true, Ordering::Relaxed);
        }
        if !enabled() || handed_over() {
            return;
        }
        let config = &shared.config;
        let (hooks, hook_time) = hooks_left(shared);
        let open = shared.tracker.open();
        match phase {
            Phase::Running => {}
            Phase::LameDuck => {
                let left = config
                    .lame_duck
                    .saturating_add(config.drain_timeout)
                    .saturating_add(hook_time);
                let status = format!("lame-duck: {open} connection(s) open");
                send(&[
                    NotifyState::Stopping,
                    NotifyState::Status(&status),
                    NotifyState::ExtendTimeoutUsec(usec(left)),
                ]);
            }
            Phase::Draining => {
                let left = config.drain_timeout.saturating_add(hook_time);
                let status = format!("draining: {open} connection(s) left");
                send(&[
                    NotifyState::Status(&status),
                    NotifyState::ExtendTimeoutUsec(usec(left)),
                ]);
            }
            Phase::Hooks => {
                let status = format!("hooks: {hooks} to run");
                send(&[
                    NotifyState::Status(&status),
                    NotifyState::ExtendTimeoutUsec(usec(hook_time)),
                ]);
            }
            Phase::Stopped => {
                let status = format!(
                    "stopped: drained={} connections_left={} exit_code={}",
                    summary.drained(),
                    summary.connections_left(),
                    summary.exit_code()
                );
                send(&[NotifyState::Status(&status)]);
            }
        }
    }

    pub(super) async fn heartbeat<T: Timer>(handle: Handle, timer: T) {
        if !enabled() {
            return;
        }
        // Each deadline is absolute, so phase changes never delay a ping.
        // Clamped: `WATCHDOG_USEC=1` must not make this a busy loop.
        let watchdog =
            sd_notify::watchdog_enabled().map(|every| (every / 2).max(WATCHDOG_MIN_PERIOD));
        let mut next_ping = watchdog.map(|every| timer.now().saturating_add(every));
        let mut drain_deadline = None;
        let mut next_progress = None;
        // The phase last seen, when the shutdown may end at the latest as seen from its
        // start, and when to extend systemd's stop timeout again.
        let mut seen = (Phase::Running, Duration::ZERO);
        let mut next_extend = None;
        loop {
            let phase = handle.phase();
            if phase == Phase::Stopped {
                return;
            }
            if phase != seen.0 {
                let now = timer.now();
                let (_, hook_time) = hooks_left(&handle.shared);
                let config = handle.config();
                let left = match phase {
                    Phase::LameDuck => config
                        .lame_duck
                        .saturating_add(config.drain_timeout)
                        .saturating_add(hook_time),
                    _ => hook_time,
                };
                seen = (phase, now.saturating_add(left));
                next_extend = matches!(phase, Phase::LameDuck | Phase::Hooks)
                    .then(|| now.saturating_add(EXTEND_EVERY));
            }
            if phase == Phase::Draining && drain_deadline.is_none() {
                // Counted from when this task saw the drain start: at most a poll late.
                let now = timer.now();
                drain_deadline = Some(now.saturating_add(handle.config().drain_timeout));
                next_progress = Some(now.saturating_add(PROGRESS_EVERY));
            }
            if phase != Phase::Draining {
                next_progress = None;
            }
            let next_phase = handle.reached(Phase::ALL[phase.index() + 1]);
            let wakes = [next_ping, next_progress, next_extend];
            let Some(wake) = wakes.into_iter().flatten().min() else {
                next_phase.await;
                continue;
            };
            let tick = core::pin::pin!(timer.sleep(wake.saturating_sub(timer.now())));
            if let Either::Right(_) = select(tick, next_phase).await {
                continue;
            }
            let now = timer.now();
            if handed_over() {
                return;
            }
            if let (Some(at), Some(every)) = (next_ping, watchdog) {
                if now >= at {
                    send(&[NotifyState::Watchdog]);
                    next_ping = Some(now.saturating_add(every));
                }
            }
            if let Some(at) = next_extend.filter(|at| now >= *at) {
                if handle.phase() == seen.0 {
                    send(&[NotifyState::ExtendTimeoutUsec(usec(
                        seen.1.saturating_sub(now),
                    ))]);
                }
                next_extend = Some(at.saturating_add(EXTEND_EVERY));
            }
            if let (Some(at), Some(deadline)) = (next_progress, drain_deadline) {
                if now >= at && handle.phase() == Phase::Draining {
                    let (_, hook_time) = hooks_left(&handle.shared);
                    let left = deadline.saturating_sub(now);
                    let status = format!(
                        "draining: {} connection(s) left, {} ms to the deadline",
                        handle.snapshot().open,
                        left.as_millis()
                    );
                    send(&[
                        NotifyState::Status(&status),
                        NotifyState::ExtendTimeoutUsec(usec(left.saturating_add(hook_time))),
                    ]);
                    next_progress = Some(now.saturating_add(PROGRESS_EVERY));
                }
            }
        }
    }
}
