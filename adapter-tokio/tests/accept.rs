//! The core accept loop (`lameduck::accept::serve`) on tokio, against a scripted listener: accept errors sorted, back-off timed on tokio's
//! paused clock, a broken listener ending the shutdown with its error, the listener dropped.
#![cfg(unix)]

#[path = "support/scripted.rs"]
mod scripted;

use core::time::Duration;
use lameduck::{Config, Shutdown};
use lameduck::{Reason, Report};
use lameduck_tokio::Tokio;
use scripted::{Scripted, Watch};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// A scripted listener on tokio's (paused) clock.
fn scripted(script: &[Result<u32, i32>]) -> (Scripted, Watch) {
    let start = Instant::now();
    Scripted::new(script, move || start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn transient_errors_back_off_and_a_broken_listener_fails_the_shutdown() {
    let (listener, watch) = scripted(&TRANSIENT_THEN_BROKEN);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let served = Arc::new(Mutex::new(Vec::new()));
    let serving = tokio::spawn(scripted::serve(
        Tokio::new(),
        listener,
        shutdown.handle(),
        shutdown.trigger(),
        {
            let served = Arc::clone(&served);
            move |id, guard| {
                served.lock().unwrap().push(id);
                async move { drop(guard) }
            }
        },
    ));
    let report = shutdown.run(Tokio::new(), futures::stream::pending()).await;
    serving.await.unwrap();

    assert_eq!(*served.lock().unwrap(), [1, 2]);
    // Out of resources: 10, 20, 40 ms; a success resets; an aborted connection waits not.
    assert_eq!(watch.call_ms(), [0, 10, 30, 70, 70, 80, 80, 80]);
    assert!(watch.dropped(), "the listener is dropped");
    assert_failed_by_accept(&report);
}

#[tokio::test]
async fn draining_stops_a_pending_accept_and_drops_the_listener() {
    let start = Instant::now();
    scripted::draining_stops_a_pending_accept(Tokio::new(), move || start.elapsed()).await;
}

#[tokio::test(start_paused = true)]
async fn draining_ends_a_back_off_at_once() {
    let (listener, watch) = scripted(&[Err(libc::EMFILE); 20]);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let serving = tokio::spawn(scripted::serve(
        Tokio::new(),
        listener,
        shutdown.handle(),
        shutdown.trigger(),
        |_, guard| async move { drop(guard) },
    ));
    // Let the back-off reach its ceiling, then shut down in the middle of a pause.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let start = Instant::now();
    shutdown.trigger().shutdown();
    shutdown.run(Tokio::new(), futures::stream::pending()).await;
    serving.await.unwrap();
    assert!(watch.dropped());
    assert_eq!(start.elapsed(), Duration::ZERO, "no waiting out the pause");
}

/// Out of resources three times, a success, out of resources, an aborted connection, a
/// success, then a broken listener (`EBADF`).
const TRANSIENT_THEN_BROKEN: [Result<u32, i32>; 8] = [
    Err(libc::EMFILE),
    Err(libc::ENFILE),
    Err(libc::EMFILE),
    Ok(1),
    Err(libc::ENOBUFS),
    Err(libc::ECONNABORTED),
    Ok(2),
    Err(libc::EBADF),
];

/// The report of a shutdown a broken listener started: failed, by `accept: <error>`.
fn assert_failed_by_accept(report: &Report) {
    assert_eq!(report.reason(), Reason::Failed);
    let detail = report.detail().unwrap();
    assert!(detail.starts_with("accept: "), "{detail}");
    assert_eq!(
        report.to_string(),
        format!("shutdown: drained=true connections_left=0 elapsed_ms=0 reason=failed: {detail}")
    );
}
