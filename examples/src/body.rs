//! Response bodies: the boxed body every route answers with, and `/stream`'s chunks.

use bytes::Bytes;
use core::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};
use http_body::{Frame, SizeHint};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use lameduck::runtime::Timer;

/// The body every route answers with.
///
/// ```
/// let body: lameduck_examples::body::Body = Default::default();
/// assert!(http_body::Body::is_end_stream(&body));
/// ```
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A body of one piece.
///
/// ```
/// let body = lameduck_examples::body::full("ok".to_owned());
/// assert_eq!(http_body::Body::size_hint(&body).exact(), Some(2));
/// ```
pub fn full(text: String) -> Body {
    Full::new(Bytes::from(text)).boxed_unsync()
}

/// `/stream`'s body: `chunks` lines `chunk i` (i from 0), the first at once, then one every
/// `interval`, sent as HTTP/1.1 chunks (HTTP/2 data frames).
///
/// ```
/// # fn f<T: lameduck::runtime::Timer + Send + 'static>(timer: T) where T::Sleep: Send + 'static {
/// let body = lameduck_examples::body::Chunks::new(timer, 3, core::time::Duration::from_millis(10));
/// # }
/// ```
pub struct Chunks<T: Timer> {
    timer: T,
    next: u64,
    total: u64,
    interval: Duration,
    sleep: Option<Pin<Box<T::Sleep>>>,
}

impl<T: Timer> core::fmt::Debug for Chunks<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Chunks")
            .field("next", &self.next)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl<T> Chunks<T>
where
    T: Timer + Send + 'static,
    T::Sleep: Send + 'static,
{
    /// `total` chunks, `interval` apart.
    ///
    /// ```
    /// # use lameduck_examples::body::Chunks;
    /// let body = Chunks::new(lameduck_tokio::Tokio::new(), 0, core::time::Duration::ZERO);
    /// assert!(http_body::Body::is_end_stream(&body));
    /// ```
    pub fn new(timer: T, total: u64, interval: Duration) -> Chunks<T> {
        Chunks {
            timer,
            next: 0,
            total,
            interval,
            sleep: None,
        }
    }

    /// Boxed, as routes answer.
    ///
    /// ```
    /// # use lameduck_examples::body::Chunks;
    /// let body = Chunks::new(lameduck_tokio::Tokio::new(), 2, core::time::Duration::ZERO).boxed();
    /// assert!(!http_body::Body::is_end_stream(&body));
    /// ```
    pub fn boxed(self) -> Body {
        BodyExt::boxed_unsync(self)
    }
}

// The sleep is boxed and nothing else is pinned: moving a `Chunks` is fine.
impl<T: Timer> Unpin for Chunks<T> {}

impl<T: Timer> http_body::Body for Chunks<T> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        // `Chunks` is Unpin: its only future is boxed.
        let this = self.get_mut();
        if this.next >= this.total {
            return Poll::Ready(None);
        }
        if this.next > 0 {
            let timer = &this.timer;
            let interval = this.interval;
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(timer.sleep(interval)));
            ready!(sleep.as_mut().poll(cx));
            this.sleep = None;
        }
        let line = format!("chunk {}\n", this.next);
        this.next += 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(line)))))
    }

    fn is_end_stream(&self) -> bool {
        self.next >= self.total
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
