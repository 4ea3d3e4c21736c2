//! What the child server reads from its environment, and the runtime-free parts of what it
//! prints (phases, hooks, report), the same for every runtime.

use core::{future::Future, time::Duration};
use lameduck::{
    accept, runtime::Network, Config, Connection, Handle, Hook, Phase, Report, Shutdown,
};

/// `LAME_DUCK_MS`, `DRAIN_MS`, `HANG_HOOK` (a hook that never returns, between the two
/// others) and `NOFILE` (a file-descriptor limit set after binding).
pub(crate) struct Settings {
    lame_duck_ms: u64,
    drain_ms: u64,
    hang_hook: bool,
    nofile: Option<u64>,
}

fn var(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().expect("a number"))
}

impl Settings {
    pub(crate) fn from_env() -> Settings {
        Settings {
            lame_duck_ms: var("LAME_DUCK_MS").unwrap_or(0),
            drain_ms: var("DRAIN_MS").unwrap_or(60_000),
            hang_hook: var("HANG_HOOK").is_some(),
            nofile: var("NOFILE"),
        }
    }

    /// The shutdown of the configured timings, with the configured hooks registered.
    pub(crate) fn shutdown(&self) -> Shutdown {
        let shutdown = Shutdown::new(self.config()).expect("valid config");
        for hook in self.hooks() {
            shutdown.hooks().register(hook).expect("register a hook");
        }
        shutdown
    }

    fn config(&self) -> Config {
        Config::new()
            .lame_duck(Duration::from_millis(self.lame_duck_ms))
            .drain_timeout(Duration::from_millis(self.drain_ms))
            .hook_timeout(Duration::from_secs(3600))
    }

    /// `first`, then (with `HANG_HOOK`) `hangs`, then `last`; each prints `ran <name>`
    /// when it starts, so the test sees every run.
    fn hooks(&self) -> Vec<Hook> {
        let mut hooks = vec![Hook::new("first", || {
            println!("ran first");
            Ok::<(), String>(())
        })];
        if self.hang_hook {
            hooks.push(Hook::new_async("hangs", || async {
                println!("ran hangs");
                core::future::pending::<Result<(), String>>().await
            }));
        }
        hooks.push(Hook::new_async("last", || async {
            println!("ran last");
            Ok::<(), String>(())
        }));
        hooks
    }

    /// Lowers the soft limit on open files, so that accepting runs out of them.
    pub(crate) fn limit_files(&self) {
        if let Some(limit) = self.nofile {
            use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
            let hard = getrlimit(Resource::Nofile).maximum;
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(limit),
                    maximum: hard,
                },
            )
            .expect("lower RLIMIT_NOFILE");
        }
    }
}

/// Prints `phase: <name>` as each phase is reached.
pub(crate) async fn print_phases(handle: Handle) {
    for phase in Phase::ALL {
        handle.reached(phase).await;
        println!("phase: {}", phase.name());
    }
}

/// Prints each hook's outcome, then the report's line; returns the exit code.
pub(crate) fn print_report(report: &Report) -> u8 {
    for hook in report.hooks() {
        println!("{hook}");
    }
    println!("{report}");
    report.exit_code()
}

/// Serves `connection` on a fresh loopback listener with the core accept loop on `runtime`
/// until `Shutdown::run` (on the settings' shutdown) ends, printing `listening on <addr>`,
/// each phase and the report (`support/scenarios.rs` reads them); returns the exit code.
pub(crate) async fn serve_until_stopped<N, C, F>(
    runtime: N,
    settings: Settings,
    connection: C,
) -> u8
where
    N: Network,
    C: FnMut(N::Stream, Connection) -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let shutdown = settings.shutdown();
    let handle = shutdown.handle();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    let acceptor = runtime.listen(listener.into()).expect("listen");
    settings.limit_files();
    let accepting = accept::serve(
        runtime.clone(),
        acceptor,
        handle.clone(),
        shutdown.trigger(),
        connection,
    );
    // The report is printed after the loop's line: the report's line is the last.
    let (stopped, accept_loop) = futures::channel::oneshot::channel();
    runtime.spawn(async move {
        accepting.await;
        println!("accept loop: stopped");
        let _ = stopped.send(());
    });
    let signals = runtime
        .signals(handle.config().listened_signals())
        .expect("signal handlers");
    println!("listening on {addr}");
    let (report, ()) =
        futures::future::join(shutdown.run(runtime, signals), print_phases(handle)).await;
    let _ = accept_loop.await;
    print_report(&report)
}
