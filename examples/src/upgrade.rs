//! The contract's in-place upgrade (`SIGUSR2`), socket activation (`LISTEN_FDS`), the
//! hand-off to a successor started separately (`--control`, `--take-over`) and the PID file
//! (`--pid-file`): the options and the lines printed; `lameduck::upgrade::Upgrader` does the
//! rest (inherit, take over or bind, the hand-off, the readiness, which
//! `lameduck_hyper::serve` says).

use crate::{cli::Options, output};
use lameduck::{
    runtime::Runtime,
    upgrade::{Handover, PidFile, UpgradeError, Upgrader},
    Handle, Shutdown, Trigger,
};
use std::{
    net::TcpListener,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex, PoisonError,
    },
};

/// EX_UNAVAILABLE: `--take-over` found nothing to take over, was refused, or was not
/// confirmed.
///
/// ```
/// assert_eq!(lameduck_examples::upgrade::EXIT_UNAVAILABLE, 69);
/// ```
pub const EXIT_UNAVAILABLE: i32 = 69;

/// Set when the server this demo took over from did not confirm the hand-off: the demo
/// then shuts down and exits [`EXIT_UNAVAILABLE`].
static TAKE_OVER_FAILED: AtomicBool = AtomicBool::new(false);

/// A take-over under way (Linux: `--take-over PATH`), to confirm with [`serving`].
#[cfg(target_os = "linux")]
pub type TakeOver = lameduck::upgrade::TakeOver;
/// A take-over under way: none on this system (`--take-over` needs Linux).
#[cfg(not(target_os = "linux"))]
pub type TakeOver = core::convert::Infallible;

/// The upgrader, from where this process's sockets come: `--take-over PATH` (the server
/// there passes its listening sockets; nothing there, or a refusal, prints `error: …` and
/// exits 69), else the environment (socket activation, or a predecessor's upgrade). Call it
/// first, before the runtime starts threads that read the environment.
///
/// ```
/// use lameduck_examples::{cli::Options, upgrade::upgrader_or_exit};
/// let (_upgrader, take_over) = upgrader_or_exit(&Options::default());
/// assert!(take_over.is_none());
/// ```
pub fn upgrader_or_exit(options: &Options) -> (Upgrader, Option<TakeOver>) {
    if let Some(path) = &options.take_over {
        return take_over_or_exit(path);
    }
    match Upgrader::from_env() {
        Ok(upgrader) => (upgrader, None),
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", options.addr);
            std::process::exit(1)
        }
    }
}

#[cfg(target_os = "linux")]
fn take_over_or_exit(path: &Path) -> (Upgrader, Option<TakeOver>) {
    use lameduck::upgrade::TakeOverError;
    match Upgrader::take_over(path) {
        Ok((upgrader, take_over)) => (upgrader, Some(take_over)),
        Err(TakeOverError::Nothing(error)) => {
            eprintln!("error: nothing to take over at {}: {error}", path.display());
            std::process::exit(EXIT_UNAVAILABLE)
        }
        Err(error) => {
            eprintln!("error: cannot take over at {}: {error}", path.display());
            std::process::exit(EXIT_UNAVAILABLE)
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn take_over_or_exit(path: &Path) -> (Upgrader, Option<TakeOver>) {
    eprintln!(
        "error: nothing to take over at {}: --take-over needs Linux",
        path.display()
    );
    std::process::exit(EXIT_UNAVAILABLE)
}

/// The listener the contract asks for: the one taken over or inherited, else one bound on
/// `--addr`; registered for the next upgrade. An error is a line on stderr and exit 1.
///
/// ```
/// use lameduck_examples::{cli::Options, upgrade::{listener_or_exit, upgrader_or_exit}};
/// let options = Options { addr: "127.0.0.1:0".parse().unwrap(), ..Options::default() };
/// let (upgrader, _) = upgrader_or_exit(&options);
/// let listener = listener_or_exit(&upgrader, &options);
/// assert_ne!(listener.local_addr().unwrap().port(), 0);
/// ```
pub fn listener_or_exit(upgrader: &Upgrader, options: &Options) -> TcpListener {
    upgrader
        .listen("http", || lameduck_hyper::bind(options.addr))
        .unwrap_or_else(|error| {
            eprintln!("error: cannot listen on {}: {error}", options.addr);
            std::process::exit(1)
        })
}

/// Prints how an upgrade ended: `upgrade: handed over to pid <N>` (the shutdown then
/// starts, without lame duck) or `upgrade: failed: <reason>` (serving goes on).
fn print_outcome(outcome: Result<Handover, UpgradeError>) {
    match outcome {
        Ok(handover) => output::line(format_args!(
            "upgrade: handed over to pid {}",
            handover.pid()
        )),
        Err(error) => output::line(format_args!("upgrade: failed: {error}")),
    }
}

/// Prints each outcome ([`print_outcome`]), and after a hand-over watches the successor
/// while this process drains: if it dies (right after saying it was ready, say), the
/// service is down, and stderr says so: `upgrade: successor <pid> exited: <status>`.
fn print_and_watch<R: Runtime>(runtime: &R) -> impl FnMut(Result<Handover, UpgradeError>) {
    let runtime = runtime.clone();
    move |outcome| {
        #[cfg(unix)]
        if let Ok(handover) = &outcome {
            runtime.spawn(watch_successor(runtime.clone(), handover.pid()));
        }
        #[cfg(not(unix))]
        let _ = &runtime;
        print_outcome(outcome);
    }
}

/// Checks every 50 ms, until this process exits, whether the successor `pid` is still
/// alive: its exit status when it is this process's child (an in-place upgrade), else
/// (a take-over's separate process) whether it still exists.
#[cfg(unix)]
async fn watch_successor<R: Runtime>(runtime: R, pid: u32) {
    use rustix::process::{test_kill_process, waitpid, Pid, WaitOptions};
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    loop {
        runtime.sleep(core::time::Duration::from_millis(50)).await;
        let status = match waitpid(Some(pid), WaitOptions::NOHANG) {
            Ok(None) => continue,
            Ok(Some((_, status))) => match (status.exit_status(), status.terminating_signal()) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(signal)) => format!("signal {signal}"),
                (None, None) => continue,
            },
            // Not this process's child: alive as long as it can be signalled.
            Err(_) if test_kill_process(pid).is_ok() => continue,
            Err(_) => "gone".to_owned(),
        };
        output::diag(format_args!(
            "upgrade: successor {} exited: {status}",
            pid.as_raw_nonzero()
        ));
        return;
    }
}

/// Upgrades in place on each `SIGUSR2` (unix; elsewhere nothing), printing the outcome.
///
/// ```no_run
/// use lameduck_examples::{cli::Options, upgrade};
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let (upgrader, _) = upgrade::upgrader_or_exit(&Options::default());
/// upgrade::on_usr2(upgrader, &lameduck_smol::Smol::new(), &shutdown);
/// ```
pub fn on_usr2<R: Runtime>(upgrader: Upgrader, runtime: &R, shutdown: &Shutdown) {
    #[cfg(unix)]
    {
        let usr2 = lameduck::Signal::new(signal_hook::consts::SIGUSR2 as u8);
        let upgrades =
            upgrader
                .shutdown(shutdown)
                .on_signal(runtime, usr2, print_and_watch(runtime));
        if let Err(error) = upgrades {
            output::line(format_args!("upgrade: unavailable: {error}"));
        }
    }
    #[cfg(not(unix))]
    let _ = (upgrader, runtime, shutdown, print_outcome);
}

/// Answers hand-off requests at `--control PATH` (Linux), printing each outcome as
/// [`on_usr2`] does. A live server already answering there prints `error: PATH: another
/// server is listening there` and exits 64, before anything is bound; a stale socket file is
/// replaced. A successor (of an upgrade or a take-over) binds the path once its predecessor
/// stopped answering there.
///
/// ```no_run
/// use lameduck_examples::{cli::Options, upgrade};
/// let options = Options { control: Some("/tmp/demo.sock".into()), ..Options::default() };
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let (upgrader, _) = upgrade::upgrader_or_exit(&options);
/// upgrade::control_or_exit(&upgrader, &lameduck_smol::Smol::new(), &shutdown, &options);
/// ```
pub fn control_or_exit<R: Runtime>(
    upgrader: &Upgrader,
    runtime: &R,
    shutdown: &Shutdown,
    options: &Options,
) {
    let Some(path) = &options.control else {
        return;
    };
    #[cfg(target_os = "linux")]
    let answering =
        upgrader
            .clone()
            .shutdown(shutdown)
            .control(runtime, path, print_and_watch(runtime));
    #[cfg(not(target_os = "linux"))]
    let answering: std::io::Result<()> = {
        let _ = (upgrader, runtime, shutdown);
        Err(std::io::Error::other("--control needs Linux"))
    };
    if let Err(error) = answering {
        eprintln!("error: {}: {error}", path.display());
        std::process::exit(crate::cli::EXIT_USAGE);
    }
}

/// What follows the `listening on` line: with a take-over under way, waits for the old
/// server's answer, then prints `upgrade: took over from pid <M>` and writes the PID file,
/// or prints `upgrade: failed: <reason>` and shuts down (the demo then exits 69); without
/// one, writes the PID file (`--pid-file`) at once.
///
/// ```
/// use lameduck_examples::{cli::Options, upgrade};
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// upgrade::serving(&lameduck_smol::Smol::new(), None, shutdown.trigger(), &Options::default());
/// ```
pub fn serving<R: Runtime>(
    runtime: &R,
    take_over: Option<TakeOver>,
    trigger: Trigger,
    options: &Options,
) {
    let pid_file = options.pid_file.clone();
    let Some(take_over) = take_over else {
        write_pid_file(pid_file.as_deref());
        return;
    };
    #[cfg(target_os = "linux")]
    {
        let confirmed = take_over.confirmed(runtime);
        runtime.spawn(async move {
            match confirmed.await {
                Ok(pid) => {
                    output::line(format_args!("upgrade: took over from pid {pid}"));
                    write_pid_file(pid_file.as_deref());
                }
                Err(error) => {
                    output::line(format_args!("upgrade: failed: {error}"));
                    TAKE_OVER_FAILED.store(true, Ordering::SeqCst);
                    trigger.fail(format_args!("take-over: {error}"));
                }
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (runtime, trigger, match take_over {});
}

/// The exit code after `report`: 69 when a take-over was not confirmed, else the report's.
///
/// ```
/// assert_eq!(lameduck_examples::upgrade::exit_code(0), 0);
/// ```
pub fn exit_code(report: i32) -> i32 {
    if TAKE_OVER_FAILED.load(Ordering::SeqCst) {
        EXIT_UNAVAILABLE
    } else {
        report
    }
}

/// The PID file this process wrote (`--pid-file`), for [`remove_pid_file`] at exit.
static PID_FILE: Mutex<Option<PidFile>> = Mutex::new(None);

/// Writes this pid to `path` ([`PidFile::write`]: atomically); a failure is a line on
/// stderr, and serving goes on.
fn write_pid_file(path: Option<&Path>) {
    let Some(path) = path else { return };
    match PidFile::write(path) {
        Ok(file) => *PID_FILE.lock().unwrap_or_else(PoisonError::into_inner) = Some(file),
        Err(error) => output::diag(format_args!("pid file {}: {error}", path.display())),
    }
}

/// Removes the PID file at exit ([`PidFile::remove`]): if it still holds this pid and this
/// process did not hand over (a successor's stays).
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// lameduck_examples::upgrade::remove_pid_file(&shutdown.handle());
/// ```
pub fn remove_pid_file(handle: &Handle) {
    let file = PID_FILE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(file) = file {
        file.remove(handle);
    }
}
