//! Named shutdown hooks, sync or async, each run once, in registration order.

use alloc::{borrow::Cow, boxed::Box, string::String, string::ToString, vec::Vec};
use core::{fmt, future::Future, pin::Pin, time::Duration};

pub(crate) type HookFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

pub(crate) enum HookFn {
    /// Runs on [`Runtime::spawn_blocking`](crate::runtime::Runtime::spawn_blocking),
    /// with or without `std` (with `std` its panic is caught).
    Sync(Box<dyn FnOnce() -> Result<(), String> + Send>),
    Async(Box<dyn FnOnce() -> HookFuture + Send>),
}

/// A named piece of work to run once the connections are gone: flush a log, close a pool,
/// deregister from discovery. Bounded by its own timeout or the configured default.
///
/// A hook fails by returning an error (any `Display`), by panicking (caught with `std`), or
/// by passing its timeout; either way the next hook still runs.
///
/// ```
/// use core::time::Duration;
/// use lameduck::Hook;
/// let flush = Hook::new("flush logs", || Ok::<(), &str>(()));
/// let close = Hook::new_async("close pool", || async { Ok::<(), String>(()) })
///     .timeout(Duration::from_secs(2));
/// assert_eq!(close.name(), "close pool");
/// # drop(flush);
/// ```
pub struct Hook {
    pub(crate) name: Cow<'static, str>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) run: HookFn,
}

impl Hook {
    /// A synchronous hook.
    ///
    /// It runs on the runtime's blocking pool
    /// ([`Runtime::spawn_blocking`](crate::runtime::Runtime::spawn_blocking)), with or
    /// without `std`: on a runtime with threads a hook that blocks forever is cut at its
    /// timeout (the thread is abandoned, and neither the runtime's shutdown nor the process's
    /// exit waits for it); a runtime without threads runs it where its `spawn_blocking` does,
    /// and then it cannot be interrupted. Prefer [`new_async`](Self::new_async) where you can:
    /// it needs no thread.
    ///
    /// ```
    /// let hook = lameduck::Hook::new("say bye", || {
    ///     println!("bye");
    ///     Ok::<(), std::io::Error>(())
    /// });
    /// # drop(hook);
    /// ```
    pub fn new<F, E>(name: impl Into<Cow<'static, str>>, f: F) -> Hook
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
        E: fmt::Display,
    {
        Hook {
            name: name.into(),
            timeout: None,
            run: HookFn::Sync(Box::new(move || f().map_err(|e| e.to_string()))),
        }
    }

    /// An asynchronous hook: `f` is called once, and the future it returns is awaited on
    /// the driver's task, dropped if it passes its timeout.
    ///
    /// ```
    /// let hook = lameduck::Hook::new_async("deregister", || async {
    ///     Ok::<(), String>(())
    /// });
    /// # drop(hook);
    /// ```
    pub fn new_async<F, Fut, E>(name: impl Into<Cow<'static, str>>, f: F) -> Hook
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display,
    {
        Hook {
            name: name.into(),
            timeout: None,
            run: HookFn::Async(Box::new(move || {
                Box::pin(async move { f().await.map_err(|e| e.to_string()) })
            })),
        }
    }

    /// Bounds this hook by `timeout` instead of the configured default
    /// ([`Config::hook_timeout`](crate::Config::hook_timeout)); the [type's example](Hook)
    /// sets one.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Hook {
        self.timeout = Some(timeout);
        self
    }

    /// The hook's name: its line in the [`Report`](crate::Report) is `hook <name>: <outcome>`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hook")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The hooks, in registration order. A slot is emptied when its hook is taken to run, so
/// nothing can run it twice.
#[derive(Debug, Default)]
pub(crate) struct HookList {
    slots: Vec<Option<Hook>>,
    closed: bool,
}

impl HookList {
    /// Appends `hook`, unless the list was closed (the shutdown stopped).
    pub(crate) fn push(&mut self, hook: Hook) -> Result<(), RegisterError> {
        if self.closed {
            return Err(RegisterError::Stopped);
        }
        self.slots.push(Some(hook));
        Ok(())
    }

    /// Takes hook `index` to run it. If there is none, closes the list in the same critical
    /// section, so no hook can be registered in between and then silently never run.
    pub(crate) fn take_or_close(&mut self, index: usize) -> Option<Hook> {
        let hook = self.slots.get_mut(index).and_then(Option::take);
        if hook.is_none() {
            self.closed = true;
        }
        hook
    }

    /// Closes the registry; returns the names of the hooks never run, in order.
    pub(crate) fn close(&mut self) -> Vec<Cow<'static, str>> {
        self.closed = true;
        self.slots
            .drain(..)
            .flatten()
            .map(|hook| hook.name)
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The names of the hooks not yet taken, in order.
    #[cfg(feature = "metrics")]
    pub(crate) fn names(&self) -> Vec<Cow<'static, str>> {
        self.slots
            .iter()
            .flatten()
            .map(|h| h.name.clone())
            .collect()
    }

    /// How many hooks are not yet taken, and the sum of their timeouts (`default` for
    /// those without their own): how long the hooks still to run may take at most.
    #[cfg(all(unix, feature = "systemd"))]
    pub(crate) fn time_left(&self, default: Duration) -> (usize, Duration) {
        self.slots
            .iter()
            .flatten()
            .fold((0, Duration::ZERO), |(n, sum), h| {
                (n + 1, sum.saturating_add(h.timeout.unwrap_or(default)))
            })
    }
}

/// Why a hook could not be registered.
///
/// ```
/// assert_eq!(lameduck::hook::RegisterError::Stopped.to_string(), "shutdown has already stopped");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisterError {
    /// The shutdown has stopped; the hook would never run.
    Stopped,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shutdown has already stopped")
    }
}

impl core::error::Error for RegisterError {}
