//! TCP on the reactor: echo with a thousand clients, small writes against odd-sized reads, one
//! task reading while another writes, `futures::io::copy`, refused connections, and clean-up.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use common::{LIMIT, connected_pair, read_exact, run, stream_byte};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use reactor::net::{TcpListener, TcpStream};
use reactor::time::timeout;

/// Accepts `connections` connections and echoes each one in a task of its own until the peer
/// closes its side.
async fn echo_server(listener: TcpListener, connections: usize) {
    for _ in 0..connections {
        let (stream, _) = listener.accept().await.expect("accept");
        executor::spawn(async move {
            let mut buf = vec![0u8; 1500];
            loop {
                let n = stream.read(&mut buf).await.expect("server read");
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.expect("server write");
            }
        });
    }
}

/// The `message`th message of client `client`: its length and every byte depend on both, so a
/// byte from another client or another message, or out of order, cannot go unnoticed.
fn message(client: u64, message: u64) -> Vec<u8> {
    let len = 1 + (client * 7 + message * 13) % 300;
    let seed = ((client << 32) | message) * 4096;
    (0..len).map(|i| stream_byte(seed + i)).collect()
}

#[test]
fn echo_1000_concurrent_clients_100_messages_each_arrive_intact_and_in_order() {
    const CLIENTS: u64 = 1000;
    const MESSAGES: u64 = 100;
    let (bytes, expected) = run(LIMIT, || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = executor::spawn(echo_server(listener, CLIENTS as usize));
        let echoed = Rc::new(Cell::new(0u64));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let echoed = echoed.clone();
                executor::spawn(async move {
                    let stream = TcpStream::connect(addr).await.expect("connect");
                    let mut back = vec![0u8; 300];
                    for m in 0..MESSAGES {
                        let sent = message(client, m);
                        stream.write_all(&sent).await.expect("client write");
                        let back = &mut back[..sent.len()];
                        read_exact(&stream, back).await.expect("client read");
                        assert_eq!(
                            back,
                            &sent[..],
                            "client {client}, message {m} came back wrong"
                        );
                        echoed.set(echoed.get() + sent.len() as u64);
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.expect("client task failed");
        }
        server.await.expect("server task failed");
        let expected: u64 = (0..CLIENTS)
            .flat_map(|c| (0..MESSAGES).map(move |m| message(c, m).len() as u64))
            .sum();
        (echoed.get(), expected)
    });
    assert_eq!(bytes, expected);
}

/// A writer sends `pieces` small writes (1 to 13 bytes each) while a reader on the other end reads
/// with a buffer of `read_size` bytes. Returns (bytes written, bytes read and checked).
fn small_writes_against_odd_reads(pieces: u64, read_size: usize) -> (u64, u64) {
    run(LIMIT, move || async move {
        let (client, server) = connected_pair().await;
        client.set_nodelay(true).unwrap();
        let writer = executor::spawn(async move {
            let mut pos = 0u64;
            let mut piece = Vec::with_capacity(13);
            for p in 0..pieces {
                piece.clear();
                piece.extend((0..1 + p % 13).map(|i| stream_byte(pos + i)));
                client.write_all(&piece).await.expect("write");
                pos += piece.len() as u64;
            }
            client.shutdown(Shutdown::Write).expect("shutdown");
            pos
        });
        let reader = executor::spawn(async move {
            let mut buf = vec![0u8; read_size];
            let mut pos = 0u64;
            loop {
                let n = server.read(&mut buf).await.expect("read");
                if n == 0 {
                    return pos;
                }
                check_stream(&buf[..n], &mut pos);
            }
        });
        (writer.await.unwrap(), reader.await.unwrap())
    })
}

#[test]
fn many_small_writes_read_7_bytes_at_a_time_lose_nothing_and_never_hang() {
    let (written, read) = small_writes_against_odd_reads(60_000, 7);
    assert_eq!(written, read);
}

#[test]
fn many_small_writes_read_4093_bytes_at_a_time_lose_nothing_and_never_hang() {
    let (written, read) = small_writes_against_odd_reads(200_000, 4093);
    assert_eq!(written, read);
}

/// More than the kernel buffers in both directions hold, so writing everything before reading
/// anything would deadlock: the test passes only if reading and writing really run concurrently.
const BIG: u64 = 8 << 20;

/// Checks `bytes` against the test stream starting at offset `*pos`, and advances `*pos`.
fn check_stream(bytes: &[u8], pos: &mut u64) {
    for &byte in bytes {
        assert_eq!(byte, stream_byte(*pos), "wrong byte at offset {pos}");
        *pos += 1;
    }
}

fn big_chunk(start: u64) -> Vec<u8> {
    (start..(start + 8192).min(BIG)).map(stream_byte).collect()
}

#[test]
fn one_task_reads_while_another_writes_through_split_halves() {
    let received = run(LIMIT, || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        executor::spawn(echo_server(listener, 1));
        let (read_half, write_half) = TcpStream::connect(addr).await.unwrap().into_split();
        let writer = executor::spawn(async move {
            let mut pos = 0;
            while pos < BIG {
                let chunk = big_chunk(pos);
                write_half.write_all(&chunk).await.expect("write");
                pos += chunk.len() as u64;
            }
            // Dropping the write half shuts down writing: the server sees end-of-file, stops
            // echoing and closes, and the reader sees end-of-file in turn.
        });
        let reader = executor::spawn(async move {
            let (mut buf, mut pos) = (vec![0u8; 5000], 0);
            loop {
                match read_half.read(&mut buf).await.expect("read") {
                    0 => return pos,
                    n => check_stream(&buf[..n], &mut pos),
                }
            }
        });
        writer.await.unwrap();
        reader.await.unwrap()
    });
    assert_eq!(received, BIG);
}

#[test]
fn one_task_reads_while_another_writes_through_a_shared_stream() {
    let received = run(LIMIT, || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        executor::spawn(echo_server(listener, 1));
        let stream = Rc::new(TcpStream::connect(addr).await.unwrap());
        let writing = stream.clone();
        let writer = executor::spawn(async move {
            let mut pos = 0;
            while pos < BIG {
                let chunk = big_chunk(pos);
                writing.write_all(&chunk).await.expect("write");
                pos += chunk.len() as u64;
            }
            writing.shutdown(Shutdown::Write).expect("shutdown");
        });
        let reader = executor::spawn(async move {
            let (mut buf, mut pos) = (vec![0u8; 5000], 0);
            loop {
                match stream.read(&mut buf).await.expect("read") {
                    0 => return pos,
                    n => check_stream(&buf[..n], &mut pos),
                }
            }
        });
        writer.await.unwrap();
        reader.await.unwrap()
    });
    assert_eq!(received, BIG);
}

#[test]
fn futures_io_copy_echoes_over_tcp_stream() {
    const LEN: u64 = 3 << 20;
    let (copied, received, sent) = run(LIMIT, || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The server echoes with the runtime-neutral `futures::io::copy`, reading and writing the
        // same `TcpStream` through `&TcpStream`'s `AsyncRead` and `AsyncWrite`.
        let server = executor::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let copied = futures::io::copy(&stream, &mut &stream)
                .await
                .expect("copy");
            (&stream).close().await.expect("close");
            copied
        });
        let client = Rc::new(TcpStream::connect(addr).await.unwrap());
        let sent: Vec<u8> = (0..LEN).map(stream_byte).collect();
        let writing = client.clone();
        let to_send = sent.clone();
        let writer = executor::spawn(async move {
            let mut stream = &*writing;
            for piece in to_send.chunks(10_007) {
                stream.write_all(piece).await.expect("write_all");
            }
            stream.flush().await.expect("flush");
            stream.close().await.expect("close");
        });
        let mut received = Vec::new();
        (&*client)
            .read_to_end(&mut received)
            .await
            .expect("read_to_end");
        writer.await.unwrap();
        (server.await.unwrap(), received, sent)
    });
    assert_eq!(copied, LEN);
    assert_eq!(received.len() as u64, LEN);
    assert!(received == sent, "the echoed bytes differ from those sent");
}

#[test]
fn connecting_to_a_closed_port_is_refused_not_left_hanging() {
    let (result, leaked) = run(LIMIT, || async {
        // A port that was free a moment ago: bind, note it, close.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let before = reactor::metrics().registrations;
        let result = timeout(Duration::from_secs(10), TcpStream::connect(addr))
            .await
            .expect("connect to a closed port hung instead of failing");
        let leaked = reactor::metrics().registrations - before;
        (result.map(drop), leaked)
    });
    let error = result.expect_err("connect to a closed port succeeded");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
    assert_eq!(leaked, 0, "a failed connect left its registration behind");
}

/// A waker that counts nothing but lets the test see how many copies of it are alive.
struct Probe;

impl Wake for Probe {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn dropping_a_socket_removes_its_registration_and_its_waker() {
    run(LIMIT, || async {
        let base = reactor::metrics().registrations;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(reactor::metrics().registrations, base + 1);
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert_eq!(reactor::metrics().registrations, base + 3);

        // Leave a waker behind in the client's slot: a read that would block.
        let probe = Arc::new(Probe);
        let waker = Waker::from(probe.clone());
        {
            let mut buf = [0u8; 16];
            let mut read = pin!(client.read(&mut buf));
            let polled = read.as_mut().poll(&mut Context::from_waker(&waker));
            assert!(
                polled.is_pending(),
                "nothing was sent, yet the read finished"
            );
        }
        drop(waker);
        assert_eq!(
            Arc::strong_count(&probe),
            2,
            "the pending read should have stored a clone of its waker"
        );

        drop(client);
        assert_eq!(
            Arc::strong_count(&probe),
            1,
            "the dropped socket kept its waker"
        );
        assert_eq!(reactor::metrics().registrations, base + 2);
        drop(server);
        assert_eq!(reactor::metrics().registrations, base + 1);
        drop(listener);
        assert_eq!(reactor::metrics().registrations, base);
    });
}
