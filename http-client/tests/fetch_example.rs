//! The ladder's `fetch` example (`http-client/examples/fetch.rs`): the seed's one-line
//! `let data = fetch(url).await; println!("{data}")` prints the body, and a failure says what
//! failed on stderr, with exit status 1.

#[path = "../../reactor/tests/run_example/mod.rs"]
mod run_example;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

/// Serves one request with `body`, on a thread; returns the URL.
fn serve_once(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("bound");
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("the example connects");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).expect("the request head");
            head.push(byte[0]);
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).expect("the response");
    });
    format!("http://{addr}/hello.txt")
}

#[test]
fn fetch_prints_the_body_at_a_url() {
    let url = serve_once("hello from a local server");
    let out = run_example::run_example("http-client", "fetch", &[&url]);
    assert_eq!(out, "hello from a local server\n");
}

#[test]
fn fetch_reports_a_refused_connection_on_stderr_with_status_1() {
    // A port that was free a moment ago: nothing listens there now.
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let output = Command::new(run_example::example("http-client", "fetch"))
        .arg(format!("http://{addr}/"))
        .output()
        .expect("the example runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("fetch: "), "{stderr}");
    assert!(output.stdout.is_empty());
}
