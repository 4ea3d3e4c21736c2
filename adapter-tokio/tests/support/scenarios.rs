//! The child-process scenarios, the same for every runtime: real processes, real sockets,
//! real SIGTERM/SIGINT. Each test starts its own child, so they run in parallel.

use crate::client::{Client, Server};
use std::io::ErrorKind;

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Every scenario, by name.
pub(crate) const ALL: &[(&str, fn())] = &[
    (
        "sigterm_finishes_in_flight_work_refuses_new_connects_runs_hooks_once",
        sigterm_drains,
    ),
    ("lame_duck_keeps_accepting_until_draining", lame_duck),
    (
        "second_signal_cuts_connections_and_still_runs_hooks",
        second_signal_forces,
    ),
    (
        "third_signal_exits_at_once_with_128_plus_n",
        third_signal_exits,
    ),
    (
        "accept_errors_back_off_and_serving_goes_on",
        accept_errors_back_off,
    ),
    ("sighup_is_a_reload_not_a_shutdown", sighup_reloads),
];

/// Runs the scenarios whose name contains the first free argument (all without one), in
/// parallel, and exits 1 if any failed.
pub(crate) fn run_all() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let chosen: Vec<_> = ALL
        .iter()
        .filter(|(name, _)| filter.as_deref().is_none_or(|f| name.contains(f)))
        .collect();
    println!("running {} child-process tests", chosen.len());
    let failed = std::thread::scope(|scope| {
        let running: Vec<_> = chosen
            .iter()
            .map(|(name, test)| (name, scope.spawn(test)))
            .collect();
        let mut failed = 0;
        for (name, test) in running {
            let ok = test.join().is_ok();
            println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
            failed += usize::from(!ok);
        }
        failed
    });
    println!(
        "test result: {} passed; {failed} failed",
        chosen.len() - failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Asserts each hook started exactly once, in this order, and no other did.
fn assert_hooks_ran(lines: &[String], expected: &[&str]) {
    let ran: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("ran "))
        .collect();
    assert_eq!(ran, expected, "hooks that started; saw {lines:#?}");
}

fn report_line(lines: &[String]) -> &str {
    let last = lines.last().map(String::as_str).unwrap_or_default();
    assert!(
        last.starts_with("shutdown: "),
        "last line {last:?}; saw {lines:#?}"
    );
    last
}

fn sigterm_drains() {
    let mut server = Server::start(&[]);
    let mut idle = Client::connect(server.addr);
    idle.send("ping");
    assert_eq!(idle.line().as_deref(), Some("pong"));
    let mut busy = Client::connect(server.addr);
    busy.send("sleep 500");
    assert_eq!(busy.line().as_deref(), Some("started"));

    server.signal(SIGTERM);
    server.expect_prefix("phase: draining");
    server.expect_prefix("accept loop: stopped");
    let refused = Client::try_connect(server.addr).err().map(|e| e.kind());
    assert_eq!(refused, Some(ErrorKind::ConnectionRefused));
    idle.expect_closed();
    assert_eq!(
        busy.line().as_deref(),
        Some("done 500"),
        "in-flight work finishes"
    );
    busy.expect_closed();

    let (code, lines) = server.finish();
    assert_hooks_ran(&lines, &["first", "last"]);
    let hooks: Vec<&String> = lines.iter().filter(|l| l.starts_with("hook ")).collect();
    assert_eq!(hooks, ["hook first: ok", "hook last: ok"]);
    let report = report_line(&lines);
    assert!(
        report.starts_with("shutdown: drained=true connections_left=0 ")
            && report.ends_with(" reason=SIGTERM"),
        "{report}"
    );
    let phases: Vec<&String> = lines.iter().filter(|l| l.starts_with("phase: ")).collect();
    assert_eq!(
        phases,
        [
            "phase: running",
            "phase: lame-duck",
            "phase: draining",
            "phase: hooks",
            "phase: stopped"
        ]
    );
    assert_eq!(code, 0, "{lines:#?}");
}

/// `run` listens for the reload signals from its call on: `SIGHUP` neither kills nor
/// starts a shutdown, however often it comes.
fn sighup_reloads() {
    let mut server = Server::start(&[]);
    let mut client = Client::connect(server.addr);
    for _ in 0..5 {
        server.signal(SIGHUP);
        client.send("ping");
        assert_eq!(client.line().as_deref(), Some("pong"));
    }
    assert!(server.is_running());
    server.signal(SIGTERM);
    let (code, lines) = server.finish();
    let report = report_line(&lines);
    assert!(report.ends_with(" reason=SIGTERM"), "{report}");
    assert_eq!(code, 0, "{lines:#?}");
}

fn lame_duck() {
    let mut server = Server::start(&[("LAME_DUCK_MS", "3000")]);
    server.signal(SIGINT);
    server.expect_prefix("phase: lame-duck");
    let mut late = Client::connect(server.addr);
    late.send("ping");
    assert_eq!(
        late.line().as_deref(),
        Some("pong"),
        "served during the lame duck"
    );
    server.expect_prefix("phase: draining");
    late.expect_closed();
    let (code, lines) = server.finish();
    assert!(report_line(&lines).ends_with(" reason=SIGINT"));
    assert_eq!(code, 0, "{lines:#?}");
}

fn second_signal_forces() {
    let mut server = Server::start(&[]);
    let mut stuck = Client::connect(server.addr);
    stuck.send("sleep 3600000");
    assert_eq!(stuck.line().as_deref(), Some("started"));

    server.signal(SIGINT);
    server.expect_prefix("phase: draining");
    server.signal(SIGINT);
    server.expect_prefix("phase: hooks");
    stuck.expect_closed();

    let (code, lines) = server.finish();
    assert_hooks_ran(&lines, &["first", "last"]);
    let report = report_line(&lines);
    assert!(
        report.starts_with("shutdown: drained=false connections_left=1 ")
            && report.ends_with(" reason=SIGINT"),
        "{report}"
    );
    assert_eq!(code, 2, "{lines:#?}");
}

fn third_signal_exits() {
    let mut server = Server::start(&[("HANG_HOOK", "1")]);
    let mut stuck = Client::connect(server.addr);
    stuck.send("sleep 3600000");
    assert_eq!(stuck.line().as_deref(), Some("started"));

    server.signal(SIGTERM);
    server.expect_prefix("phase: draining");
    server.signal(SIGTERM);
    server.expect_prefix("ran hangs");
    server.signal(SIGINT);

    let (code, lines) = server.finish();
    assert_hooks_ran(&lines, &["first", "hangs"]);
    let hooks: Vec<&String> = lines.iter().filter(|l| l.starts_with("hook ")).collect();
    assert_eq!(hooks.len(), 3, "{hooks:?}");
    assert_eq!(hooks[0], "hook first: ok");
    assert_eq!(code, 128 + SIGINT, "{lines:#?}");
}

/// With few file descriptors, accepting fails (EMFILE) while connections wait: the loop
/// backs off instead of spinning, and serves them once descriptors are free again.
fn accept_errors_back_off() {
    let mut server = Server::start(&[("NOFILE", "48")]);
    let mut served = Vec::new();
    let mut waiting = loop {
        assert!(served.len() < 200, "never ran out of file descriptors");
        let mut client = Client::connect(server.addr);
        client.send("ping");
        match client.line_within(core::time::Duration::from_secs(2)) {
            Some(pong) => {
                assert_eq!(pong, "pong");
                served.push(client);
            }
            None => break client,
        }
    };
    #[cfg(target_os = "linux")]
    {
        let before = crate::client::cpu_ticks(server.id());
        std::thread::sleep(core::time::Duration::from_secs(1));
        let spent = crate::client::cpu_ticks(server.id()) - before;
        eprintln!("accept back-off: {spent} ticks of CPU in one second out of descriptors");
        // A loop retrying accept at once burns the whole second (about 100 ticks).
        assert!(
            spent < 20,
            "{spent} ticks of CPU in one second out of descriptors"
        );
    }
    assert!(
        server.is_running(),
        "the server survived running out of descriptors"
    );
    served.drain(..4);
    assert_eq!(
        waiting.line().as_deref(),
        Some("pong"),
        "served once descriptors freed"
    );

    server.signal(SIGTERM);
    waiting.expect_closed();
    let (code, lines) = server.finish();
    assert!(
        report_line(&lines).starts_with("shutdown: drained=true "),
        "{lines:#?}"
    );
    assert_eq!(code, 0, "{lines:#?}");
}
