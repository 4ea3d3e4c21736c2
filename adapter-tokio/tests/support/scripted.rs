//! A scripted listener for the `serve` tests of every runtime: each accept answers from a
//! script (`Ok(id)` or `Err(errno)`), then never again. Each adapter's test implements its
//! own `Listener` trait on it with [`Scripted::next_accept`].

use core::future::Future;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use lameduck::{Reason, Report};
use std::{
    collections::VecDeque,
    io,
    sync::{Arc, Mutex},
};

/// Out of resources three times, a success, out of resources, an aborted connection, a
/// success, then a broken listener (`EBADF`).
pub(crate) const TRANSIENT_THEN_BROKEN: [Result<u32, i32>; 8] = [
    Err(libc::EMFILE),
    Err(libc::ENFILE),
    Err(libc::EMFILE),
    Ok(1),
    Err(libc::ENOBUFS),
    Err(libc::ECONNABORTED),
    Ok(2),
    Err(libc::EBADF),
];

/// The listener, and what the test watches of it.
pub(crate) struct Scripted {
    script: VecDeque<Result<u32, i32>>,
    /// The runtime's clock: time since the start.
    elapsed: Box<dyn Fn() -> Duration + Send>,
    /// When each accept was called, since the start.
    calls: Arc<Mutex<Vec<Duration>>>,
    dropped: Arc<AtomicBool>,
    /// Told of every accept call.
    called: UnboundedSender<()>,
}

/// What the test sees of a [`Scripted`] listener it gave away.
pub(crate) struct Watch {
    /// When each accept was called, since the start.
    pub calls: Arc<Mutex<Vec<Duration>>>,
    dropped: Arc<AtomicBool>,
    /// One item per accept call.
    #[allow(dead_code)]
    pub calls_seen: UnboundedReceiver<()>,
}

impl Watch {
    /// Whether the listener was dropped.
    pub(crate) fn dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    /// The times of the accept calls, in milliseconds since the start.
    #[allow(dead_code)]
    pub(crate) fn call_ms(&self) -> Vec<u128> {
        let calls = self.calls.lock().unwrap();
        calls.iter().map(|d| d.as_millis()).collect()
    }
}

impl Scripted {
    /// A listener answering from `script`, timed by `elapsed` (time since the start).
    pub(crate) fn new(
        script: &[Result<u32, i32>],
        elapsed: impl Fn() -> Duration + Send + 'static,
    ) -> (Scripted, Watch) {
        let (called, calls_seen) = unbounded();
        let (calls, dropped) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let listener = Scripted {
            script: script.iter().copied().collect(),
            elapsed: Box::new(elapsed),
            calls: Arc::clone(&calls),
            dropped: Arc::clone(&dropped),
            called,
        };
        let watch = Watch {
            calls,
            dropped,
            calls_seen,
        };
        (listener, watch)
    }

    /// The next accept: records the call, then answers from the script.
    pub(crate) fn next_accept(&mut self) -> impl Future<Output = io::Result<(u32, ())>> + Send {
        self.calls.lock().unwrap().push((self.elapsed)());
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

impl Drop for Scripted {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// The report of a shutdown a broken listener started: failed, by `accept: <error>`.
pub(crate) fn assert_failed_by_accept(report: &Report) {
    assert_eq!(report.reason(), Reason::Failed);
    let detail = report.detail().unwrap();
    assert!(detail.starts_with("accept: "), "{detail}");
    assert_eq!(
        report.to_string(),
        format!("shutdown: drained=true connections_left=0 elapsed_ms=0 reason=failed: {detail}")
    );
}
