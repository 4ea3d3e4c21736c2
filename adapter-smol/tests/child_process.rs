//! Child-process tests of `lameduck_smol`: this binary starts itself again as a server
//! (`LAMEDUCK_CHILD=1`, see `support/server.rs`), then drives it from outside with
//! connections and real signals. The outside (client, scenarios) and the server's settings
//! are shared with lameduck-tokio's child-process tests, so both adapters pass the very same
//! scenarios. No test harness: the child's stdout is the protocol.

#[path = "../../adapter-tokio/tests/support/client.rs"]
mod client;
#[path = "../../adapter-tokio/tests/support/scenarios.rs"]
mod scenarios;
#[path = "support/server.rs"]
mod server;
#[path = "../../adapter-tokio/tests/support/settings.rs"]
mod settings;

fn main() {
    if std::env::var_os("LAMEDUCK_CHILD").is_some() {
        server::main();
    }
    scenarios::run_all();
}
