//! The close's linger, timed on the manual clock: an idle keep-alive connection whose client
//! stayed silent through the lame duck is closed at the drain at once; one whose client
//! wrote during it (a pipelining client, a request racing the close) lingers, so that its
//! late bytes cannot reset the answers it has not read yet.

use core::time::Duration;
use hyper_util::rt::TokioIo;
use lameduck::{
    runtime::{Runtime, Timer},
    test_util::ManualClock,
    Config, Phase, Report, Shutdown,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const LAME_DUCK: Duration = Duration::from_millis(300);
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: lameduck\r\n\r\n";

/// Serves one in-memory connection on the manual clock; the client sends one request and
/// reads its answer, then `during_lame_duck` runs on the client's side after the shutdown
/// began; the client never closes. Returns the report and how the client's stream ended.
fn shutdown_with_a_kept_client<F>(during_lame_duck: F) -> (Report, Vec<u8>)
where
    F: AsyncFnOnce(&mut DuplexStream, &ManualClock),
{
    shutdown_with(true, during_lame_duck)
}

/// As [`shutdown_with_a_kept_client`]; with `ask` false the client never sends a byte (a
/// preconnected socket).
fn shutdown_with<F>(ask: bool, during_lame_duck: F) -> (Report, Vec<u8>)
where
    F: AsyncFnOnce(&mut DuplexStream, &ManualClock),
{
    let clock = ManualClock::new();
    let shutdown = Shutdown::new(Config::new().lame_duck(LAME_DUCK)).expect("valid config");
    let handle = shutdown.handle();
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    clock.spawn(lameduck_hyper::serve_connection(
        clock.clone(),
        TokioIo::new(server),
        handle.connection().expect("running"),
        app,
    ));
    clock.block_on(async {
        if !ask {
            return;
        }
        client.write_all(REQUEST).await.unwrap();
        let mut answer = [0u8; 512];
        let read = client.read(&mut answer).await.unwrap();
        assert!(answer[..read].ends_with(b"ok"), "answered");
    });
    shutdown.trigger().shutdown();
    let report = clock.block_on(async {
        let running = shutdown.run(clock.clone(), futures::stream::pending());
        let client_side = async {
            handle.reached(Phase::LameDuck).await;
            during_lame_duck(&mut client, &clock).await;
        };
        let (report, ()) = futures::future::join(running, client_side).await;
        report
    });
    let mut rest = Vec::new();
    clock.block_on(client.read_to_end(&mut rest)).unwrap();
    (report, rest)
}

#[test]
fn a_client_silent_through_the_lame_duck_is_closed_at_the_drain_without_lingering() {
    let (report, rest) = shutdown_with_a_kept_client(async |_, _| {});
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.time_in(Phase::LameDuck), Some(LAME_DUCK));
    // Without the quiet seen before the close, the drain waits out the linger (250 ms).
    assert_eq!(
        report.time_in(Phase::Draining),
        Some(Duration::ZERO),
        "{report}"
    );
    assert!(rest.is_empty(), "a clean end of stream");
}

#[test]
fn a_client_that_wrote_during_the_lame_duck_is_lingered_for() {
    let (report, rest) = shutdown_with_a_kept_client(async |client, clock| {
        // 100 ms into the lame duck, bytes that start no request (empty lines before a
        // request line, which HTTP/1.1 allows): the connection stays idle and open until the
        // drain, but its client was silent for only 200 ms, less than a linger: the close
        // lingers for what it may still send.
        clock.sleep(Duration::from_millis(100)).await;
        client.write_all(b"\r\n").await.unwrap();
    });
    assert_eq!(report.exit_code(), 0, "{report}");
    assert!(
        report.time_in(Phase::Draining) >= Some(Duration::from_millis(250)),
        "the close lingered: {report} ({:?})",
        report.time_in(Phase::Draining)
    );
    assert!(rest.is_empty(), "a clean end of stream: {rest:?}");
}

#[test]
fn a_socket_silent_since_before_the_lame_duck_is_closed_at_the_drain_without_a_grace() {
    // Connected before the shutdown, never a byte (a browser's preconnect): the drain's grace
    // for first bytes is for a connection accepted a moment ago, and this one had 300 ms.
    let (report, rest) = shutdown_with(false, async |_, _| {});
    assert_eq!(report.exit_code(), 0, "{report}");
    // Without the age check, the drain waits out the grace (250 ms).
    assert_eq!(
        report.time_in(Phase::Draining),
        Some(Duration::ZERO),
        "{report}"
    );
    assert!(rest.is_empty(), "a clean end of stream");
}
