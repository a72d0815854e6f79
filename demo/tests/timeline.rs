//! `--timeline FILE`, opened in a real browser: headless Chromium, driven over the DevTools
//! protocol (`common/chromium.rs`). For the embedded demo and for URL downloads: every task the
//! run's trace spawned has a lane labelled with its id and name, as text in the page; the page
//! asks for nothing but itself (no request leaves it, not even for a file beside it) and logs no
//! error; stepping through the run shows, for each event, the line the readable trace printed.
//!
//! Without Chromium these tests say so and pass, unless `GLASS_REQUIRE_TOOLS=1` (CI installs it).

#[path = "common/chromium.rs"]
mod chromium;
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Reply, TestServer, demo, text};

/// The lane label of every task the trace saw spawned: `task 3: download file-1MiB.bin`.
fn spawned_tasks(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter_map(|l| Some(l.split_once(" glass::executor: spawn task=")?.1))
        .map(|rest| match rest.split_once(' ') {
            Some((id, name)) => format!("task {id}: {}", name.trim_matches('`')),
            None if rest == "0" => "task 0: block_on's future".to_owned(),
            None => format!("task {rest}"),
        })
        .collect()
}

/// A readable trace line without its time: what the page's detail and `--trace` share.
fn untimed(line: &str) -> Option<&str> {
    line.split_once("s glass::").map(|(_, rest)| rest)
}

/// What the page holds that a browser could fetch: anything but the one link to Perfetto and the
/// empty inline icon (which stops a browser asking for `/favicon.ico`).
fn references(html: &str) -> Vec<String> {
    let html = html
        .replacen(r#"<a href="https://ui.perfetto.dev">"#, "", 1)
        .replacen(r#"<link rel="icon" href="data:,">"#, "", 1);
    [
        "http:", "https:", "src=", "href=", "url(", "@import", "//cdn", "ws:",
    ]
    .iter()
    .filter(|needle| html.contains(*needle))
    .map(|needle| needle.to_string())
    .collect()
}

/// What the browser measured of one page.
struct Opened {
    /// Milliseconds from the start of navigation to the end of the first draw of the lanes.
    drawn_ms: f64,
    /// To the first contentful paint, as the browser reports it.
    first_paint_ms: f64,
    /// To the end of reading the data, and of making the lanes' labels.
    parsed_ms: f64,
    labelled_ms: f64,
    laid_out_ms: f64,
}

/// Opens `page` in Chromium and checks it against the run's readable trace `trace`.
fn check_in_browser(chromium: &Path, page: &Path, trace: &str) -> Opened {
    let html = std::fs::read_to_string(page).unwrap();
    assert_eq!(
        references(&html),
        Vec::<String>::new(),
        "the page refers outside itself"
    );
    let url = format!("file://{}", page.display());
    let mut browser = chromium::Browser::start(chromium);
    browser.open(&url);
    let deadline = Instant::now() + Duration::from_secs(60);
    let drawn = "performance.getEntriesByName('glass-timeline-drawn').map(e => e.startTime)[0]";
    let drawn_ms = loop {
        if let Some(ms) = browser.eval(drawn).as_f64() {
            break ms;
        }
        assert!(
            Instant::now() < deadline,
            "the timeline was never drawn; the page logged {:?}",
            browser.errors()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The paint entry may be reported a little after the page's own mark.
    let paint = "new Promise(done => {
        new PerformanceObserver(l => done(l.getEntries().find(e => e.name === 'first-contentful-paint')?.startTime))
          .observe({ type: 'paint', buffered: true });
        setTimeout(() => done(null), 10000); })";
    let first_paint_ms = browser.eval(paint).as_f64().unwrap_or(f64::NAN);
    let mark = |browser: &mut chromium::Browser, name: &str| {
        let script = format!("performance.getEntriesByName('{name}').map(e => e.startTime)[0]");
        browser.eval(&script).as_f64().unwrap_or(f64::NAN)
    };
    let parsed_ms = mark(&mut browser, "glass-timeline-parsed");
    let labelled_ms = mark(&mut browser, "glass-timeline-labelled");
    let laid_out_ms = mark(&mut browser, "glass-timeline-laid-out");

    // Every task of the run has its lane, named, as text.
    let labels =
        browser.eval("[...document.querySelectorAll('#labels .lane')].map(e => e.textContent)");
    let labels: Vec<&str> = labels
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let tasks = spawned_tasks(trace);
    assert!(tasks.len() > 3, "too few tasks in the trace: {tasks:?}");
    for task in &tasks {
        assert!(
            labels.contains(&task.as_str()),
            "no lane for {task:?} among {labels:?}"
        );
    }
    assert!(labels[0].starts_with("executor thread"), "{labels:?}");

    // Stepping shows each event's readable trace line, the very line `--trace` printed.
    let trace_lines: Vec<&str> = trace.lines().filter_map(untimed).collect();
    for step in 1..=12 {
        let detail = browser.eval(
            "document.getElementById('next').click(); document.getElementById('detail').textContent",
        );
        let detail = detail.as_str().unwrap().to_owned();
        let shown = detail
            .lines()
            .find_map(untimed)
            .unwrap_or_else(|| panic!("step {step} shows no trace line:\n{detail}"));
        assert!(
            trace_lines.contains(&shown),
            "step {step} shows a line --trace did not print: {shown:?}\n{detail}"
        );
        assert!(detail.contains("waiting on"), "step {step}:\n{detail}");
    }
    // A click on the canvas finds what is drawn there: across the thread's lane, at the whole
    // run's zoom, the first click that lands on a poll shows that poll's trace line.
    let clicked = browser.eval(
        "(() => {
           document.getElementById('fit').click();
           document.getElementById('scroller').scrollTop = 0;
           const c = document.getElementById('canvas'), r = c.getBoundingClientRect();
           for (let x = 0; x < r.width; x += 2) {
             const at = { clientX: r.left + x, clientY: r.top + 9, bubbles: true };
             c.dispatchEvent(new MouseEvent('mousedown', at));
             window.dispatchEvent(new MouseEvent('mouseup', at));
             const shown = document.getElementById('detail').textContent;
             if (shown.startsWith('poll of')) return shown;
           }
           return ''; })()",
    );
    let clicked = clicked.as_str().unwrap();
    let line = clicked.lines().find_map(untimed);
    assert!(
        line.is_some_and(|l| l.starts_with("executor: poll ") && trace_lines.contains(&l)),
        "a click on the thread's lane showed:\n{clicked}"
    );

    let requests = browser.requests();
    assert_eq!(
        requests,
        [url.as_str()],
        "the page asked for more than itself"
    );
    assert_eq!(
        browser.errors(),
        Vec::<String>::new(),
        "the page logged errors"
    );
    Opened {
        drawn_ms,
        first_paint_ms,
        parsed_ms,
        labelled_ms,
        laid_out_ms,
    }
}

#[test]
fn the_embedded_demo_timeline_opens_offline_with_every_task_in_its_lane() {
    let Some(chromium) = chromium::find() else {
        return;
    };
    let cwd = tempfile::tempdir().unwrap();
    let page = cwd.path().join("timeline.html");
    let args = [
        "--demo-scale",
        "small",
        "--trace",
        "--timeline",
        page.to_str().unwrap(),
    ];
    let output = demo(&args, cwd.path());
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("`download file-1MiB.bin`"), "{stderr}");
    check_in_browser(&chromium, &page, &stderr);
}

#[test]
fn a_url_download_timeline_names_each_download() {
    let Some(chromium) = chromium::find() else {
        return;
    };
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| (format!("/f{i}.bin"), vec![i as u8; 200_000]))
        .collect();
    let server = TestServer::start(
        files
            .iter()
            .map(|(p, b)| (p.as_str(), Reply::file(b)))
            .collect(),
    );
    let cwd = tempfile::tempdir().unwrap();
    let page = cwd.path().join("timeline.html");
    let urls: Vec<String> = files.iter().map(|(p, _)| server.url(p)).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["--trace", "--timeline", page.to_str().unwrap()]);
    let output = demo(&args, cwd.path());
    let (_, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    for i in 0..3 {
        assert!(stderr.contains(&format!("`download f{i}.bin`")), "{stderr}");
    }
    check_in_browser(&chromium, &page, &stderr);
}

/// The figures for the report and benches/README.md, not a check: the page's size and time to
/// first paint at the embedded demo's full size and at 2,000 downloads of 16 KiB from a local
/// server. Run with `cargo test --release -p demo --test timeline -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; takes a minute"]
fn size_and_first_paint_at_two_scales() {
    let Some(chromium) = chromium::find() else {
        return;
    };
    let measure = |what: &str, args: &[&str], cwd: &Path| {
        let page = cwd.join("timeline.html");
        let mut args = args.to_vec();
        let page_arg = page.to_str().unwrap().to_owned();
        args.extend(["--trace", "--timeline", &page_arg]);
        let output = demo(&args, cwd);
        let (_, stderr) = text(&output);
        assert!(
            output.status.success(),
            "{}",
            &stderr[stderr.len().saturating_sub(3000)..]
        );
        let size = std::fs::metadata(&page).unwrap().len();
        let opened = check_in_browser(&chromium, &page, &stderr);
        println!(
            "{what}: {} tasks, {:.2} MB, first contentful paint {:.0} ms, lanes drawn {:.0} ms \
             (data read {:.0} ms, labels made {:.0} ms, laid out {:.0} ms)",
            spawned_tasks(&stderr).len(),
            size as f64 / 1e6,
            opened.first_paint_ms,
            opened.drawn_ms,
            opened.parsed_ms,
            opened.labelled_ms,
            opened.laid_out_ms,
        );
    };
    let cwd = tempfile::tempdir().unwrap();
    measure("embedded demo", &[], cwd.path());

    let body = vec![7u8; 16 * 1024];
    let paths: Vec<String> = (0..2000).map(|i| format!("/file-{i}.bin")).collect();
    let server = TestServer::start(
        paths
            .iter()
            .map(|p| (p.as_str(), Reply::file(&body)))
            .collect(),
    );
    let urls: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let cwd = tempfile::tempdir().unwrap();
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    measure("2,000 downloads", &args, cwd.path());
}
