//! Tokio as a `Network`: the backlog taken without waiting, the streams it hands out.
#![cfg(unix)]

use lameduck::runtime::{Network, Socket};
use lameduck_tokio::Tokio;

#[tokio::test]
async fn try_accept_takes_what_is_queued_then_says_none() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let tokio = Tokio::new();
    let mut acceptor = tokio.listen(listener.into()).unwrap();
    assert!(
        tokio.try_accept(&mut acceptor).is_none(),
        "nothing queued yet"
    );
    let clients: Vec<_> = (0..3)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    for client in &clients {
        let Socket::Tcp(stream) = tokio.try_accept(&mut acceptor).expect("queued").unwrap() else {
            panic!("a TCP stream")
        };
        assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
        assert!(stream.nodelay().unwrap());
    }
    assert!(
        tokio.try_accept(&mut acceptor).is_none(),
        "the backlog is empty"
    );
    // The listener still accepts through the runtime afterwards.
    let _late = std::net::TcpStream::connect(addr).unwrap();
    core::future::poll_fn(|cx| tokio.poll_accept(&mut acceptor, cx))
        .await
        .unwrap();
}
