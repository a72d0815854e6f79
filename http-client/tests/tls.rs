//! HTTPS against a rustls server in the tests (see `support/tls.rs`): bodies of both framings,
//! keep-alive and `close_notify`, each verification failure named, the two ways of speaking the
//! wrong protocol, a handshake that stalls, and a redirect from http to https.

mod support;

use std::time::Duration;

use http::{Method, StatusCode};
use http_client::{Client, Error, TlsFailure};
use support::tls::{AfterResponse, Session, TestCa, TlsServer, Validity, serve_tls};
use support::{chunked_body, pattern, run, serve, serve_connections, with_length};

/// A client that trusts `ca` and nothing else, so no test depends on the machine's store.
fn client_trusting(ca: &TestCa) -> Client {
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca.certificate())
        .build()
}

/// A server for `localhost`, with a current certificate from `ca`, that answers `body` to all.
fn answering(ca: &TestCa, body: &'static [u8]) -> TlsServer {
    serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::KeepAlive,
        move |_| with_length("200 OK", "", body),
    )
}

/// The URL of `path` on `server`, by the name its certificate is for.
fn localhost(server: &TlsServer, path: &str) -> String {
    format!("https://localhost:{}{path}", server.addr.port())
}

/// The `TlsFailure` of an error, or a panic naming what the error was instead.
fn tls_failure(result: Result<http_client::Response, Error>) -> TlsFailure {
    match result {
        Err(Error::Tls { failure, .. }) => failure,
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[test]
fn bodies_of_both_framings_arrive_whole_over_tls() {
    let ca = TestCa::new();
    let body = pattern(1_500_000);
    let served = body.clone();
    let server = serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::KeepAlive,
        move |head| {
            if head.starts_with("get /chunked") {
                let pieces: Vec<&[u8]> = served.chunks(100_000).collect();
                let mut response =
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                response.extend_from_slice(&chunked_body(&pieces));
                response
            } else {
                with_length("200 OK", "", &served)
            }
        },
    );
    run(async {
        let client = client_trusting(&ca);
        let port = server.addr.port();
        let fixed = client
            .get(format!("https://localhost:{port}/length"))
            .send()
            .await
            .unwrap();
        assert_eq!(fixed.status(), StatusCode::OK);
        assert_eq!(fixed.content_length(), Some(body.len() as u64));
        assert_eq!(fixed.bytes().await.unwrap(), body);

        let chunked = client
            .get(format!("https://localhost:{port}/chunked"))
            .send()
            .await
            .unwrap();
        assert_eq!(chunked.content_length(), None);
        assert_eq!(chunked.bytes().await.unwrap(), body);
    });
    let requests = server.requests.lock().unwrap();
    assert!(
        requests[0].contains(&format!("host: localhost:{}", server.addr.port())),
        "{requests:?}"
    );
    // SNI named the host, and ALPN agreed on HTTP/1.1 (one session: the second request reused it).
    let sessions = server.sessions.lock().unwrap();
    let expected = Session {
        sni: Some("localhost".to_owned()),
        alpn: Some("http/1.1".to_owned()),
    };
    assert_eq!(*sessions, [expected]);
}

#[test]
fn a_certificate_for_an_ip_address_verifies_against_that_address() {
    let ca = TestCa::new();
    let server = serve_tls(
        ca.server_config(&["127.0.0.1"], Validity::Now),
        AfterResponse::KeepAlive,
        |_| with_length("200 OK", "", b"by address"),
    );
    run(async {
        let url = format!("https://{}/", server.addr);
        let text = client_trusting(&ca).get(url).send().await.unwrap().text();
        assert_eq!(text.await.unwrap(), "by address");
    });
    // RFC 6066: an address is never sent as SNI.
    assert_eq!(server.sessions.lock().unwrap()[0].sni, None);
}

#[test]
fn a_tls_connection_is_reused_for_the_next_request() {
    let ca = TestCa::new();
    let server = serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::KeepAlive,
        |head| with_length("200 OK", "", head.lines().next().unwrap().as_bytes()),
    );
    run(async {
        let client = client_trusting(&ca);
        for i in 0..5 {
            let url = localhost(&server, &format!("/{i}"));
            let text = client.get(url).send().await.unwrap().text().await.unwrap();
            assert_eq!(text, format!("get /{i} http/1.1"));
        }
    });
    // TLS 1.3 servers send session tickets after the handshake: the idle check reads them as the
    // harmless records they are, not as a reason to drop the session.
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_session_the_server_ended_with_close_notify_is_not_reused() {
    let ca = TestCa::new();
    let server = serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::CloseNotify,
        |_| with_length("200 OK", "", b"once"),
    );
    run(async {
        let client = client_trusting(&ca);
        let url = localhost(&server, "/");
        let first = client.get(&url).send().await.unwrap().text().await;
        assert_eq!(first.unwrap(), "once");
        // Let close_notify arrive while the session sits in the pool, TCP still open.
        reactor::time::sleep(Duration::from_millis(200)).await;
        // POST is not retried on a connection that fails: only the idle check can save it.
        let second = client.request(Method::POST, &url).send().await;
        assert_eq!(second.unwrap().text().await.unwrap(), "once");
    });
    assert_eq!(server.accepted(), 2);
}

#[test]
fn a_certificate_from_an_unknown_issuer_is_refused() {
    let ca = TestCa::new();
    let server = answering(&ca, b"secret");
    run(async {
        let someone_else = TestCa::new();
        let url = localhost(&server, "/");
        let error = client_trusting(&someone_else).get(&url).send().await;
        let failure = tls_failure(error);
        assert_eq!(failure, TlsFailure::UnknownIssuer);
        assert!(failure.to_string().contains("issuer is not trusted"));
    });
    assert!(
        server.requests.lock().unwrap().is_empty(),
        "nothing was sent"
    );
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let ca = TestCa::new();
    let server = answering(&ca, b"secret");
    run(async {
        let url = format!("https://{}/", server.addr);
        let error = client_trusting(&ca).get(&url).send().await;
        let message = error.as_ref().map(|_| ()).unwrap_err().to_string();
        match tls_failure(error) {
            TlsFailure::NotValidForName { presented } => {
                assert_eq!(presented, ["DnsName(\"localhost\")"]);
            }
            other => panic!("expected NotValidForName, got {other:?}"),
        }
        assert!(message.contains(&url), "{message}");
        assert!(
            message.contains("not valid for this host name"),
            "{message}"
        );
    });
}

#[test]
fn an_expired_certificate_is_refused() {
    let ca = TestCa::new();
    let server = serve_tls(
        ca.server_config(&["localhost"], Validity::Expired),
        AfterResponse::KeepAlive,
        |_| with_length("200 OK", "", b"stale"),
    );
    run(async {
        let url = localhost(&server, "/");
        let error = client_trusting(&ca).get(&url).send().await;
        assert_eq!(tls_failure(error), TlsFailure::Expired);
    });
}

#[test]
fn https_to_a_plain_http_port_says_the_server_does_not_speak_tls() {
    run(async {
        // What a plain HTTP server does with a ClientHello: a 400, then close.
        let server = serve_connections(|stream, _, _| async move {
            let _ = stream.read(&mut [0; 4096]).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        })
        .await;
        let url = format!("https://{}/", server.addr);
        let error = client_trusting(&TestCa::new()).get(&url).send().await;
        let message = error.as_ref().map(|_| ()).unwrap_err().to_string();
        assert_eq!(tls_failure(error), TlsFailure::NotTls);
        assert!(message.contains("does not speak TLS"), "{message}");
    });
}

#[test]
fn plain_http_to_a_tls_port_says_the_server_speaks_tls() {
    let ca = TestCa::new();
    let server = answering(&ca, b"never");
    run(async {
        let url = format!("http://{}/", server.addr);
        let error = Client::new().get(&url).send().await;
        assert_eq!(tls_failure(error), TlsFailure::ServerSpeaksTls);
    });
}

#[test]
fn a_handshake_that_stalls_ends_with_the_connect_timeout() {
    run(async {
        // Accepts, reads the ClientHello, and never answers.
        let server = serve_connections(|stream, _, _| async move {
            let _ = stream.read(&mut [0; 4096]).await;
            std::future::pending::<()>().await;
        })
        .await;
        let limit = Duration::from_millis(300);
        let client = Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(TestCa::new().certificate())
            .connect_timeout(limit)
            .build();
        let error = client
            .get(format!("https://{}/", server.addr))
            .send()
            .await
            .unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
        match error {
            Error::Tls {
                failure: TlsFailure::HandshakeTimeout { after },
                ..
            } => assert_eq!(after, limit),
            other => panic!("expected a handshake timeout, got {other:?}"),
        }
    });
}

#[test]
fn a_redirect_from_http_to_https_is_followed_without_the_credentials() {
    let ca = TestCa::new();
    let tls = answering(&ca, b"secured");
    let tls_port = tls.addr.port();
    run(async {
        let plain = serve(move |_| {
            let location = format!("Location: https://localhost:{tls_port}/file\r\n");
            with_length("301 Moved Permanently", &location, b"")
        })
        .await;
        let response = client_trusting(&ca)
            .get(format!("http://localhost:{}/file", plain.addr.port()))
            .header("authorization", "Bearer plain-secret")
            .header("x-kept", "yes")
            .send()
            .await
            .unwrap();
        assert_eq!(response.url().scheme_str(), Some("https"));
        assert_eq!(response.text().await.unwrap(), "secured");
        let asked = plain.requests.borrow();
        assert_eq!(
            asked[0].header("authorization"),
            Some("Bearer plain-secret")
        );
    });
    let requests = tls.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].contains("x-kept: yes"), "{requests:?}");
    assert!(!requests[0].contains("authorization"), "{requests:?}");
}

#[test]
fn a_client_that_trusts_nobody_says_so_before_connecting() {
    run(async {
        let client = Client::builder().tls_built_in_root_certs(false).build();
        // Port 9 (discard) on localhost: nothing is ever connected to.
        let error = client.get("https://127.0.0.1:9/").send().await;
        let failure = tls_failure(error);
        assert!(
            matches!(
                failure,
                TlsFailure::NoRootCertificates {
                    system_store: false,
                    ..
                }
            ),
            "{failure:?}"
        );
    });
}

#[test]
fn pem_that_holds_no_certificate_is_refused() {
    let error = http_client::Certificate::from_pem(b"not a certificate").unwrap_err();
    assert!(
        matches!(error, Error::InvalidCertificate { .. }),
        "{error:?}"
    );
    let ca = TestCa::new();
    let two = format!("{}\n{}", ca.pem, TestCa::new().pem);
    let bundle = http_client::Certificate::from_pem_bundle(two.as_bytes()).unwrap();
    assert_eq!(bundle.len(), 2);
}

#[test]
fn a_body_cut_short_over_tls_is_an_error_with_or_without_close_notify() {
    let ca = TestCa::new();
    let short = |_: &str| b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this".to_vec();
    let polite = serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::CloseNotify,
        short,
    );
    let cut = serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::Cut,
        short,
    );
    run(async {
        let client = client_trusting(&ca);
        let response = client.get(localhost(&polite, "/")).send().await.unwrap();
        match response.bytes().await {
            Err(Error::BodyTruncated {
                expected: Some(1000),
                received: 9,
                ..
            }) => {}
            other => panic!("expected BodyTruncated, got {other:?}"),
        }
        let response = client.get(localhost(&cut, "/")).send().await.unwrap();
        let error = response.bytes().await.unwrap_err();
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
    });
}

#[test]
fn a_body_that_ends_at_the_close_is_complete_only_with_close_notify() {
    let ca = TestCa::new();
    // HTTP/1.0 without Content-Length: the body runs until the connection ends.
    let until_close = |_: &str| b"HTTP/1.0 200 OK\r\n\r\nall of it".to_vec();
    let polite = serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::CloseNotify,
        until_close,
    );
    let cut = serve_tls(
        ca.server_config(&["localhost"], Validity::Now),
        AfterResponse::Cut,
        until_close,
    );
    run(async {
        let client = client_trusting(&ca);
        let response = client.get(localhost(&polite, "/")).send().await.unwrap();
        assert_eq!(response.bytes().await.unwrap(), "all of it");
        // Without close_notify, anyone on the path could have cut the body here: not a success.
        let response = client.get(localhost(&cut, "/")).send().await.unwrap();
        let error = response.bytes().await.unwrap_err();
        assert!(error.to_string().contains("close_notify"), "{error}");
    });
}

#[test]
fn a_request_head_over_64_kib_is_sent_whole_over_https_as_over_http() {
    // rustls holds at most 64 KiB of records waiting for the socket; a head bigger than that
    // must go out in pieces, not fail with `WriteZero`.
    let big = "b".repeat(100_000);
    let ca = TestCa::new();
    let tls = answering(&ca, b"ok");
    run(async {
        let plain = serve(|_| with_length("200 OK", "", b"ok")).await;
        let client = client_trusting(&ca);
        for url in [plain.url("/big"), localhost(&tls, "/big")] {
            let response = client
                .get(url.as_str())
                .header("x-big", big.as_str())
                .send()
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(response.status(), StatusCode::OK, "{url}");
            assert_eq!(response.bytes().await.unwrap(), &b"ok"[..], "{url}");
        }
        assert_eq!(
            plain.requests.borrow()[0].header("x-big"),
            Some(big.as_str())
        );
    });
    let requests = tls.requests.lock().unwrap();
    assert!(
        requests[0].contains(&format!("x-big: {big}")),
        "{requests:?}"
    );
}
