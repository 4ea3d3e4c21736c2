//! Child-process tests of `lameduck_tokio`: this binary starts itself again as a server
//! (`LAMEDUCK_CHILD=1`, see `support/server.rs`), then drives it from outside with
//! connections and real signals (`support/scenarios.rs`). No test harness: the child's
//! stdout is the protocol, and it must not be mixed with a harness's output.

#[path = "support/client.rs"]
mod client;
#[path = "support/scenarios.rs"]
mod scenarios;
#[path = "support/server.rs"]
mod server;
#[path = "support/settings.rs"]
mod settings;

fn main() {
    if std::env::var_os("LAMEDUCK_CHILD").is_some() {
        server::main();
    }
    scenarios::run_all();
}
