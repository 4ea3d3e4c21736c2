//! `/echo`: an upgraded connection that echoes what it is sent, and says `going away` and
//! closes when draining starts. It stays counted by the shutdown until it closes with no
//! code here: lameduck-hyper's count travels with the socket into the upgrade.

use crate::{body::Body, routes::not_found};
use core::{future::poll_fn, pin::Pin, task::Poll};
use futures_util::future::{select, Either};
use hyper::{
    header::{CONNECTION, UPGRADE},
    rt::{Read, ReadBuf, Write},
    upgrade::Upgraded,
    Request, Response, StatusCode, Version,
};
use lameduck::{runtime::Runtime, Connection};
use std::io;

/// What the server writes to an upgraded connection when draining starts.
///
/// ```
/// assert_eq!(lameduck_examples::echo::GOING_AWAY, b"going away\n");
/// ```
pub const GOING_AWAY: &[u8] = b"going away\n";

/// Answers `GET /echo` with `Connection: upgrade` and `Upgrade: echo`: spawns the echo
/// session (which waits for hyper to hand over the connection) and returns `101`. Anything
/// else is a 404.
///
/// ```
/// let mut request = hyper::Request::get("/echo").body(()).unwrap();
/// // No upgrade headers: not an echo request.
/// let runtime = lameduck_smol::Smol::new();
/// assert_eq!(lameduck_examples::echo::answer(&mut request, &runtime).status(), 404);
/// ```
pub fn answer<B>(request: &mut Request<B>, runtime: &impl Runtime) -> Response<Body> {
    if !wants_echo(request) {
        return not_found();
    }
    // lameduck-hyper puts the connection into an upgrade request: it tells when to say
    // goodbye.
    let connection = request.extensions().get::<Connection>().cloned();
    let on_upgrade = hyper::upgrade::on(request);
    runtime.spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let _ = session(upgraded, connection).await;
        }
    });
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, "upgrade".parse().unwrap());
    headers.insert(UPGRADE, "echo".parse().unwrap());
    response
}

fn wants_echo<B>(request: &Request<B>) -> bool {
    let has = |name, token: &str| {
        request.headers().get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    request.version() == Version::HTTP_11 && has(CONNECTION, "upgrade") && has(UPGRADE, "echo")
}

/// Echoes until the peer closes, or, once draining starts, writes `going away` and closes.
async fn session(mut io: Upgraded, connection: Option<Connection>) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let read = {
            let read = read(&mut io, &mut buf);
            let draining = async {
                match &connection {
                    Some(connection) => connection.draining().await,
                    None => core::future::pending().await,
                }
            };
            match select(core::pin::pin!(read), core::pin::pin!(draining)).await {
                Either::Left((read, _)) => read,
                Either::Right(((), _)) => break,
            }
        };
        match read {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => write_all(&mut io, &buf[..n]).await?,
        }
    }
    write_all(&mut io, GOING_AWAY).await?;
    poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await
}

async fn read(io: &mut Upgraded, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| {
        let mut read_buf = ReadBuf::new(buf);
        match Pin::new(&mut *io).poll_read(cx, read_buf.unfilled()) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read_buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

async fn write_all(io: &mut Upgraded, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, bytes)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
    }
    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await
}
