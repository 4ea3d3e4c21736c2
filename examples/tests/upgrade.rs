//! The contract's `SIGUSR2` on every demo: an in-place upgrade to a successor that serves the
//! same socket, then the predecessor's shutdown without lame duck. (Failed upgrades, and
//! `LISTEN_FDS` socket activation, are checked on the library itself, in
//! `core/tests/upgrade/`.)

#![cfg(unix)]

mod support;

use rustix::process::{kill_process, Pid, Signal};
use support::{each_demo, Demo, Raw};

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
        // (No request while both serve: a connection the predecessor accepts in its last
        // moment is closed unanswered by the adapter's drain, which closes connections that
        // have no request in flight yet. The library's own suite sends load throughout.)
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
