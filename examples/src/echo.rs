//! `/echo`: an upgraded connection that echoes what it is sent, stays counted by the
//! shutdown until it closes, and says `going away` and closes when draining starts.

use crate::{
    body::Body,
    routes::{not_found, Spawn},
};
use core::{future::poll_fn, pin::Pin, task::Poll};
use futures_util::future::{select, Either};
use hyper::{
    header::{CONNECTION, UPGRADE},
    rt::{Read, ReadBuf, Write},
    upgrade::Upgraded,
    Request, Response, StatusCode, Version,
};
use lameduck_hyper::{Upgrade, UpgradeGuard};
use std::io;

/// What the server writes to an upgraded connection when draining starts.
///
/// ```
/// assert_eq!(lameduck_examples::echo::GOING_AWAY, b"going away\n");
/// ```
pub const GOING_AWAY: &[u8] = b"going away\n";

/// Answers `GET /echo` with `Connection: upgrade` and `Upgrade: echo`: takes the request's
/// [`Upgrade`] guard, spawns the echo session (which waits for hyper to hand over the
/// connection), and returns `101`. Anything else is a 404.
///
/// ```
/// use std::sync::Arc;
/// let spawn: lameduck_examples::routes::Spawn = Arc::new(|_task| {});
/// let mut request = hyper::Request::get("/echo").body(()).unwrap();
/// // No upgrade headers: not an echo request.
/// assert_eq!(lameduck_examples::echo::answer(&mut request, &spawn).status(), 404);
/// ```
pub fn answer<B>(request: &mut Request<B>, spawn: &Spawn) -> Response<Body> {
    if !wants_echo(request) {
        return not_found();
    }
    // Taken now, while the request is in flight: the connection is counted until the
    // session drops the guard.
    let guard = request
        .extensions_mut()
        .remove::<Upgrade>()
        .map(Upgrade::guard);
    let on_upgrade = hyper::upgrade::on(request);
    spawn(Box::pin(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let _ = session(upgraded, guard).await;
        }
    }));
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
async fn session(mut io: Upgraded, guard: Option<UpgradeGuard>) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let read = {
            let read = read(&mut io, &mut buf);
            let going_away = async {
                match &guard {
                    Some(guard) => guard.going_away().await,
                    None => core::future::pending().await,
                }
            };
            match select(core::pin::pin!(read), core::pin::pin!(going_away)).await {
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
    poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await?;
    drop(guard);
    Ok(())
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
