//! Long-lived responses ended on purpose when draining starts: a body marked
//! `AtDrain::End`, and server-sent events in `EndAtDrain`.

mod support;

use support::{bounded, start};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// Sends `GET path`, reads the head, and returns the socket at the start of the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, BufReader<TcpStream>) {
    let mut socket = BufReader::new(TcpStream::connect(addr).await.unwrap());
    socket
        .get_mut()
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        bounded(socket.read_line(&mut line)).await.unwrap();
        assert!(!line.is_empty(), "eof in head: {head}");
        if line == "\r\n" {
            return (head, socket);
        }
        head.push_str(&line.to_ascii_lowercase());
    }
}

/// One chunk of a chunked body ("" for the terminator, which is read whole).
async fn chunk(socket: &mut BufReader<TcpStream>) -> String {
    let mut size = String::new();
    bounded(socket.read_line(&mut size)).await.unwrap();
    let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
    let mut data = vec![0; size + 2];
    bounded(socket.read_exact(&mut data)).await.unwrap();
    assert_eq!(&data[size..], b"\r\n", "a chunk ends with CRLF");
    data.truncate(size);
    String::from_utf8(data).unwrap()
}

#[tokio::test]
async fn a_body_marked_end_at_drain_ends_cleanly_when_draining_starts() {
    let server = start().await;
    let (head, mut socket) = get(server.addr, "/endless").await;
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert_eq!(chunk(&mut socket).await, "tick\n");
    assert_eq!(chunk(&mut socket).await, "tick\n");

    server.trigger.shutdown();
    // Ticks may still be on the way; then the terminator, and the connection closes.
    loop {
        match chunk(&mut socket).await.as_str() {
            "tick\n" => {}
            "" => break,
            other => panic!("unexpected chunk {other:?}"),
        }
    }
    let mut rest = Vec::new();
    bounded(socket.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty(), "closed after the complete response");
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}

#[tokio::test]
async fn server_sent_events_end_with_the_shutdown_event() {
    let server = start().await;
    let (head, mut socket) = get(server.addr, "/events").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(chunk(&mut socket).await, "data: tick\n\n");

    server.trigger.shutdown();
    loop {
        match chunk(&mut socket).await.as_str() {
            "data: tick\n\n" => {}
            "event: shutdown\ndata: draining\n\n" => break,
            other => panic!("unexpected chunk {other:?}"),
        }
    }
    assert_eq!(chunk(&mut socket).await, "", "the terminator follows");
    let mut rest = Vec::new();
    bounded(socket.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty(), "closed after the complete response");
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}

#[tokio::test]
async fn an_endless_body_not_marked_holds_the_drain_to_the_deadline() {
    let server = support::start_with(
        lameduck::Config::new().drain_timeout(core::time::Duration::from_millis(300)),
    )
    .await;
    let (_head, mut socket) = get(server.addr, "/ticks").await;
    assert_eq!(chunk(&mut socket).await, "tick\n");
    server.trigger.shutdown();
    let report = bounded(server.report).await.unwrap();
    assert!(!report.drained(), "{report}");
}
