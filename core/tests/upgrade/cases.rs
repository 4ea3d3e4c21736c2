//! The cases, and a small runner (the binary is `harness = false`, since it is also the
//! server).

use super::support::{gone, request, server, start, term, usr2, Load, Tally};
use command_fds::{CommandFdExt, FdMapping};
use std::{
    env, fs,
    net::TcpListener,
    panic,
    process::{self, Command},
};

type Case = (&'static str, fn());

/// Run by default.
const CASES: &[Case] = &[
    ("activation-serves-fd-3", activation_serves_fd_3),
    (
        "activation-needs-the-variables",
        activation_needs_the_variables,
    ),
    (
        "activation-ignores-another-pid",
        activation_ignores_another_pid,
    ),
    ("upgrades-under-load", upgrades_under_load),
    ("failed-upgrades-keep-serving", failed_upgrades_keep_serving),
    (
        "the-upgrader-follows-the-shutdown",
        the_upgrader_follows_the_shutdown,
    ),
    (
        "a-closed-channel-or-a-dropped-future-ends-it",
        closed_or_dropped,
    ),
];

/// Run only when named: measurements, not checks.
const MEASUREMENTS: &[Case] = &[("restart-baseline", restart_baseline)];

pub(crate) fn main() {
    let names: Vec<String> = env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen: Vec<&Case> = if names.is_empty() {
        CASES.iter().collect()
    } else {
        CASES
            .iter()
            .chain(MEASUREMENTS)
            .filter(|(name, _)| names.iter().any(|n| name.contains(n.as_str())))
            .collect()
    };
    println!("\nrunning {} tests", chosen.len());
    let (mut passed, mut failed) = (0, 0);
    for (name, case) in chosen {
        match panic::catch_unwind(case) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        process::exit(101);
    }
}

/// How many upgrades (or restarts) in a row: `UPGRADES`, default 30.
fn in_a_row() -> usize {
    env::var("UPGRADES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
}

/// `command` with `listener` as its fd 3.
fn with_fd_3(mut command: Command, listener: &TcpListener) -> Command {
    command
        .fd_mappings(vec![FdMapping {
            parent_fd: listener.try_clone().unwrap().into(),
            child_fd: 3,
        }])
        .unwrap();
    command
}

/// systemd's way: the socket as fd 3, `LISTEN_FDS=1`, and `LISTEN_PID` set to the server's
/// own pid, which only the process itself knows: a shell sets it, then `exec`s the server
/// (keeping its pid).
fn activation_serves_fd_3() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(r#"LISTEN_PID=$$; export LISTEN_PID; exec "$0""#)
        .arg(env::current_exe().unwrap())
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "http");
    let (mut child, mut lines) = start(with_fd_3(sh, &listener));
    drop(listener);
    let (bound, pid, line) = lines.listening();
    assert_eq!(bound, addr, "served the passed socket: {line}");
    assert_eq!(pid, child.id(), "exec kept the shell's pid");
    assert!(
        line.contains(r#" inherited names ["http"] env-clean true"#),
        "{line}"
    );
    assert_eq!(request(addr).unwrap(), pid);
    lines.expect_prefix(&format!("ready pid {pid} predecessor-told false"));
    term(pid);
    assert_eq!(lines.exit_of(pid), 0);
    assert!(child.wait().unwrap().success());
}

/// No `LISTEN_FDS`: an fd 3 is not taken for a listener; the server binds its own.
fn activation_needs_the_variables() {
    binds_its_own(|command| command);
}

/// `LISTEN_PID` names another process: the variables are ignored (and removed).
fn activation_ignores_another_pid() {
    binds_its_own(|command| command.env("LISTEN_FDS", "1").env("LISTEN_PID", "1"));
}

/// Starts the server with a listener as fd 3 and the environment `env` sets, and checks
/// that it bound a socket of its own instead, with clean variables, and serves and stops.
fn binds_its_own(env: impl FnOnce(&mut Command) -> &mut Command) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut command = with_fd_3(server(), &listener);
    env(&mut command);
    let (mut child, mut lines) = start(command);
    let (bound, pid, line) = lines.listening();
    assert_ne!(bound, addr);
    assert!(line.contains(" bound names [] env-clean true"), "{line}");
    assert_eq!(request(bound).unwrap(), pid);
    term(pid);
    assert_eq!(lines.exit_of(pid), 0);
    assert!(child.wait().unwrap().success());
}

/// Upgrades in a row while clients request straight at the port, with no load balancer:
/// nothing refused, nothing failed, every predecessor exits 0 after a hand-over, and each
/// successor serves from the same socket.
fn upgrades_under_load() {
    let (tally, upgrades) = under_load(Restart::Upgrade);
    assert_eq!(
        (tally.refused, tally.failed),
        (0, 0),
        "{tally:?} over {upgrades} upgrades"
    );
}

/// The alternative a user has without upgrades: stop (SIGTERM), wait for the exit, start a
/// new process on the same address; same load. Prints what it lost.
fn restart_baseline() {
    let (tally, restarts) = under_load(Restart::StopThenStart);
    println!(
        "stop-then-start: {restarts} restarts: {} answered, {} failed, {} refused; errors {:?}",
        tally.ok, tally.failed, tally.refused, tally.errors
    );
}

#[derive(Clone, Copy, PartialEq)]
enum Restart {
    Upgrade,
    StopThenStart,
}

fn under_load(how: Restart) -> (Tally, usize) {
    let count = in_a_row();
    let started = std::time::Instant::now();
    let (mut first, mut lines) = start(server());
    let (addr, mut pid, _) = lines.listening();
    let mut pids = vec![pid];
    let mut restarted = Vec::new();
    let load = Load::start(addr, 4);
    load.wait_for(50);
    for _ in 0..count {
        let next = match how {
            Restart::Upgrade => {
                usr2(pid);
                let (bound, next, line) = lines.listening();
                assert_eq!(bound, addr);
                assert!(
                    line.contains(r#" inherited names ["test"] env-clean true"#),
                    "{line}"
                );
                let handed = lines.expect_prefix("upgrade: ");
                assert_eq!(handed, format!("upgrade: handed over to pid {next}"));
                let report = lines.expect_prefix("shutdown: ");
                assert!(
                    report.ends_with(&format!("reason=upgrade pid {pid}")),
                    "{report}"
                );
                assert_eq!(lines.exit_of(pid), 0, "the predecessor {pid} exits 0");
                next
            }
            Restart::StopThenStart => {
                term(pid);
                assert_eq!(lines.exit_of(pid), 0);
                let mut command = server();
                command.env("TEST_ADDR", addr.to_string());
                let (child, new_lines) = start(command);
                restarted.push(child);
                lines = new_lines;
                let (bound, next, _) = lines.listening();
                assert_eq!(bound, addr);
                next
            }
        };
        pid = next;
        pids.push(pid);
        load.wait_for(200);
    }
    let tally = load.stop();
    assert_eq!(request(addr).unwrap(), pid, "the last server serves");
    if how == Restart::Upgrade {
        for pid in &pids {
            assert!(tally.pids.contains(pid), "{pid} answered no request");
        }
    }
    term(pid);
    assert_eq!(lines.exit_of(pid), 0);
    assert!(first.wait().unwrap().success());
    for mut child in restarted {
        assert!(child.wait().unwrap().success());
    }
    println!(
        "    {count} in a row in {:.1?}: {} answered, {} failed, {} refused",
        started.elapsed(),
        tally.ok,
        tally.failed,
        tally.refused
    );
    (tally, count)
}

/// A successor that cannot start, one that crashes before it is ready, one that never is
/// (and a second request meanwhile): each leaves the old process serving with the reason;
/// then a retry hands over.
fn failed_upgrades_keep_serving() {
    let dir = env::temp_dir().join(format!("lameduck-upgrade-test-{}", process::id()));
    fs::create_dir_all(&dir).unwrap();
    let mode = dir.join("mode");
    let set = |m: &str| fs::write(&mode, m).unwrap();
    let mut command = server();
    command
        .env("TEST_MODE_FILE", &mode)
        .env("TEST_READY_TIMEOUT_MS", "3000");
    let (mut first, mut lines) = start(command);
    let (addr, pid, _) = lines.listening();

    set("missing");
    usr2(pid);
    let line = lines.expect_prefix("upgrade: ");
    assert!(
        line.starts_with("upgrade: failed: cannot start the successor: "),
        "{line}"
    );
    assert_eq!(request(addr).unwrap(), pid);

    set("crash");
    usr2(pid);
    lines.expect_prefix("successor ");
    let line = lines.expect_prefix("upgrade: ");
    assert_eq!(
        line,
        "upgrade: failed: the successor exited before it was ready (exit status: 3)"
    );
    assert_eq!(request(addr).unwrap(), pid);

    set("silent");
    usr2(pid);
    let silent = lines.expect_prefix("successor ");
    let silent: u32 = silent.split(&[' ', ':']).nth(1).unwrap().parse().unwrap();
    usr2(pid);
    assert_eq!(
        lines.expect_prefix("upgrade: "),
        "upgrade: failed: already upgrading"
    );
    assert_eq!(
        lines.expect_prefix("upgrade: "),
        "upgrade: failed: the successor was not ready within 3s"
    );
    assert!(gone(silent), "the silent successor was killed and reaped");
    assert_eq!(request(addr).unwrap(), pid);

    set("ok");
    usr2(pid);
    let (bound, next, _) = lines.listening();
    assert_eq!(bound, addr);
    assert_eq!(
        lines.expect_prefix("upgrade: "),
        format!("upgrade: handed over to pid {next}")
    );
    assert_eq!(lines.exit_of(pid), 0);
    assert!(first.wait().unwrap().success());
    assert_eq!(request(addr).unwrap(), next);
    term(next);
    assert_eq!(lines.exit_of(next), 0);
    let _ = fs::remove_dir_all(&dir);
}

/// With a handle, the upgrader refuses to upgrade once the shutdown began, and drops its
/// copy of the listener when the drain starts: the port then refuses connects, as in any
/// drain (the copy alone would keep it open, with connects waiting in a queue nobody reads).
fn the_upgrader_follows_the_shutdown() {
    use lameduck::{
        test_util::{ManualClock, ScriptedSignals},
        upgrade::{UpgradeError, Upgrader},
        Config, Shutdown,
    };
    use std::{net::TcpStream, thread, time::Duration, time::Instant};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let upgrader = Upgrader::new()
        .listener("http", &listener)
        .unwrap()
        .handle(&shutdown.handle());
    drop(listener);
    let queued = TcpStream::connect(addr).expect("the upgrader's copy keeps the port open");
    drop(queued);

    shutdown.trigger().shutdown();
    let clock = ManualClock::new();
    let report = clock.block_on(shutdown.run(clock.clone(), ScriptedSignals::new()));
    assert_eq!(report.exit_code(), 0);
    assert!(matches!(
        upgrader.upgrade_blocking(),
        Err(UpgradeError::ShuttingDown)
    ));
    let deadline = Instant::now() + super::support::WAIT;
    loop {
        match TcpStream::connect(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "the port stayed open after the drain"
                );
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// A successor that closes its readiness channel (fd 3 + the listeners) without a word is
/// reported as such; dropping the `Upgrading` future kills and reaps the successor, and the
/// next upgrade may start.
fn closed_or_dropped() {
    use lameduck::upgrade::{UpgradeError, Upgrader};
    use std::{thread, time::Duration, time::Instant};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sh = |script: &'static str, arg: String| {
        move || {
            let mut command = Command::new("/bin/sh");
            command.arg("-c").arg(script).arg(&arg);
            command
        }
    };
    // One listener: the readiness channel is fd 4.
    let closing = Upgrader::new()
        .listener("http", &listener)
        .unwrap()
        .command(sh("exec 4>&-; exec sleep 30", String::new()));
    assert!(matches!(
        closing.upgrade_blocking(),
        Err(UpgradeError::Closed)
    ));

    let dir = env::temp_dir().join(format!("lameduck-upgrade-drop-{}", process::id()));
    fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("pid");
    let upgrader = Upgrader::new()
        .listener("http", &listener)
        .unwrap()
        .command(sh(
            r#"echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep 30"#,
            pidfile.display().to_string(),
        ));
    let upgrading = upgrader.upgrade();
    let deadline = Instant::now() + super::support::WAIT;
    let pid: u32 = loop {
        if let Some(pid) = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the successor never started");
        thread::sleep(Duration::from_millis(10));
    };
    assert!(matches!(
        upgrader.upgrade_blocking(),
        Err(UpgradeError::AlreadyUpgrading)
    ));
    drop(upgrading);
    while !gone(pid) {
        assert!(
            Instant::now() < deadline,
            "the successor outlived its cancelled upgrade"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let upgrader = upgrader.command(sh("exit 5", String::new()));
    let error = upgrader.upgrade_blocking().unwrap_err();
    assert_eq!(
        error.to_string(),
        "the successor exited before it was ready (exit status: 5)"
    );
    let _ = fs::remove_dir_all(&dir);
}
