//! The shutdown-latency load client: starts a server binary, opens connections to it, sends
//! SIGTERM and times the exit. Run by `scripts/shutdown_latency.sh`; by hand:
//!
//! ```text
//! shutdown_latency --runs 5 --idle 10,1000,10000 --inflight 100 --sleep-ms 500 \
//!     lameduck=target/release/examples/hyper_tokio axum=target/release/axum_graceful
//! ```
//!
//! * idle: N keep-alive connections, each having had one `GET /` answered, then SIGTERM;
//!   the figure is SIGTERM to the process's exit (as `waitpid` sees it);
//! * in flight: 100 connections each waiting on `GET /sleep?ms=S`, SIGTERM 50 ms after the
//!   requests were written (so they are in the handlers); the figure is the last response's
//!   arrival to the exit. Both ends are seen from this process: a response read a moment
//!   after the server had already exited gives a negative figure (the client was slower to
//!   run than the server to exit); each run checks every response was a 200.
//!
//! Runs alternate between the servers; each line is one server and case: median, min, max.

use core::time::Duration;
use lameduck_benches::shutdown_client::{idle_run, inflight_run, Server};

fn main() {
    let mut runs = 5;
    let mut idle = vec![10, 1_000, 10_000];
    let mut inflight = 100;
    let mut sleep_ms = 500;
    let mut servers = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value after the option");
        match arg.as_str() {
            "--runs" => runs = value().parse().expect("--runs N"),
            "--idle" => {
                idle = value()
                    .split(',')
                    .map(|n| n.parse().expect("--idle N,N"))
                    .collect()
            }
            "--inflight" => inflight = value().parse().expect("--inflight N"),
            "--sleep-ms" => sleep_ms = value().parse().expect("--sleep-ms N"),
            server => {
                let (name, path) = server.split_once('=').expect("NAME=PATH");
                servers.push(Server::new(name, path));
            }
        }
    }
    println!(
        "{:<10} {:<22} {:>10} {:>10} {:>10}  (ms)",
        "server", "case", "median", "min", "max"
    );
    for &n in &idle {
        let mut results = vec![Vec::new(); servers.len()];
        for _ in 0..runs {
            for (server, results) in servers.iter().zip(&mut results) {
                results.push(idle_run(server, n).as_secs_f64() * 1e3);
            }
        }
        for (server, results) in servers.iter().zip(&results) {
            report(&server.name, &format!("idle {n}: TERM->exit"), results);
        }
    }
    let mut results = vec![Vec::new(); servers.len()];
    for _ in 0..runs {
        for (server, results) in servers.iter().zip(&mut results) {
            results.push(inflight_run(server, inflight, Duration::from_millis(sleep_ms)) * 1e3);
        }
    }
    for (server, results) in servers.iter().zip(&results) {
        report(
            &server.name,
            &format!("{inflight} in flight: last->exit"),
            results,
        );
    }
}

fn report(server: &str, case: &str, results: &[f64]) {
    let mut sorted = results.to_vec();
    sorted.sort_by(f64::total_cmp);
    println!(
        "{server:<10} {case:<22} {:>10.3} {:>10.3} {:>10.3}",
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1]
    );
}
