//! The TCP workloads over loopback: [`tcp_echo`] (latency) and [`bulk_transfer`] (throughput).
//!
//! On glass, tokio and smol both ends are tasks on the one thread that runs the runtime, so every byte
//! goes through the reactor twice. The `blocking` versions put the two ends on two threads with
//! plain `std::net` sockets: the reference, what the system calls cost with no runtime at all
//! (and, on a machine with two cores, with both ends running at once).
//!
//! The clock starts before the client connects and stops when the client has its last byte;
//! binding the listener is left out.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::Instant;

use crate::{Harness, Run};

/// Where the servers listen: loopback, any free port.
const LOOPBACK: &str = "127.0.0.1:0";

/// `read_exact` for glass's `TcpStream`, which has only `read`.
pub(super) async fn glass_read_exact(
    stream: &reactor::net::TcpStream,
    mut buf: &mut [u8],
) -> io::Result<()> {
    // Bounded: every turn either fills part of `buf` or returns.
    while !buf.is_empty() {
        match stream.read(buf).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf = &mut buf[n..],
        }
    }
    Ok(())
}

/// A task that panicked or was cancelled, as an `io::Error`. (glass's `JoinError` carries the
/// panic payload, which is not `Sync`, so only its message is kept.)
pub(super) fn join_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("a task failed: {e}"))
}

/// The server thread of a blocking version: binds, then runs `serve` on the first connection.
fn blocking_server(
    serve: impl FnOnce(std::net::TcpStream) -> io::Result<()> + Send + 'static,
) -> io::Result<(SocketAddr, thread::JoinHandle<io::Result<()>>)> {
    let listener = std::net::TcpListener::bind(LOOPBACK)?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || serve(listener.accept()?.0));
    Ok((addr, server))
}

/// `n` round trips of a [`MESSAGE`](tcp_echo::MESSAGE)-byte message over one connection, with
/// `TCP_NODELAY` on both ends. Each message carries its sequence number; the check value counts
/// the echoes that came back intact.
pub mod tcp_echo {
    use super::*;

    /// The size of one message.
    pub const MESSAGE: usize = 64;

    pub(crate) fn message(i: usize) -> [u8; MESSAGE] {
        let mut msg = [0xA5; MESSAGE];
        msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
        msg
    }

    /// glass: server and client are tasks on one `block_on`.
    pub fn glass(_: &Harness, n: usize) -> io::Result<Run> {
        use reactor::net::{TcpListener, TcpStream};
        executor::block_on(async move {
            let listener = TcpListener::bind(LOOPBACK).await?;
            let addr = listener.local_addr()?;
            let server = executor::spawn(async move {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let mut buf = [0; MESSAGE];
                for _ in 0..n {
                    glass_read_exact(&stream, &mut buf).await?;
                    stream.write_all(&buf).await?;
                }
                io::Result::Ok(())
            });
            let start = Instant::now();
            let client = TcpStream::connect(addr).await?;
            client.set_nodelay(true)?;
            let mut intact = 0;
            let mut echo = [0; MESSAGE];
            for i in 0..n {
                let msg = message(i);
                client.write_all(&msg).await?;
                glass_read_exact(&client, &mut echo).await?;
                intact += u64::from(echo == msg);
            }
            let elapsed = start.elapsed();
            server.await.map_err(join_error)??;
            Ok(Run::new(elapsed, intact))
        })
    }

    /// tokio: server and client are tasks on the `current_thread` runtime.
    pub fn tokio(h: &Harness, n: usize) -> io::Result<Run> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};
        h.tokio().block_on(async move {
            let listener = TcpListener::bind(LOOPBACK).await?;
            let addr = listener.local_addr()?;
            let server = tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let mut buf = [0; MESSAGE];
                for _ in 0..n {
                    stream.read_exact(&mut buf).await?;
                    stream.write_all(&buf).await?;
                }
                io::Result::Ok(())
            });
            let start = Instant::now();
            let mut client = TcpStream::connect(addr).await?;
            client.set_nodelay(true)?;
            let mut intact = 0;
            let mut echo = [0; MESSAGE];
            for i in 0..n {
                let msg = message(i);
                client.write_all(&msg).await?;
                client.read_exact(&mut echo).await?;
                intact += u64::from(echo == msg);
            }
            let elapsed = start.elapsed();
            server.await.map_err(join_error)??;
            Ok(Run::new(elapsed, intact))
        })
    }

    /// smol: server and client are tasks on one `LocalExecutor`, with smol's `net` types.
    pub fn smol(_: &Harness, n: usize) -> io::Result<Run> {
        use smol::io::{AsyncReadExt, AsyncWriteExt};
        use smol::net::{TcpListener, TcpStream};
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            let listener = TcpListener::bind(LOOPBACK).await?;
            let addr = listener.local_addr()?;
            let server = ex.spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let mut buf = [0; MESSAGE];
                for _ in 0..n {
                    stream.read_exact(&mut buf).await?;
                    stream.write_all(&buf).await?;
                }
                io::Result::Ok(())
            });
            let start = Instant::now();
            let mut client = TcpStream::connect(addr).await?;
            client.set_nodelay(true)?;
            let mut intact = 0;
            let mut echo = [0; MESSAGE];
            for i in 0..n {
                let msg = message(i);
                client.write_all(&msg).await?;
                client.read_exact(&mut echo).await?;
                intact += u64::from(echo == msg);
            }
            let elapsed = start.elapsed();
            server.await?;
            Ok(Run::new(elapsed, intact))
        }))
    }

    /// The reference: the server on its own thread, blocking `std::net` on both ends.
    pub fn blocking(_: &Harness, n: usize) -> io::Result<Run> {
        let (addr, server) = blocking_server(move |mut stream| {
            stream.set_nodelay(true)?;
            let mut buf = [0; MESSAGE];
            for _ in 0..n {
                stream.read_exact(&mut buf)?;
                stream.write_all(&buf)?;
            }
            Ok(())
        })?;
        let start = Instant::now();
        let mut client = std::net::TcpStream::connect(addr)?;
        client.set_nodelay(true)?;
        let mut intact = 0;
        let mut echo = [0; MESSAGE];
        for i in 0..n {
            let msg = message(i);
            client.write_all(&msg)?;
            client.read_exact(&mut echo)?;
            intact += u64::from(echo == msg);
        }
        let elapsed = start.elapsed();
        server
            .join()
            .expect("tcp_echo: the server thread panicked")?;
        Ok(Run::new(elapsed, intact))
    }
}

/// `n` MiB from a server to a client over one connection, written in
/// [`CHUNK`](bulk_transfer::CHUNK)-sized writes and read with a buffer of the same size until the
/// server closes. The check value is the number of bytes the client received.
pub mod bulk_transfer {
    use super::*;

    /// The size of each write, and of the client's read buffer: 64 KiB.
    pub const CHUNK: usize = 64 * 1024;
    const MIB: usize = 1024 * 1024;

    /// The bytes a run of `n` MiB delivers.
    pub fn expected(n: usize) -> u64 {
        (n * MIB) as u64
    }

    /// How many chunks make `n` MiB.
    fn chunks(n: usize) -> usize {
        n * MIB / CHUNK
    }

    /// glass: the sending server and the receiving client are tasks on one `block_on`.
    pub fn glass(_: &Harness, n: usize) -> io::Result<Run> {
        use reactor::net::{TcpListener, TcpStream};
        executor::block_on(async move {
            let listener = TcpListener::bind(LOOPBACK).await?;
            let addr = listener.local_addr()?;
            let server = executor::spawn(async move {
                let (stream, _) = listener.accept().await?;
                let chunk = vec![0x5A; CHUNK];
                for _ in 0..chunks(n) {
                    stream.write_all(&chunk).await?;
                }
                io::Result::Ok(()) // Dropping the stream closes it: the client reads end-of-file.
            });
            let start = Instant::now();
            let client = TcpStream::connect(addr).await?;
            let mut buf = vec![0; CHUNK];
            let mut received = 0;
            // Bounded: the server closes after n MiB; the extra turns allow for short reads.
            for _ in 0..=n * MIB {
                match client.read(&mut buf).await? {
                    0 => break,
                    len => received += len as u64,
                }
            }
            let elapsed = start.elapsed();
            server.await.map_err(join_error)??;
            Ok(Run::new(elapsed, received))
        })
    }

    /// tokio: the sending server and the receiving client are tasks on the runtime.
    pub fn tokio(h: &Harness, n: usize) -> io::Result<Run> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};
        h.tokio().block_on(async move {
            let listener = TcpListener::bind(LOOPBACK).await?;
            let addr = listener.local_addr()?;
            let server = tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                let chunk = vec![0x5A; CHUNK];
                for _ in 0..chunks(n) {
                    stream.write_all(&chunk).await?;
                }
                io::Result::Ok(())
            });
            let start = Instant::now();
            let mut client = TcpStream::connect(addr).await?;
            let mut buf = vec![0; CHUNK];
            let mut received = 0;
            for _ in 0..=n * MIB {
                match client.read(&mut buf).await? {
                    0 => break,
                    len => received += len as u64,
                }
            }
            let elapsed = start.elapsed();
            server.await.map_err(join_error)??;
            Ok(Run::new(elapsed, received))
        })
    }

    /// smol: the sending server and the receiving client are tasks on one `LocalExecutor`.
    pub fn smol(_: &Harness, n: usize) -> io::Result<Run> {
        use smol::io::{AsyncReadExt, AsyncWriteExt};
        use smol::net::{TcpListener, TcpStream};
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            let listener = TcpListener::bind(LOOPBACK).await?;
            let addr = listener.local_addr()?;
            let server = ex.spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                let chunk = vec![0x5A; CHUNK];
                for _ in 0..chunks(n) {
                    stream.write_all(&chunk).await?;
                }
                io::Result::Ok(())
            });
            let start = Instant::now();
            let mut client = TcpStream::connect(addr).await?;
            let mut buf = vec![0; CHUNK];
            let mut received = 0;
            for _ in 0..=n * MIB {
                match client.read(&mut buf).await? {
                    0 => break,
                    len => received += len as u64,
                }
            }
            let elapsed = start.elapsed();
            server.await?;
            Ok(Run::new(elapsed, received))
        }))
    }

    /// The reference: the server writes on its own thread, the client reads on this one.
    pub fn blocking(_: &Harness, n: usize) -> io::Result<Run> {
        let (addr, server) = blocking_server(move |mut stream| {
            let chunk = vec![0x5A; CHUNK];
            for _ in 0..chunks(n) {
                stream.write_all(&chunk)?;
            }
            Ok(())
        })?;
        let start = Instant::now();
        let mut client = std::net::TcpStream::connect(addr)?;
        let mut buf = vec![0; CHUNK];
        let mut received = 0;
        for _ in 0..=n * MIB {
            match client.read(&mut buf)? {
                0 => break,
                len => received += len as u64,
            }
        }
        let elapsed = start.elapsed();
        server
            .join()
            .expect("bulk_transfer: the server thread panicked")?;
        Ok(Run::new(elapsed, received))
    }
}
