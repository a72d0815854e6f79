//! HTTPS against a server nobody here wrote: nginx with `ssl`, its certificate made by the
//! `openssl` command line from a CA of the test's own. A large file (whole, then resumed with a
//! Range) and many small ones, each byte checked.
//!
//! nginx and openssl come from Debian's packages (`.ci/run` installs them). Where either is
//! missing the tests say so on stderr and pass, unless `GLASS_REQUIRE_TOOLS=1` (as in CI), which
//! makes a missing program a failure.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use http::StatusCode;
use http_client::{Certificate, Client};
use support::{pattern, run};

/// Whether `program` runs; if not, either the test is skipped (`false`) or, under
/// `GLASS_REQUIRE_TOOLS=1`, it fails.
fn have(program: &str, version_flag: &str) -> bool {
    let found = Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("GLASS_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
            "`{program}` is required (GLASS_REQUIRE_TOOLS=1) but could not be run"
        );
        eprintln!("skipping: `{program}` is not installed (apt-get install nginx openssl)");
    }
    found
}

/// Runs `openssl` with `args` in `dir`, failing the test if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes `ca.pem` and a certificate for `localhost` and 127.0.0.1 signed by it (`server.pem`,
/// `server.key`) in `dir`, with P-256 keys, as an administrator would with `openssl`.
fn make_certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=glass nginx test CA",
    ];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-subj", "/CN=localhost", "-keyout", "server.key"];
    csr.extend(ec);
    csr.extend(["-out", "server.csr"]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// nginx serving `dir/www` over TLS on a free port of 127.0.0.1; stopped on drop.
struct Nginx {
    /// The nginx process (`master_process off`: one process, so killing it stops it all).
    child: Child,
    /// Where it listens.
    addr: SocketAddr,
}

impl Nginx {
    fn start(dir: &Path) -> Nginx {
        let addr = support::child::free_local_addr();
        let port = addr.port();
        let d = dir.display();
        // Every path nginx writes is inside `dir`; `$connection` (the connection's serial number)
        // is sent back so the test can see keep-alive at work.
        let config = format!(
            "daemon off; master_process off; worker_processes 1;
             error_log {d}/error.log; pid {d}/nginx.pid;
             events {{ worker_connections 64; }}
             http {{
               access_log off;
               client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
               uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
               server {{
                 listen 127.0.0.1:{port} ssl;
                 ssl_certificate {d}/server.pem; ssl_certificate_key {d}/server.key;
                 ssl_protocols TLSv1.2 TLSv1.3;
                 keepalive_requests 10000;
                 root {d}/www;
                 add_header X-Connection $connection;
               }}
             }}"
        );
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("could not start nginx");
        let mut nginx = Nginx { child, addr };
        let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        support::child::wait_until_accepting(&mut nginx.child, addr, "nginx", &log);
        nginx
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory with certificates and `www/`, and a client that trusts its CA only.
fn setup() -> Option<(tempfile::TempDir, PathBuf, Client)> {
    if !have("nginx", "-v") || !have("openssl", "version") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let client = Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_pem(&ca).unwrap())
        .build();
    Some((dir, www, client))
}

#[test]
fn nginx_serves_a_large_file_over_tls_and_resumes_it_with_a_range() {
    let Some((dir, www, client)) = setup() else {
        return;
    };
    let file = pattern(24 * 1024 * 1024 + 17);
    std::fs::write(www.join("large.bin"), &file).unwrap();
    let nginx = Nginx::start(dir.path());
    run(async {
        let url = nginx.url("localhost", "/large.bin");
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.content_length(), Some(file.len() as u64));
        let body = response.bytes().await.unwrap();
        assert!(body == file, "the body differs from the file");

        // A download cut short resumes where it stopped, over the same session.
        let from = 10_000_001;
        let rest = client
            .get(&url)
            .header("range", format!("bytes={from}-"))
            .send()
            .await
            .unwrap();
        assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
        let first_connection = rest.headers()["x-connection"].clone();
        assert!(rest.bytes().await.unwrap() == file[from..]);

        // By address: nginx's certificate names 127.0.0.1 too.
        let by_ip = client.get(nginx.url("127.0.0.1", "/large.bin")).send();
        let by_ip = by_ip.await.unwrap();
        assert_ne!(by_ip.headers()["x-connection"], first_connection);
        assert_eq!(by_ip.bytes().await.unwrap().len(), file.len());
    });
}

#[test]
fn nginx_serves_many_small_files_over_a_few_tls_sessions() {
    let Some((dir, www, client)) = setup() else {
        return;
    };
    // Sizes from 0 to a few records, each file's content its own.
    let files: Vec<Vec<u8>> = (0..300usize)
        .map(|i| {
            let len = (i * 7919) % 40_000;
            (0..len).map(|j| ((i * 31 + j) % 253) as u8).collect()
        })
        .collect();
    for (i, content) in files.iter().enumerate() {
        std::fs::write(www.join(format!("f{i}.bin")), content).unwrap();
    }
    let nginx = Nginx::start(dir.path());
    let connections = run(async {
        let mut connections = std::collections::HashSet::new();
        for (i, content) in files.iter().enumerate() {
            let response = client
                .get(nginx.url("localhost", &format!("/f{i}.bin")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "f{i}.bin");
            connections.insert(response.headers()["x-connection"].clone());
            assert!(
                response.bytes().await.unwrap() == content[..],
                "f{i}.bin differs"
            );
        }
        connections
    });
    // One after another on keep-alive sessions: one, unless nginx closed an idle one.
    assert!(connections.len() <= 3, "{} TLS sessions", connections.len());
}
