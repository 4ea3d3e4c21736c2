//! A small tokio server under a lameduck shutdown, for the tests: routes `/` (ok),
//! `/wait` (answers when the test says so), `/echo` (upgrade: line echo, says
//! `going away` when draining starts and closes once the peer has closed).

#![allow(dead_code)]

use bytes::Bytes;
use core::{convert::Infallible, net::SocketAddr};
use core::{future::Future, pin::Pin, time::Duration};
use futures::future::{select, Either};
use http_body_util::Full;
use hyper::{body::Incoming, service::service_fn, Request, Response, StatusCode};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use lameduck::{Config, Handle, Report, Shutdown, Trigger};
use lameduck_hyper::{Closed, Graceful, Upgrade};
use std::{sync::Arc, time::Instant};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    sync::{mpsc, Notify},
};

/// A lameduck timer on tokio's clock (the tokio adapter's, written out here).
#[derive(Clone, Debug)]
pub struct TestTimer(Instant);

impl lameduck::Timer for TestTimer {
    type Sleep = Pin<Box<tokio::time::Sleep>>;
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        let duration = duration.min(Duration::from_secs(86_400 * 365));
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Which hyper builder serves connections.
#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    Auto,
    Http1,
    Http2,
}

pub struct Server {
    pub addr: SocketAddr,
    pub handle: Handle,
    pub trigger: Trigger,
    /// One message per request that reached `/wait`.
    pub waiting: mpsc::UnboundedReceiver<()>,
    /// Releases every `/wait` request.
    pub release: Arc<Notify>,
    /// One message per accepted connection.
    pub accepted: mpsc::UnboundedReceiver<()>,
    /// How each connection ended.
    pub closed: mpsc::UnboundedReceiver<Closed>,
    pub report: tokio::task::JoinHandle<Report>,
}

pub async fn start(protocol: Protocol, grace: Duration) -> Server {
    let shutdown = Shutdown::new(Config::new().drain_timeout(Duration::from_secs(20))).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let timer = TestTimer(Instant::now());
    let report = tokio::spawn(shutdown.run(timer.clone(), futures::stream::pending()));
    let listener = lameduck_hyper::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let addr = listener.local_addr().unwrap();
    let (waiting_tx, waiting) = mpsc::unbounded_channel();
    let (accepted_tx, accepted) = mpsc::unbounded_channel();
    let (closed_tx, closed) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let graceful = Graceful::new(timer).grace(grace);
    let routes = Routes {
        waiting: waiting_tx,
        release: release.clone(),
    };
    let accept_handle = handle.clone();
    tokio::spawn(async move {
        let builder = auto::Builder::new(TokioExecutor::new());
        loop {
            let accepted = select(Box::pin(listener.accept()), accept_handle.draining());
            let (io, _) = match accepted.await {
                Either::Left((result, _)) => result.unwrap(),
                Either::Right(_) => return, // drop the listener
            };
            let Some(guard) = accept_handle.track() else {
                return;
            };
            let _ = accepted_tx.send(());
            let (graceful, builder, routes, closed_tx) = (
                graceful.clone(),
                builder.clone(),
                routes.clone(),
                closed_tx.clone(),
            );
            tokio::spawn(async move {
                let io = TokioIo::new(io);
                let service = service_fn(move |request| routes.clone().route(request));
                let closed = match protocol {
                    Protocol::Auto => graceful.serve_auto(&builder, io, service, guard).await,
                    Protocol::Http1 => {
                        let http1 = hyper::server::conn::http1::Builder::new();
                        graceful
                            .serve_http1(&http1, io, service, guard)
                            .await
                            .map_err(Into::into)
                    }
                    Protocol::Http2 => {
                        let http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                        graceful
                            .serve_http2(&http2, io, service, guard)
                            .await
                            .map_err(Into::into)
                    }
                };
                let _ = closed_tx.send(closed.unwrap_or(Closed::Finished));
            });
        }
    });
    Server {
        addr,
        handle,
        trigger,
        waiting,
        release,
        accepted,
        closed,
        report,
    }
}

#[derive(Clone)]
struct Routes {
    waiting: mpsc::UnboundedSender<()>,
    release: Arc<Notify>,
}

type Answer = Result<Response<Full<Bytes>>, Infallible>;

impl Routes {
    fn route(self, request: Request<Incoming>) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        Box::pin(async move {
            match request.uri().path() {
                "/wait" => {
                    let released = self.release.notified();
                    let _ = self.waiting.send(());
                    released.await;
                    Ok(Response::new(Full::new(Bytes::from_static(b"done"))))
                }
                "/echo" => Ok(echo(request)),
                _ => Ok(Response::new(Full::new(Bytes::from_static(b"ok")))),
            }
        })
    }
}

fn echo(mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    let guard = request
        .extensions_mut()
        .remove::<Upgrade>()
        .expect("the tracked service puts an Upgrade in every request")
        .guard();
    tokio::spawn(async move {
        let upgraded = hyper::upgrade::on(request).await.unwrap();
        let io = TokioIo::new(upgraded);
        let (read, mut write) = tokio::io::split(io);
        let mut lines = BufReader::new(read).lines();
        loop {
            let next = select(Box::pin(lines.next_line()), guard.going_away()).await;
            match next {
                Either::Left((Ok(Some(line)), _)) => {
                    write
                        .write_all(format!("{line}\n").as_bytes())
                        .await
                        .unwrap();
                }
                Either::Left(_) => return, // the peer closed
                Either::Right(_) => break,
            }
        }
        write.write_all(b"going away\n").await.unwrap();
        write.flush().await.unwrap();
        // Stay open (and counted) until the peer closes.
        while let Ok(Some(_)) = lines.next_line().await {}
        drop(guard);
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "echo")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// Reads an HTTP/1.1 response head and a content-length body from a raw socket.
pub async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> (String, String) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(
            reader.read_line(&mut line).await.unwrap(),
            0,
            "eof in head: {head}"
        );
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |n| n.trim().parse::<usize>().unwrap());
    let mut body = vec![0; length];
    tokio::io::AsyncReadExt::read_exact(reader, &mut body)
        .await
        .unwrap();
    (head, String::from_utf8(body).unwrap())
}
