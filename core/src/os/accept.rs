//! An accept loop that stops at the drain, runtime-free (feature `std`): the adapters
//! (`lameduck-tokio`, `lameduck-smol`) supply the listener, the timer and the spawn.
//!
//! - [`AcceptError`] sorts accept errors: skip the connection, back off, or give up.
//! - [`Backoff`] is the pause after running out of resources.
//! - [`serve`] is the loop; [`Accept`] is what it accepts from.

mod backoff;
mod error;

pub use backoff::Backoff;
pub use error::AcceptError;

use crate::{Connection, Handle, Reached, Timer, Trigger};
use core::{
    future::{poll_fn, Future},
    pin::{pin, Pin},
    task::Poll,
};
use std::io;

/// A source of connections for [`serve`]: one accept at a time.
///
/// Runtime adapters implement it for their listeners (usually on a private wrapper, since
/// both the listener and this trait are foreign to them).
///
/// ```
/// use core::future::{ready, Future};
/// /// Accepts the same number forever (for illustration only).
/// struct Numbers(u32);
/// impl lameduck::accept::Accept for Numbers {
///     type Conn = u32;
///     fn accept(&mut self) -> impl Future<Output = std::io::Result<u32>> + '_ {
///         ready(Ok(self.0))
///     }
/// }
/// ```
pub trait Accept {
    /// An accepted connection, with whatever comes with it (a peer address).
    type Conn;

    /// Accepts the next connection.
    ///
    /// # Cancel safety
    ///
    /// [`serve`] drops a pending accept when draining starts, and then the listener: a
    /// connection the accept took but had not returned yet is lost, as it would be in the
    /// backlog of a closed listener.
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Conn>> + '_;
}

/// Accepts connections while the phase allows it (running, lame duck), and returns as soon
/// as draining starts, dropping `listener` so that new connection attempts are refused at
/// once rather than left waiting in a backlog no one reads.
///
/// Each accepted connection is counted with [`Handle::connection`] and handed, with its
/// [`Connection`], to `spawn`, which should start serving it on its own task and
/// return. A connection accepted after the drain completed is dropped unserved.
///
/// Accept errors, sorted by [`AcceptError::classify`]:
/// - [`Connection`](AcceptError::Connection): skipped, the next accept follows at once;
/// - [`Resources`](AcceptError::Resources): a pause of [`Backoff::next`] on `timer`, reset by
///   the next success, and serving goes on (no busy loop, no crash); draining ends the pause;
/// - [`Fatal`](AcceptError::Fatal): the shutdown starts with [`Trigger::fail`] (the report's
///   reason carries `accept: <error>`) and this returns.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future stops accepting and drops the listener; connections
/// already spawned go on.
///
/// ```
/// use core::future::{pending, ready, Future};
/// use lameduck::{accept, test_util::ManualClock, Config, Shutdown};
/// use std::{collections::VecDeque, io};
///
/// /// One connection, then a broken listener.
/// struct Script(VecDeque<io::Result<u32>>);
/// impl accept::Accept for Script {
///     type Conn = u32;
///     fn accept(&mut self) -> impl Future<Output = io::Result<u32>> + '_ {
///         ready(self.0.pop_front().unwrap_or(Err(io::ErrorKind::InvalidInput.into())))
///     }
/// }
///
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let listener = Script(VecDeque::from([Ok(1)]));
/// let mut served = Vec::new();
/// let clock = ManualClock::new();
/// clock.block_on(accept::serve(
///     listener,
///     shutdown.handle(),
///     shutdown.trigger(),
///     clock.clone(),
///     |conn, guard| {
///         served.push(conn); // A runtime would spawn the connection's task here.
///         drop(guard);
///     },
/// ));
/// assert_eq!(served, [1]);
/// let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
/// assert!(report.detail().unwrap().starts_with("accept: "));
/// ```
pub async fn serve<A, T, S>(listener: A, handle: Handle, trigger: Trigger, timer: T, mut spawn: S)
where
    A: Accept,
    T: Timer,
    S: FnMut(A::Conn, Connection),
{
    let mut listener = listener;
    let mut draining = handle.draining();
    let mut backoff = Backoff::default();
    while handle.phase().accepts() {
        let Some(accepted) = before_draining(listener.accept(), &mut draining).await else {
            break;
        };
        match accepted {
            Ok(conn) => {
                backoff.reset();
                // `None` once the drain completed: the connection is dropped unserved.
                if let Some(guard) = handle.connection() {
                    spawn(conn, guard);
                }
            }
            Err(error) => match AcceptError::classify(&error) {
                AcceptError::Connection => {}
                AcceptError::Resources => {
                    let pause = timer.sleep(backoff.next());
                    if before_draining(pause, &mut draining).await.is_none() {
                        break;
                    }
                }
                AcceptError::Fatal => {
                    trigger.fail(format_args!("accept: {error}"));
                    break;
                }
            },
        }
    }
    drop(listener);
}

/// `future`'s output, or `None` if draining starts first.
async fn before_draining<F: Future>(future: F, draining: &mut Reached) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        Pin::new(&mut *draining).poll(cx).map(|()| None)
    })
    .await
}

#[cfg(all(test, unix))]
mod tests {
    use super::{serve, Accept};
    use crate::{test_util::ManualClock, Config, Reason, Shutdown, Timer};
    use core::{future::Future, time::Duration};
    use std::{collections::VecDeque, io, vec::Vec};

    /// Answers from a script (`Ok(id)` or `Err(errno)`), then never; records when it is called.
    struct Script {
        answers: VecDeque<Result<u32, i32>>,
        clock: ManualClock,
        calls: Vec<u128>,
    }

    impl Script {
        fn new(answers: &[Result<u32, i32>], clock: &ManualClock) -> Script {
            let answers = answers.iter().copied().collect();
            let clock = clock.clone();
            Script {
                answers,
                clock,
                calls: Vec::new(),
            }
        }
    }

    impl Accept for &mut Script {
        type Conn = u32;

        fn accept(&mut self) -> impl Future<Output = io::Result<u32>> + '_ {
            self.calls.push(self.clock.now().as_millis());
            let next = self.answers.pop_front();
            async move {
                match next {
                    Some(Ok(id)) => Ok(id),
                    Some(Err(errno)) => Err(io::Error::from_raw_os_error(errno)),
                    None => core::future::pending().await,
                }
            }
        }
    }

    #[test]
    fn resources_back_off_on_the_timer_and_a_broken_listener_fails_the_shutdown() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let mut script = Script::new(
            &[
                Err(libc::EMFILE),
                Err(libc::ENFILE),
                Ok(1),
                Err(libc::ENOBUFS),
                Err(libc::ECONNABORTED),
                Ok(2),
                Err(libc::EBADF),
            ],
            &clock,
        );
        let mut served = Vec::new();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        clock.block_on(serve(
            &mut script,
            handle,
            trigger,
            clock.clone(),
            |id, _| {
                served.push(id);
            },
        ));
        assert_eq!(served, [1, 2]);
        // 10 ms, 20 ms; a success resets to 10 ms; an aborted connection waits not.
        assert_eq!(script.calls, [0, 10, 30, 30, 40, 40, 40]);
        let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
        assert_eq!(report.reason(), Reason::Failed);
        assert!(report.detail().unwrap().starts_with("accept: "));
    }

    #[test]
    fn draining_ends_a_pause_at_once() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let mut script = Script::new(&[Err(libc::EMFILE); 20], &clock);
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let serving = serve(
            &mut script,
            handle,
            trigger.clone(),
            clock.clone(),
            |_, _| {},
        );
        let stopping = async {
            // Pauses end at 10, 30, .., 2270, 3270, 4270 ms: this is within one.
            clock.sleep(Duration::from_millis(3500)).await;
            trigger.shutdown();
            shutdown
                .run(clock.clone(), futures::stream::pending())
                .await
        };
        let ((), report) = clock.block_on(futures::future::join(serving, stopping));
        assert_eq!(
            clock.now(),
            Duration::from_millis(3500),
            "no waiting out the pause"
        );
        assert_eq!(report.exit_code(), 0);
        assert_eq!(script.calls.len(), 10);
    }
}
