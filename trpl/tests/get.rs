//! `trpl::get` and `Html` as the book's page-title example uses them, against servers this test
//! starts on 127.0.0.1: plain HTTP, and HTTPS with a certificate from a test CA made by `rcgen`.
//!
//! `get` uses the default client, which trusts the system's store; `rustls-native-certs` reads
//! `SSL_CERT_FILE` for that store. An environment variable is the process's, so the HTTPS fetch
//! runs in a child process (this test binary again, running only `https_child`) given the test
//! CA's file as its store.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::Arc;
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The variable that tells `https_child` what to fetch (unset: it is a normal test run).
const CHILD_URL: &str = "TRPL_TEST_HTTPS_URL";

const PAGE: &str = "<html><head><title>Glass &amp; the book</title></head><body>hi</body></html>";

/// Serves `PAGE` to every connection, over TLS when `tls` is given; returns the address.
fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let tls = tls.clone();
            thread::spawn(move || match tls {
                None => answer(&mut tcp),
                Some(config) => {
                    let mut session = rustls::ServerConnection::new(config).unwrap();
                    answer(&mut rustls::Stream::new(&mut session, &mut tcp));
                    session.send_close_notify();
                    let _ = session.complete_io(&mut tcp);
                }
            });
        }
    });
    addr
}

/// Reads a request head and answers it with `PAGE`.
fn answer(stream: &mut impl ReadWrite) {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{PAGE}",
        PAGE.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The book's `page_title`, in this test's words.
async fn title_of(url: &str) -> Option<String> {
    let text = trpl::get(url).await.text().await;
    trpl::Html::parse(&text)
        .select_first("title")
        .map(|title| title.inner_html())
}

#[test]
fn get_fetches_a_page_over_http_and_html_finds_its_title() {
    let addr = serve(None);
    let url = format!("http://{addr}/");
    let title = trpl::block_on(title_of(&url));
    assert_eq!(title.as_deref(), Some("Glass &amp; the book"));
}

#[test]
fn select_of_two_fetches_gives_the_first_to_finish() {
    let addr = serve(None);
    let url = format!("http://{addr}/fetched");
    let winner = trpl::block_on(async {
        let fetch = title_of(&url);
        let never = std::future::pending::<Option<String>>();
        trpl::select(never, fetch).await
    });
    assert!(matches!(winner, trpl::Either::Right(Some(_))));
}

#[test]
fn a_failed_get_panics_naming_the_url() {
    // A port nothing listens on: bound, then closed.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}/");
    let panic = std::panic::catch_unwind(|| trpl::block_on(trpl::get(&url))).unwrap_err();
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains(&url), "{message}");
}

#[test]
fn get_fetches_over_https_with_the_system_store() {
    // A CA, and a certificate for 127.0.0.1 signed by it.
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let addr = serve(Some(Arc::new(config)));

    let store = format!(
        "{}/trpl-get-ca-{}.pem",
        env!("CARGO_TARGET_TMPDIR"),
        std::process::id()
    );
    std::fs::write(&store, ca_pem).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "https_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_URL, format!("https://{addr}/"))
        .env("SSL_CERT_FILE", &store)
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&store);
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("title: Glass &amp; the book"),
        "{stdout}\n{stderr}"
    );
}

/// The child half of `get_fetches_over_https_with_the_system_store`: does nothing unless that
/// test started it with a URL.
#[test]
fn https_child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let title = trpl::block_on(title_of(&url));
    println!("title: {}", title.unwrap_or_default());
}
