//! `serve` takes the runtime's own listeners (`tokio::net::TcpListener`) and several
//! listeners, all served until the one shutdown.

use core::time::Duration;
use lameduck::{Config, Shutdown};
use std::net::SocketAddr;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// `GET /` on a fresh connection: the whole response.
async fn get(addr: SocketAddr) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let request = b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    socket.write_all(request).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    response
}

fn hello() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { "hello" }))
}

#[tokio::test]
async fn a_tokio_listener_is_served_as_it_is() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let trigger = shutdown.trigger();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = lameduck_hyper::serve(lameduck_tokio::Tokio::new(), listener, hello(), shutdown);
    assert_eq!(server.local_addr(), Some(addr.to_string().as_str()));
    let report = tokio::spawn(server);
    assert!(get(addr).await.ends_with("hello"));
    trigger.shutdown();
    let report = tokio::time::timeout(Duration::from_secs(20), report)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
}

#[tokio::test]
async fn several_listeners_serve_until_one_shutdown_closes_them_all() {
    let shutdown = Shutdown::new(Config::new()).unwrap();
    let trigger = shutdown.trigger();
    let (a, b) = (
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let addrs = [a.local_addr().unwrap(), b.local_addr().unwrap()];
    let server = lameduck_hyper::serve(lameduck_tokio::Tokio::new(), [a, b], hello(), shutdown);
    let shown: Vec<_> = server
        .local_addrs()
        .map(|a| a.unwrap().to_owned())
        .collect();
    assert_eq!(shown, addrs.map(|a| a.to_string()));
    assert_eq!(server.local_addr(), Some(shown[0].as_str()), "the first");
    let report = tokio::spawn(server);
    for addr in addrs {
        assert!(get(addr).await.ends_with("hello"), "{addr} serves");
    }
    trigger.shutdown();
    let report = tokio::time::timeout(Duration::from_secs(20), report)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{report}");
    for addr in addrs {
        let refused = TcpStream::connect(addr).await;
        assert!(refused.is_err(), "{addr} is closed at the drain");
    }
}
