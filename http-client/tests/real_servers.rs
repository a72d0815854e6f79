//! Servers nobody here wrote: Python's `http.server` (HTTP/1.0, one response per connection; it
//! sends `Content-Length` even so, so close-delimited bodies are tested in `framing.rs`) and
//! Node.js's `http` module (HTTP/1.1, chunked, keep-alive). Each runs as a child process on
//! 127.0.0.1, on a free port, and is killed when its test ends.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http::{Method, StatusCode, Version};
use http_client::Client;
use support::{pattern, run};

/// A server process, killed on drop.
struct ChildServer {
    /// The process.
    child: Child,
    /// Where it listens.
    addr: SocketAddr,
}

impl ChildServer {
    /// Runs `command` with a free port as its last argument and waits until that port accepts.
    fn start(mut command: Command) -> ChildServer {
        let addr = support::child::free_local_addr();
        let child = command
            .arg(addr.port().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {command:?}: {e}"));
        let mut server = ChildServer { child, addr };
        let what = format!("{command:?}");
        support::child::wait_until_accepting(&mut server.child, addr, &what, &String::new);
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn python_http_server_serves_files_over_http_1_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = pattern(700_000);
    std::fs::write(dir.path().join("data.bin"), &file).unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from python\n").unwrap();
    let mut command = Command::new("python3");
    command
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .current_dir(dir.path());
    let server = ChildServer::start(command);

    run(async {
        let client = Client::new();
        let response = client.get(server.url("/data.bin")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), Version::HTTP_10);
        assert_eq!(response.content_length(), Some(file.len() as u64));
        assert_eq!(response.bytes().await.unwrap(), file);

        // HTTP/1.0 closes after each response; the next request needs (and gets) a new connection.
        let text = client
            .get(server.url("/hello.txt"))
            .send()
            .await
            .unwrap()
            .text()
            .await;
        assert_eq!(text.unwrap(), "hello from python\n");

        let head = client
            .request(Method::HEAD, server.url("/data.bin"))
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_length(), Some(file.len() as u64));
        assert_eq!(head.bytes().await.unwrap(), "");

        let missing = client.get(server.url("/missing")).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(missing.text().await.unwrap().contains("404"));

        // A directory without its slash is redirected (301) to the slash.
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let listing = client.get(server.url("/sub")).send().await.unwrap();
        assert_eq!(listing.url().path(), "/sub/");
        assert!(listing.text().await.unwrap().contains("Directory listing"));
    });
}

/// A Node.js server: `/chunked` streams a 300 000-byte pattern in chunks with a trailer,
/// `/connections` says how many connections it has accepted, `/echo` returns the request headers.
const NODE_SERVER: &str = r#"
const http = require('http');
const body = Buffer.alloc(300000);
for (let i = 0; i < body.length; i++) body[i] = i % 251;
let connections = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/chunked') {
    res.setHeader('Trailer', 'X-Checksum');
    res.write(body.subarray(0, 100000));
    setTimeout(() => {
      res.write(body.subarray(100000, 250000));
      res.addTrailers({ 'X-Checksum': 'abc' });
      res.end(body.subarray(250000));
    }, 5);
  } else if (req.url === '/connections') {
    res.end(String(connections));
  } else if (req.url === '/echo') {
    res.end(JSON.stringify(req.headers));
  } else {
    res.statusCode = 404;
    res.end('no such thing');
  }
});
server.on('connection', () => { connections += 1; });
server.listen(Number(process.argv[process.argv.length - 1]), '127.0.0.1');
"#;

#[test]
fn node_http_server_streams_chunked_bodies_over_one_kept_alive_connection() {
    let mut command = Command::new("node");
    command.args(["-e", NODE_SERVER, "--"]);
    let server = ChildServer::start(command);
    // `start` connected once to see the server up; that connection counts as one.
    std::thread::sleep(Duration::from_millis(50));

    run(async {
        let client = Client::new();
        let before: usize = client
            .get(server.url("/connections"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .parse()
            .unwrap();
        for _ in 0..3 {
            let mut response = client.get(server.url("/chunked")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.version(), Version::HTTP_11);
            assert_eq!(response.headers()["transfer-encoding"], "chunked");
            assert_eq!(response.content_length(), None);
            let mut received = Vec::new();
            while let Some(piece) = response.chunk().await.unwrap() {
                received.extend_from_slice(&piece);
            }
            assert_eq!(received, pattern(300_000));
        }
        let echo = client
            .get(server.url("/echo"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(echo.contains(r#""accept-encoding":"identity""#), "{echo}");
        assert!(echo.contains(r#""user-agent":"glass/"#), "{echo}");
        let after: usize = client
            .get(server.url("/connections"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .parse()
            .unwrap();
        // Five requests since the first count, and not one new connection.
        assert_eq!(after, before);
    });
}
