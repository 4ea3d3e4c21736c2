//! The contract's "Long-lived responses", on every demo as a child process: `/events`
//! (server-sent events) ends with the shutdown event and a complete chunked body when the
//! drain starts, and never holds the drain (the default 30 s deadline is never reached).

mod support;

use support::{each_demo, Demo, Raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_end_with_the_shutdown_event_and_a_complete_body() {
    each_demo(|name| async move {
        let demo = Demo::start(name, &[]).await;
        let mut events = Raw::connect(demo.addr).await;
        events.get("/events?interval_ms=50").await;
        let head = events.head().await;
        assert!(head.starts_with("http/1.1 200"), "{name}: {head}");
        assert!(
            head.contains("content-type: text/event-stream"),
            "{name}: {head}"
        );
        assert!(
            head.contains("transfer-encoding: chunked"),
            "{name}: {head}"
        );
        assert_eq!(events.chunk().await, "data: 0\n\n", "{name}");
        assert_eq!(events.chunk().await, "data: 1\n\n", "{name}");

        demo.term();
        let mut next = 2;
        loop {
            let chunk = support::bounded("an event", events.chunk()).await;
            if chunk == format!("data: {next}\n\n") {
                next += 1;
                continue;
            }
            assert_eq!(chunk, "event: shutdown\ndata: draining\n\n", "{name}");
            break;
        }
        assert_eq!(events.chunk().await, "", "{name}: the chunked terminator");
        assert!(events.closed().await, "{name}: closed after the response");
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            exit.last()
                .starts_with("shutdown: drained=true connections_left=0"),
            "{name}: {exit:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_events_query_is_400() {
    each_demo(|name| async move {
        let demo = Demo::start(name, &[]).await;
        let mut client = Raw::connect(demo.addr).await;
        client.get("/events?interval_ms=x").await;
        let (status, _, body) = client.response().await;
        assert_eq!(status, 400, "{name}");
        assert!(body.contains("interval_ms"), "{name}: {body}");
    })
    .await;
}

/// `/ws`: the demos' WebSocket echo, then Close 1001 when the drain starts. `answer`: the
/// client answers the Close (tungstenite does when it reads it); otherwise it never reads
/// again and the server ends the session after its 1 s grace.
async fn websocket_goodbye(name: &'static str, answer: bool) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};

    let demo = Demo::start(name, &[]).await;
    let (mut socket, response) = support::bounded(
        "the WebSocket handshake",
        tokio_tungstenite::connect_async(format!("ws://{}/ws", demo.addr)),
    )
    .await
    .expect("handshake");
    assert_eq!(response.status(), 101, "{name}");
    socket.send(Message::text("hello")).await.unwrap();
    let echoed = support::bounded("the echo", socket.next()).await;
    assert_eq!(echoed.unwrap().unwrap(), Message::text("hello"), "{name}");

    demo.term();
    if answer {
        match support::bounded("the Close", socket.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Away, "{name}: {frame:?}");
            }
            other => panic!("{name}: expected Close 1001, got {other:?}"),
        }
        // tungstenite answered the Close; the server then closes the connection.
        let end = support::bounded("the end of the session", socket.next()).await;
        assert!(
            matches!(end, None | Some(Err(_))),
            "{name}: nothing after the Close: {end:?}"
        );
    }
    let exit = demo.exit().await;
    assert_eq!(exit.code, 0, "{name}: {exit:?}");
    assert!(
        exit.last()
            .starts_with("shutdown: drained=true connections_left=0"),
        "{name}: {exit:?}"
    );
    drop(socket);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_gets_close_1001_when_the_drain_starts() {
    each_demo(|name| websocket_goodbye(name, true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_client_that_never_answers_the_close_is_let_go_after_the_grace() {
    each_demo(|name| websocket_goodbye(name, false)).await;
}
