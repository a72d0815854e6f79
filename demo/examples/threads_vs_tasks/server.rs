//! The throttled server: a glass accept loop, one task per connection, each sending the body in
//! `SLICES` slices over `HOLD`, so that every download spends nearly all its time waiting.

use std::io::{self, Read, Write};
use std::time::Duration;

use reactor::net::{TcpListener, TcpStream};
use reactor::time::sleep;

use crate::{BODY, HOLD, SLICES};

/// Serves until stdin closes (the parent is done, or gone).
pub fn run() -> io::Result<()> {
    std::thread::spawn(|| {
        let _ = io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    executor::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("listening {}", listener.local_addr()?);
        io::stdout().flush()?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(executor::spawn(async move {
                    // A client that gave up is its own business.
                    let _ = serve(stream).await;
                })),
                // Out of descriptors, say: pause rather than spin on the same error.
                Err(_) => sleep(Duration::from_millis(50)).await,
            }
        }
    })
}

/// Reads a request head, then sends the body slice by slice, `HOLD` in all.
async fn serve(stream: TcpStream) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let response =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\nConnection: close\r\n\r\n");
    stream.write_all(response.as_bytes()).await?;
    let slice = [b'x'; BODY / SLICES];
    for _ in 0..SLICES {
        sleep(HOLD / SLICES as u32).await;
        stream.write_all(&slice).await?;
    }
    Ok(())
}
