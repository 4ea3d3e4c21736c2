//! Smol as a `Network`: the backlog taken without waiting, the streams it hands out.
#![cfg(unix)]

use lameduck::runtime::{IntoListeners, Network, Socket};
use lameduck_smol::Smol;

#[test]
fn try_accept_takes_what_is_queued_then_says_none() {
    smol::block_on(async {
        let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let smol = Smol::new();
        let listener = IntoListeners::<Smol>::into_listeners(listener).unwrap();
        let [listener] = <[_; 1]>::try_from(listener).unwrap();
        let mut acceptor = smol.listen(listener).unwrap();
        assert!(
            smol.try_accept(&mut acceptor).is_none(),
            "nothing queued yet"
        );
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        for client in &clients {
            let Socket::Tcp(stream) = smol.try_accept(&mut acceptor).expect("queued").unwrap()
            else {
                panic!("a TCP stream")
            };
            assert_eq!(
                stream.get_ref().peer_addr().unwrap(),
                client.local_addr().unwrap()
            );
            assert!(stream.get_ref().nodelay().unwrap());
        }
        assert!(
            smol.try_accept(&mut acceptor).is_none(),
            "the backlog is empty"
        );
        let _late = std::net::TcpStream::connect(addr).unwrap();
        core::future::poll_fn(|cx| smol.poll_accept(&mut acceptor, cx))
            .await
            .unwrap();
    });
}
