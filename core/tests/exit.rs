//! `Report::exit` ends the process with the report's code, stdout flushed (the test runs
//! itself as the child that exits).

use lameduck::{test_util::ManualClock, Config, Shutdown};
use std::process::Command;

const CHILD: &str = "LAMEDUCK_EXIT_CHILD";

#[test]
#[cfg_attr(miri, ignore = "miri cannot start a process")]
fn exit_ends_the_process_with_the_report_code_and_stdout_flushed() {
    if std::env::var_os(CHILD).is_some() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        shutdown.trigger().fail("disk gone");
        let clock = ManualClock::new();
        let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
        // No newline: only the flush on the way out writes it.
        print!("child: {report}");
        report.exit();
    }
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "exit_ends_the_process_with_the_report_code_and_stdout_flushed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert_eq!(child.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("child: shutdown: drained=true connections_left=0"),
        "{stdout}"
    );
    assert!(stdout.contains("reason=failed: disk gone"), "{stdout}");
    // The child ended inside the test: libtest never reported it as passed.
    assert!(!stdout.contains("test result"), "{stdout}");
}
