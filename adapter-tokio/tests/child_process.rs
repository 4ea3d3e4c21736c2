//! Child-process tests of `lameduck_tokio`: this binary starts itself again as a server
//! (`LAMEDUCK_CHILD=1`, see `support/server.rs`), then drives it from outside with
//! connections and real signals (`support/scenarios.rs`). No test harness: the child's
//! stdout is the protocol, and it must not be mixed with a harness's output.

#[cfg(unix)]
#[path = "support/client.rs"]
mod client;
#[cfg(unix)]
#[path = "support/scenarios.rs"]
mod scenarios;
#[cfg(unix)]
#[path = "support/server.rs"]
mod server;
#[cfg(unix)]
#[path = "support/settings.rs"]
mod settings;

#[cfg(unix)]
fn main() {
    if std::env::var_os("LAMEDUCK_CHILD").is_some() {
        server::main();
    }
    scenarios::run_all();
}

#[cfg(not(unix))]
fn main() {}
