//! Whom the client trusts: [`Certificate`] (a root given by the caller), and [`Trust`], which turns
//! the builder's roots and the system's store into the one `rustls::ClientConfig` the client's
//! connections share.
//!
//! The config is made on the first `https://` request, not when the client is built: a client that
//! only ever fetches `http://` never reads the system's certificate store, and a store that cannot
//! be read (or is empty) is reported as an error of that first request
//! ([`TlsFailure::NoRootCertificates`]), never a panic and never a connection that trusts nobody
//! yet proceeds.

use std::cell::OnceCell;
use std::fmt;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::Error;
use crate::error::TlsFailure;

/// A certificate to trust as a root, beside (or instead of) the system's: a private CA, or a
/// self-signed server. Give it to [`ClientBuilder::add_root_certificate`].
///
/// ```
/// let pem = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
///     .unwrap()
///     .cert
///     .pem();
/// let cert = http_client::Certificate::from_pem(pem.as_bytes()).unwrap();
/// let client = http_client::Client::builder().add_root_certificate(cert).build();
/// ```
///
/// [`ClientBuilder::add_root_certificate`]: crate::ClientBuilder::add_root_certificate
#[derive(Clone)]
pub struct Certificate {
    /// The certificate, DER-encoded, as rustls's root store takes it.
    der: CertificateDer<'static>,
}

impl Certificate {
    /// The first certificate in a PEM document (`-----BEGIN CERTIFICATE-----` ...). Text before
    /// it and other kinds of section (a private key) are skipped.
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, Error> {
        let der = CertificateDer::from_pem_slice(pem).map_err(invalid_pem)?;
        Ok(Certificate { der })
    }

    /// Every certificate in a PEM document, as curl's `--cacert` file holds them; at least one.
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Vec<Certificate>, Error> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .map(|der| der.map(|der| Certificate { der }))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid_pem)?;
        if certs.is_empty() {
            return Err(invalid_pem(rustls::pki_types::pem::Error::NoItemsFound));
        }
        Ok(certs)
    }

    /// The certificate in DER, as `Certificate::from_der` elsewhere would take it.
    pub fn to_der(&self) -> Vec<u8> {
        self.der.to_vec()
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({} bytes of DER)", self.der.len())
    }
}

fn invalid_pem(e: rustls::pki_types::pem::Error) -> Error {
    Error::InvalidCertificate {
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no `-----BEGIN CERTIFICATE-----` section found".to_owned()
            }
            e => format!("not valid PEM: {e}"),
        },
    }
}

/// The builder's trust settings, and the TLS config made from them when first needed.
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    /// Roots the caller added with `add_root_certificate`.
    pub(crate) extra_roots: Vec<Certificate>,
    /// Whether the system's store is trusted too (as curl and reqwest do unless told otherwise).
    pub(crate) system_roots: bool,
    /// The config, made on first use; an error (no roots at all) is kept and told to every
    /// request, so a missing store is not re-read for each.
    config: OnceCell<Result<Arc<rustls::ClientConfig>, TlsFailure>>,
}

impl Default for Trust {
    fn default() -> Trust {
        Trust::new(Vec::new(), true)
    }
}

impl Trust {
    /// Trusts `extra_roots` and, if `system_roots`, the system's store.
    pub(crate) fn new(extra_roots: Vec<Certificate>, system_roots: bool) -> Trust {
        Trust {
            extra_roots,
            system_roots,
            config: OnceCell::new(),
        }
    }

    /// The shared rustls config: the roots, the `ring` provider's safe defaults (TLS 1.2 and
    /// 1.3), ALPN `http/1.1`. Certificate verification is rustls's webpki verifier and there is
    /// no switch to turn it off.
    pub(crate) fn config(&self) -> Result<Arc<rustls::ClientConfig>, TlsFailure> {
        self.config.get_or_init(|| self.make_config()).clone()
    }

    fn make_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsFailure> {
        let mut roots = RootCertStore::empty();
        let mut system_errors = Vec::new();
        if self.system_roots {
            // Debian's `ca-certificates` (or $SSL_CERT_FILE / $SSL_CERT_DIR, as OpenSSL reads
            // them). Certificates that fail to parse are skipped, as curl skips them.
            let native = rustls_native_certs::load_native_certs();
            system_errors = native.errors.iter().map(ToString::to_string).collect();
            let (added, ignored) = roots.add_parsable_certificates(native.certs);
            tracing::debug!(target: "glass::tls", added, ignored, "system root certificates loaded");
        }
        for cert in &self.extra_roots {
            roots
                .add(cert.der.clone())
                .map_err(|e| TlsFailure::Other(format!("an added root certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(TlsFailure::NoRootCertificates {
                system_store: self.system_roots,
                system_errors,
            });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsFailure::Other(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
