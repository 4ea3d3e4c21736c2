//! A scripted listener for the accept loop's tests on every runtime: each accept answers
//! from a script (`Ok(id)` or `Err(errno)`), then never again. [`ScriptedNet`] makes a
//! runtime accept from it.

use core::{
    future::Future,
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll},
    time::Duration,
};
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use lameduck::{
    runtime::{BoxError, Listener, Network, Runtime, Timer},
    Connection, Handle, SignalSet, Trigger,
};
use std::{
    collections::VecDeque,
    io,
    sync::{Arc, Mutex},
};

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
    /// The script is done: every accept from now on waits forever.
    waiting: bool,
}

/// What the test sees of a [`Scripted`] listener it gave away.
pub(crate) struct Watch {
    /// When each accept was called, since the start.
    pub(crate) calls: Arc<Mutex<Vec<Duration>>>,
    dropped: Arc<AtomicBool>,
    /// One item per accept call.
    #[allow(dead_code)]
    pub(crate) calls_seen: UnboundedReceiver<()>,
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
            waiting: false,
        };
        let watch = Watch {
            calls,
            dropped,
            calls_seen,
        };
        (listener, watch)
    }

    /// The next accept: records the call, then answers from the script.
    fn poll_next(&mut self) -> Poll<io::Result<u32>> {
        if self.waiting {
            return Poll::Pending;
        }
        self.calls.lock().unwrap().push((self.elapsed)());
        let _ = self.called.unbounded_send(());
        match self.script.pop_front() {
            Some(Ok(id)) => Poll::Ready(Ok(id)),
            Some(Err(errno)) => Poll::Ready(Err(io::Error::from_raw_os_error(errno))),
            None => {
                self.waiting = true;
                Poll::Pending
            }
        }
    }
}

/// The core accept loop (`lameduck::accept::serve`) on `runtime`, accepting from `listener`.
pub(crate) fn serve<R, F>(
    runtime: R,
    listener: Scripted,
    handle: Handle,
    trigger: Trigger,
    connected: impl FnMut(u32, Connection) -> F + Send + 'static,
) -> impl Future<Output = ()> + Send
where
    R: Runtime,
    F: Future<Output = ()> + Send + 'static,
{
    lameduck::accept::serve(ScriptedNet(runtime), listener, handle, trigger, connected)
}

/// Draining stops a pending accept and drops the listener, on `runtime`: the loop accepts
/// one connection, waits in its second accept, and is stopped there by the drain; the
/// shutdown ends clean. `elapsed` is the runtime's clock since the start.
pub(crate) async fn draining_stops_a_pending_accept<R: Runtime>(
    runtime: R,
    elapsed: impl Fn() -> Duration + Send + 'static,
) {
    use futures::{channel::oneshot, StreamExt};
    let (listener, mut watch) = Scripted::new(&[Ok(7)], elapsed);
    let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    let trigger = shutdown.trigger();
    let (conn_send, conn_open) = oneshot::channel();
    let (ended, serving) = oneshot::channel();
    let mut conn_send = Some(conn_send);
    let accepting = serve(
        runtime.clone(),
        listener,
        shutdown.handle(),
        trigger.clone(),
        move |_, guard| {
            let _ = conn_send.take().unwrap().send(());
            async move { guard.draining().await }
        },
    );
    runtime.spawn(async move {
        accepting.await;
        let _ = ended.send(());
    });
    conn_open.await.unwrap();
    // The second accept, which will never answer, has been called.
    (&mut watch.calls_seen).take(2).count().await;
    assert!(!watch.dropped(), "still accepting while running");
    trigger.shutdown();
    let report = shutdown.run(runtime, futures::stream::pending()).await;
    serving.await.expect("the accept loop ended");
    assert!(watch.dropped(), "the listener is dropped at the drain");
    assert_eq!(
        watch.calls.lock().unwrap().len(),
        2,
        "one accept served, one pending"
    );
    assert_eq!(report.exit_code(), 0);
}

/// The runtime `R` accepting from [`Scripted`] listeners (everything else is `R`'s).
#[derive(Clone)]
pub(crate) struct ScriptedNet<R>(pub R);

impl<R: Runtime> Timer for ScriptedNet<R> {
    type Sleep = R::Sleep;

    fn now(&self) -> Duration {
        self.0.now()
    }

    fn sleep(&self, duration: Duration) -> R::Sleep {
        self.0.sleep(duration)
    }
}

impl<R: Runtime> Runtime for ScriptedNet<R> {
    type Signals = R::Signals;

    fn signals(&self, set: SignalSet) -> Result<R::Signals, BoxError> {
        self.0.signals(set)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(task);
    }

    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
        self.0.spawn_blocking(work);
    }
}

impl<R: Runtime> Network for ScriptedNet<R> {
    type Acceptor = Scripted;
    type Stream = u32;

    fn listen(&self, _: Listener) -> io::Result<Scripted> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn poll_accept(&self, listener: &mut Scripted, _: &mut Context<'_>) -> Poll<io::Result<u32>> {
        listener.poll_next()
    }

    /// The script is what the loop accepts while running; nothing waits in a backlog when
    /// the drain starts (the core's own tests script the drain's sweep).
    fn try_accept(&self, _: &mut Scripted) -> Option<io::Result<u32>> {
        None
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}
