//! `/ws`: a WebSocket (RFC 6455) echo, runtime-agnostic — the handshake by hand, then
//! async-tungstenite over the upgraded connection. Wrapped in lameduck-hyper's `GoingAway`,
//! it sends Close 1001 when draining starts and ends once the client answers (or after 1 s).

use crate::{body::Body, routes::text};
use async_tungstenite::{tungstenite::protocol::Role, WebSocketStream};
use core::{
    pin::Pin,
    task::{Context, Poll},
};
use futures_util::{SinkExt, StreamExt};
use hyper::{
    header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE},
    rt::ReadBufCursor,
    upgrade::Upgraded,
    Request, Response, StatusCode, Version,
};
use lameduck::{runtime::Runtime, Connection};
use lameduck_hyper::GoingAway;
use std::io;

/// Answers `GET /ws`: a WebSocket handshake gets `101` and an echo session (every text or
/// binary message comes back); anything else is a 400 with a one-line reason.
///
/// ```
/// let mut request = hyper::Request::get("/ws").body(()).unwrap();
/// let runtime = lameduck_smol::Smol::new();
/// assert_eq!(lameduck_examples::ws::answer(&mut request, &runtime).status(), 400);
/// ```
pub fn answer<B, R: Runtime>(request: &mut Request<B>, runtime: &R) -> Response<Body> {
    let key = match handshake_key(request) {
        Ok(key) => key,
        Err(reason) => return text(StatusCode::BAD_REQUEST, reason),
    };
    // lameduck-hyper puts the connection into every upgrade request.
    let Some(connection) = request.extensions().get::<Connection>().cloned() else {
        return text(StatusCode::BAD_REQUEST, "not served by lameduck-hyper");
    };
    let on_upgrade = hyper::upgrade::on(request);
    let timer = runtime.clone();
    runtime.spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let socket =
                WebSocketStream::from_raw_socket(FuturesIo(upgraded), Role::Server, None).await;
            echo(GoingAway::new(socket, connection.draining(), timer)).await;
        }
    });
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, "upgrade".parse().unwrap());
    headers.insert(UPGRADE, "websocket".parse().unwrap());
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        async_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes())
            .parse()
            .unwrap(),
    );
    response
}

/// Echoes text and binary messages until the session ends (the client closes, or the
/// goodbye is over).
async fn echo<R: Runtime>(mut socket: GoingAway<WebSocketStream<FuturesIo>, R>) {
    use async_tungstenite::tungstenite::Message;
    while let Some(Ok(message)) = socket.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && socket.send(message).await.is_err()
        {
            return;
        }
    }
}

/// The request's `Sec-WebSocket-Key`, or why it is not a WebSocket handshake.
fn handshake_key<B>(request: &Request<B>) -> Result<String, &'static str> {
    let has = |name, token: &str| {
        request.headers().get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if request.version() != Version::HTTP_11
        || !has(CONNECTION, "upgrade")
        || !has(UPGRADE, "websocket")
    {
        return Err("not a WebSocket handshake");
    }
    if request
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version != "13")
    {
        return Err("unsupported WebSocket version (expected 13)");
    }
    request
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .and_then(|key| key.to_str().ok())
        .map(str::to_owned)
        .ok_or("missing sec-websocket-key")
}

/// hyper's upgraded connection as futures-io, for async-tungstenite.
struct FuturesIo(Upgraded);

impl futures_util::io::AsyncRead for FuturesIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = hyper::rt::ReadBuf::new(buf);
        let cursor: ReadBufCursor<'_> = read_buf.unfilled();
        match hyper::rt::Read::poll_read(Pin::new(&mut self.0), cx, cursor) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read_buf.filled().len())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl futures_util::io::AsyncWrite for FuturesIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        hyper::rt::Write::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        hyper::rt::Write::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        hyper::rt::Write::poll_shutdown(Pin::new(&mut self.0), cx)
    }
}
