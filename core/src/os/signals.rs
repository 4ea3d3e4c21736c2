//! The signal mask: a server must not be deaf to the signals it handles.

use crate::pure::signal::SignalSet;
use std::io;

/// Unblocks every signal in `set` for the calling thread (on Unix; nothing elsewhere).
///
/// A process can start with signals blocked: a supervisor or a language runtime may leave
/// its signal mask so across `exec`. A handler installed for a blocked signal never runs, so
/// the server would ignore `SIGTERM` until `SIGKILL`. Go's runtime unblocks the signals it
/// handles; the runtime adapters call this from their signal setup for the set they listen
/// for (the config's shutdown and reload signals), right where the handlers are installed.
///
/// Which threads this reaches: the calling thread (the one that sets up the signals, in
/// the demos and in `lameduck_hyper::serve` the thread that runs the server's future) and
/// every thread started after it, which inherit its mask. Threads started before keep
/// theirs, and that is enough: a process-directed signal (`kill`, a supervisor's `SIGTERM`)
/// is delivered to any one thread that does not block it, and the runtimes' handlers only
/// record the signal for the task that waits on it, whichever thread ran them.
///
/// # Errors
///
/// A signal number the platform does not know, or the mask could not be changed.
///
/// ```
/// lameduck::runtime::unblock_signals(lameduck::SignalSet::DEFAULT).unwrap();
/// ```
pub fn unblock_signals(set: SignalSet) -> io::Result<()> {
    #[cfg(unix)]
    {
        use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
        let mut mask = SigSet::empty();
        for signal in set.iter() {
            let number = i32::from(signal.number());
            let signal = Signal::try_from(number).map_err(io::Error::from)?;
            mask.add(signal);
        }
        pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&mask), None).map_err(io::Error::from)?;
    }
    #[cfg(not(unix))]
    let _ = set;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::unblock_signals as unblock;
    use crate::pure::signal::{Signal, SignalSet};
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal as Nix};

    #[test]
    fn the_set_is_unblocked_and_nothing_else() {
        // On a thread of its own: the mask is per thread.
        std::thread::spawn(|| {
            let mut blocked = SigSet::empty();
            for signal in [Nix::SIGTERM, Nix::SIGHUP, Nix::SIGUSR1] {
                blocked.add(signal);
            }
            pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None).unwrap();
            unblock(SignalSet::EMPTY.with(Signal::TERM).with(Signal::HUP)).unwrap();
            let now = SigSet::thread_get_mask().unwrap();
            assert!(!now.contains(Nix::SIGTERM));
            assert!(!now.contains(Nix::SIGHUP));
            assert!(
                now.contains(Nix::SIGUSR1),
                "a signal not in the set stays blocked"
            );
        })
        .join()
        .unwrap();
    }
}
