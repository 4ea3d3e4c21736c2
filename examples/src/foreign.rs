//! What a demo does around a server lameduck does not run (`axum::serve` with
//! `lameduck_hyper::ShutdownLayer`): the same listener, upgrade, systemd and output steps
//! as [`Demo::serve`], with `lameduck::Shutdown::run` driving the phases and the server's
//! own graceful shutdown started when draining starts.

use crate::{demo::Demo, output, upgrade};
use core::{future::Future, pin::Pin, time::Duration};
use lameduck::{runtime::Runtime, Handle};
use std::net::TcpListener;

/// The future that starts a foreign server's graceful shutdown.
pub type Draining = Pin<Box<dyn Future<Output = ()> + Send>>;

/// After a hand-over, how long the foreign server goes on before its graceful shutdown
/// closes its idle connections: each kept connection's next response says `connection:
/// close` meanwhile (the layer's goodbye), so that its client is not closed under a request
/// it may be sending. (`lameduck_hyper::serve` does the same per connection.)
const HANDOVER_GOODBYE: Duration = Duration::from_secs(1);

/// Draining starts; after a hand-over, [`HANDOVER_GOODBYE`] later.
fn draining<R: Runtime>(handle: &Handle, runtime: &R) -> Draining {
    let (handle, runtime) = (handle.clone(), runtime.clone());
    Box::pin(async move {
        handle.draining().await;
        if handle.handed_over() {
            let mut cut = handle.reached(lameduck::Phase::Hooks);
            let window = runtime.sleep(HANDOVER_GOODBYE);
            futures_util::future::select(core::pin::pin!(window), &mut cut).await;
        }
    })
}

impl Demo {
    /// Starts the server `server` makes from the demo's listener (inherited or bound on
    /// `--addr`, in non-blocking mode) and the future to start its graceful shutdown on
    /// (draining, or a goodbye window after it once handed over); runs the shutdown, holding the drain open until the server's future
    /// has ended (it has closed its connections); keeps the contract's output as
    /// [`Demo::serve`] does; then exits with the report's code.
    ///
    /// ```no_run
    /// use lameduck_examples::demo::Demo;
    /// # async fn f() {
    /// let demo = Demo::from_env_or_exit();
    /// let runtime = lameduck_tokio::Tokio::new();
    /// demo.serve_foreign(runtime, |listener, draining| async move {
    ///     let listener = tokio::net::TcpListener::from_std(listener).expect("in a runtime");
    ///     let app = axum::Router::new();
    ///     let _ = axum::serve(listener, app).with_graceful_shutdown(draining).await;
    /// })
    /// .await
    /// # }
    /// ```
    pub async fn serve_foreign<R, F, Fut>(self, runtime: R, server: F) -> !
    where
        R: Runtime,
        F: FnOnce(TcpListener, Draining) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.options.tls.is_some() {
            // axum::serve accepts plain TCP only: TLS needs lameduck_hyper::serve_tls.
            eprintln!("error: --tls-cert: this demo serves plain HTTP only (axum::serve)");
            std::process::exit(crate::cli::EXIT_USAGE);
        }
        let (upgrader, take_over) = upgrade::upgrader_or_exit(&self.options);
        upgrade::control_or_exit(&upgrader, &runtime, &self.shutdown, &self.options);
        let listener = upgrade::listener_or_exit(&upgrader, &self.options);
        upgrade::on_usr2(upgrader, &runtime, &self.shutdown);
        let handle = self.shutdown.handle();
        let trigger = self.shutdown.trigger();
        let (phases_done, phases_printed) =
            futures_util::future::FutureExt::remote_handle(output::phases(handle.clone()));
        runtime.spawn(phases_done);
        runtime.spawn(output::progress(handle.clone(), runtime.clone()));
        // Subscribed before the shutdown runs: no reload is missed.
        runtime.spawn(output::reloads(handle.clone()));
        // Installed before `listening on`: a signal sent as soon as a watcher reads that
        // line is a shutdown request, not the default action.
        let signals = runtime.signals(handle.config().listened_signals());
        let local_addr = listener.local_addr();
        if let Err(error) = listener.set_nonblocking(true) {
            trigger.fail(format_args!("cannot serve the listener: {error}"));
        }
        // Taken before the server starts: the drain waits for it to close its connections.
        let hold = handle.hold();
        let serving = server(listener, draining(&handle, &runtime));
        runtime.spawn(async move {
            serving.await;
            drop(hold);
        });
        if signals.is_ok() {
            runtime.spawn(lameduck::systemd::heartbeat(
                handle.clone(),
                runtime.clone(),
            ));
        }
        match &local_addr {
            Ok(addr) => output::listening("http", addr),
            Err(_) => output::listening("http", "?"),
        }
        // Ready once the server accepts: to systemd (`READY=1`, `MAINPID=`) and to an
        // upgrade's predecessor, which then stops (one that cannot be told gives up waiting
        // and stops this process itself).
        let _ = lameduck::upgrade::ready();
        upgrade::serving(&runtime, take_over, trigger.clone(), &self.options);
        let report = match signals {
            Ok(signals) => self.shutdown.run(runtime, signals).await,
            Err(error) => {
                trigger.fail(format_args!("cannot listen for signals: {error}"));
                self.shutdown
                    .run(runtime, futures_util::stream::empty())
                    .await
            }
        };
        phases_printed.await;
        upgrade::remove_pid_file(&handle);
        output::finish_as(&report, upgrade::exit_code(report.exit_code().into()))
    }
}
