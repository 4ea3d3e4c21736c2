//! In-place upgrades and socket activation with real processes.
//!
//! This test binary is also the server it starts and upgrades (`harness = false`): run with
//! `LAMEDUCK_TEST_ROLE=server`, it serves a one-line protocol (a line in, its pid back) on an
//! inherited or freshly bound TCP socket, upgrades itself on `SIGUSR2` with
//! [`lameduck::upgrade::Upgrader`] (same executable, same arguments, same environment: so its
//! successors are servers too), and shuts down on `SIGTERM`. It prints what the tests watch
//! for on stdout, which every successor shares.
//!
//! `cargo test -p lameduck --test upgrade` runs every case but the measurement;
//! `cargo test -p lameduck --test upgrade -- NAME...` runs the named ones, among them
//! `restart-baseline` (stop, then start, under the same load: the numbers in
//! `scripts/README.md`). `UPGRADES=N` sets how many upgrades (or restarts) in a row.

#[cfg(all(unix, not(miri)))]
mod cases;
#[cfg(all(unix, not(miri)))]
mod server;
#[cfg(all(unix, not(miri)))]
mod support;

fn main() {
    #[cfg(all(unix, not(miri)))]
    if std::env::var_os(server::ROLE).is_some() {
        server::main();
    } else {
        cases::main();
    }
    #[cfg(not(all(unix, not(miri))))]
    println!("upgrade: skipped (child processes and fd passing need unix, outside miri)");
}
