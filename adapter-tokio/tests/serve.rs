//! `serve` against a scripted listener: accept errors sorted, back-off timed on tokio's
//! paused clock, a broken listener ending the shutdown with its error, the listener dropped.

use core::sync::atomic::{AtomicBool, Ordering};
use core::{future::Future, time::Duration};
use lameduck::{Config, Reason, Shutdown};
use lameduck_tokio::{serve, Listener, TokioTimer};
use std::{
    collections::VecDeque,
    io,
    sync::{Arc, Mutex},
};
use tokio::time::Instant;

/// Answers each accept from a script (`Ok(id)` or `Err(errno)`), then never again.
struct Scripted {
    script: VecDeque<Result<u32, i32>>,
    /// When each accept was called, since the start.
    calls: Arc<Mutex<Vec<Duration>>>,
    start: Instant,
    dropped: Arc<AtomicBool>,
}

impl Scripted {
    fn new(script: &[Result<u32, i32>]) -> (Scripted, Arc<Mutex<Vec<Duration>>>, Arc<AtomicBool>) {
        let (calls, dropped) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let listener = Scripted {
            script: script.iter().copied().collect(),
            calls: Arc::clone(&calls),
            start: Instant::now(),
            dropped: Arc::clone(&dropped),
        };
        (listener, calls, dropped)
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

#[tokio::test(start_paused = true)]
async fn transient_errors_back_off_and_a_broken_listener_fails_the_shutdown() {
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
    let serving = tokio::spawn(serve(listener, shutdown.handle(), shutdown.trigger(), {
        let served = Arc::clone(&served);
        move |id, (), guard| {
            served.lock().unwrap().push(id);
            async move { drop(guard) }
        }
    }));
    let report = shutdown
        .run(TokioTimer::new(), futures::stream::pending())
        .await;
    serving.await.unwrap();

    assert_eq!(*served.lock().unwrap(), [1, 2]);
    let ms: Vec<u128> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.as_millis())
        .collect();
    // Out of resources: 10, 20, 40 ms; a success resets; an aborted connection waits not.
    assert_eq!(ms, [0, 10, 30, 70, 70, 80, 80, 80]);
    assert!(dropped.load(Ordering::SeqCst), "the listener is dropped");
    assert_eq!(report.reason(), Reason::Failed);
    let detail = report.detail().unwrap();
    assert!(detail.starts_with("accept: "), "{detail}");
    assert_eq!(
        report.to_string(),
        format!("shutdown: drained=true connections_left=0 elapsed_ms=0 reason=failed: {detail}")
    );
}

#[tokio::test]
async fn draining_stops_a_pending_accept_and_drops_the_listener() {
    let (listener, calls, dropped) = Scripted::new(&[Ok(7)]);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let (conn_send, conn_open) = tokio::sync::oneshot::channel();
    let serving = tokio::spawn(serve(listener, handle.clone(), trigger.clone(), {
        let mut conn_send = Some(conn_send);
        move |_, (), guard| {
            let _ = conn_send.take().unwrap().send(());
            async move { guard.going_away().await }
        }
    }));
    conn_open.await.unwrap();
    assert!(
        !dropped.load(Ordering::SeqCst),
        "still accepting while running"
    );
    trigger.shutdown();
    let report = shutdown
        .run(TokioTimer::new(), futures::stream::pending())
        .await;
    serving.await.unwrap();
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

#[tokio::test(start_paused = true)]
async fn draining_ends_a_back_off_at_once() {
    let (listener, _calls, dropped) = Scripted::new(&[Err(libc::EMFILE); 20]);
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let serving = tokio::spawn(serve(
        listener,
        shutdown.handle(),
        shutdown.trigger(),
        |_, (), guard| async move { drop(guard) },
    ));
    // Let the back-off reach its ceiling, then shut down in the middle of a pause.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let start = Instant::now();
    shutdown.trigger().shutdown();
    shutdown
        .run(TokioTimer::new(), futures::stream::pending())
        .await;
    serving.await.unwrap();
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(start.elapsed(), Duration::ZERO, "no waiting out the pause");
}
