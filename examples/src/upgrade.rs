//! The contract's in-place upgrade (`SIGUSR2`) and socket activation (`LISTEN_FDS`), on
//! `lameduck::upgrade`: the listener is inherited when there is one, bound otherwise; on
//! `SIGUSR2` the demo starts its successor with the listener and, once the successor
//! serves, shuts down without the lame-duck period.

use crate::{cli::Options, demo::bind_or_exit, output};
use lameduck::{runtime::Runtime, upgrade::Inherited, Handle, Trigger};
use std::net::TcpListener;

/// `SIGUSR2`'s number on this system (12 on Linux, 31 on macOS and the BSDs).
#[cfg(unix)]
const USR2: lameduck::Signal = lameduck::Signal::new(signal_hook::consts::SIGUSR2 as u8);

/// The listener the contract asks for: the inherited one (socket activation, or a
/// predecessor's in an upgrade) if `LISTEN_FDS` passed one to this process, else a new one
/// bound on `--addr` (exit 1 if that fails). Call it before the runtime starts threads that
/// read the environment: it removes the `LISTEN_*` variables.
///
/// ```
/// use lameduck_examples::{cli::Options, upgrade::listener_or_exit};
/// let options = Options { addr: "127.0.0.1:0".parse().unwrap(), ..Options::default() };
/// let listener = listener_or_exit(&options);
/// assert_ne!(listener.local_addr().unwrap().port(), 0);
/// ```
pub fn listener_or_exit(options: &Options) -> TcpListener {
    match Inherited::from_env() {
        Ok(mut inherited) => match inherited.take_tcp() {
            Some(listener) => listener,
            None => bind_or_exit(options),
        },
        Err(error) => {
            eprintln!("error: cannot take the inherited sockets: {error}");
            std::process::exit(1);
        }
    }
}

/// Upgrades in place on each `SIGUSR2` (unix; elsewhere nothing): the successor is this
/// executable with these arguments, inheriting `listener`; the outcome is printed as
/// `upgrade: handed over to pid <N>` (then the shutdown starts, without lame duck) or
/// `upgrade: failed: <reason>` (and serving goes on). A `SIGUSR2` during an upgrade fails
/// with `already upgrading`. Call it before serving, with the listener still in hand.
///
/// ```no_run
/// # async fn f() {
/// use lameduck_examples::{cli::Options, upgrade};
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let listener = upgrade::listener_or_exit(&Options::default());
/// let runtime = lameduck_tokio::Tokio::new();
/// upgrade::on_usr2(&runtime, &listener, &shutdown.handle(), shutdown.trigger());
/// # }
/// ```
pub fn on_usr2<R: Runtime>(runtime: &R, listener: &TcpListener, handle: &Handle, trigger: Trigger) {
    #[cfg(unix)]
    {
        use futures_util::StreamExt;
        use lameduck::{upgrade::Upgrader, SignalSet};

        let upgrader = match Upgrader::new().listener("http", listener) {
            Ok(upgrader) => upgrader.handle(handle),
            Err(error) => {
                output::line(format_args!("upgrade: unavailable: {error}"));
                return;
            }
        };
        let mut requests = match runtime.signals(SignalSet::EMPTY.with(USR2)) {
            Ok(requests) => requests,
            Err(error) => {
                output::line(format_args!("upgrade: unavailable: {error}"));
                return;
            }
        };
        let spawner = runtime.clone();
        runtime.spawn(async move {
            while requests.next().await.is_some() {
                // Claimed now: a SIGUSR2 while this one waits fails with "already upgrading".
                let upgrading = upgrader.upgrade();
                let trigger = trigger.clone();
                spawner.spawn(async move {
                    match upgrading.await {
                        Ok(handover) => {
                            output::line(format_args!(
                                "upgrade: handed over to pid {}",
                                handover.pid()
                            ));
                            trigger.handover();
                        }
                        Err(error) => output::line(format_args!("upgrade: failed: {error}")),
                    }
                });
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (runtime, listener, handle, trigger);
}

/// Tells the predecessor, if this demo is a successor, that it serves now (a no-op
/// otherwise). Under systemd, `READY=1` with `MAINPID=` goes first.
///
/// ```
/// lameduck_examples::upgrade::serving();
/// ```
pub fn serving() {
    if let Err(error) = lameduck::upgrade::ready() {
        output::line(format_args!(
            "upgrade: cannot tell the predecessor: {error}"
        ));
    }
}
