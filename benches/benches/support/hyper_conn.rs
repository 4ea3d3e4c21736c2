//! hyper-util's watcher on a real hyper connection: `GracefulConnection` is sealed, so the
//! only honest way to measure what `GracefulShutdown::watch` costs a connection is to watch a
//! real `hyper::server::conn::http1::Connection` and subtract the same connection unwatched.
//! The connection runs over an I/O object that is never ready, so both sides stop at the
//! first read: what remains is building, one poll and dropping.

use bytes::Bytes;
use core::{
    convert::Infallible,
    hint::black_box,
    pin::{pin, Pin},
    task::{Context, Poll},
    time::Duration,
};
use criterion::Criterion;
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::server::graceful::GracefulShutdown;
use lameduck_benches::poll_once;

/// A socket with nothing to read and no room to write.
struct PendingIo;

impl hyper::rt::Read for PendingIo {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

impl hyper::rt::Write for PendingIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Pending
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// `accounting_hyper_conn`: the same http1 connection, bare and watched.
pub(crate) fn bench(c: &mut Criterion, graceful: &GracefulShutdown) {
    let mut group = c.benchmark_group("accounting_hyper_conn");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    let builder = http1::Builder::new();
    group.bench_function("hyper_http1_conn_bare", |b| {
        b.iter(|| {
            let mut conn = pin!(builder.serve_connection(PendingIo, service_fn(hello)));
            black_box(poll_once(conn.as_mut()));
        });
    });
    group.bench_function("hyper_http1_conn_watched", |b| {
        b.iter(|| {
            let mut conn =
                pin!(graceful.watch(builder.serve_connection(PendingIo, service_fn(hello))));
            black_box(poll_once(conn.as_mut()));
        });
    });
    group.finish();
}
