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
use hyper::{service::Service, Request, Response, StatusCode};
use lameduck::{events::OwnedGuard, future::Reached, InFlight};
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
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = CountingFuture<S::Future>;

    fn call(&self, mut request: Request<ReqBody>) -> Self::Future {
        let in_flight = self.conn.connection.request();
        let kind = goodbye::Kind::of(&request);
        if kind == goodbye::Kind::Http2 {
            self.conn.saw_http2();
        }
        // Only a request that may turn into an upgraded connection gets the connection (its
        // handler may want `draining`, the response future keeps it counted): most requests
        // pay nothing for it.
        let upgrade = match kind {
            goodbye::Kind::Upgrade { connect } => {
                request
                    .extensions_mut()
                    .insert(self.conn.connection.clone());
                Some((self.conn.clone(), connect))
            }
            _ => None,
        };
        CountingFuture {
            future: self.inner.call(request),
            in_flight: Some(in_flight),
            closable: kind == goodbye::Kind::Closable,
            upgrade,
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
        // For an HTTP/1 request that may upgrade the connection: the connection (an upgrade
        // keeps it counted) and whether the request is a `CONNECT`.
        upgrade: Option<(Arc<Conn>, bool)>,
    }
}

impl<F, B, E> Future for CountingFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.future.poll(cx));
        let mut in_flight = this.in_flight.take();
        // The phase is read when the response is ready, not at the call: a request that
        // began before the first signal and ends after it says goodbye too.
        let goodbye = *this.closable && in_flight.as_ref().is_some_and(InFlight::says_goodbye);
        if let (Ok(response), Some((conn, connect))) = (&result, this.upgrade.take()) {
            upgraded(response, &conn, connect, &mut in_flight);
        }
        Poll::Ready(result.map(|mut response| {
            if goodbye {
                goodbye::close_after(&mut response);
            }
            // Most responses carry no extension: the lookup is skipped.
            let end_at_drain = !response.extensions().is_empty()
                && response.extensions().get::<AtDrain>() == Some(&AtDrain::End);
            let draining = if end_at_drain {
                in_flight.as_ref().map(InFlight::draining)
            } else {
                None
            };
            response.map(|body| ResponseBody::new(body, in_flight.map(Count::Request), draining))
        }))
    }
}

/// An upgrade request's response: if it upgraded the connection (`101`, or a `CONNECT`
/// answered `2xx`), the request stays in flight until the upgraded socket closes, not until
/// this (empty) response ends. Out of line: the path of every other request stays short.
#[cold]
#[inline(never)]
fn upgraded<B>(
    response: &Response<B>,
    conn: &Conn,
    connect: bool,
    in_flight: &mut Option<InFlight>,
) {
    let status = response.status();
    if status == StatusCode::SWITCHING_PROTOCOLS || (connect && status.is_success()) {
        if let Some(in_flight) = in_flight.take() {
            conn.upgraded(in_flight);
        }
    }
}

/// What keeps a request counted until its response body ends: dropped, it ends the count.
/// Never read, only held (for its `Drop`).
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) enum Count {
    /// A request in flight on a connection lameduck serves.
    Request(InFlight),
    /// A request counted on the shutdown's tracker (a server lameduck does not run).
    Guard(OwnedGuard),
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted until it ends or is dropped (or,
    /// marked [`AtDrain::End`](crate::AtDrain::End), until draining starts: then it ends
    /// cleanly). The response body of [`ShutdownService`](crate::layer::ShutdownService), and
    /// of every response [`serve`](crate::serve) sends.
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        body: B,
        count: Option<Count>,
        // Boxed: only a body ended at the drain has one, and every response is moved
        // through hyper a few times (the notice would more than double a small body).
        draining: Option<Pin<Box<Reached>>>,
    }
}

impl<B: Body> ResponseBody<B> {
    /// `body`, holding `count` until it ends: nothing to hold for a body that is over
    /// already.
    pub(crate) fn new(body: B, count: Option<Count>, draining: Option<Reached>) -> Self {
        let open = !body.is_end_stream();
        ResponseBody {
            count: if open { count } else { None },
            draining: if open { draining.map(Box::pin) } else { None },
            body,
        }
    }
}

impl<B> Body for ResponseBody<B>
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
            if draining.as_mut().poll(cx).is_ready() {
                // Ended here, cleanly: the server finishes the response as if the body had.
                *this.count = None;
                return Poll::Ready(None);
            }
        }
        let frame = ready!(this.body.poll_frame(cx));
        if frame.is_none() || matches!(frame, Some(Err(_))) {
            // Ended (or failed): the request is over even if the server keeps the body a
            // while.
            *this.count = None;
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
