//! The demo server on hyper + smol: see the demo-server contract.
//!
//! ```text
//! SMOL_THREADS=2 cargo run --release -p lameduck-examples --example hyper_smol -- --addr 127.0.0.1:8080
//! ```
//!
//! The same server as `hyper_tokio`, on `lameduck_smol::Smol` instead: async-io's sockets
//! and timers, async-signal, tasks on smol's global executor (one thread unless
//! `SMOL_THREADS` says more). Nothing here needs tokio.

use lameduck_examples::demo::Demo;
use lameduck_smol::Smol;

fn main() {
    let demo = Demo::from_env_or_exit();
    let runtime = Smol::new();
    let routes = demo.routes(runtime);
    // gRPC beside the HTTP routes, on the same port: tonic's services need no tokio.
    let service = demo.with_grpc(runtime, routes);
    smol::block_on(demo.serve(runtime, service))
}
