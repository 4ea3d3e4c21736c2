//! The service wrapper that counts requests in flight on one connection: a request is in
//! flight from the call until its response body ends (or is dropped), so a streamed body
//! keeps its connection active.

use crate::{
    counted::{ConnState, InFlight},
    Upgrade,
};
use bytes::Buf;
use core::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};
use http_body::{Body, Frame, SizeHint};
use hyper::{service::Service, Request, Response};
use std::sync::Arc;

/// A service wrapped to count its requests in flight on one connection and to put an
/// [`Upgrade`] into each request's extensions. Made by [`Graceful::track`](crate::Graceful::track).
///
/// It is a [`hyper::service::Service`]; wrap a `tower::Service` (an axum `Router`) in
/// [`TowerToHyperService`](crate::TowerToHyperService) first.
///
/// ```
/// # fn f(handle: lameduck::Handle) {
/// let graceful = lameduck_hyper::Graceful::new(lameduck_tokio::TokioTimer::new());
/// let tracked = graceful.track("a service", handle.track().unwrap());
/// assert_eq!(*tracked.inner(), "a service");
/// # }
/// ```
#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    conn: Arc<ConnState>,
}

impl<S> Tracked<S> {
    pub(crate) fn new(inner: S, conn: Arc<ConnState>) -> Tracked<S> {
        Tracked { inner, conn }
    }

    pub(crate) fn state(&self) -> Arc<ConnState> {
        self.conn.clone()
    }

    /// The wrapped service.
    ///
    /// ```
    /// # fn f(handle: lameduck::Handle) {
    /// let graceful = lameduck_hyper::Graceful::new(lameduck_tokio::TokioTimer::new());
    /// let tracked = graceful.track(42, handle.track().unwrap());
    /// assert_eq!(*tracked.inner(), 42);
    /// # }
    /// ```
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S> core::fmt::Debug for Tracked<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tracked")
            .field("in_flight", &self.conn.in_flight())
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Tracked<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<TrackedBody<ResBody>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, mut request: Request<ReqBody>) -> Self::Future {
        let in_flight = InFlight::start(&self.conn);
        request
            .extensions_mut()
            .insert(Upgrade::new(self.conn.handle().clone()));
        TrackedFuture {
            future: self.inner.call(request),
            in_flight: Some(in_flight),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of a [`Tracked`] service: the request stays in flight until the
    /// response body it yields ends.
    ///
    /// # Cancel safety
    ///
    /// Dropping it ends the request (it is no longer counted as in flight).
    ///
    /// ```
    /// # fn f<F>(_: lameduck_hyper::TrackedFuture<F>) {}
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct TrackedFuture<F> {
        #[pin]
        future: F,
        in_flight: Option<InFlight>,
    }
}

impl<F> core::fmt::Debug for TrackedFuture<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrackedFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        let in_flight = this.in_flight.take();
        Poll::Ready(result.map(|response| {
            response.map(|body| TrackedBody {
                in_flight: if body.is_end_stream() {
                    None
                } else {
                    in_flight
                },
                body,
            })
        }))
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request in flight until it ends or is dropped.
    ///
    /// ```
    /// # fn f<B>(_: lameduck_hyper::TrackedBody<B>) {}
    /// ```
    pub struct TrackedBody<B> {
        #[pin]
        body: B,
        in_flight: Option<InFlight>,
    }
}

impl<B> core::fmt::Debug for TrackedBody<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrackedBody")
            .field("in_flight", &self.in_flight.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> Body for TrackedBody<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.body.poll_frame(cx));
        if frame.is_none() || matches!(frame, Some(Err(_))) {
            // Ended (or failed): the request is over even if hyper keeps the body a while.
            *this.in_flight = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
