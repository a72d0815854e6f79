//! A TLS test server: rustls's server side on helper threads (blocking `std::net`), with a test
//! CA made by `rcgen` for each test. It is written with none of the client's code, so the client
//! is tested against a TLS peer it did not make.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use rustls::ServerConnection;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority for one test.
pub struct TestCa {
    /// The CA's certificate, PEM: what the client is told to trust.
    pub pem: String,
    /// What signs the server certificates.
    issuer: Issuer<'static, KeyPair>,
}

/// How long a server certificate is valid.
#[derive(Clone, Copy)]
pub enum Validity {
    /// From yesterday for a year or more: rcgen's default (1975 to 4096).
    Now,
    /// 2000 to 2001: long expired.
    Expired,
}

impl TestCa {
    /// A new CA, its key made on the spot.
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "glass test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA's certificate, for `ClientBuilder::add_root_certificate`.
    pub fn certificate(&self) -> http_client::Certificate {
        http_client::Certificate::from_pem(self.pem.as_bytes()).unwrap()
    }

    /// A rustls server config with a certificate for `names` (DNS names or IP addresses),
    /// signed by this CA, offering ALPN `http/1.1`.
    pub fn server_config(&self, names: &[&str], validity: Validity) -> Arc<rustls::ServerConfig> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if let Validity::Expired = validity {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// What the TLS server does after each response.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AfterResponse {
    /// Waits for the next request on the same session (keep-alive).
    KeepAlive,
    /// Sends `close_notify` but keeps the TCP connection open, as a server ending an idle
    /// session politely does; the client must not send on it again.
    CloseNotify,
    /// Closes the TCP connection without `close_notify`: to a TLS client, what an attacker who
    /// cuts the connection looks like.
    Cut,
}

/// A running TLS server; its threads end with the test process.
pub struct TlsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// How many TCP connections it has accepted.
    pub accepted: Arc<AtomicUsize>,
    /// Every request head received, in order, lowercased.
    pub requests: Arc<Mutex<Vec<String>>>,
    /// For each session that got a request: the SNI name the client sent, and the ALPN
    /// protocol agreed.
    pub sessions: Arc<Mutex<Vec<Session>>>,
}

/// What a client asked for in one handshake, as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The server name indication, if the client sent one.
    pub sni: Option<String>,
    /// The protocol agreed through ALPN, if any.
    pub alpn: Option<String>,
}

impl TlsServer {
    /// How many TCP connections it has accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Serves TLS with `config` on 127.0.0.1: each request head gets what `respond` returns.
pub fn serve_tls(
    config: Arc<rustls::ServerConfig>,
    after: AfterResponse,
    respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
) -> TlsServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = TlsServer {
        addr: listener.local_addr().unwrap(),
        accepted: Arc::new(AtomicUsize::new(0)),
        requests: Arc::new(Mutex::new(Vec::new())),
        sessions: Arc::new(Mutex::new(Vec::new())),
    };
    let (accepted, requests) = (server.accepted.clone(), server.requests.clone());
    let sessions = server.sessions.clone();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            accepted.fetch_add(1, Ordering::SeqCst);
            let (config, requests, respond) = (config.clone(), requests.clone(), respond.clone());
            let sessions = sessions.clone();
            std::thread::spawn(move || {
                let _ = serve_session(tcp, config, after, (&requests, &sessions), &*respond);
            });
        }
    });
    server
}

fn serve_session(
    mut tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    after: AfterResponse,
    (requests, sessions): (&Mutex<Vec<String>>, &Mutex<Vec<Session>>),
    respond: &dyn Fn(&str) -> Vec<u8>,
) -> std::io::Result<()> {
    let mut session = ServerConnection::new(config).unwrap();
    let mut pending = Vec::new();
    for served in 0.. {
        // Read one request head through TLS.
        let head = loop {
            if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                pending.drain(..end + 4);
                break head;
            }
            let mut buf = [0; 16 * 1024];
            let mut stream = rustls::Stream::new(&mut session, &mut tcp);
            match stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) => {
                    // Not TLS, or a handshake the client refused: tell it with the alert rustls
                    // queued (plain HTTP clients see a TLS record, as from any TLS server).
                    let _ = session.write_tls(&mut tcp);
                    return Err(e);
                }
            }
        };
        if served == 0 {
            sessions.lock().unwrap().push(Session {
                sni: session.server_name().map(str::to_owned),
                alpn: session
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            });
        }
        requests.lock().unwrap().push(head.clone());
        let response = respond(&head);
        let mut stream = rustls::Stream::new(&mut session, &mut tcp);
        stream.write_all(&response)?;
        stream.flush()?;
        let close = String::from_utf8_lossy(&response)
            .to_ascii_lowercase()
            .contains("connection: close");
        if after == AfterResponse::Cut {
            return Ok(());
        }
        if close || after == AfterResponse::CloseNotify {
            session.send_close_notify();
            while session.wants_write() {
                session.write_tls(&mut tcp)?;
            }
            if close {
                return Ok(());
            }
            // Hold the TCP connection open: only close_notify says the session is over.
            let _ = tcp.read(&mut [0; 1024]);
            return Ok(());
        }
    }
    Ok(())
}
