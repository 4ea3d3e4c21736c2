//! `serve` against a scripted listener: accept errors sorted, back-off at least as long as
//! promised, a broken listener ending the shutdown with its error, the listener dropped.

use core::sync::atomic::{AtomicBool, Ordering};
use core::{future::Future, time::Duration};
use futures::StreamExt;
use lameduck::{Config, Reason, Shutdown};
use lameduck_smol::{serve, Listener, SmolTimer};
use std::time::Instant;
use std::{
    collections::VecDeque,
    io,
    sync::{Arc, Mutex},
};

/// Answers each accept from a script (`Ok(id)` or `Err(errno)`), then never again.
struct Scripted {
    script: VecDeque<Result<u32, i32>>,
    /// When each accept was called, since the start.
    calls: Arc<Mutex<Vec<Duration>>>,
    start: Instant,
    dropped: Arc<AtomicBool>,
    /// Told of every accept call.
    called: futures::channel::mpsc::UnboundedSender<()>,
}

impl Scripted {
    fn new(script: &[Result<u32, i32>]) -> (Scripted, Arc<Mutex<Vec<Duration>>>, Arc<AtomicBool>) {
        Scripted::observed(script).0
    }

    /// Also returns a stream with one item per accept call.
    #[allow(clippy::type_complexity)]
    fn observed(
        script: &[Result<u32, i32>],
    ) -> (
        (Scripted, Arc<Mutex<Vec<Duration>>>, Arc<AtomicBool>),
        futures::channel::mpsc::UnboundedReceiver<()>,
    ) {
        let (called, calls_seen) = futures::channel::mpsc::unbounded();
        let (calls, dropped) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let listener = Scripted {
            script: script.iter().copied().collect(),
            calls: Arc::clone(&calls),
            start: Instant::now(),
            dropped: Arc::clone(&dropped),
            called,
        };
        ((listener, calls, dropped), calls_seen)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl Listener for Scripted {
    type Io = u32;
    type Addr = ();

    fn accept(&mut self) -> impl Future<Output = io::Result<(u32, ())>> + Send + '_ {
        self.calls.lock().unwrap().push(self.start.elapsed());
        let _ = self.called.unbounded_send(());
        let next = self.script.pop_front();
        async move {
            match next {
                Some(Ok(id)) => Ok((id, ())),
                Some(Err(errno)) => Err(io::Error::from_raw_os_error(errno)),
                None => core::future::pending().await,
            }
        }
    }
}

#[test]
fn transient_errors_back_off_and_a_broken_listener_fails_the_shutdown() {
    smol::block_on(transient_errors_back_off_and_a_broken_listener_fails());
}

async fn transient_errors_back_off_and_a_broken_listener_fails() {
    let (listener, calls, dropped) = Scripted::new(&[
        Err(libc::EMFILE),
        Err(libc::ENFILE),
        Err(libc::EMFILE),
        Ok(1),
        Err(libc::ENOBUFS),
        Err(libc::ECONNABORTED),
        Ok(2),
        Err(libc::EBADF),
    ]);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let served = Arc::new(Mutex::new(Vec::new()));
    let serving = smol::spawn(serve(listener, shutdown.handle(), shutdown.trigger(), {
        let served = Arc::clone(&served);
        move |id, (), guard| {
            served.lock().unwrap().push(id);
            async move { drop(guard) }
        }
    }));
    let report = shutdown
        .run(SmolTimer::new(), futures::stream::pending())
        .await;
    serving.await;

    assert_eq!(*served.lock().unwrap(), [1, 2]);
    let calls = calls.lock().unwrap();
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
    assert!(dropped.load(Ordering::SeqCst), "the listener is dropped");
    assert_eq!(report.reason(), Reason::Failed);
    let detail = report.detail().unwrap();
    assert!(detail.starts_with("accept: "), "{detail}");
    assert_eq!(
        report.to_string(),
        format!("shutdown: drained=true connections_left=0 elapsed_ms=0 reason=failed: {detail}")
    );
}

#[test]
fn draining_stops_a_pending_accept_and_drops_the_listener() {
    smol::block_on(draining_stops_a_pending_accept());
}

async fn draining_stops_a_pending_accept() {
    let ((listener, calls, dropped), mut calls_seen) = Scripted::observed(&[Ok(7)]);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let (conn_send, conn_open) = futures::channel::oneshot::channel();
    let serving = smol::spawn(serve(listener, handle.clone(), trigger.clone(), {
        let mut conn_send = Some(conn_send);
        move |_, (), guard| {
            let _ = conn_send.take().unwrap().send(());
            async move { guard.going_away().await }
        }
    }));
    conn_open.await.unwrap();
    // The second accept, which will never answer, has been called.
    (&mut calls_seen).take(2).count().await;
    assert!(
        !dropped.load(Ordering::SeqCst),
        "still accepting while running"
    );
    trigger.shutdown();
    let report = shutdown
        .run(SmolTimer::new(), futures::stream::pending())
        .await;
    serving.await;
    assert!(
        dropped.load(Ordering::SeqCst),
        "the listener is dropped at the drain"
    );
    assert_eq!(
        calls.lock().unwrap().len(),
        2,
        "one accept served, one pending"
    );
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn draining_ends_a_back_off_at_once() {
    smol::block_on(async {
        let ((listener, _, dropped), calls_seen) = Scripted::observed(&[Err(libc::EMFILE); 20]);
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let serving = smol::spawn(serve(
            listener,
            shutdown.handle(),
            shutdown.trigger(),
            |_, (), guard| async move { drop(guard) },
        ));
        // Wait until the pause has grown to 640 ms (the 7th error), then shut down.
        calls_seen.take(7).count().await;
        let start = Instant::now();
        shutdown.trigger().shutdown();
        shutdown
            .run(SmolTimer::new(), futures::stream::pending())
            .await;
        serving.await;
        assert!(dropped.load(Ordering::SeqCst));
        let waited = start.elapsed();
        assert!(
            waited < Duration::from_millis(500),
            "waited {waited:?} for the pause"
        );
    });
}
