//! The demo server on hyper + smol: see the demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example hyper_smol -- --addr 127.0.0.1:8080
//! ```
//!
//! The same routes as `hyper_tokio`, accepted with `lameduck_smol::serve`, served with
//! `lameduck_hyper::Graceful` over smol-hyper's I/O adapter, and the shutdown run on
//! async-signal and async-io's timer. Nothing here needs tokio.

use core::future::Future;
use hyper_util::server::conn::auto;
use lameduck_examples::{demo, output, routes::Routes};
use lameduck_hyper::Graceful;
use lameduck_smol::{SmolSignals, SmolTimer};
use smol_hyper::rt::FuturesIo;
use std::sync::Arc;

/// Runs hyper's background tasks (HTTP/2 streams) on smol's global executor.
#[derive(Clone, Copy, Debug)]
struct SmolExecutor;

impl<F> hyper::rt::Executor<F> for SmolExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        smol::spawn(future).detach();
    }
}

fn main() {
    let demo = demo::Demo::from_env_or_exit();
    smol::block_on(serve(demo));
}

async fn serve(demo: demo::Demo) -> ! {
    let shutdown = demo.shutdown;
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    // Signal handlers first, so a signal sent as soon as we say "listening" is ours.
    let signals = match SmolSignals::for_config(handle.config()) {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: cannot listen for signals: {error}");
            std::process::exit(1);
        }
    };
    let listener = demo::bind_or_exit(&demo.options);
    let listener = async_net::TcpListener::try_from(listener).expect("a bound TCP listener");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");

    let timer = SmolTimer::new();
    let spawn: lameduck_examples::routes::Spawn = Arc::new(|task| {
        smol::spawn(task).detach();
    });
    let routes = Routes::new(handle.clone(), timer, spawn);
    let graceful = Graceful::new(timer);
    let builder = auto::Builder::new(SmolExecutor);

    output::listening(addr);
    lameduck::systemd::ready();
    smol::spawn(output::reloads(handle.clone())).detach();
    smol::spawn(lameduck::systemd::heartbeat(handle.clone(), timer)).detach();
    let phases = smol::spawn(output::phases(handle.clone()));
    smol::spawn(output::progress(handle.clone(), timer)).detach();
    smol::spawn(lameduck_smol::serve(
        listener,
        handle,
        trigger,
        move |io, _peer, guard| {
            let (graceful, builder, routes) = (graceful.clone(), builder.clone(), routes.clone());
            async move {
                let _ = io.set_nodelay(true);
                let _ = graceful
                    .serve_auto(&builder, FuturesIo::new(io), routes, guard)
                    .await;
            }
        },
    ))
    .detach();

    let report = shutdown.run(timer, signals).await;
    phases.await;
    output::finish(&report)
}
