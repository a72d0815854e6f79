//! Every way a well-behaved server can frame a body (RFC 9112 section 6.3), against a test server
//! on glass: Content-Length, chunked with extensions and trailers, close-delimited, and the
//! responses that have no body (HEAD, 204, 304), plus Range requests passed through.

mod support;

use http::{Method, StatusCode, Version};
use http_client::Client;
use support::{chunked_body, pattern, run, serve, serve_connections, with_length};

#[test]
fn content_length_body_arrives_whole_and_in_order() {
    run(async {
        let body = pattern(300_000);
        let expected = body.clone();
        let server = serve(move |_| with_length("200 OK", "", &body)).await;
        let response = http_client::get(server.url("/file")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), Version::HTTP_11);
        assert_eq!(response.content_length(), Some(300_000));
        assert_eq!(response.bytes().await.unwrap(), expected);
    });
}

#[test]
fn chunk_streams_the_body_in_pieces_that_add_up() {
    run(async {
        let body = pattern(1 << 20);
        let expected = body.clone();
        let server = serve(move |_| with_length("200 OK", "", &body)).await;
        let mut response = http_client::get(server.url("/")).await.unwrap();
        let mut received = Vec::new();
        let mut pieces = 0;
        while let Some(piece) = response.chunk().await.unwrap() {
            assert!(!piece.is_empty());
            received.extend_from_slice(&piece);
            pieces += 1;
        }
        assert!(pieces > 1, "a 1 MiB body should not arrive in one piece");
        assert_eq!(received, expected);
        // After the end, the end again.
        assert_eq!(response.chunk().await.unwrap(), None);
    });
}

#[test]
fn chunked_body_with_extensions_and_trailers_is_decoded() {
    run(async {
        let server = serve(|_| {
            let mut response =
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n"
                    .to_vec();
            response.extend(chunked_body(&[b"hello", b", ", &[b'x'; 5000], b"!"]));
            response
        })
        .await;
        let response = http_client::get(server.url("/")).await.unwrap();
        assert_eq!(response.content_length(), None);
        let mut expected = b"hello, ".to_vec();
        expected.extend([b'x'; 5000]);
        expected.push(b'!');
        assert_eq!(response.bytes().await.unwrap(), expected);
    });
}

#[test]
fn close_delimited_body_runs_until_the_server_closes() {
    run(async {
        let server = serve_connections(|stream, _, _| async move {
            let mut pending = Vec::new();
            support::read_request(&stream, &mut pending).await;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\nuntil ").await;
            reactor::time::sleep(std::time::Duration::from_millis(20)).await;
            let _ = stream.write_all(b"the end").await;
            // Dropping the stream closes it: that is the end of the body.
        })
        .await;
        let response = http_client::get(server.url("/")).await.unwrap();
        assert_eq!(response.content_length(), None);
        assert_eq!(response.text().await.unwrap(), "until the end");
    });
}

#[test]
fn http_1_0_response_without_length_is_read_until_close() {
    run(async {
        let server =
            serve(|_| b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nold school".to_vec()).await;
        let response = http_client::get(server.url("/")).await.unwrap();
        assert_eq!(response.version(), Version::HTTP_10);
        assert_eq!(response.text().await.unwrap(), "old school");
    });
}

#[test]
fn head_response_has_no_body_whatever_its_content_length() {
    run(async {
        let server = serve(|request| {
            assert_eq!(request.method, "HEAD");
            // A HEAD response announces the GET's length but sends no body.
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec()
        })
        .await;
        let client = Client::new();
        for _ in 0..2 {
            let mut response = client
                .request(Method::HEAD, server.url("/"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.content_length(), Some(1000));
            assert_eq!(response.chunk().await.unwrap(), None);
        }
        // Both went over one connection: the empty body left it ready for the next request.
        assert_eq!(server.accepted.get(), 1);
    });
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    run(async {
        let server = serve(|request| match request.target.as_str() {
            "/204" => b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
            // A 304 may carry the representation's length; there is still no body.
            _ => b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: \"x\"\r\n\r\n".to_vec(),
        })
        .await;
        let client = Client::new();
        let response = client.get(server.url("/204")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(response.bytes().await.unwrap(), "");
        let response = client
            .get(server.url("/304"))
            .header("if-none-match", "\"x\"")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.bytes().await.unwrap(), "");
        assert_eq!(server.accepted.get(), 1);
    });
}

#[test]
fn interim_responses_are_skipped() {
    run(async {
        let server = serve(|_| {
            let mut response = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n".to_vec();
            response.extend(with_length("200 OK", "", b"final"));
            response
        })
        .await;
        let response = http_client::get(server.url("/")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "final");
    });
}

#[test]
fn requests_carry_host_user_agent_and_identity_encoding() {
    run(async {
        let server = serve(|_| with_length("200 OK", "", b"")).await;
        http_client::get(server.url("/path?q=1")).await.unwrap();
        let request = server.requests.borrow()[0].clone();
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/path?q=1");
        assert_eq!(
            request.header("host"),
            Some(server.addr.to_string().as_str())
        );
        let user_agent = format!("glass/{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(request.header("user-agent"), Some(user_agent.as_str()));
        assert_eq!(request.header("accept-encoding"), Some("identity"));
    });
}

/// A server that honours `Range: bytes=A-B` on a 100-byte resource, as a file server would.
fn range_server(request: &support::ReceivedRequest) -> Vec<u8> {
    let resource = pattern(100);
    let Some(range) = request.header("range") else {
        return with_length("200 OK", "Accept-Ranges: bytes\r\n", &resource);
    };
    let (start, end) = range.trim_start_matches("bytes=").split_once('-').unwrap();
    let start: usize = start.parse().unwrap();
    let end: usize = end.parse::<usize>().unwrap_or(99).min(99);
    if start > 99 {
        return with_length(
            "416 Range Not Satisfiable",
            "Content-Range: bytes */100\r\n",
            b"",
        );
    }
    let content_range = format!("Content-Range: bytes {start}-{end}/100\r\n");
    with_length(
        "206 Partial Content",
        &content_range,
        &resource[start..=end],
    )
}

#[test]
fn a_range_request_gets_its_206_partial_content() {
    run(async {
        let server = serve(range_server).await;
        let response = Client::new()
            .get(server.url("/file"))
            .header("range", "bytes=10-19")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(response.headers()["content-range"], "bytes 10-19/100");
        assert_eq!(response.bytes().await.unwrap(), pattern(100)[10..20]);
        assert_eq!(
            server.requests.borrow()[0].header("range"),
            Some("bytes=10-19")
        );
    });
}

#[test]
fn an_unsatisfiable_range_comes_back_as_416() {
    run(async {
        let server = serve(range_server).await;
        let response = Client::new()
            .get(server.url("/file"))
            .header(
                http::header::RANGE,
                http::HeaderValue::from_static("bytes=500-"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(response.headers()["content-range"], "bytes */100");
    });
}
