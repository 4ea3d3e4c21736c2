//! Pieces of the load-test servers (`src/bin/bare_hyper.rs`, `src/bin/hyper_graceful.rs`,
//! `src/bin/axum_graceful.rs`, and over TLS `src/bin/bare_hyper_tls.rs`,
//! `src/bin/axum_server_tls.rs`): the command line, the listening socket, and the two routes the
//! load scripts use, answered as the demo-server contract says.

use bytes::Bytes;
use core::{convert::Infallible, net::SocketAddr, time::Duration};
use http_body_util::Full;
use hyper::{
    header::{HeaderValue, CONTENT_TYPE},
    Response, StatusCode, Uri,
};
use std::path::PathBuf;

/// `--addr HOST:PORT` from the command line (default `127.0.0.1:8080`); anything else is a
/// usage error (exit 64).
///
/// ```no_run
/// let addr = lameduck_benches::load::addr_from_args();
/// println!("{addr}");
/// ```
pub fn addr_from_args() -> SocketAddr {
    parse_addr(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("error: {error}");
        std::process::exit(64);
    })
}

/// The demos' listening socket on `addr` (`lameduck_hyper::bind`: a backlog of the system's
/// maximum, at least 1024), as a tokio listener; panics if it cannot bind. Every bench
/// server binds this one: the backlog changes what closing a thousand connections costs,
/// so a floor or a peer must match the demos. Call it inside a tokio runtime.
///
/// ```no_run
/// # async fn f() {
/// let listener = lameduck_benches::load::tokio_listener(lameduck_benches::load::addr_from_args());
/// # }
/// ```
pub fn tokio_listener(addr: SocketAddr) -> tokio::net::TcpListener {
    tokio::net::TcpListener::from_std(lameduck_hyper::bind(addr).expect("bind"))
        .expect("a non-blocking listener")
}

/// `--addr HOST:PORT` and `--tls-cert PATH --tls-key PATH` (both or neither) from the
/// command line; anything else is a usage error (exit 64).
///
/// ```no_run
/// let (addr, tls) = lameduck_benches::load::addr_and_tls_from_args();
/// println!("{addr} {}", tls.is_some());
/// ```
pub fn addr_and_tls_from_args() -> (SocketAddr, Option<(PathBuf, PathBuf)>) {
    parse_addr_and_tls(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("error: {error}");
        std::process::exit(64);
    })
}

/// Parses `--addr HOST:PORT` and `--tls-cert PATH --tls-key PATH` out of `args`.
///
/// # Errors
///
/// A one-line description of the first bad argument, or a TLS option without the other.
///
/// ```
/// use lameduck_benches::load::parse_addr_and_tls;
/// let args = ["--tls-cert", "c.pem", "--tls-key", "k.pem"].map(String::from);
/// assert!(parse_addr_and_tls(args).unwrap().1.is_some());
/// assert!(parse_addr_and_tls(["--tls-cert", "c.pem"].map(String::from)).is_err());
/// ```
pub fn parse_addr_and_tls(
    args: impl IntoIterator<Item = String>,
) -> Result<(SocketAddr, Option<(PathBuf, PathBuf)>), String> {
    let (mut rest, mut cert, mut key) = (Vec::new(), None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tls-cert" => cert = Some(args.next().ok_or("missing value for --tls-cert")?),
            "--tls-key" => key = Some(args.next().ok_or("missing value for --tls-key")?),
            _ => rest.push(arg),
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert.into(), key.into())),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok((parse_addr(rest)?, tls))
}

/// Parses `--addr HOST:PORT` out of `args`.
///
/// # Errors
///
/// A one-line description of the first bad argument.
///
/// ```
/// use lameduck_benches::load::parse_addr;
/// assert_eq!(parse_addr(["--addr", "127.0.0.1:0"].map(String::from)).unwrap().port(), 0);
/// assert!(parse_addr(["--port"].map(String::from)).is_err());
/// ```
pub fn parse_addr(args: impl IntoIterator<Item = String>) -> Result<SocketAddr, String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("missing value for --addr")?;
                addr = value
                    .parse()
                    .map_err(|_| format!("invalid value for --addr: {value}"))?;
            }
            other => return Err(format!("unknown option: {other}")),
        }
    }
    Ok(addr)
}

/// The answer to `uri`: `/` is 200 `ok`; `/sleep?ms=N` is 200 `slept N` after N ms (on
/// tokio's timer); a bad `ms` is 400; anything else is 404.
///
/// ```
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// let response = rt.block_on(lameduck_benches::load::answer("/".parse().unwrap())).unwrap();
/// assert_eq!(response.status(), 200);
/// let response = rt.block_on(lameduck_benches::load::answer("/sleep?ms=1".parse().unwrap())).unwrap();
/// assert_eq!(response.status(), 200);
/// ```
pub async fn answer(uri: Uri) -> Result<Response<Full<Bytes>>, Infallible> {
    let respond = |status: StatusCode, body: Bytes| {
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        // The demos' header: hyper keeps each connection's response header map for the
        // next response, so a server that sends headers holds that map per idle
        // connection (about 600 bytes); the baseline must hold it too.
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Ok(response)
    };
    match uri.path() {
        "/" => respond(StatusCode::OK, Bytes::from_static(b"ok")),
        "/sleep" => {
            let ms = uri
                .query()
                .unwrap_or("")
                .split('&')
                .find_map(|pair| pair.strip_prefix("ms="))
                .and_then(|ms| ms.parse::<u64>().ok());
            match ms {
                Some(ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    respond(StatusCode::OK, format!("slept {ms}").into())
                }
                None => respond(
                    StatusCode::BAD_REQUEST,
                    Bytes::from_static(b"ms must be a whole number\n"),
                ),
            }
        }
        _ => respond(StatusCode::NOT_FOUND, Bytes::from_static(b"not found\n")),
    }
}
