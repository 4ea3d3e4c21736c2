//! The core accept loop (`lameduck::accept::serve`) on smol, against a scripted listener: accept errors sorted, back-off at least as long as
//! promised, a broken listener ending the shutdown with its error, the listener dropped.
#![cfg(unix)]

#[path = "../../adapter-tokio/tests/support/scripted.rs"]
mod scripted;

use core::time::Duration;
use futures::StreamExt;
use lameduck::{accept, Config, Handle, Shutdown, Trigger};
use lameduck_smol::Smol;
use scripted::{assert_failed_by_accept, Scripted, ScriptedNet, Watch, TRANSIENT_THEN_BROKEN};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The core loop on Smol, accepting from `listener`.
fn serve<F>(
    listener: Scripted,
    handle: Handle,
    trigger: Trigger,
    connected: impl FnMut(u32, lameduck::Connection) -> F + Send + 'static,
) -> impl core::future::Future<Output = ()> + Send
where
    F: core::future::Future<Output = ()> + Send + 'static,
{
    accept::serve(
        ScriptedNet(Smol::new()),
        listener,
        handle,
        trigger,
        connected,
    )
}

/// A scripted listener on the real clock.
fn scripted(script: &[Result<u32, i32>]) -> (Scripted, Watch) {
    let start = Instant::now();
    Scripted::new(script, move || start.elapsed())
}

#[test]
fn transient_errors_back_off_and_a_broken_listener_fails_the_shutdown() {
    smol::block_on(transient_errors_back_off_and_a_broken_listener_fails());
}

async fn transient_errors_back_off_and_a_broken_listener_fails() {
    let (listener, watch) = scripted(&TRANSIENT_THEN_BROKEN);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let served = Arc::new(Mutex::new(Vec::new()));
    let serving = smol::spawn(serve(listener, shutdown.handle(), shutdown.trigger(), {
        let served = Arc::clone(&served);
        move |id, guard| {
            served.lock().unwrap().push(id);
            async move { drop(guard) }
        }
    }));
    let report = shutdown.run(Smol::new(), futures::stream::pending()).await;
    serving.await;

    assert_eq!(*served.lock().unwrap(), [1, 2]);
    let calls = watch.calls.lock().unwrap();
    let gaps: Vec<u128> = calls
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    // Out of resources: at least 10, 20, 40 ms; a success resets the pause to 10 ms.
    assert_eq!(gaps.len(), 7);
    for (i, least) in [(0, 10), (1, 20), (2, 40), (4, 10)] {
        assert!(gaps[i] >= least, "pauses {gaps:?}");
    }
    // The reset is real: the pause after the success is far below the 80 ms next in line.
    assert!(gaps[4] < 80, "pauses {gaps:?}");
    assert!(watch.dropped(), "the listener is dropped");
    assert_failed_by_accept(&report);
}

#[test]
fn draining_stops_a_pending_accept_and_drops_the_listener() {
    smol::block_on(draining_stops_a_pending_accept());
}

async fn draining_stops_a_pending_accept() {
    let (listener, mut watch) = scripted(&[Ok(7)]);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let (conn_send, conn_open) = futures::channel::oneshot::channel();
    let serving = smol::spawn(serve(listener, handle.clone(), trigger.clone(), {
        let mut conn_send = Some(conn_send);
        move |_, guard| {
            let _ = conn_send.take().unwrap().send(());
            async move { guard.going_away().await }
        }
    }));
    conn_open.await.unwrap();
    // The second accept, which will never answer, has been called.
    (&mut watch.calls_seen).take(2).count().await;
    assert!(!watch.dropped(), "still accepting while running");
    trigger.shutdown();
    let report = shutdown.run(Smol::new(), futures::stream::pending()).await;
    serving.await;
    assert!(watch.dropped(), "the listener is dropped at the drain");
    assert_eq!(
        watch.calls.lock().unwrap().len(),
        2,
        "one accept served, one pending"
    );
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn draining_ends_a_back_off_at_once() {
    smol::block_on(async {
        let (listener, mut watch) = scripted(&[Err(libc::EMFILE); 20]);
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let serving = smol::spawn(serve(
            listener,
            shutdown.handle(),
            shutdown.trigger(),
            |_, guard| async move { drop(guard) },
        ));
        // Wait until the pause has grown to 640 ms (the 7th error), then shut down.
        (&mut watch.calls_seen).take(7).count().await;
        let start = Instant::now();
        shutdown.trigger().shutdown();
        shutdown.run(Smol::new(), futures::stream::pending()).await;
        serving.await;
        assert!(watch.dropped());
        let waited = start.elapsed();
        assert!(
            waited < Duration::from_millis(500),
            "waited {waited:?} for the pause"
        );
    });
}
