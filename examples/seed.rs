//! The seed's example, ported: the Go package `httpdshutdown` counted a server's
//! connections through its connection-state hook, waited on a stop signal with a 2000 ms
//! timeout, ran two shutdown hooks and turned the outcome into the exit code. Here the
//! watcher is a lameduck shutdown with a 2000 ms drain deadline (default; `--drain-timeout-ms`
//! still overrides it) and two hooks, the connection states are recorded through lameduck's
//! event API (`handle.connection()` + `ConnEvent`), and it keeps the demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example seed -- --addr 127.0.0.1:8080
//! ```

use core::time::Duration;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use lameduck::Hook;
use lameduck_examples::{cli::Options, demo, output, routes::Routes};
use lameduck_hyper::Graceful;
use lameduck_tokio::TokioTimer;
use std::sync::Arc;

/// The seed's watcher timeout.
const WATCHER_TIMEOUT: Duration = Duration::from_millis(2000);

#[tokio::main]
async fn main() {
    let defaults = Options {
        drain_timeout: WATCHER_TIMEOUT,
        ..Options::default()
    };
    let watcher = demo::Demo::with_options(Options::from_env_or_exit_over(defaults));
    // The seed's second hook (the first is the demos' `flush`).
    watcher.register(Hook::new("close-store", || {
        output::diag("hook close-store running");
        Ok::<(), std::io::Error>(())
    }));
    let (signals, listener, addr) = watcher.listen_tokio();
    let shutdown = watcher.shutdown;
    let handle = shutdown.handle();

    let timer = TokioTimer::new();
    let spawn: lameduck_examples::routes::Spawn = Arc::new(|task| {
        tokio::spawn(task);
    });
    let routes = Routes::new(handle.clone(), timer, spawn);
    let graceful = Graceful::new(timer);
    let builder = auto::Builder::new(TokioExecutor::new());

    output::listening(addr);
    let phases = tokio::spawn(output::phases(handle.clone()));
    tokio::spawn(output::progress(handle.clone(), timer));
    // The server: accept until the watcher starts draining, then drop the listener.
    let server_handle = handle.clone();
    tokio::spawn(async move {
        loop {
            let (io, _peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        output::diag(format_args!("accept: {error}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                () = server_handle.draining() => return,
            };
            // Go's ConnState hook, in lameduck's event API: `New` now, `Active`/`Idle` as
            // requests come and go, `Closed` when the connection ends.
            let state = lameduck_hyper::Events::new(&server_handle);
            let (graceful, builder, routes) = (graceful.clone(), builder.clone(), routes.clone());
            tokio::spawn(async move {
                let _ = io.set_nodelay(true);
                let _ = graceful
                    .serve_auto(&builder, TokioIo::new(io), routes, state)
                    .await;
            });
        }
    });

    // Wait for the stop signal, drain with the watcher's timeout, run the hooks.
    let report = shutdown.run(timer, signals).await;
    let _ = phases.await;
    output::finish(&report)
}
