//! HTTPS in the demo: `--https` puts the embedded demo behind TLS (both designs), `--trace` shows
//! the handshakes, and `--cacert FILE` trusts the certificates in FILE and nothing else.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{demo, text};

#[test]
fn the_embedded_demo_over_https_verifies_every_file_in_both_designs() {
    for design in [&[][..], &["--threads"][..]] {
        let cwd = tempfile::tempdir().unwrap();
        let mut args = vec!["--https", "--demo-scale", "small", "--trace"];
        args.extend_from_slice(design);
        let output = demo(&args, cwd.path());
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{design:?}: {stdout}\n{stderr}");
        assert!(
            stdout.contains("verified byte for byte: 8 of 8 files"),
            "{design:?}: {stdout}"
        );
        // One handshake per download (the embedded server closes after each response), each
        // traced with what was agreed.
        let done: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("glass::tls: handshake done"))
            .collect();
        assert!(
            done.len() >= 8,
            "{design:?}: {} handshakes traced",
            done.len()
        );
        for field in [
            "alpn=http/1.1",
            "version=TLSv1_3",
            "cipher_suite=TLS13_",
            "took=",
        ] {
            assert!(
                done[0].contains(field),
                "{design:?}: no {field} in {}",
                done[0]
            );
        }
        assert!(stderr.contains("glass::tls: handshake start"), "{design:?}");
    }
}

/// `demo --serve --https`, killed on drop: its CA (PEM) and its first URL.
struct HttpsServer {
    child: Child,
    ca_pem: String,
    url: String,
}

impl HttpsServer {
    fn start() -> HttpsServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--serve", "--https", "--demo-scale", "small"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut ca_pem = String::new();
        let url = loop {
            let line = lines.next().expect("the server printed no URL").unwrap();
            if line.starts_with("https://") {
                break line;
            }
            if !line.starts_with("trust") && !line.starts_with("serving") {
                ca_pem.push_str(&line);
                ca_pem.push('\n');
            }
        };
        HttpsServer { child, ca_pem, url }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn cacert_trusts_the_certificates_in_the_file_and_no_others() {
    let server = HttpsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let trusted = dir.path().join("run-ca.pem");
    std::fs::write(&trusted, &server.ca_pem).unwrap();
    let other = dir.path().join("other-ca.pem");
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(&other, stranger.cert.pem()).unwrap();
    let name = server.url.rsplit('/').next().unwrap().to_owned();

    for design in [&[][..], &["--threads"][..]] {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec!["--cacert", trusted.to_str().unwrap(), server.url.as_str()];
        args.extend_from_slice(design);
        let output = demo(&args, out.path());
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{design:?}: {stdout}\n{stderr}");
        assert!(out.path().join(&name).exists(), "{design:?}: {stdout}");

        // Into another folder: in this one the file is complete, and a rerun asks nothing.
        let elsewhere = tempfile::tempdir().unwrap();
        let mut args = vec!["--cacert", other.to_str().unwrap(), server.url.as_str()];
        args.extend_from_slice(design);
        let output = demo(&args, elsewhere.path());
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{design:?}: {stderr}");
        assert!(
            stderr.contains("the certificate's issuer is not trusted"),
            "{design:?}: {stderr}"
        );
    }
}

#[test]
fn a_cacert_file_that_cannot_be_used_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let output = demo(
        &[
            "--cacert",
            missing.to_str().unwrap(),
            "https://127.0.0.1:9/",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("--cacert"), "{}", text(&output).1);

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let output = demo(
        &[
            "--cacert",
            garbage.to_str().unwrap(),
            "https://127.0.0.1:9/",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("no `-----BEGIN CERTIFICATE-----`"),
        "{}",
        text(&output).1
    );
}

#[test]
fn an_empty_system_store_is_a_clear_error_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (empty_file, empty_dir) = (dir.path().join("none.pem"), dir.path().join("certs"));
    std::fs::write(&empty_file, "").unwrap();
    std::fs::create_dir(&empty_dir).unwrap();
    for design in [&[][..], &["--threads"][..]] {
        // rustls-native-certs reads these instead of the system's own store, as OpenSSL does.
        let output = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["https://127.0.0.1:9/file.bin"])
            .args(design)
            .env("SSL_CERT_FILE", &empty_file)
            .env("SSL_CERT_DIR", &empty_dir)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{design:?}: {stderr}");
        assert!(
            stderr.contains("no trusted root certificates (the system's store is empty"),
            "{design:?}: {stderr}"
        );
        // Port 9 refuses connections: the error came before any connection was tried.
        assert!(!stderr.contains("refused"), "{design:?}: {stderr}");
    }
}
