//! `EXTEND_TIMEOUT_USEC` past what one message carries (`u32::MAX` µs, 71.6 min): a lame
//! duck of 100 minutes gets its extension sent again every 30 minutes, so systemd's stop
//! timeout reaches its end. On the manual clock; alone in its binary (it sets the
//! process's environment).

#![cfg(unix)]

use core::time::Duration;
use futures::future::join;
use lameduck::{
    test_util::{ManualClock, ScriptedSignals},
    Config, Shutdown, Signal,
};
use std::os::unix::net::UnixDatagram;

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn a_lame_duck_longer_than_one_extension_is_extended_again() {
    let path = std::env::temp_dir().join(format!("lameduck-long-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_nonblocking(true).unwrap();
    // Edition 2021: the only test in this binary, and no other thread reads the environment.
    std::env::set_var("NOTIFY_SOCKET", &path);
    std::env::remove_var("WATCHDOG_USEC");

    let config = Config::new()
        .lame_duck(100 * MINUTE)
        .drain_timeout(Duration::from_secs(1));
    let shutdown = Shutdown::new(config).unwrap();
    let handle = shutdown.handle();
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    // Subscribes the phase messages before the shutdown starts.
    lameduck::systemd::ready();
    signals.send(Signal::TERM);
    let (report, ()) = clock.block_on(join(
        shutdown.run(clock.clone(), signals.clone()),
        lameduck::systemd::heartbeat(handle, clock.clone()),
    ));
    assert_eq!(report.exit_code(), 0);

    let mut buffer = [0u8; 4096];
    let mut extensions = Vec::new();
    while let Ok(n) = socket.recv(&mut buffer) {
        let message = String::from_utf8(buffer[..n].to_vec()).unwrap();
        if message.starts_with("STATUS=draining") {
            break;
        }
        for line in message.lines() {
            if let Some(usec) = line.strip_prefix("EXTEND_TIMEOUT_USEC=") {
                extensions.push(usec.parse::<u64>().unwrap());
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    // 100 min + 1 s drain + 1 s to exit: more than one message carries, so saturated; then
    // again at 30, 60 and 90 minutes, each time what is left (+ 1 s to exit).
    let left = |minutes: u64| (minutes * 60 + 2) * 1_000_000;
    assert_eq!(
        extensions,
        [u64::from(u32::MAX), left(70), left(40), left(10)],
        "in µs"
    );
}
