//! Names chosen by a hostile server or URL never leave the output folder.

mod common;

use std::path::Path;

use common::{Reply, TestServer, demo, pattern, text};

/// Every file under `root`, as paths relative to it.
fn files_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn hostile_names_stay_inside_the_output_folder() {
    let body = pattern(1_000, 13);
    let cd = |value: &str| Reply::File {
        body: body.clone(),
        chunked: false,
        ranges: true,
        content_disposition: Some(value.to_owned()),
    };
    let server = TestServer::start(vec![
        ("/a/../../x", Reply::file(&body)),
        ("/%2e%2e%2f%2e%2e%2fy", Reply::file(&body)),
        ("/%2Fetc%2Fpasswd", Reply::file(&body)),
        ("/..", Reply::file(&body)),
        ("/download", cd("attachment; filename=\"../evil\"")),
        ("/get", cd("attachment; filename=\"/etc/shadow\"")),
        ("/esc%1B%5B2J.txt", Reply::file(&body)),
    ]);
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("deep").join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut args: Vec<String> = [
        "/a/../../x",
        "/%2e%2e%2f%2e%2e%2fy",
        "/%2Fetc%2Fpasswd",
        "/..",
        "/download",
        "/get",
        "/esc%1B%5B2J.txt",
    ]
    .iter()
    .map(|p| server.url(p))
    .collect();
    args.extend(["-o".into(), out.to_str().unwrap().into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = demo(&args, root.path());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let expected = [
        "deep/out/esc[2J.txt",
        "deep/out/evil",
        "deep/out/index.html",
        "deep/out/passwd",
        "deep/out/shadow",
        "deep/out/x",
        "deep/out/y",
    ];
    assert_eq!(files_under(root.path()), expected);
    // The escape character itself never reaches the terminal.
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'));
}

#[test]
fn after_a_redirect_the_name_still_comes_from_the_given_url() {
    let body = pattern(5_000, 15);
    let server = TestServer::start(vec![
        ("/given.bin", Reply::Redirect("/elsewhere/other.bin".into())),
        ("/elsewhere/other.bin", Reply::file(&body)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let output = demo(&[&server.url("/given.bin")], dir.path());
    assert!(output.status.success(), "{:?}", text(&output));
    assert_eq!(files_under(dir.path()), ["given.bin"]);
    assert_eq!(std::fs::read(dir.path().join("given.bin")).unwrap(), body);
}
