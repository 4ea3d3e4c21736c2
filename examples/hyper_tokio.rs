//! The demo server on hyper + tokio: see the demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example hyper_tokio -- --addr 127.0.0.1:8080
//! ```
//!
//! Accepts with `lameduck_tokio::serve` (stops and drops the listener when draining
//! starts), serves each connection with `lameduck_hyper::Graceful` (HTTP/1.1 and HTTP/2 on
//! one port), and runs the shutdown on tokio's signals and timer.

use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use lameduck_examples::{demo, output, routes::Routes};
use lameduck_hyper::Graceful;
use lameduck_tokio::TokioTimer;
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let demo = demo::Demo::from_env_or_exit();
    let (signals, listener, addr) = demo.listen_tokio();
    let shutdown = demo.shutdown;
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());

    let timer = TokioTimer::new();
    let spawn: lameduck_examples::routes::Spawn = Arc::new(|task| {
        tokio::spawn(task);
    });
    let routes = Routes::new(handle.clone(), timer, spawn);
    let graceful = Graceful::new(timer);
    let builder = auto::Builder::new(TokioExecutor::new());

    output::listening(addr);
    lameduck::systemd::ready();
    tokio::spawn(output::reloads(handle.clone()));
    tokio::spawn(lameduck::systemd::heartbeat(handle.clone(), timer));
    let phases = tokio::spawn(output::phases(handle.clone()));
    tokio::spawn(output::progress(handle.clone(), timer));
    tokio::spawn(lameduck_tokio::serve(
        listener,
        handle,
        trigger,
        move |io, _peer, guard| {
            let (graceful, builder, routes) = (graceful.clone(), builder.clone(), routes.clone());
            async move {
                let _ = io.set_nodelay(true);
                let _ = graceful
                    .serve_auto(&builder, TokioIo::new(io), routes, guard)
                    .await;
            }
        },
    ));

    let report = shutdown.run(timer, signals).await;
    let _ = phases.await;
    output::finish(&report)
}
