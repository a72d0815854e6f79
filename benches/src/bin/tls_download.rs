//! `tls_download CLIENT URL CAFILE`: downloads one `https://` URL with glass's `http_client` or
//! with hyper's client over tokio-rustls, discards the body, and prints one line:
//! `CLIENT BYTES SECONDS USER_CPU SYS_CPU CIPHER_SUITE`.
//!
//! `benches/tls-download.sh` runs it against nginx, alternating with curl; see the TLS section of
//! `benches/README.md`. Both Rust clients use rustls with the `ring` provider and the same roots
//! (only CAFILE), so the comparison is of what each does around the same TLS library; curl brings
//! OpenSSL. The time runs from before the TCP connect to the body's last byte, as curl's
//! `time_total` does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

type Failure = Box<dyn std::error::Error>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [client, url, cafile] = args.as_slice() else {
        eprintln!("usage: tls_download glass|hyper URL CAFILE");
        std::process::exit(2);
    };
    let pem = std::fs::read(cafile).unwrap_or_else(|e| fail(format!("{cafile}: {e}")));
    let before = cpu_times();
    let started = Instant::now();
    let result = match client.as_str() {
        "glass" => glass(url, &pem),
        "hyper" => hyper(url, &pem),
        other => fail(format!("unknown client `{other}`")),
    };
    let elapsed = started.elapsed();
    let (bytes, suite) = result.unwrap_or_else(|e| fail(format!("{client}: {e}")));
    let after = cpu_times();
    println!(
        "{client} {bytes} {:.4} {:.4} {:.4} {suite}",
        elapsed.as_secs_f64(),
        (after.0 - before.0).as_secs_f64(),
        (after.1 - before.1).as_secs_f64(),
    );
}

fn fail(message: String) -> ! {
    eprintln!("tls_download: {message}");
    std::process::exit(1);
}

/// glass: `http_client` on glass's executor and reactor, chunk by chunk.
fn glass(url: &str, pem: &[u8]) -> Result<(u64, String), Failure> {
    let roots = http_client::Certificate::from_pem_bundle(pem)?;
    let mut builder = http_client::Client::builder().tls_built_in_root_certs(false);
    for root in roots {
        builder = builder.add_root_certificate(root);
    }
    let client = builder.build();
    executor::block_on(async {
        let mut response = client.get(url).send().await?;
        let expected = response.content_length();
        let mut bytes = 0u64;
        while let Some(piece) = response.chunk().await? {
            bytes += piece.len() as u64;
        }
        check_length(bytes, expected)?;
        // rustls negotiates the same suite for both Rust clients; hyper's side reports it.
        Ok((bytes, "-".to_owned()))
    })
}

/// hyper 1 over tokio-rustls on tokio's current-thread runtime: one connection, one request.
fn hyper(url: &str, pem: &[u8]) -> Result<(u64, String), Failure> {
    let uri: http::Uri = url.parse()?;
    let host = uri.host().ok_or("no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(host.clone())?;
        let tls = connector.connect(name, tcp).await?;
        let suite = tls
            .get_ref()
            .1
            .negotiated_cipher_suite()
            .map_or("-".to_owned(), |s| format!("{:?}", s.suite()));
        let io = hyper_util::rt::TokioIo::new(tls);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(connection);
        let authority = uri.authority().ok_or("no host")?.as_str();
        let request = http::Request::get(uri.path())
            .header(http::header::HOST, authority)
            .body(Empty::<Bytes>::new())?;
        let mut response = sender.send_request(request).await?;
        let expected = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let mut bytes = 0u64;
        while let Some(frame) = response.body_mut().frame().await {
            if let Ok(data) = frame?.into_data() {
                bytes += data.len() as u64;
            }
        }
        check_length(bytes, expected)?;
        Ok((bytes, suite))
    })
}

fn check_length(bytes: u64, expected: Option<u64>) -> Result<(), Failure> {
    match expected {
        Some(expected) if expected != bytes => {
            Err(format!("got {bytes} bytes of {expected}").into())
        }
        _ => Ok(()),
    }
}

/// This process's user and system CPU time so far.
fn cpu_times() -> (Duration, Duration) {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed struct it is given and reads
    // nothing else; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (time(usage.ru_utime), time(usage.ru_stime))
}
