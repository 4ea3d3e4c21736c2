//! The contract's `SIGUSR2` on every demo: an in-place upgrade to a successor that serves the
//! same socket, then the predecessor's shutdown without lame duck. (Failed upgrades, and
//! `LISTEN_FDS` socket activation, are checked on the library itself, in
//! `core/tests/upgrade/`.)

#![cfg(unix)]

mod support;

use rustix::process::{kill_process, Pid, Signal};
use support::{each_demo, refused, Demo, Raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr2_hands_over_to_a_successor_on_the_same_socket() {
    each_demo(|name| async move {
        // A long lame duck: the hand-over must not wait for it.
        let mut demo = Demo::start(name, &["--lame-duck-ms", "60000"]).await;
        demo.signal(Signal::USR2);
        let listening = demo.line_starting("listening on http://").await;
        assert_eq!(
            listening,
            format!("listening on http://{}", demo.addr),
            "{name}"
        );
        let line = demo.line_starting("upgrade: ").await;
        let successor: i32 = line
            .strip_prefix("upgrade: handed over to pid ")
            .unwrap_or_else(|| panic!("{name}: {line}"))
            .parse()
            .unwrap();
        let successor = Pid::from_raw(successor).unwrap();
        // Served by either process: the predecessor answers what it accepted before the
        // drain, the successor the rest of the same queue.
        let mut raw = Raw::connect(demo.addr).await;
        raw.get("/").await;
        assert_eq!(
            raw.response().await.0,
            200,
            "{name}: the port serves throughout"
        );
        drop(raw);
        demo.line_starting("phase: stopped").await;
        // The predecessor is gone; the successor serves alone, then stops.
        let mut raw = Raw::connect(demo.addr).await;
        raw.get("/").await;
        assert_eq!(raw.response().await.0, 200, "{name}: the successor serves");
        drop(raw);
        // It inherited the 60 s lame duck: a second signal cuts it short.
        kill_process(successor, Signal::TERM).unwrap();
        demo.expect_line("phase: lame-duck").await;
        kill_process(successor, Signal::INT).unwrap();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: the predecessor exits 0: {exit:?}");
        let reports: Vec<_> = exit
            .stdout
            .iter()
            .filter(|l| l.starts_with("shutdown: "))
            .collect();
        assert_eq!(reports.len(), 2, "{name}: {exit:?}");
        assert!(reports[0].ends_with("reason=upgrade"), "{name}: {exit:?}");
        assert!(reports[1].ends_with("reason=SIGTERM"), "{name}: {exit:?}");
    })
    .await;
}

/// A `SIGTERM` right after `SIGUSR2`, while the successor starts: the upgrade is cancelled
/// (or refused, had the `SIGTERM` come first), the successor killed, and once the
/// predecessor exits nothing serves the port. A 60 s lame duck leaves the successor all the
/// time it needs to say it is ready, which must not hand over a service told to stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_upgrade_stops_the_service() {
    let mut set = tokio::task::JoinSet::new();
    for name in ["hyper_tokio", "hyper_smol"] {
        set.spawn(async move {
            let mut demo = Demo::start(name, &["--lame-duck-ms", "60000"]).await;
            let addr = demo.addr;
            demo.signal(Signal::USR2);
            demo.signal(Signal::TERM);
            let line = demo.line_starting("upgrade: ").await;
            if let Some(pid) = line.strip_prefix("upgrade: handed over to pid ") {
                // The bug: kill the successor so that it does not outlive the test.
                let _ = kill_process(Pid::from_raw(pid.parse().unwrap()).unwrap(), Signal::KILL);
            }
            assert_eq!(line, "upgrade: failed: shutting down", "{name}");
            // In the lame duck by now (the upgrade saw it begin): a second signal cuts it.
            demo.signal(Signal::INT);
            let exit = demo.exit().await;
            assert_eq!(exit.code, 0, "{name}: {exit:?}");
            let reports: Vec<_> = exit
                .stdout
                .iter()
                .filter(|l| l.starts_with("shutdown: "))
                .collect();
            assert_eq!(reports.len(), 1, "{name}: {exit:?}");
            assert_eq!(exit.count("phase: lame-duck"), 1, "{name}: {exit:?}");
            assert!(reports[0].ends_with("reason=SIGTERM"), "{name}: {exit:?}");
            refused(addr).await;
        });
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}
