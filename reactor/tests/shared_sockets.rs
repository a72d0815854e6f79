//! Several tasks waiting on the same socket in the same direction: each must be woken. With
//! edge-triggered readiness a task left off the list would never hear of the socket again.

use std::rc::Rc;
use std::time::Duration;

use executor::{block_on, spawn, yield_now};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::timeout;

/// Far longer than a wake-up takes on any machine; a lost wake-up never ends.
const PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn two_tasks_accepting_on_one_listener_both_get_a_connection() {
    block_on(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let acceptors: Vec<_> = (0..2)
            .map(|_| {
                let listener = listener.clone();
                spawn(async move { listener.accept().await.map(|_| ()) })
            })
            .collect();
        yield_now().await; // Both acceptors have now been polled and are waiting.
        let _first = TcpStream::connect(addr).await.unwrap();
        let _second = TcpStream::connect(addr).await.unwrap();
        for acceptor in acceptors {
            let accepted = timeout(PATIENCE, acceptor).await;
            assert!(
                matches!(accepted, Ok(Ok(Ok(())))),
                "an acceptor was never woken although a connection was waiting"
            );
        }
    });
}

#[test]
fn two_tasks_reading_one_stream_both_get_data() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let server = Rc::new(server);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let server = server.clone();
                spawn(async move {
                    let mut byte = [0u8; 1];
                    server.read(&mut byte).await.unwrap()
                })
            })
            .collect();
        yield_now().await; // Both readers are now waiting.
        client.write_all(b"x").await.unwrap();
        yield_now().await;
        client.write_all(b"y").await.unwrap();
        for reader in readers {
            let read = timeout(PATIENCE, reader).await;
            assert!(
                matches!(read, Ok(Ok(1))),
                "a reader was never woken although a byte was waiting"
            );
        }
    });
}
