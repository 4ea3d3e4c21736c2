//! One worker: one keep-alive connection at a time, one request at a time, no retries.

use crate::stats::Stats;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{client::conn::http1::SendRequest, Request};
use hyper_util::rt::TokioIo;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::net::TcpStream;

pub struct Worker {
    pub id: usize,
    pub addr: String,
    pub sleep_ms: u64,
    /// The pause after each answer before the next request on the same connection.
    pub pause: Duration,
    pub stop: Arc<AtomicBool>,
    pub stats: Arc<Mutex<Stats>>,
    pub started: Instant,
}

/// Why a request failed: a short kind for the totals and the full error.
struct Failure {
    kind: String,
    detail: String,
}

impl Failure {
    fn new(kind: &str, detail: impl std::fmt::Display) -> Failure {
        Failure {
            kind: kind.to_owned(),
            detail: detail.to_string(),
        }
    }
}

impl Worker {
    pub async fn run(self) {
        let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
        let mut turn = self.id;
        while !self.stop.load(Ordering::SeqCst) {
            let path = if turn.is_multiple_of(2) {
                "/".to_owned()
            } else {
                format!("/sleep?ms={}", self.sleep_ms)
            };
            turn += 1;
            let begun = Instant::now();
            let result = self.request(&mut sender, &path).await;
            let latency = begun.elapsed();
            {
                let mut stats = self.stats.lock().unwrap();
                match result {
                    Ok(()) => stats.success(latency),
                    Err(failure) => {
                        sender = None;
                        let at = self.started.elapsed().as_secs_f64();
                        let detail = format!(
                            "t={at:.3}s worker={} GET {path}: {}: {}",
                            self.id, failure.kind, failure.detail
                        );
                        stats.failure(latency, failure.kind, detail);
                    }
                }
            }
            if !self.pause.is_zero() {
                tokio::time::sleep(self.pause).await;
            }
        }
    }

    async fn request(
        &self,
        sender: &mut Option<SendRequest<Empty<Bytes>>>,
        path: &str,
    ) -> Result<(), Failure> {
        // A connection closed while idle (the proxy's keep-alive ended, or the server said
        // `connection: close` on the last answer) is not a failed request: no request was on
        // it, and a pooled client would take another connection. Anything after sending is.
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            *sender = Some(self.connect().await?);
        }
        let Some(send) = sender.as_mut() else {
            unreachable!("connected above")
        };
        if send.ready().await.is_err() {
            // Closed between the check above and now, before anything was sent.
            let send = sender.insert(self.connect().await?);
            send.ready()
                .await
                .map_err(|e| Failure::new("not-ready", e))?;
        }
        let Some(send) = sender.as_mut() else {
            unreachable!("connected above")
        };
        let request = Request::get(path)
            .header("host", &self.addr)
            .body(Empty::new())
            .map_err(|e| Failure::new("request", e))?;
        let response = send
            .send_request(request)
            .await
            .map_err(|e| Failure::new(classify(&e), e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Failure::new("body", e))?
            .to_bytes();
        if !status.is_success() {
            // The body's first text line, without markup: enough to tell who answered.
            let body = String::from_utf8_lossy(&body);
            let line = body
                .lines()
                .map(|l| l.trim())
                .find(|l| !l.is_empty() && !l.starts_with('<'))
                .unwrap_or("");
            return Err(Failure::new(
                &format!("status-{}", status.as_u16()),
                format!("{status}: {line}"),
            ));
        }
        Ok(())
    }

    async fn connect(&self) -> Result<SendRequest<Empty<Bytes>>, Failure> {
        let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&self.addr))
            .await
            .map_err(|_| Failure::new("connect-timeout", "no answer in 5 s"))?
            .map_err(|e| Failure::new("connect", e))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Failure::new("handshake", e))?;
        tokio::spawn(connection);
        Ok(sender)
    }
}

fn classify(error: &hyper::Error) -> &'static str {
    if error.is_incomplete_message() {
        "closed-early"
    } else if error.is_canceled() {
        "canceled"
    } else if error.is_closed() {
        "closed"
    } else {
        "io"
    }
}
