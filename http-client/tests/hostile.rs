//! A hostile server: broken heads, lying lengths, broken chunks, bodies cut short, stalls,
//! trickles, redirect loops and resets. Each must end promptly in its own error variant; none may
//! panic or hang (`support::run` puts a deadline on every test).

mod support;

use std::time::{Duration, Instant};

use http_client::{Client, Error};
use reactor::time::sleep;
use support::{read_request, run, serve, serve_connections, with_length};

/// Generous: on a loaded machine a prompt failure still takes well under this.
const PROMPTLY: Duration = Duration::from_secs(5);

/// A server that answers every request with `bytes`, then closes the connection.
async fn answers_with(bytes: Vec<u8>) -> support::Server {
    serve_connections(move |stream, _, _| {
        let bytes = bytes.clone();
        async move {
            let mut pending = Vec::new();
            read_request(&stream, &mut pending).await;
            let _ = stream.write_all(&bytes).await;
        }
    })
    .await
}

/// Fetches `url` with `client`, reading the whole body, and returns the error it must end in.
async fn fetch_error(client: &Client, url: String) -> Error {
    let started = Instant::now();
    let result = async { client.get(url).send().await?.bytes().await }.await;
    let elapsed = started.elapsed();
    let error = result.expect_err("a hostile response was accepted");
    assert!(elapsed < PROMPTLY, "{error} took {elapsed:?}");
    // Every error names the URL it is about.
    assert!(error.to_string().contains("http://"), "{error}");
    error
}

async fn error_for(response: &[u8]) -> Error {
    let server = answers_with(response.to_vec()).await;
    fetch_error(&Client::new(), server.url("/")).await
}

fn malformed_because(error: &Error) -> &str {
    match error {
        Error::MalformedResponse { what, .. } => what,
        other => panic!("expected MalformedResponse, got {other:?}"),
    }
}

#[test]
fn garbage_status_line_is_malformed() {
    run(async {
        let error = error_for(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
        malformed_because(&error);
        let error = error_for(b"HTTP/1.1 2OO OK\r\n\r\n").await;
        malformed_because(&error);
    });
}

#[test]
fn a_one_mebibyte_header_is_too_large() {
    run(async {
        let mut response = b"HTTP/1.1 200 OK\r\nX-Huge: ".to_vec();
        response.resize(response.len() + (1 << 20), b'a');
        response.extend_from_slice(b"\r\n\r\n");
        let error = error_for(&response).await;
        assert!(matches!(error, Error::HeadTooLarge { .. }), "{error:?}");
    });
}

#[test]
fn more_than_a_hundred_header_fields_are_too_many() {
    run(async {
        let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..101 {
            response.extend(format!("X-{i}: {i}\r\n").bytes());
        }
        response.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let error = error_for(&response).await;
        assert!(matches!(error, Error::HeadTooLarge { .. }), "{error:?}");
    });
}

#[test]
fn invalid_content_lengths_are_malformed() {
    run(async {
        for value in ["abc", "-5", "+5", "5 5", "0x10", "", "99999999999999999999"] {
            let response = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\nhello");
            let error = error_for(response.as_bytes()).await;
            let what = malformed_because(&error);
            assert!(what.contains("Content-Length"), "{value:?}: {what}");
        }
    });
}

#[test]
fn conflicting_content_lengths_are_malformed() {
    run(async {
        let two_fields = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
        let what = malformed_because(&error_for(two_fields).await).to_owned();
        assert!(what.contains("conflicting"), "{what}");
        let one_list = b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!";
        malformed_because(&error_for(one_list).await);
    });
}

#[test]
fn an_oversized_chunk_size_is_malformed() {
    run(async {
        let response =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nx";
        let what = malformed_because(&error_for(response).await).to_owned();
        assert!(what.contains("chunk size"), "{what}");
    });
}

#[test]
fn a_bad_chunk_terminator_is_malformed() {
    run(async {
        // The chunk says 5 bytes, then 6 come before the CRLF.
        let response =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n";
        let what = malformed_because(&error_for(response).await).to_owned();
        assert!(what.contains("CRLF"), "{what}");
    });
}

#[test]
fn an_unknown_transfer_coding_is_malformed() {
    run(async {
        let response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
        malformed_because(&error_for(response).await);
    });
}

#[test]
fn a_content_length_body_cut_short_is_truncated() {
    run(async {
        let error = error_for(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this").await;
        match error {
            Error::BodyTruncated {
                expected, received, ..
            } => assert_eq!((expected, received), (Some(100), 9)),
            other => panic!("expected BodyTruncated, got {other:?}"),
        }
    });
}

#[test]
fn a_body_that_failed_never_turns_into_a_short_ok() {
    run(async {
        let server =
            answers_with(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this".to_vec()).await;
        let mut response = Client::new().get(server.url("/")).send().await.unwrap();
        assert_eq!(response.chunk().await.unwrap().unwrap(), "only this");
        assert!(matches!(
            response.chunk().await,
            Err(Error::BodyTruncated { .. })
        ));
        // Asking again does not pretend the body ended well.
        assert!(response.chunk().await.is_err());
    });
}

#[test]
fn a_chunked_body_cut_short_is_truncated() {
    run(async {
        // Cut in the middle of a chunk, and again between chunks (no last chunk ever comes).
        let mid_chunk =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n10\r\nab";
        let between = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n";
        for (response, bytes_in) in [(&mid_chunk[..], 6), (&between[..], 4)] {
            match error_for(response).await {
                Error::BodyTruncated {
                    expected, received, ..
                } => assert_eq!((expected, received), (None, bytes_in)),
                other => panic!("expected BodyTruncated, got {other:?}"),
            }
        }
    });
}

#[test]
fn a_connection_closed_mid_head_is_malformed_and_before_it_is_an_io_error() {
    run(async {
        let error = error_for(b"HTTP/1.1 200 OK\r\nContent-Le").await;
        malformed_because(&error);
        let error = error_for(b"").await;
        match error {
            Error::Io { source, .. } => {
                assert_eq!(source.kind(), std::io::ErrorKind::UnexpectedEof)
            }
            other => panic!("expected Io, got {other:?}"),
        }
    });
}

#[test]
fn a_stall_after_the_head_is_a_read_timeout() {
    run(async {
        let server = serve_connections(|stream, _, _| async move {
            let mut pending = Vec::new();
            read_request(&stream, &mut pending).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
                .await;
            sleep(Duration::from_secs(60)).await;
        })
        .await;
        let client = Client::builder()
            .read_timeout(Duration::from_millis(300))
            .build();
        let error = fetch_error(&client, server.url("/")).await;
        match error {
            Error::ReadTimeout { after, .. } => assert_eq!(after, Duration::from_millis(300)),
            other => panic!("expected ReadTimeout, got {other:?}"),
        }
    });
}

#[test]
fn one_byte_per_second_hits_the_whole_request_timeout() {
    run(async {
        let server = serve_connections(|stream, _, _| async move {
            let mut pending = Vec::new();
            read_request(&stream, &mut pending).await;
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" {
                if stream.write_all(&[*byte]).await.is_err() {
                    return;
                }
                sleep(Duration::from_secs(1)).await;
            }
        })
        .await;
        let client = Client::builder()
            .read_timeout(Duration::from_secs(3))
            .timeout(Duration::from_millis(500))
            .build();
        let error = fetch_error(&client, server.url("/")).await;
        assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    });
}

#[test]
fn a_trickle_that_never_stalls_long_still_hits_the_whole_request_timeout() {
    run(async {
        // A head at once, then the body one byte at a time: never silent for long, never done.
        let server = serve_connections(|stream, _, _| async move {
            let mut pending = Vec::new();
            read_request(&stream, &mut pending).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                .await;
            for _ in 0..1000 {
                sleep(Duration::from_millis(100)).await;
                if stream.write_all(b"x").await.is_err() {
                    return;
                }
            }
        })
        .await;
        let client = Client::builder()
            .read_timeout(Duration::from_secs(3))
            .timeout(Duration::from_millis(500))
            .build();
        // `send` returns with the head; the limit goes on while the body is read.
        let error = fetch_error(&client, server.url("/")).await;
        match error {
            Error::Timeout { after, .. } => assert_eq!(after, Duration::from_millis(500)),
            other => panic!("expected Timeout, got {other:?}"),
        }
    });
}

#[test]
fn a_redirect_loop_is_too_many_redirects() {
    run(async {
        let server = serve(|_| with_length("302 Found", "Location: /again\r\n", b"")).await;
        let client = Client::builder().max_redirects(5).build();
        let error = fetch_error(&client, server.url("/")).await;
        assert!(
            matches!(error, Error::TooManyRedirects { max: 5, .. }),
            "{error:?}"
        );
        // The first request and five redirects were followed; the sixth was not.
        assert_eq!(server.requests.borrow().len(), 6);
    });
}

#[test]
fn a_redirect_to_an_unknown_scheme_is_an_unsupported_scheme() {
    run(async {
        let server =
            serve(|_| with_length("301 Moved", "Location: ftp://example.com/\r\n", b"")).await;
        let error = fetch_error(&Client::new(), server.url("/")).await;
        match error {
            Error::UnsupportedScheme { url } => assert_eq!(url, "ftp://example.com/"),
            other => panic!("expected UnsupportedScheme, got {other:?}"),
        }
    });
}

#[test]
fn a_reset_mid_body_is_an_io_error() {
    run(async {
        let server = serve_connections(|stream, _, _| async move {
            // Read only part of the request: closing a socket with unread data makes the kernel
            // send a reset (RST) instead of an orderly close (FIN).
            let mut first_byte = [0; 1];
            let _ = stream.read(&mut first_byte).await;
            sleep(Duration::from_millis(20)).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
                .await;
            sleep(Duration::from_millis(20)).await;
        })
        .await;
        let error = fetch_error(&Client::new(), server.url("/")).await;
        match error {
            Error::Io { source, .. } => {
                assert_eq!(source.kind(), std::io::ErrorKind::ConnectionReset)
            }
            other => panic!("expected Io, got {other:?}"),
        }
    });
}

#[test]
fn urls_that_cannot_be_fetched_fail_before_connecting() {
    run(async {
        let error = http_client::get("ftp://127.0.0.1:1/").await.unwrap_err();
        assert!(
            matches!(error, Error::UnsupportedScheme { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("not supported"), "{error}");
        let error = http_client::get("http://exa mple.com/").await.unwrap_err();
        assert!(matches!(error, Error::InvalidUrl { .. }), "{error:?}");
        let error = Client::new()
            .get("http://127.0.0.1:1/")
            .header("bad header", "x")
            .send()
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidHeader { .. }), "{error:?}");
    });
}

#[test]
fn a_refused_connection_and_an_unknown_host_are_told_apart() {
    run(async {
        // Bind and drop a listener: nothing listens on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = http_client::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Connect { .. }), "{error:?}");
        assert!(std::error::Error::source(&error).is_some());
        // `.invalid` is reserved (RFC 2606): it never resolves.
        let error = http_client::get("http://no-such-host.invalid/")
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Resolve { .. }), "{error:?}");
    });
}
