//! The reactor's ladder examples run, and their real output shows what their docs promise:
//! `timers` (epoll_wait's timeout follows the next deadline) and `one_read` (the `.await` the
//! tour follows: Pending, a sleep in epoll_wait, an io wake, the poll that reads).

#[path = "run_example/mod.rs"]
mod run_example;

use std::time::Duration;

use run_example::{lines_with, run_example};

/// The value of `field=` in a trace line (`asleep=50.1ms`), if present.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=");
    let start = line.find(&key)? + key.len();
    line[start..].split(' ').next()
}

/// A `Debug`-printed duration: `50ms`, `50.108092ms`, `2.764µs`, `1.2s`, `0ns`.
fn duration(text: &str) -> Duration {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| panic!("a unit in {text:?}"));
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("a number in {text:?}"));
    let scale = match unit {
        "ns" => 1e-9,
        "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => panic!("unknown unit in {text:?}"),
    };
    Duration::from_secs_f64(number * scale)
}

/// The position of the first line of `out` at or after line `from` that contains every needle.
fn find_line(lines: &[&str], from: usize, needles: &[&str]) -> usize {
    (from..lines.len())
        .find(|&i| needles.iter().all(|n| lines[i].contains(n)))
        .unwrap_or_else(|| {
            panic!(
                "no line with {needles:?} after line {from}:\n{}",
                lines.join("\n")
            )
        })
}

#[test]
fn timers_epoll_wait_timeouts_follow_the_next_deadline() {
    let out = run_example("reactor", "timers", &[]);
    // (timeout asked, time asleep) of every epoll_wait that could sleep.
    let waits: Vec<(Duration, Duration)> = lines_with(&out, "epoll_wait")
        .iter()
        .filter_map(|l| {
            let timeout = field(l, "timeout")?
                .strip_prefix("Some(")?
                .strip_suffix(')')?;
            Some((duration(timeout), duration(field(l, "asleep")?)))
        })
        .filter(|(timeout, _)| !timeout.is_zero())
        .collect();
    assert!(waits.len() >= 5, "{out}");
    let timeouts: Vec<_> = waits.iter().map(|w| w.0).collect();
    // No deadline is ever more than 100 ms away (the 1 s sleep was dropped before it was the
    // earliest), and the longest wait, the one between ticks 1 and 2, is neither the first nor
    // the last: the timeout grew, then shrank again.
    let longest = timeouts.iter().copied().max().unwrap();
    assert!(longest <= Duration::from_millis(100), "{timeouts:?}\n{out}");
    let at = timeouts.iter().position(|&t| t == longest).unwrap();
    assert!(at > 0 && at < timeouts.len() - 1, "{timeouts:?}\n{out}");
    assert!(
        timeouts[0] < longest && timeouts[timeouts.len() - 1] < longest,
        "{timeouts:?}"
    );
    // The thread really slept: epoll_wait returned only when its timeout had run out.
    for (timeout, asleep) in &waits {
        assert!(
            *asleep + Duration::from_millis(1) >= *timeout,
            "{waits:?}\n{out}"
        );
    }

    let lines: Vec<&str> = out.lines().collect();
    let tick0 = find_line(&lines, 0, &["ticker: tick 0"]);
    let gave_up = find_line(&lines, tick0, &["main: the timeout gave up"]);
    let tick2 = find_line(&lines, gave_up, &["ticker: tick 2"]);
    let slept = find_line(&lines, tick2, &["sleeper: my 250 ms sleep is over"]);
    let tick3 = find_line(&lines, slept, &["ticker: tick 3"]);
    find_line(&lines, tick3, &["every timer is done"]);
    assert!(out.contains("What to notice:"), "{out}");
}

#[test]
fn one_read_is_pending_then_woken_by_io_then_ready() {
    let out = run_example("reactor", "one_read", &["--trace"]);
    let lines: Vec<&str> = out.lines().collect();
    let register = find_line(&lines, 0, &["register", "interest=READABLE | WRITABLE"]);
    let fd = field(lines[register], "fd").expect("register names the fd");
    let fd = format!("fd={fd}");
    let asked = find_line(&lines, register, &["task: stream.read(&mut buf).await"]);
    let pending = find_line(&lines, asked, &["poll task=0 ready=false"]);
    let slept = find_line(&lines, pending, &["epoll_wait timeout=None events=1"]);
    let dispatch = find_line(&lines, slept, &["dispatch", &fd, "direction=readable"]);
    let wake = find_line(
        &lines,
        dispatch,
        &["wake task=0 cause=\"io\"", &fd, "direction=readable"],
    );
    let wake_id = field(lines[wake], "wake_id").expect("a wake id");
    let read = find_line(&lines, wake, &["task: read returned 5 bytes: \"hello\""]);
    find_line(
        &lines,
        read,
        &["poll task=0 ready=true", &format!("woken_by={wake_id}")],
    );
    // The sleep that ended with the bytes lasted about the writer's 100 ms delay.
    let asleep = (pending..dispatch)
        .filter_map(|i| field(lines[i], "asleep").filter(|_| lines[i].contains("epoll_wait")))
        .map(duration)
        .max()
        .expect("an epoll_wait between the Pending and the dispatch");
    assert!(asleep >= Duration::from_millis(50), "{out}");
}

#[test]
fn echo_server_echoes_what_a_client_sends_and_logs_the_connection() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};

    let mut server = Command::new(run_example::example("reactor", "echo_server"))
        .arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the echo server starts");
    let mut log = BufReader::new(server.stderr.take().expect("piped"));
    let mut first = String::new();
    log.read_line(&mut first)
        .expect("the server logs its address");
    // `echo server listening on 127.0.0.1:PORT (try: nc 127.0.0.1 PORT)`
    let addr = first
        .split_whitespace()
        .nth(4)
        .unwrap_or_else(|| panic!("an address in {first:?}"))
        .to_owned();

    let mut client = std::net::TcpStream::connect(&addr).expect("connect to the example");
    client
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a read timeout");
    client.write_all(b"hello, echo\n").expect("write");
    let mut back = [0u8; 12];
    client.read_exact(&mut back).expect("the bytes come back");
    assert_eq!(&back, b"hello, echo\n");
    drop(client);
    let mut connected = String::new();
    log.read_line(&mut connected).expect("a log line");
    let mut closed = String::new();
    log.read_line(&mut closed).expect("a log line");
    // Still our unreaped child, so this pid cannot have been reused.
    server.kill().expect("stop the server");
    server.wait().expect("reap the server");
    assert!(connected.ends_with(": connected\n"), "{connected:?}");
    assert!(
        closed.ends_with(": closed after echoing 12 bytes\n"),
        "{closed:?}"
    );
}
