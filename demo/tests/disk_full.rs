//! A download bigger than the disk: it fails with a message that says so, and keeps its `.part`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Reply, TestServer, demo, pattern, text};

/// A small tmpfs mounted on a fresh folder, unmounted when dropped (even if the test fails).
struct SmallDisk {
    /// Where it is mounted.
    path: PathBuf,
    /// Holds the folder it is mounted on; removed after the unmount.
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// A tmpfs of `size` (as `mount -o size=` takes it), or `None` if it cannot be mounted (not
    /// root, no `mount`): the caller skips, unless `GLASS_REQUIRE_TOOLS=1`.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status();
        match status {
            Ok(s) if s.success() => Some(SmallDisk { path, _dir: dir }),
            other => {
                let why = format!("cannot mount a tmpfs ({other:?}): needs root and mount(8)");
                if std::env::var("GLASS_REQUIRE_TOOLS").as_deref() == Ok("1") {
                    panic!("{why}, and GLASS_REQUIRE_TOOLS=1");
                }
                eprintln!("skipping the disk-full test: {why}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

#[test]
fn a_full_disk_fails_the_download_says_so_and_keeps_the_part() {
    let Some(disk) = SmallDisk::mount("256k") else {
        return;
    };
    let body = pattern(1_000_000, 31);
    let server = TestServer::start(vec![("/big.bin", Reply::file(&body))]);
    let url = server.url("/big.bin");
    for design in [None, Some("--threads")] {
        let mut args = vec![url.as_str(), "-o", disk.path().to_str().unwrap()];
        args.extend(design);
        let output = demo(&args, disk.path());
        let (stdout, stderr) = text(&output);
        let out = format!("{design:?}\n{stdout}\n{stderr}");
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(stderr.contains(&format!("FAILED {url}")), "{out}");
        assert!(stderr.contains("the disk is full"), "{out}");
        let part = std::fs::metadata(disk.path().join("big.bin.part")).expect(&out);
        // What fitted is kept, for a resume once there is room.
        assert!(part.len() > 0 && part.len() < body.len() as u64, "{out}");
        assert!(!disk.path().join("big.bin").exists(), "{out}");
        std::fs::remove_file(disk.path().join("big.bin.part")).unwrap();
    }
}
