//! Connection reuse: when a connection goes back to the pool (only after its body was read to the
//! end), when it must not, and what happens when the server closes a pooled connection.

mod support;

use std::time::Duration;

use http::Method;
use http_client::{Client, Error};
use support::{chunked_body, read_request, run, serve, serve_connections, with_length};

#[test]
fn sequential_requests_reuse_one_connection() {
    run(async {
        let server = serve(|request| match request.target.as_str() {
            "/chunked" => {
                let mut response =
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                response.extend(chunked_body(&[b"chunked"]));
                response
            }
            _ => with_length("200 OK", "", b"length"),
        })
        .await;
        let client = Client::new();
        for path in ["/length", "/chunked", "/length", "/chunked"] {
            let body = client
                .get(server.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, &path[1..]);
        }
        assert_eq!(server.requests.borrow().len(), 4);
        assert_eq!(server.accepted.get(), 1);
    });
}

#[test]
fn clones_of_a_client_and_the_get_function_share_their_pool() {
    run(async {
        let server = serve(|_| with_length("200 OK", "", b"x")).await;
        let client = Client::new();
        let clone = client.clone();
        client
            .get(server.url("/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        clone
            .get(server.url("/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(server.accepted.get(), 1);
        // `get` uses one client per thread, so it pools as well.
        http_client::get(server.url("/"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        http_client::get(server.url("/"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(server.accepted.get(), 2);
    });
}

#[test]
fn a_body_not_read_to_the_end_costs_its_connection() {
    run(async {
        let server = serve(|_| with_length("200 OK", "", &[b'x'; 100_000])).await;
        let client = Client::new();
        let mut response = client.get(server.url("/")).send().await.unwrap();
        response.chunk().await.unwrap().unwrap();
        drop(response);
        client
            .get(server.url("/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(server.accepted.get(), 2);
    });
}

#[test]
fn connection_close_is_honoured() {
    run(async {
        let server = serve(|_| with_length("200 OK", "Connection: close\r\n", b"bye")).await;
        let client = Client::new();
        for _ in 0..2 {
            let body = client
                .get(server.url("/"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, "bye");
        }
        assert_eq!(server.accepted.get(), 2);
    });
}

#[test]
fn an_idle_connection_the_server_closed_is_not_reused() {
    run(async {
        // Each connection answers one request, then the server closes it (without saying so).
        let server = serve_connections(|stream, _, _| async move {
            let mut pending = Vec::new();
            if read_request(&stream, &mut pending).await.is_some() {
                let _ = stream.write_all(&with_length("200 OK", "", b"once")).await;
            }
        })
        .await;
        let client = Client::new();
        // POST, because it is never retried: had the closed connection been taken from the pool,
        // the request would fail instead of going out on a new one.
        for _ in 0..3 {
            let response = client.request(Method::POST, server.url("/")).send().await;
            assert_eq!(response.unwrap().text().await.unwrap(), "once");
            // Give the server's close time to arrive before the next checkout looks for it.
            reactor::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(server.accepted.get(), 3);
    });
}

/// A server whose connections each answer one request, then read the next and close without
/// answering: the race in which a server's idle timeout fires just as a request arrives.
async fn closes_after_one_answer() -> support::Server {
    serve_connections(|stream, _, requests| async move {
        let mut pending = Vec::new();
        if let Some(request) = read_request(&stream, &mut pending).await {
            requests.borrow_mut().push(request);
            let _ = stream
                .write_all(&with_length("200 OK", "", b"answer"))
                .await;
        }
        let _ = read_request(&stream, &mut pending).await;
    })
    .await
}

#[test]
fn an_idempotent_request_on_a_connection_closed_under_it_is_retried_once() {
    run(async {
        let server = closes_after_one_answer().await;
        let client = Client::new();
        for _ in 0..3 {
            let body = client
                .get(server.url("/"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, "answer");
        }
        // Requests 2 and 3 each found their pooled connection dead and went out again.
        assert_eq!(server.accepted.get(), 3);
        assert_eq!(server.requests.borrow().len(), 3);
    });
}

#[test]
fn a_post_on_a_connection_closed_under_it_is_not_retried() {
    run(async {
        let server = closes_after_one_answer().await;
        let client = Client::new();
        client
            .get(server.url("/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let error = client
            .request(Method::POST, server.url("/"))
            .send()
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
        assert_eq!(server.accepted.get(), 1);
    });
}
