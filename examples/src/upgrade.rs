//! The contract's in-place upgrade (`SIGUSR2`) and socket activation (`LISTEN_FDS`): the
//! options only; `lameduck::upgrade::Upgrader` does the rest (inherit or bind, the hand-off,
//! the readiness, which `lameduck_hyper::serve` says).

use crate::{cli::Options, output};
use lameduck::{runtime::Runtime, upgrade::Upgrader, Shutdown};
use std::net::TcpListener;

/// The listener the contract asks for, inherited (socket activation, or a predecessor's in an
/// upgrade) or bound on `--addr`, and registered for the next upgrade; an error is a line on
/// stderr and exit 1. Call it before the runtime starts threads that read the environment.
///
/// ```
/// use lameduck_examples::{cli::Options, upgrade::listener_or_exit};
/// let options = Options { addr: "127.0.0.1:0".parse().unwrap(), ..Options::default() };
/// let (_upgrader, listener) = listener_or_exit(&options);
/// assert_ne!(listener.local_addr().unwrap().port(), 0);
/// ```
pub fn listener_or_exit(options: &Options) -> (Upgrader, TcpListener) {
    let exit = |error: std::io::Error| -> ! {
        eprintln!("error: cannot listen on {}: {error}", options.addr);
        std::process::exit(1)
    };
    let upgrader = Upgrader::from_env().unwrap_or_else(|error| exit(error));
    let listener = upgrader
        .listen("http", || lameduck_hyper::bind(options.addr))
        .unwrap_or_else(|error| exit(error));
    (upgrader, listener)
}

/// Upgrades in place on each `SIGUSR2` (unix; elsewhere nothing), printing
/// `upgrade: handed over to pid <N>` (the shutdown then starts, without lame duck) or
/// `upgrade: failed: <reason>` (serving goes on).
///
/// ```no_run
/// use lameduck_examples::{cli::Options, upgrade};
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let (upgrader, _listener) = upgrade::listener_or_exit(&Options::default());
/// upgrade::on_usr2(upgrader, &lameduck_smol::Smol::new(), &shutdown);
/// ```
pub fn on_usr2<R: Runtime>(upgrader: Upgrader, runtime: &R, shutdown: &Shutdown) {
    #[cfg(unix)]
    {
        let usr2 = lameduck::Signal::new(signal_hook::consts::SIGUSR2 as u8);
        let upgrades =
            upgrader
                .shutdown(shutdown)
                .on_signal(runtime, usr2, |outcome| match outcome {
                    Ok(handover) => output::line(format_args!(
                        "upgrade: handed over to pid {}",
                        handover.pid()
                    )),
                    Err(error) => output::line(format_args!("upgrade: failed: {error}")),
                });
        if let Err(error) = upgrades {
            output::line(format_args!("upgrade: unavailable: {error}"));
        }
    }
    #[cfg(not(unix))]
    let _ = (upgrader, runtime, shutdown, output::line::<&str>);
}
