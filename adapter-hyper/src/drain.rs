//! Long-lived response bodies ended on purpose when draining starts: [`AtDrain`], the
//! per-response choice of what the drain does with a body still being sent, and
//! [`EndAtDrain`], a body that sends a last item (a server-sent `event: shutdown`) and ends.

use bytes::Bytes;
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use http_body::{Body, Frame, SizeHint};
use lameduck::future::Reached;

/// What the drain does with a response body still being sent when draining starts, chosen
/// per response by putting it into the response's extensions (read by [`serve`](crate::serve)
/// and [`serve_connection`](crate::serve_connection)).
///
/// - [`Finish`](Self::Finish) (the default, also with no mark): the drain waits for the body
///   to end, up to the drain deadline; a body still open then is cut. For finite bodies:
///   downloads, `/stream`-like responses.
/// - [`End`](Self::End): the body is ended when draining starts — cleanly, as if it had
///   ended on its own (HTTP/1.1: the chunked terminator; HTTP/2: `END_STREAM`) — and the
///   drain does not wait for it. For endless bodies of unknown length: server-sent events,
///   long-polls, log tails. A body with a known length (`Content-Length`) cannot end early
///   cleanly: leave it at `Finish`. To send a last item before the end, wrap the body in
///   [`EndAtDrain`] instead.
///
/// ```
/// use lameduck_hyper::AtDrain;
/// let mut response = hyper::Response::new(http_body_util::Empty::<bytes::Bytes>::new());
/// response.extensions_mut().insert(AtDrain::End);
/// assert_eq!(AtDrain::default(), AtDrain::Finish);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AtDrain {
    /// The drain waits for the body, up to its deadline.
    #[default]
    Finish,
    /// The body ends (cleanly) when draining starts.
    End,
}

/// The last item of a server-sent event stream ended by the drain: `event: shutdown` with
/// `data: draining`.
///
/// ```
/// assert_eq!(lameduck_hyper::SSE_SHUTDOWN, b"event: shutdown\ndata: draining\n\n");
/// ```
pub const SSE_SHUTDOWN: &[u8] = b"event: shutdown\ndata: draining\n\n";

/// A response body that, when `draining` completes, sends its last item (if it has one)
/// and ends cleanly: for endless bodies (server-sent events, long-polls) that should not hold
/// the drain. Until then it is `body`; a body that ends on its own ends the same way.
///
/// `draining` is [`Handle::draining`](lameduck::Handle::draining) or
/// [`Connection::draining`](lameduck::Connection::draining). The drain still waits for
/// the last item to be written, so the client sees a complete response.
///
/// ```
/// use bytes::Bytes;
/// use lameduck_hyper::{EndAtDrain, SSE_SHUTDOWN};
/// # fn events() -> http_body_util::Empty<Bytes> { http_body_util::Empty::new() }
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let body = EndAtDrain::new(events(), shutdown.handle().draining())
///     .last(Bytes::from_static(SSE_SHUTDOWN));
/// let response = hyper::Response::new(body);
/// ```
pub struct EndAtDrain<B: Body> {
    body: Pin<Box<B>>,
    draining: Option<Reached>,
    last: Option<Frame<B::Data>>,
    // Whether a frame the body has ready goes out before the drain's end: a gRPC answer
    // already made completes (its `OK` trailers are not replaced by `UNAVAILABLE`).
    body_first: bool,
    ended: bool,
}

impl<B: Body> EndAtDrain<B> {
    /// `body`, ended when `draining` completes.
    ///
    /// ```
    /// # let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let body = lameduck_hyper::EndAtDrain::new(http_body_util::Full::new(bytes::Bytes::new()), shutdown.handle().draining());
    /// ```
    pub fn new(body: B, draining: Reached) -> EndAtDrain<B> {
        EndAtDrain::ending(body, Some(draining), None, false)
    }

    /// `body`, ended with `last` (if any) when `draining` (if any) completes; with
    /// `body_first`, only while the body has nothing ready.
    pub(crate) fn ending(
        body: B,
        draining: Option<Reached>,
        last: Option<Frame<B::Data>>,
        body_first: bool,
    ) -> EndAtDrain<B> {
        EndAtDrain {
            body: Box::pin(body),
            draining,
            last,
            body_first,
            ended: false,
        }
    }

    /// Sends `data` as the last item when the drain ends the body (not when the body ends on
    /// its own).
    ///
    /// ```
    /// # let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// use bytes::Bytes;
    /// let body = lameduck_hyper::EndAtDrain::new(http_body_util::Empty::<Bytes>::new(), shutdown.handle().draining())
    ///     .last(Bytes::from_static(b"bye\n"));
    /// ```
    #[must_use]
    pub fn last(mut self, data: B::Data) -> EndAtDrain<B> {
        self.last = Some(Frame::data(data));
        self
    }
}

impl<B: Body<Data = Bytes>> EndAtDrain<B> {
    /// A server-sent event stream `body` that, when `draining` completes, sends
    /// [`SSE_SHUTDOWN`] (`event: shutdown`, `data: draining`) and ends.
    ///
    /// ```
    /// use lameduck_hyper::EndAtDrain;
    /// # fn events() -> http_body_util::Empty<bytes::Bytes> { http_body_util::Empty::new() }
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let body = EndAtDrain::events(events(), shutdown.handle().draining());
    /// ```
    pub fn events(body: B, draining: Reached) -> EndAtDrain<B> {
        EndAtDrain::new(body, draining).last(Bytes::from_static(SSE_SHUTDOWN))
    }
}

impl<B: Body> Unpin for EndAtDrain<B> {}

impl<B: Body> core::fmt::Debug for EndAtDrain<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EndAtDrain")
            .field("draining", &self.draining.is_none())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for EndAtDrain<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let Some(draining) = &mut this.draining else {
            // The last item went out: the end.
            this.ended = true;
            return Poll::Ready(None);
        };
        if this.body_first {
            if let Poll::Ready(frame) = this.body.as_mut().poll_frame(cx) {
                this.ended = frame.is_none();
                return Poll::Ready(frame);
            }
        }
        if Pin::new(draining).poll(cx).is_ready() {
            this.draining = None;
            return match this.last.take() {
                Some(last) => Poll::Ready(Some(Ok(last))),
                None => {
                    this.ended = true;
                    Poll::Ready(None)
                }
            };
        }
        if this.body_first {
            return Poll::Pending;
        }
        let frame = this.body.as_mut().poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || (self.draining.is_some() && self.body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        // May end early, or with one more item: unknown.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{stream, FutureExt};
    use http_body_util::{BodyExt, Full, StreamBody};
    use lameduck::{Config, Phase, Shutdown};

    /// A body that always has another item ready (a busy event stream).
    fn endless() -> impl Body<Data = Bytes, Error = core::convert::Infallible> {
        StreamBody::new(stream::repeat_with(|| {
            Ok(Frame::data(Bytes::from_static(b"tick")))
        }))
    }

    fn frames<B: Body<Data = Bytes>>(body: B) -> Vec<Frame<Bytes>>
    where
        B::Error: core::fmt::Debug,
    {
        let mut body = core::pin::pin!(body);
        let mut frames = Vec::new();
        // Every frame here is ready at once: a pending one would be a bug.
        while let Some(frame) = body.frame().now_or_never().expect("ready") {
            frames.push(frame.expect("frame"));
        }
        frames
    }

    #[test]
    fn the_drain_ends_a_busy_body_with_its_last_item() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        // Reached at once: the drain has begun when the body is first polled.
        let reached = shutdown.handle().reached(Phase::Running);
        let frames = frames(EndAtDrain::events(endless(), reached));
        assert_eq!(frames.len(), 1, "the last item, then the end");
        assert_eq!(frames[0].data_ref().unwrap().as_ref(), SSE_SHUTDOWN);
    }

    #[test]
    fn body_first_sends_what_is_ready_and_ends_with_the_last_frame_only_when_waiting() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let handle = shutdown.handle();
        let mut unavailable = hyper::HeaderMap::new();
        unavailable.insert("grpc-status", hyper::header::HeaderValue::from_static("14"));
        // A unary answer already made completes: no trailers of the drain's.
        let answer = EndAtDrain::ending(
            Full::new(Bytes::from_static(b"answer")),
            Some(handle.reached(Phase::Running)),
            Some(Frame::trailers(unavailable.clone())),
            true,
        );
        let answered = frames(answer);
        assert_eq!(answered.len(), 1);
        assert_eq!(answered[0].data_ref().unwrap().as_ref(), b"answer");
        // A stream waiting for its next message ends with the drain's trailers.
        let waiting = StreamBody::new(stream::pending::<
            Result<Frame<Bytes>, core::convert::Infallible>,
        >());
        let ended = EndAtDrain::ending(
            waiting,
            Some(handle.reached(Phase::Running)),
            Some(Frame::trailers(unavailable.clone())),
            true,
        );
        let last = frames(ended);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].trailers_ref(), Some(&unavailable));
    }
}
