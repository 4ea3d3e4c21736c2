//! Sync hooks on tokio: one that never returns is cut at its timeout, and the runtime,
//! dropped once the report is out, does not wait for it (tokio's own blocking pool would:
//! its shutdown waits for every blocking task, so `main` returning the report would hang).

use core::time::Duration;
use lameduck::{hook::HookOutcome, Config, Hook, Shutdown};
use lameduck_tokio::Tokio;
use std::sync::mpsc;

#[test]
fn a_hung_sync_hook_does_not_hold_the_runtime_at_exit() {
    let (done, reported) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let outcomes = runtime.block_on(async {
            let shutdown =
                Shutdown::new(Config::new().hook_timeout(Duration::from_millis(100))).unwrap();
            let hang = Hook::new("hang", || -> Result<(), &'static str> {
                loop {
                    std::thread::park();
                }
            });
            shutdown.hooks().register(hang).unwrap();
            shutdown
                .hooks()
                .register(Hook::new("next", || Ok::<(), &str>(())))
                .unwrap();
            shutdown.trigger().shutdown();
            let report = shutdown.run(Tokio::new(), futures::stream::pending()).await;
            report
                .hooks()
                .iter()
                .map(|hook| hook.outcome().clone())
                .collect::<Vec<_>>()
        });
        // What `#[tokio::main]` does after `main`'s body: drop the runtime.
        drop(runtime);
        let _ = done.send(outcomes);
    });
    let outcomes = reported
        .recv_timeout(Duration::from_secs(30))
        .expect("the runtime, dropped after the report, waited for the hung hook");
    assert_eq!(outcomes, [HookOutcome::TimedOut, HookOutcome::Ok]);
}
