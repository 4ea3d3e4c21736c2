//! [`HookRegistry`]: adds hooks to a shutdown.

use crate::{
    facade::hooks::{Hook, RegisterError},
    facade::shared::Shared,
    pure::sync::Arc,
};

/// Adds hooks to a shutdown. Made by [`Shutdown::hooks`](crate::Shutdown::hooks); cheap to clone.
///
/// ```
/// use lameduck::{Config, Hook, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let hooks = shutdown.hooks();
/// hooks.register(Hook::new("first", || Ok::<(), &str>(()))).unwrap();
/// hooks.register(Hook::new("second", || Err("disk full"))).unwrap();
/// assert_eq!(hooks.len(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct HookRegistry {
    pub(crate) shared: Arc<Shared>,
}

impl HookRegistry {
    /// Appends a hook; it runs after every hook registered before it. Hooks added while
    /// earlier ones run still run, in order.
    ///
    /// # Errors
    ///
    /// [`RegisterError::Stopped`] once the shutdown has stopped: the hook would never run.
    ///
    /// ```
    /// use lameduck::{Config, Hook, Shutdown};
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// assert!(shutdown.hooks().register(Hook::new("a", || Ok::<(), &str>(()))).is_ok());
    /// ```
    pub fn register(&self, hook: Hook) -> Result<(), RegisterError> {
        self.shared.hooks.lock().push(hook)
    }

    /// How many hooks were registered.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(shutdown.hooks().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.hooks.lock().len()
    }

    /// Whether no hook was registered.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(shutdown.hooks().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
