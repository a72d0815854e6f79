//! many_echo: `n` connections at once, each making [`ROUND_TRIPS`] request/response round trips
//! of a [`MESSAGE`]-byte message, with `TCP_NODELAY` on both ends.
//!
//! Where tcp_echo has one round trip in flight, here `n` are: every turn of the reactor finds
//! many sockets ready, so what is measured is how a runtime handles a batch of readiness events
//! and a ready queue of hundreds of tasks (the shape of a busy server), rather than the latency
//! of one wake-up.
//!
//! Server and clients are tasks on the one thread that runs the runtime. The listener's task
//! spawns an echo task per accepted connection; the main task connects the clients one after
//! another and spawns each as soon as it is connected, so at most a few connections ever wait in
//! the accept queue (the listen backlog is 128 for tokio and smol) and each client starts its
//! round trips while the others are still connecting. The clock runs from the first connect to
//! the last echo. The check value counts the echoes that came back intact.

use std::io;
use std::rc::Rc;
use std::time::Instant;

use super::tcp::tcp_echo::{MESSAGE, message};
use super::tcp::{glass_read_exact, join_error};
use crate::{Harness, Run};

/// Round trips per connection.
pub const ROUND_TRIPS: usize = 100;

/// The round trips a run of `n` connections makes.
pub fn ops(n: usize) -> u64 {
    (n * ROUND_TRIPS) as u64
}

/// What client `client` sends in its round trip `round`: a number unique over the run.
fn request(client: usize, round: usize) -> [u8; MESSAGE] {
    message(client * ROUND_TRIPS + round)
}

/// glass: `reactor::net` sockets, `executor::spawn`ed tasks.
pub fn glass(_: &Harness, n: usize) -> io::Result<Run> {
    use reactor::net::{TcpListener, TcpStream};

    async fn echo(stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let mut buf = [0; MESSAGE];
        for _ in 0..ROUND_TRIPS {
            glass_read_exact(&stream, &mut buf).await?;
            stream.write_all(&buf).await?;
        }
        Ok(())
    }

    async fn client(stream: TcpStream, id: usize) -> io::Result<u64> {
        let (mut intact, mut echo) = (0, [0; MESSAGE]);
        for round in 0..ROUND_TRIPS {
            let msg = request(id, round);
            stream.write_all(&msg).await?;
            glass_read_exact(&stream, &mut echo).await?;
            intact += u64::from(echo == msg);
        }
        Ok(intact)
    }

    executor::block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = executor::spawn(async move {
            let mut echoes = Vec::with_capacity(n);
            for _ in 0..n {
                echoes.push(executor::spawn(echo(listener.accept().await?.0)));
            }
            for echo in echoes {
                echo.await.map_err(join_error)??;
            }
            io::Result::Ok(())
        });
        let start = Instant::now();
        let mut clients = Vec::with_capacity(n);
        for id in 0..n {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            clients.push(executor::spawn(client(stream, id)));
        }
        let mut intact = 0;
        for client in clients {
            intact += client.await.map_err(join_error)??;
        }
        let elapsed = start.elapsed();
        server.await.map_err(join_error)??;
        Ok(Run::new(elapsed, intact))
    })
}

/// tokio: `tokio::net` sockets, `tokio::spawn`ed tasks.
pub fn tokio(h: &Harness, n: usize) -> io::Result<Run> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn echo(mut stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let mut buf = [0; MESSAGE];
        for _ in 0..ROUND_TRIPS {
            stream.read_exact(&mut buf).await?;
            stream.write_all(&buf).await?;
        }
        Ok(())
    }

    async fn client(mut stream: TcpStream, id: usize) -> io::Result<u64> {
        let (mut intact, mut echo) = (0, [0; MESSAGE]);
        for round in 0..ROUND_TRIPS {
            let msg = request(id, round);
            stream.write_all(&msg).await?;
            stream.read_exact(&mut echo).await?;
            intact += u64::from(echo == msg);
        }
        Ok(intact)
    }

    h.tokio().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let mut echoes = Vec::with_capacity(n);
            for _ in 0..n {
                echoes.push(tokio::spawn(echo(listener.accept().await?.0)));
            }
            for echo in echoes {
                echo.await.map_err(join_error)??;
            }
            io::Result::Ok(())
        });
        let start = Instant::now();
        let mut clients = Vec::with_capacity(n);
        for id in 0..n {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            clients.push(tokio::spawn(client(stream, id)));
        }
        let mut intact = 0;
        for client in clients {
            intact += client.await.map_err(join_error)??;
        }
        let elapsed = start.elapsed();
        server.await.map_err(join_error)??;
        Ok(Run::new(elapsed, intact))
    })
}

/// smol: smol's `net` sockets, tasks on one `LocalExecutor`.
pub fn smol(_: &Harness, n: usize) -> io::Result<Run> {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    use smol::net::{TcpListener, TcpStream};

    async fn echo(mut stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let mut buf = [0; MESSAGE];
        for _ in 0..ROUND_TRIPS {
            stream.read_exact(&mut buf).await?;
            stream.write_all(&buf).await?;
        }
        Ok(())
    }

    async fn client(mut stream: TcpStream, id: usize) -> io::Result<u64> {
        let (mut intact, mut echo) = (0, [0; MESSAGE]);
        for round in 0..ROUND_TRIPS {
            let msg = request(id, round);
            stream.write_all(&msg).await?;
            stream.read_exact(&mut echo).await?;
            intact += u64::from(echo == msg);
        }
        Ok(intact)
    }

    // The listener's task spawns too, so it holds the executor: an `Rc` of a `'static` one (a
    // `LocalExecutor` spawns only futures that live as long as it does).
    let ex = Rc::new(smol::LocalExecutor::new());
    smol::block_on(ex.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server_ex = ex.clone();
        let server = ex.spawn(async move {
            let mut echoes = Vec::with_capacity(n);
            for _ in 0..n {
                echoes.push(server_ex.spawn(echo(listener.accept().await?.0)));
            }
            for echo in echoes {
                echo.await?;
            }
            io::Result::Ok(())
        });
        let start = Instant::now();
        let mut clients = Vec::with_capacity(n);
        for id in 0..n {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            clients.push(ex.spawn(client(stream, id)));
        }
        let mut intact = 0;
        for client in clients {
            intact += client.await?;
        }
        let elapsed = start.elapsed();
        server.await?;
        Ok(Run::new(elapsed, intact))
    }))
}
