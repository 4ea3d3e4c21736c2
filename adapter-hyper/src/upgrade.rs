//! Upgraded connections (`101 Switching Protocols`: WebSocket, custom protocols) stay
//! counted until they close, and hear when draining starts.

use lameduck::{ConnectionGuard, Handle, Phase, Reached};

/// Put by the [`Tracked`](crate::Tracked) service into every request's extensions: take it
/// out in the handler that answers `101` and turn it into an [`UpgradeGuard`] *before*
/// returning the response, then move the guard into the task that serves the upgraded
/// connection.
///
/// hyper forgets a connection once it is upgraded; without this, a shutdown would not wait
/// for WebSocket sessions and would not tell them to go away.
///
/// ```
/// use lameduck_hyper::{Upgrade, UpgradeGuard};
/// fn answer_upgrade<B>(request: &mut hyper::Request<B>) -> Option<UpgradeGuard> {
///     let upgrade = request.extensions_mut().remove::<Upgrade>()?;
///     Some(upgrade.guard())
///     // ... then: spawn(async move { let io = hyper::upgrade::on(request).await; ... drop(guard) })
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Upgrade {
    handle: Handle,
}

impl Upgrade {
    pub(crate) fn new(handle: Handle) -> Upgrade {
        Upgrade { handle }
    }

    /// A guard that counts the upgraded connection until dropped.
    ///
    /// Take it while the request is being answered: the connection carrying the request
    /// is still counted then, so the drain cannot have completed and the new guard is
    /// always granted.
    ///
    /// ```
    /// # fn f(upgrade: lameduck_hyper::Upgrade) { let guard = upgrade.guard(); drop(guard); }
    /// ```
    pub fn guard(self) -> UpgradeGuard {
        UpgradeGuard {
            guard: self.handle.track(),
            handle: self.handle,
        }
    }

    /// The shutdown's handle.
    ///
    /// ```
    /// # fn f(upgrade: &lameduck_hyper::Upgrade) -> bool { upgrade.handle().is_ready() }
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// Keeps an upgraded connection counted until dropped. Select on
/// [`going_away`](Self::going_away) in the upgraded task to say goodbye and close when
/// draining starts; on [`cut`](Self::cut) to drop the connection when the drain is over.
///
/// ```
/// # async fn serve(guard: lameduck_hyper::UpgradeGuard) {
/// use futures_util::future::{select, Either};
/// let echo = core::future::pending::<()>(); // the upgraded protocol
/// match select(core::pin::pin!(echo), guard.going_away()).await {
///     Either::Left(((), _)) => {}            // the peer closed
///     Either::Right(((), _)) => { /* write "going away", close */ }
/// }
/// drop(guard); // uncounted: the drain may complete
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the upgraded connection is uncounted as soon as the guard is dropped"]
pub struct UpgradeGuard {
    guard: Option<ConnectionGuard>,
    handle: Handle,
}

impl UpgradeGuard {
    /// Completes when draining starts: tell the peer and close.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future loses nothing; a new one completes at once if
    /// draining has started.
    ///
    /// ```
    /// # fn f(guard: &lameduck_hyper::UpgradeGuard) { let _ = guard.going_away(); }
    /// ```
    pub fn going_away(&self) -> Reached {
        self.handle.draining()
    }

    /// Completes when waiting for connections is over (deadline passed, forced, hooks
    /// began): drop the connection now.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`going_away`](Self::going_away).
    ///
    /// ```
    /// # fn f(guard: &lameduck_hyper::UpgradeGuard) { let _ = guard.cut(); }
    /// ```
    pub fn cut(&self) -> Reached {
        self.handle.reached(Phase::Hooks)
    }

    /// Whether the upgraded connection is counted (always, unless the guard was taken after
    /// the drain had completed, which [`Upgrade::guard`] rules out).
    ///
    /// ```
    /// # fn f(guard: &lameduck_hyper::UpgradeGuard) -> bool { guard.is_counted() }
    /// ```
    pub fn is_counted(&self) -> bool {
        self.guard.is_some()
    }

    /// The shutdown's handle.
    ///
    /// ```
    /// # fn f(guard: &lameduck_hyper::UpgradeGuard) -> bool { guard.handle().is_ready() }
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}
