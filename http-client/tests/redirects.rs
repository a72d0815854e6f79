//! Redirects: each status followed, the method each one leads to, relative `Location`s, the
//! limit, and credentials that must not follow a redirect to another host.

mod support;

use http::{Method, StatusCode};
use http_client::Client;
use support::{run, serve, with_length};

/// A server where `/from/<status>` redirects with that status to `/to`, and `/to` answers with
/// the method it was asked with.
async fn redirecting_server() -> support::Server {
    serve(|request| match request.target.strip_prefix("/from/") {
        Some(status) => with_length(status, "Location: /to\r\n", b"moved"),
        None => with_length("200 OK", "", request.method.as_bytes()),
    })
    .await
}

#[test]
fn every_redirect_status_is_followed() {
    run(async {
        let server = redirecting_server().await;
        let client = Client::new();
        for status in [301, 302, 303, 307, 308] {
            let response = client
                .get(server.url(&format!("/from/{status}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{status}");
            assert_eq!(response.url().path(), "/to", "{status}");
            assert_eq!(response.text().await.unwrap(), "GET", "{status}");
        }
        // The redirects' small bodies were already in hand, so their connection was reused.
        assert_eq!(server.accepted.get(), 1);
    });
}

#[test]
fn each_status_leads_to_the_method_browsers_use() {
    run(async {
        let server = redirecting_server().await;
        let client = Client::new();
        let cases = [
            (Method::POST, 301, "GET"),
            (Method::POST, 302, "GET"),
            (Method::POST, 303, "GET"),
            (Method::PUT, 303, "GET"),
            (Method::DELETE, 301, "DELETE"),
            (Method::POST, 307, "POST"),
            (Method::POST, 308, "POST"),
        ];
        for (method, status, expected) in cases {
            let url = server.url(&format!("/from/{status}"));
            let response = client.request(method.clone(), url).send().await.unwrap();
            let body = response.text().await.unwrap();
            assert_eq!(body, expected, "{method} then {status}");
        }
        // HEAD stays HEAD after a 303 (its response has no body to show the method).
        let url = server.url("/from/303");
        client.request(Method::HEAD, url).send().await.unwrap();
        assert_eq!(server.requests.borrow().last().unwrap().method, "HEAD");
    });
}

#[test]
fn relative_locations_resolve_against_the_url_that_sent_them() {
    run(async {
        let server = serve(|request| match request.target.as_str() {
            "/a/b/start" => with_length("302 Found", "Location: ../c/next?x=1\r\n", b""),
            "/a/c/next?x=1" => with_length("307 Temporary", "Location: last\r\n", b""),
            "/a/c/last" => with_length("200 OK", "", b"arrived"),
            other => with_length("404 Not Found", "", other.as_bytes()),
        })
        .await;
        let response = http_client::get(server.url("/a/b/start")).await.unwrap();
        assert_eq!(response.url().to_string(), server.url("/a/c/last"));
        assert_eq!(response.text().await.unwrap(), "arrived");
    });
}

#[test]
fn up_to_the_limit_is_followed() {
    run(async {
        // /3 redirects to /2, to /1, to /0, which answers.
        let server = serve(|request| {
            let n: u32 = request.target[1..].parse().unwrap();
            match n {
                0 => with_length("200 OK", "", b"done"),
                n => with_length("302 Found", &format!("Location: /{}\r\n", n - 1), b""),
            }
        })
        .await;
        let client = Client::builder().max_redirects(3).build();
        let response = client.get(server.url("/3")).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "done");
        let client = Client::builder().max_redirects(2).build();
        let error = client.get(server.url("/3")).send().await.unwrap_err();
        assert!(matches!(
            error,
            http_client::Error::TooManyRedirects { max: 2, .. }
        ));
    });
}

#[test]
fn max_redirects_zero_returns_the_redirect_itself() {
    run(async {
        let server = redirecting_server().await;
        let client = Client::builder().max_redirects(0).build();
        let response = client.get(server.url("/from/302")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()["location"], "/to");
        assert_eq!(response.text().await.unwrap(), "moved");
    });
}

#[test]
fn a_redirect_without_location_is_returned_as_is() {
    run(async {
        let server = serve(|_| with_length("302 Found", "", b"nowhere")).await;
        let response = http_client::get(server.url("/")).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.text().await.unwrap(), "nowhere");
    });
}

#[test]
fn credentials_do_not_follow_a_redirect_to_another_host() {
    run(async {
        let other = serve(|_| with_length("200 OK", "", b"other host")).await;
        let location = format!("Location: {}\r\n", other.url("/landing"));
        let first = serve(move |request| match request.target.as_str() {
            "/same" => with_length("302 Found", "Location: /landing\r\n", b""),
            "/landing" => with_length("200 OK", "", b"same host"),
            _ => with_length("302 Found", &location, b""),
        })
        .await;
        let client = Client::new();
        let send = |url: String| {
            client
                .get(url)
                .header("authorization", "Bearer secret")
                .header("cookie", "session=secret")
                .header("x-kept", "yes")
                .send()
        };

        // Same host and port: the credentials go along.
        send(first.url("/same"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let landing = first.requests.borrow().last().unwrap().clone();
        assert_eq!(landing.target, "/landing");
        assert_eq!(landing.header("authorization"), Some("Bearer secret"));

        // Another port is another origin: they stay behind; other fields go along.
        let response = send(first.url("/elsewhere")).await.unwrap();
        assert_eq!(response.text().await.unwrap(), "other host");
        let landing = other.requests.borrow()[0].clone();
        assert_eq!(landing.header("authorization"), None);
        assert_eq!(landing.header("cookie"), None);
        assert_eq!(landing.header("x-kept"), Some("yes"));
        assert_eq!(
            landing.header("host"),
            Some(other.addr.to_string().as_str())
        );
    });
}
