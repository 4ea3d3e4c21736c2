//! A WebSocket's goodbye when draining starts: [`GoingAway`] around the socket sends Close
//! 1001 (going away), waits briefly for the client's Close, and ends the session.

use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use futures_util::{Sink, Stream};
use lameduck::{future::Reached, runtime::Timer};

/// How long [`GoingAway`] waits for the client's Close after sending its own.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A WebSocket message type [`GoingAway`] can say goodbye with. Implemented for
/// `tungstenite::Message` (feature `ws`: tokio-tungstenite, async-tungstenite) and
/// `axum::extract::ws::Message` (feature `axum`).
pub trait CloseMessage: Sized {
    /// A Close frame with code 1001 (going away).
    fn going_away() -> Self;

    /// Whether this is a Close frame.
    fn is_close(&self) -> bool;
}

#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
impl CloseMessage for tungstenite::Message {
    fn going_away() -> Self {
        tungstenite::Message::Close(Some(tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Away,
            reason: "going away".into(),
        }))
    }

    fn is_close(&self) -> bool {
        matches!(self, tungstenite::Message::Close(_))
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl CloseMessage for axum::extract::ws::Message {
    fn going_away() -> Self {
        axum::extract::ws::Message::Close(Some(axum::extract::ws::CloseFrame {
            code: axum::extract::ws::close_code::AWAY,
            reason: "going away".into(),
        }))
    }

    fn is_close(&self) -> bool {
        matches!(self, axum::extract::ws::Message::Close(_))
    }
}

/// Where the goodbye stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not draining: messages pass through.
    Open,
    /// Draining started: the Close frame is being sent.
    Closing,
    /// The Close frame went out: waiting (up to [`CLOSE_GRACE`]) for the client's.
    Waiting,
    /// The session is over: the stream yields nothing more.
    Ended,
}

/// A WebSocket (any `Stream + Sink` of messages: tokio-tungstenite's and
/// async-tungstenite's `WebSocketStream`, axum's `WebSocket`) that says goodbye when
/// `draining` completes: it sends a Close frame with code 1001 (going away), passes on
/// what the client still sends until the client's Close (then the stream ends), and ends
/// the stream anyway after [`CLOSE_GRACE`] (1 s). The handler then drops the socket, the
/// connection closes, and the drain goes on — a session ended so is not a cut.
///
/// `draining` is [`Connection::draining`](lameduck::Connection::draining) (lameduck-hyper
/// puts the `Connection` into every upgrade request's extensions) or
/// [`Handle::draining`](lameduck::Handle::draining); `timer` bounds the wait for the
/// client's Close (a runtime: `lameduck_tokio::Tokio`, `lameduck_smol::Smol`).
///
/// The goodbye is sent from [`poll_next`](Stream::poll_next): read from the socket (the
/// usual `while let Some(message) = socket.next().await` loop). Once the Close frame went
/// out, messages sent through it are dropped: the protocol allows no data after a Close.
///
/// The axum handler (feature `axum`):
///
/// ```no_run
/// # #[cfg(feature = "axum")]
/// # mod demo {
/// use axum::extract::{ws::WebSocketUpgrade, Extension};
/// use futures_util::{SinkExt, StreamExt};
/// use lameduck::Connection;
/// use lameduck_hyper::GoingAway;
///
/// async fn ws(upgrade: WebSocketUpgrade, Extension(connection): Extension<Connection>) -> axum::response::Response {
///     upgrade.on_upgrade(move |socket| async move {
///         // The one line: Close 1001 when the drain starts.
///         let mut socket = GoingAway::new(socket, connection.draining(), lameduck_tokio::Tokio::new());
///         while let Some(Ok(message)) = socket.next().await {
///             if socket.send(message).await.is_err() {
///                 break;
///             }
///         }
///     })
/// }
/// # }
/// ```
///
/// # Cancel safety
///
/// Not a future: each `poll_next` and sink call keeps its progress in the wrapper.
pub struct GoingAway<S, T: Timer> {
    socket: S,
    draining: Reached,
    timer: T,
    grace: Option<Pin<Box<T::Sleep>>>,
    stage: Stage,
}

impl<S, T: Timer> GoingAway<S, T> {
    /// `socket`, saying goodbye when `draining` completes; `timer` bounds the wait for
    /// the client's Close.
    ///
    /// ```
    /// # #[cfg(feature = "ws")] {
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// # let socket = futures_util::stream::empty::<Result<tungstenite::Message, ()>>();
    /// let socket = lameduck_hyper::GoingAway::new(socket, shutdown.handle().draining(), lameduck_tokio::Tokio::new());
    /// # }
    /// ```
    pub fn new(socket: S, draining: Reached, timer: T) -> GoingAway<S, T> {
        GoingAway {
            socket,
            draining,
            timer,
            grace: None,
            stage: Stage::Open,
        }
    }

    /// The socket inside.
    ///
    /// ```
    /// # #[cfg(feature = "ws")] {
    /// # let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// # let socket = futures_util::stream::empty::<Result<tungstenite::Message, ()>>();
    /// let socket = lameduck_hyper::GoingAway::new(socket, shutdown.handle().draining(), lameduck_tokio::Tokio::new());
    /// let _inner = socket.get_ref();
    /// # }
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.socket
    }

    /// Whether the goodbye started (the Close frame is sent or being sent).
    ///
    /// ```
    /// # #[cfg(feature = "ws")] {
    /// # let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// # let socket = futures_util::stream::empty::<Result<tungstenite::Message, ()>>();
    /// let socket = lameduck_hyper::GoingAway::new(socket, shutdown.handle().draining(), lameduck_tokio::Tokio::new());
    /// assert!(!socket.is_going_away());
    /// # }
    /// ```
    pub fn is_going_away(&self) -> bool {
        self.stage != Stage::Open
    }
}

impl<S, T: Timer> core::fmt::Debug for GoingAway<S, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GoingAway")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl<S: Unpin, T: Timer> Unpin for GoingAway<S, T> {}

impl<S, M, E, T> Stream for GoingAway<S, T>
where
    S: Stream<Item = Result<M, E>> + Sink<M> + Unpin,
    M: CloseMessage,
    T: Timer,
{
    type Item = Result<M, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.stage == Stage::Open && Pin::new(&mut this.draining).poll(cx).is_ready() {
            this.stage = Stage::Closing;
        }
        if this.stage == Stage::Closing {
            match Pin::new(&mut this.socket).poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    if Pin::new(&mut this.socket)
                        .start_send(M::going_away())
                        .is_err()
                    {
                        this.stage = Stage::Ended;
                        return Poll::Ready(None);
                    }
                    this.stage = Stage::Waiting;
                    this.grace = Some(Box::pin(this.timer.sleep(CLOSE_GRACE)));
                }
                // The socket is broken: nothing to say goodbye to.
                Poll::Ready(Err(_)) => {
                    this.stage = Stage::Ended;
                    return Poll::Ready(None);
                }
                // Still reading meanwhile: the client may be closing already.
                Poll::Pending => {}
            }
        }
        if this.stage == Stage::Waiting {
            // Flushing the Close frame; an error means the peer is gone: read what is left.
            let _ = Pin::new(&mut this.socket).poll_flush(cx);
            if let Some(grace) = &mut this.grace {
                if grace.as_mut().poll(cx).is_ready() {
                    this.stage = Stage::Ended;
                    return Poll::Ready(None);
                }
            }
        }
        if this.stage == Stage::Ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.socket).poll_next(cx) {
            Poll::Ready(Some(Ok(message))) => {
                if this.stage == Stage::Waiting && message.is_close() {
                    // The client answered: the close handshake is complete.
                    this.stage = Stage::Ended;
                }
                Poll::Ready(Some(Ok(message)))
            }
            Poll::Ready(None) => {
                this.stage = Stage::Ended;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl<S, M, T> Sink<M> for GoingAway<S, T>
where
    S: Sink<M> + Unpin,
    T: Timer,
{
    type Error = S::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let this = self.get_mut();
        if this.stage != Stage::Open {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.socket).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: M) -> Result<(), S::Error> {
        let this = self.get_mut();
        if this.stage != Stage::Open {
            // After a Close frame the protocol allows no data: dropped.
            return Ok(());
        }
        Pin::new(&mut this.socket).start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let this = self.get_mut();
        if this.stage != Stage::Open {
            // The goodbye flushes what it sent; the handler's writes were dropped.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.socket).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut self.get_mut().socket).poll_close(cx)
    }
}
