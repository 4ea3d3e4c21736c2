//! The service wrapper that counts requests in flight on one connection: a request is in
//! flight from the call until its response body ends (or is dropped), so a streamed body
//! keeps its connection busy. From the goodbye on, its HTTP/1 responses carry
//! `connection: close` (see [`crate::goodbye`]).

use crate::{drain::AtDrain, goodbye, shared::Conn};
use bytes::Buf;
use core::{
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};
use http_body::{Body, Frame, SizeHint};
use hyper::{header, service::Service, Method, Request, Response, StatusCode, Version};
use lameduck::{future::Reached, InFlight};
use std::sync::Arc;

/// `inner`, counting its requests on the connection `conn` stands for.
#[derive(Clone)]
pub(crate) struct Counting<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S> Counting<S> {
    pub(crate) fn new(inner: S, conn: Arc<Conn>) -> Counting<S> {
        Counting { inner, conn }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Counting<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<CountingBody<ResBody>>;
    type Error = S::Error;
    type Future = CountingFuture<S::Future>;

    fn call(&self, mut request: Request<ReqBody>) -> Self::Future {
        let in_flight = self.conn.connection.request();
        if request.version() == Version::HTTP_2 {
            self.conn.saw_http2();
        }
        // Only a request that may turn into an upgraded connection gets the connection (its
        // handler may want `going_away`): most requests pay nothing for it.
        let connect = request.method() == Method::CONNECT;
        let upgrade = (request.headers().contains_key(header::UPGRADE) || connect)
            && request.version() <= Version::HTTP_11;
        if upgrade {
            request
                .extensions_mut()
                .insert(self.conn.connection.clone());
        }
        let closable = goodbye::closable(&request);
        CountingFuture {
            future: self.inner.call(request),
            in_flight: Some(in_flight),
            closable,
            upgrade: upgrade.then_some(connect),
            conn: self.conn.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future: the request stays in flight until the body it yields ends.
    pub(crate) struct CountingFuture<F> {
        #[pin]
        future: F,
        in_flight: Option<InFlight>,
        // Whether the response may carry `connection: close`.
        closable: bool,
        // For an HTTP/1 request that may upgrade the connection: whether it is a `CONNECT`.
        upgrade: Option<bool>,
        // The connection: an upgrade keeps it counted, `AtDrain::End` ends at its
        // `going_away`.
        conn: Arc<Conn>,
    }
}

impl<F, B, E> Future for CountingFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<CountingBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        let mut in_flight = this.in_flight.take();
        // The phase is read when the response is ready, not at the call: a request that
        // began before the first signal and ends after it says goodbye too.
        let goodbye = *this.closable && in_flight.as_ref().is_some_and(InFlight::says_goodbye);
        let conn = &*this.conn;
        if let (Ok(response), Some(connect)) = (&result, this.upgrade.take()) {
            // Upgraded: in flight until the upgraded socket closes, not until this (empty)
            // response ends.
            let status = response.status();
            if status == StatusCode::SWITCHING_PROTOCOLS || (connect && status.is_success()) {
                if let Some(in_flight) = in_flight.take() {
                    conn.upgraded(in_flight);
                }
            }
        }
        Poll::Ready(result.map(|mut response| {
            if goodbye {
                goodbye::close_after(&mut response);
            }
            // An extension lookup: nothing when the response has none.
            let end_at_drain = response.extensions().get::<AtDrain>() == Some(&AtDrain::End);
            response.map(|body| {
                let open = !body.is_end_stream();
                CountingBody {
                    draining: (open && end_at_drain).then(|| conn.connection.going_away()),
                    in_flight: if open { in_flight } else { None },
                    body,
                }
            })
        }))
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request in flight until it ends or is dropped (or,
    /// marked `AtDrain::End`, until draining starts: then it ends).
    pub(crate) struct CountingBody<B> {
        #[pin]
        body: B,
        in_flight: Option<InFlight>,
        draining: Option<Reached>,
    }
}

impl<B> Body for CountingBody<B>
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
        if let Some(draining) = this.draining {
            if Pin::new(draining).poll(cx).is_ready() {
                // Ended here, cleanly: hyper finishes the response as if the body had.
                *this.in_flight = None;
                return Poll::Ready(None);
            }
        }
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
