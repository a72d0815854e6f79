//! The page: `page.html` (layout and style), `timeline.js` (drawing, clicks, zoom, steps) and
//! the run as one JSON object, all inline. Nothing in it names anything a browser would fetch.

use std::fmt::Write as _;

use super::{NONE, Timeline};
use crate::chrome::json_string;

const TEMPLATE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("timeline.js");

/// The whole page for `timeline`.
pub(super) fn render(timeline: &Timeline) -> String {
    let data = data(timeline);
    let program = std::env::args()
        .next()
        .and_then(|p| {
            Some(
                std::path::Path::new(&p)
                    .file_name()?
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .unwrap_or_default();
    let (head, rest) = TEMPLATE
        .split_once("{{title}}")
        .expect("page.html has {{title}}");
    let (middle, rest) = rest.split_once("{{data}}").expect("page.html has {{data}}");
    let (before_script, tail) = rest
        .split_once("{{script}}")
        .expect("page.html has {{script}}");
    let mut page = String::with_capacity(data.len() + TEMPLATE.len() + SCRIPT.len());
    page.push_str(head);
    page.push_str(&html_text(&program));
    page.push_str(middle);
    page.push_str(&data);
    page.push_str(before_script);
    page.push_str(SCRIPT);
    page.push_str(tail);
    page
}

/// `text` as HTML text.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The run as JSON: see the field list at the top of `timeline.js`. Lanes in the order a reader
/// wants them: the executor's thread, the other threads, then the tasks by id.
fn data(t: &Timeline) -> String {
    let mut order: Vec<u32> = (0..t.lanes.len() as u32).collect();
    order.sort_by_key(|&l| {
        let lane = &t.lanes[l as usize];
        (lane.kind as u8, lane.id, l)
    });
    // `new[old lane]`: where each lane goes.
    let mut new = vec![0; order.len()];
    for (position, &old) in order.iter().enumerate() {
        new[old as usize] = position as u32;
    }
    let lane = |old: u32| new[old as usize];
    let mut out = String::new();
    let _ = write!(out, r#"{{"v":1,"tick_ns":100,"end":{},"causes":["#, t.end);
    push_list(&mut out, super::CAUSES.iter().map(|c| json_string(c)));
    out.push_str(r#"],"lanes":["#);
    push_list(
        &mut out,
        order.iter().map(|&old| {
            let l = &t.lanes[old as usize];
            format!(
                "[{},{},{},{},{}]",
                l.kind as u8,
                l.id,
                json_string(&l.name),
                l.start,
                l.end.unwrap_or(NONE)
            )
        }),
    );
    out.push_str(r#"],"polls":["#);
    let mut last = 0;
    push_list(
        &mut out,
        t.polls.iter().map(|p| {
            let delta = p.start - last;
            last = p.start;
            format!(
                "{},{delta},{},{},{},{}",
                lane(p.lane),
                p.dur,
                p.wake.map_or(NONE, i64::from),
                u8::from(p.ready),
                p.waiting.map_or(NONE, i64::from)
            )
        }),
    );
    out.push_str(r#"],"wakes":["#);
    let mut last = 0;
    push_list(
        &mut out,
        t.wakes.iter().map(|w| {
            let delta = w.at - last;
            last = w.at;
            let (woken, from) = (lane(w.lane), lane(w.from));
            format!("{woken},{delta},{},{from},{}", w.cause, w.what)
        }),
    );
    out.push_str(r#"],"sleeps":["#);
    let mut last = 0;
    push_list(
        &mut out,
        t.sleeps.iter().map(|&(start, dur, events)| {
            let delta = start - last;
            last = start;
            format!("{delta},{dur},{events}")
        }),
    );
    // Each line without its task's name, which the page puts back for U+0001.
    let short = |lane: u32, line: &str| {
        let name = t.lanes[lane as usize].task_name.as_deref();
        match name {
            Some(name) => json_string(&line.replacen(&format!("`{name}`"), "`\u{1}`", 1)),
            None => json_string(line),
        }
    };
    out.push_str(r#"],"poll_lines":["#);
    push_list(&mut out, t.polls.iter().map(|p| short(p.lane, &p.line)));
    out.push_str(r#"],"wake_lines":["#);
    push_list(&mut out, t.wakes.iter().map(|w| short(w.lane, &w.line)));
    out.push_str(r#"],"strings":["#);
    push_list(&mut out, t.strings.iter().map(|s| json_string(s)));
    out.push_str(r#"],"warnings":["#);
    push_list(
        &mut out,
        t.warnings.iter().map(|(at, lane, text)| {
            let lane = lane.map_or(NONE, |l| i64::from(new[l as usize]));
            format!("[{at},{lane},{}]", json_string(text))
        }),
    );
    out.push_str("]}");
    // Inside `<script>`, `</script>` in a task's name must not end the element; `<` only ever
    // appears inside JSON strings, where `\u003c` means the same.
    out.replace('<', "\\u003c")
}

fn push_list(out: &mut String, items: impl Iterator<Item = String>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
}
