//! The `systemd` feature against a real Unix datagram socket named by `NOTIFY_SOCKET`: the
//! exact messages, in order, through a whole shutdown on the manual clock. One test in
//! this binary, because it sets the process's environment.

#![cfg(unix)]

use core::time::Duration;
use futures::future::{join, join3};
use lameduck::{
    runtime::Timer,
    test_util::{ManualClock, ScriptedSignals},
    Config, Hook, Reason, Shutdown, Signal,
};
use std::os::unix::net::UnixDatagram;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn received(socket: &UnixDatagram) -> Vec<String> {
    let mut messages = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = socket.recv(&mut buffer) {
        messages.push(String::from_utf8(buffer[..n].to_vec()).unwrap());
    }
    messages
}

#[test]
fn notifications_follow_the_shutdown_and_nothing_is_sent_without_notify_socket() {
    let path = std::env::temp_dir().join(format!("lameduck-notify-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_nonblocking(true).unwrap();
    // Edition 2021: the only test in this binary, and no other thread reads the environment.
    std::env::set_var("NOTIFY_SOCKET", &path);
    std::env::set_var("WATCHDOG_USEC", "2000000");
    std::env::set_var("WATCHDOG_PID", std::process::id().to_string());

    let config = Config::new()
        .lame_duck(ms(100))
        .drain_timeout(ms(3000))
        .hook_timeout(ms(500));
    let shutdown = Shutdown::new(config).unwrap();
    let hooks = shutdown.hooks();
    hooks
        .register(Hook::new_async("a", || async { Ok::<(), &str>(()) }))
        .unwrap();
    hooks
        .register(Hook::new_async("b", || async { Ok::<(), &str>(()) }).timeout(ms(200)))
        .unwrap();
    let handle = shutdown.handle();
    let guard = handle.connection().unwrap();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();

    lameduck::systemd::ready();
    signals.send(Signal::TERM);
    let connection = async {
        clock.sleep(ms(2050)).await;
        drop(guard);
    };
    let heartbeat = lameduck::systemd::heartbeat(handle.clone(), clock.clone());
    let (report, (), ()) = clock.block_on(join3(
        shutdown.run(clock.clone(), signals.clone()),
        heartbeat,
        connection,
    ));
    assert_eq!(report.exit_code(), 0);

    let pid = std::process::id();
    assert_eq!(
        received(&socket),
        [
            format!("READY=1\nMAINPID={pid}\nSTATUS=running\n"),
            // 100 ms lame duck + 3 s drain + 500 + 200 ms hooks + 1 s to exit.
            "STOPPING=1\nSTATUS=lame-duck: 1 connection(s) open\nEXTEND_TIMEOUT_USEC=4800000\n"
                .into(),
            "STATUS=draining: 1 connection(s) left\nEXTEND_TIMEOUT_USEC=4700000\n".into(),
            // Every half WATCHDOG_USEC from the heartbeat's start (phase changes do not
            // delay it), and a second into the drain, its progress.
            "WATCHDOG=1\n".into(),
            "STATUS=draining: 1 connection(s) left, 2000 ms to the deadline\nEXTEND_TIMEOUT_USEC=3700000\n"
                .into(),
            "WATCHDOG=1\n".into(),
            "STATUS=hooks: 2 to run\nEXTEND_TIMEOUT_USEC=1700000\n".into(),
            "STATUS=stopped: drained=true connections_left=0 exit_code=0\n".into(),
        ]
    );

    // A handover to an upgrade's successor: systemd's main process is the successor now
    // (it sent its own READY=1 and MAINPID=), so this one stops without a word.
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let handle = shutdown.handle();
    shutdown.trigger().handover();
    let clock = ManualClock::new();
    let (report, ()) = clock.block_on(join(
        shutdown.run(clock.clone(), ScriptedSignals::new()),
        lameduck::systemd::heartbeat(handle, clock.clone()),
    ));
    assert_eq!(report.reason(), Reason::Upgrade);
    assert_eq!(received(&socket), Vec::<String>::new());

    // A service manager that reads nothing: its queue fills, and sending still never waits
    // (the messages that do not fit are dropped).
    let stuck_path = path.with_extension("stuck");
    let _ = std::fs::remove_file(&stuck_path);
    let stuck = UnixDatagram::bind(&stuck_path).unwrap();
    std::env::set_var("NOTIFY_SOCKET", &stuck_path);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..5000 {
            lameduck::systemd::ready();
        }
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("sending to a full notify socket blocked");
    drop(stuck);
    let _ = std::fs::remove_file(&stuck_path);

    // Without NOTIFY_SOCKET: nothing at all, and the heartbeat ends at once.
    std::env::remove_var("NOTIFY_SOCKET");
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let clock = ManualClock::new();
    lameduck::systemd::ready();
    clock.block_on(lameduck::systemd::heartbeat(
        shutdown.handle(),
        clock.clone(),
    ));
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    assert_eq!(
        clock
            .block_on(shutdown.run(clock.clone(), signals))
            .exit_code(),
        0
    );
    assert_eq!(clock.now(), Duration::ZERO);
    assert_eq!(received(&socket), Vec::<String>::new());
    let _ = std::fs::remove_file(&path);
}
