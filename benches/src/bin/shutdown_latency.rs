//! The shutdown-latency load client: starts a server binary, opens connections to it, sends
//! SIGTERM and times the exit. Run by `scripts/shutdown_latency.sh`; by hand:
//!
//! ```text
//! shutdown_latency --runs 5 --idle 10,1000,10000 --inflight 100 --sleep-ms 500 \
//!     lameduck=target/release/examples/hyper_tokio axum=target/release/axum_graceful
//!
//! # against the floor: each server NAME=PATH@FLOOR names the server it is compared with
//! SMOL_THREADS=2 shutdown_latency --runs 15 --idle 10,200,1000,10000 --inflight 0 \
//!     bare=target/release/bare_hyper bare_smol=target/release/bare_hyper_smol \
//!     tokio=target/release/examples/hyper_tokio@bare smol=target/release/examples/hyper_smol@bare_smol
//!
//! # a profiler on the shutdown alone: the system calls of a drain of 1 000 idle connections
//! shutdown_latency --runs 1 --idle 1000 --inflight 0 --attach "perf trace -s" \
//!     lib=target/release/lameduck_hyper
//! ```
//!
//! * idle: N keep-alive connections, each having had one `GET /` answered, then SIGTERM;
//!   the figure is SIGTERM to the process's exit, timed by waiting on the process
//!   (`Child::wait`: `waitpid`, no polling). Printed per server: median, quartiles, min and
//!   max over the runs; for a server with a floor, the ratio of the medians, the median of
//!   the run-by-run differences (the runs of a server and its floor are adjacent), and the
//!   server's RSS growth per connection (median over the runs) against the floor's. With
//!   `--attach CMD`, CMD (split at spaces) is started with `-p PID` on the server before each
//!   SIGTERM and stopped with SIGINT after the exit (`perf trace -s`, `perf record -g`);
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
    let mut floors: Vec<Option<String>> = Vec::new();
    let mut sleep_ms = 500;
    let mut attach: Vec<String> = Vec::new();
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
            "--attach" => attach = value().split_whitespace().map(String::from).collect(),
            server => {
                let (name, path) = server.split_once('=').expect("NAME=PATH[@FLOOR]");
                let (path, floor) = match path.split_once('@') {
                    Some((path, floor)) => (path, Some(floor.to_owned())),
                    None => (path, None),
                };
                servers.push(Server::new(name, path));
                floors.push(floor);
            }
        }
    }
    let floor_of: Vec<Option<usize>> = floors
        .iter()
        .map(|floor| {
            floor.as_ref().map(|floor| {
                servers
                    .iter()
                    .position(|s| &s.name == floor)
                    .unwrap_or_else(|| panic!("no server called {floor}"))
            })
        })
        .collect();
    println!(
        "{:<10} {:<22} {:>10} {:>10} {:>10} {:>10} {:>10}  (ms)",
        "server", "case", "median", "q1", "q3", "min", "max"
    );
    for &n in &idle {
        let mut took = vec![Vec::new(); servers.len()];
        let mut rss = vec![Vec::new(); servers.len()];
        for run in 0..runs {
            // Rotate the order, so that no server always runs first.
            for k in 0..servers.len() {
                let i = (run + k) % servers.len();
                let result = idle_run(&servers[i], n, &attach);
                took[i].push(result.took.as_secs_f64() * 1e3);
                rss[i].push(result.rss_per_connection);
            }
        }
        for (server, results) in servers.iter().zip(&took) {
            report(&server.name, &format!("idle {n}: TERM->exit"), results);
        }
        for (i, floor) in floor_of.iter().enumerate() {
            let Some(f) = *floor else { continue };
            let diffs: Vec<f64> = took[i].iter().zip(&took[f]).map(|(a, b)| a - b).collect();
            println!(
                "{:<10} idle {n}: {:.2}× {} (median), run by run {:+.3} ms [{:+.3} .. {:+.3}]; RSS {:.0} B/conn vs {:.0} B/conn ({:+.0} B)",
                servers[i].name,
                median(&took[i]) / median(&took[f]),
                servers[f].name,
                median(&diffs),
                quantile(&diffs, 0.0),
                quantile(&diffs, 1.0),
                median(&rss[i]),
                median(&rss[f]),
                median(&rss[i]) - median(&rss[f]),
            );
        }
    }
    if inflight == 0 {
        return;
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

/// The `q` quantile (0 = min, 1 = max) of `values`, nearest rank.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

fn report(server: &str, case: &str, results: &[f64]) {
    println!(
        "{server:<10} {case:<22} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
        median(results),
        quantile(results, 0.25),
        quantile(results, 0.75),
        quantile(results, 0.0),
        quantile(results, 1.0),
    );
}
