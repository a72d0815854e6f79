//! The demo's TLS pieces: whom to trust (`--cacert FILE`, as curl's option), and for `--https` a
//! certificate for the embedded server, made at start with `rcgen` and trusted for this run only.
//!
//! The embedded server speaks TLS through `futures-rustls`, over the `futures-io` traits glass's
//! `TcpStream` implements, while `http_client` drives rustls itself (its `tls.rs`): two ways of
//! putting the same layer on the same socket, side by side.

use std::path::Path;
use std::sync::Arc;

use http_client::Certificate;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use futures_rustls::rustls;

/// Which roots the downloads trust: curl's rules. With `--cacert FILE`, the certificates in FILE
/// and nothing else; otherwise the system's store. `--https` adds its run's own CA either way.
#[derive(Clone, Debug, Default)]
pub struct Roots {
    /// Roots beyond (or instead of) the system's.
    pub extra: Vec<Certificate>,
    /// Whether the system's store is trusted too.
    pub system: bool,
}

impl Roots {
    /// The roots for this run: `cacert`'s certificates, if given (and then only those).
    pub fn new(cacert: Option<&Path>) -> Result<Roots, String> {
        let Some(path) = cacert else {
            return Ok(Roots {
                extra: Vec::new(),
                system: true,
            });
        };
        let pem = std::fs::read(path).map_err(|e| format!("--cacert {}: {e}", path.display()))?;
        let extra = Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
        Ok(Roots {
            extra,
            system: false,
        })
    }

    /// Applies these roots to a client being built.
    pub fn apply(&self, mut builder: http_client::ClientBuilder) -> http_client::ClientBuilder {
        builder = builder.tls_built_in_root_certs(self.system);
        for cert in &self.extra {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder
    }
}

/// The embedded server's TLS identity for one run.
pub struct ServerIdentity {
    /// Accepts TLS on the server's connections.
    pub acceptor: futures_rustls::TlsAcceptor,
    /// The CA that signed the server's certificate: what the downloads are told to trust.
    pub ca: RunCa,
}

/// The CA of one `--https` run.
#[derive(Clone, Debug)]
pub struct RunCa {
    /// For the client's roots.
    pub cert: Certificate,
    /// The same, PEM, for `--serve --https` to print for other programs (`curl --cacert`).
    pub pem: String,
}

/// Makes a CA and a certificate for `127.0.0.1` and `localhost` signed by it, both valid for
/// this run only (their keys are never written anywhere), and a rustls server config with it.
pub fn embedded_server_identity() -> Result<ServerIdentity, String> {
    let fail = |e: &dyn std::fmt::Display| format!("making the --https certificate: {e}");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "glass demo, this run only");
    let ca_key = KeyPair::generate().map_err(|e| fail(&e))?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| fail(&e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let params = CertificateParams::new(names).map_err(|e| fail(&e))?;
    let key = KeyPair::generate().map_err(|e| fail(&e))?;
    let cert = params.signed_by(&key, &issuer).map_err(|e| fail(&e))?;

    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| fail(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let pem = ca_cert.pem();
    let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| fail(&e))?;
    Ok(ServerIdentity {
        acceptor: futures_rustls::TlsAcceptor::from(Arc::new(config)),
        ca: RunCa { cert, pem },
    })
}
