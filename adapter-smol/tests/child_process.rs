//! Child-process tests of `lameduck_smol`: this binary starts itself again as a server
//! (`LAMEDUCK_CHILD=1`, see `support/server.rs`), then drives it from outside with
//! connections and real signals. The outside (client, scenarios) and the server's settings
//! are shared with lameduck-tokio's child-process tests, so both adapters pass the very same
//! scenarios. No test harness: the child's stdout is the protocol.

#[cfg(unix)]
#[path = "../../adapter-tokio/tests/support/client.rs"]
mod client;
#[cfg(unix)]
#[path = "../../adapter-tokio/tests/support/scenarios.rs"]
mod scenarios;
#[cfg(unix)]
#[path = "support/server.rs"]
mod server;
#[cfg(unix)]
#[path = "../../adapter-tokio/tests/support/settings.rs"]
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
