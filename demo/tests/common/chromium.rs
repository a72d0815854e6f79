//! A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! JSON messages ending in a NUL byte, commands on the browser's fd 3, answers and events on its
//! fd 4), enough to open a page, watch every request it makes and everything it logs, and run a
//! script in it.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any one answer may take on a loaded machine.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// The Chromium binary, if the machine has one. Without one the caller skips, unless
/// `GLASS_REQUIRE_TOOLS=1` (CI), where this fails.
pub fn find() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("GLASS_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
            "chromium is missing and GLASS_REQUIRE_TOOLS=1 (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
    }
    found
}

/// The flags every run here uses: headless, nothing fetched by the browser on its own, a fresh
/// profile.
pub fn flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// A running browser with one page attached.
pub struct Browser {
    child: Child,
    commands: File,
    answers: mpsc::Receiver<Value>,
    next_id: u64,
    /// The page's session.
    session: String,
    /// Every event received so far (requests, console messages, exceptions...).
    pub events: Vec<Value>,
    /// Keeps the profile folder until the browser is gone.
    _profile: tempfile::TempDir,
}

/// A pipe, both ends close-on-exec and numbered 10 or more, so that putting them on fds 3 and 4
/// in the child can never overwrite one with the other.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    let high = |fd: i32| {
        // SAFETY: pipe2 succeeded, so `fd` is an open descriptor that nothing else owns.
        let low = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: F_DUPFD_CLOEXEC on an open descriptor; the copy is owned by the OwnedFd below.
        let copy = unsafe { libc::fcntl(low.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
        assert!(copy >= 10, "fcntl: {}", std::io::Error::last_os_error());
        // SAFETY: fcntl returned a new open descriptor that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(copy) }
    };
    (high(fds[0]), high(fds[1]))
}

impl Browser {
    /// Starts `chromium` headless with a blank page, and attaches to that page with the network,
    /// console and log domains on.
    pub fn start(chromium: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (their_commands, our_commands) = pipe();
        let (our_answers, their_answers) = pipe();
        let (read_fd, write_fd) = (their_commands.as_raw_fd(), their_answers.as_raw_fd());
        let mut command = Command::new(chromium);
        command
            .args(flags(profile.path()))
            .arg("--remote-debugging-pipe")
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec the closure only calls dup2, which is async-signal-safe,
        // on descriptors that stay open in the parent until spawn returns.
        unsafe {
            command.pre_exec(move || {
                // dup2 clears close-on-exec on the copies: the browser keeps fds 3 and 4.
                if libc::dup2(read_fd, 3) < 0 || libc::dup2(write_fd, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("chromium starts");
        drop((their_commands, their_answers));
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(File::from(our_answers));
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                message.pop_if(|b| *b == 0);
                let Ok(value) = serde_json::from_slice(&message) else {
                    continue;
                };
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let mut browser = Browser {
            child,
            commands: File::from(our_commands),
            answers,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            _profile: profile,
        };
        let targets = browser.call(None, "Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .unwrap_or_else(|| panic!("no page among {targets}"))["targetId"]
            .clone();
        let attached = browser.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": page, "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        for domain in ["Network", "Runtime", "Log", "Page"] {
            browser.page_call(&format!("{domain}.enable"), json!({}));
        }
        browser
    }

    /// Sends a command (to the page's session, or the browser's) and waits for its answer,
    /// keeping the events that come meanwhile.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        let deadline = Instant::now() + ANSWER_WITHIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let value = self
                .answers
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no answer to {method}: {e}"));
            if value["id"] == id {
                assert!(value["error"].is_null(), "{method} failed: {value}");
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    /// A command to the page.
    pub fn page_call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    /// Opens `url` in the page and waits for its `load` event.
    pub fn open(&mut self, url: &str) {
        self.page_call("Page.navigate", json!({ "url": url }));
        let deadline = Instant::now() + ANSWER_WITHIN;
        while !self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .answers
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("{url} never loaded: {e}"));
            self.events.push(event);
        }
    }

    /// The value of the expression `script` in the page (awaited if it is a promise).
    pub fn eval(&mut self, script: &str) -> Value {
        let result = self.page_call(
            "Runtime.evaluate",
            json!({"expression": script, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{script} threw: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Every URL the page asked for.
    pub fn requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .map(|e| {
                e["params"]["request"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    /// Every error the page logged or threw: console errors, uncaught exceptions, the browser's
    /// log entries at level error.
    pub fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| {
                (e["method"] == "Runtime.consoleAPICalled" && e["params"]["type"] == "error")
                    || e["method"] == "Runtime.exceptionThrown"
                    || (e["method"] == "Log.entryAdded" && e["params"]["entry"]["level"] == "error")
            })
            .map(|e| e["params"].to_string())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
