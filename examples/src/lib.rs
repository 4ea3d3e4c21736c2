//! Shared pieces of the demo servers (see the demo-server contract): the command line,
//! the routes as one hyper service, the upgraded `/echo` session, the `/ws` WebSocket, the
//! stdout lines and the drain progress; `foreign`, a server lameduck does not run
//! (`axum::serve`). Each demo in this crate's `[[example]]`s is a short `main` around them.
//! Also `custom_rt`, the runtime the `custom_executor` example brings its own way.

pub mod body;
pub mod cli;
#[cfg(unix)]
pub mod custom_rt;
pub mod demo;
pub mod echo;
pub mod foreign;
pub mod grpc;
pub mod output;
pub mod routes;
pub mod upgrade;
pub mod ws;
