//! The demo server on hyper + tokio: see the demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example hyper_tokio -- --addr 127.0.0.1:8080
//! ```
//!
//! The whole server is one call, `lameduck_hyper::serve(runtime, listener, service,
//! shutdown)`, made by `Demo::serve` (which also prints the contract's lines). Everything
//! about the shutdown comes from the command line: `Demo::from_env_or_exit` turns it into a
//! `lameduck::Shutdown` with the demos' `flush` hook.

use lameduck_examples::demo::Demo;
use lameduck_tokio::Tokio;

#[tokio::main]
async fn main() {
    let demo = Demo::from_env_or_exit();
    let runtime = Tokio::new();
    let routes = demo.routes(runtime);
    // gRPC beside the HTTP routes, on the same port.
    let service = demo.with_grpc(runtime, routes);
    demo.serve(runtime, service).await
}
