//! The seed's example, ported: the Go package `httpdshutdown` counted a server's
//! connections through its connection-state hook, waited on a stop signal with a 2000 ms
//! timeout, ran two shutdown hooks and turned the outcome into the exit code. Here the
//! watcher is a lameduck shutdown with a 2000 ms drain deadline (default; `--drain-timeout-ms`
//! still overrides it) and two hooks; lameduck-hyper counts the connections (the seed's
//! connection-state hook lives on as `lameduck::events::Events`, for servers that report states),
//! and it keeps the demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example seed -- --addr 127.0.0.1:8080
//! ```

use core::time::Duration;
use lameduck::Hook;
use lameduck_examples::{cli::Options, demo::Demo};
use lameduck_tokio::Tokio;

/// The seed's watcher timeout.
const WATCHER_TIMEOUT: Duration = Duration::from_millis(2000);

#[tokio::main]
async fn main() {
    let defaults = Options {
        drain_timeout: WATCHER_TIMEOUT,
        ..Options::default()
    };
    let watcher = Demo::with_options(Options::from_env_or_exit_over(defaults));
    // The seed's second hook (the first is the demos' `flush`).
    watcher.register(Hook::new("close-store", || {
        lameduck_examples::output::diag("hook close-store running");
        Ok::<(), std::io::Error>(())
    }));
    // Wait for the stop signal, drain with the watcher's timeout, run the hooks.
    let runtime = Tokio::new();
    let routes = watcher.routes(runtime);
    watcher.serve(runtime, routes).await
}
