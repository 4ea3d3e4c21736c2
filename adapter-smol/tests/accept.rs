//! The core accept loop (`lameduck::accept::serve`) spawned on smol's executor, against a
//! scripted listener: draining stops a pending accept and drops the listener.
//!
//! The back-off's timing (pauses of 10, 20, 40 ms, reset by a success, ended at once by the
//! drain) and a broken listener failing the shutdown are the loop's, not smol's: they are
//! asserted on the manual clock in the core (`accept::tests::
//! resources_back_off_on_the_timer_and_a_broken_listener_fails_the_shutdown`,
//! `draining_ends_a_pause_at_once`), and smol's timer keeps the runtime contract in
//! `conformance_smol.rs`. (They were here on the real clock, bounding wall time.)
#![cfg(unix)]

#[path = "../../adapter-tokio/tests/support/scripted.rs"]
mod scripted;

use futures::StreamExt;
use lameduck::{accept, Config, Handle, Shutdown, Trigger};
use lameduck_smol::Smol;
use scripted::{Scripted, ScriptedNet, Watch};
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
