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
    let program = std::env::args().next().unwrap_or_default();
    let program = program.rsplit('/').next().unwrap_or_default();
    let (head, rest) = TEMPLATE
        .split_once("{{title}}")
        .expect("page.html has {{title}}");
    let (middle, rest) = rest.split_once("{{data}}").expect("page.html has {{data}}");
    let (before_script, tail) = rest
        .split_once("{{script}}")
        .expect("page.html has {{script}}");
    let mut page = String::with_capacity(data.len() + TEMPLATE.len() + SCRIPT.len());
    page.push_str(head);
    page.push_str(&html_text(program));
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
pub(super) fn data(t: &Timeline) -> String {
    let mut order: Vec<u32> = (0..t.lanes.len() as u32).collect();
    order.sort_by_key(|&l| {
        let lane = &t.lanes[l as usize];
        (lane.kind as u8, lane.run, lane.id, l)
    });
    // `new[old lane]`: where each lane goes.
    let mut new = vec![0; order.len()];
    for (position, &old) in order.iter().enumerate() {
        new[old as usize] = position as u32;
    }
    let lane = |old: u32| new[old as usize];
    // Many tasks share a name (`spawn_blocking`): each name once, in `names`.
    let mut names = Interner::default();
    let mut out = String::new();
    let _ = write!(out, r#"{{"v":1,"tick_ns":100,"end":{},"causes":["#, t.end);
    push_list(&mut out, super::CAUSES.iter().map(|c| json_string(c)));
    out.push_str(r#"],"lanes":["#);
    push_list(
        &mut out,
        order.iter().map(|&old| {
            let l = &t.lanes[old as usize];
            let name = l.name.as_deref().map_or(NONE, |n| i64::from(names.id(n)));
            let end = l.end.unwrap_or(NONE);
            let (kind, id, start, run) = (l.kind as u8, l.id, l.start, l.run);
            format!("[{kind},{id},{name},{start},{end},{run}]")
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
    out.push_str(r#"],"poll_lines":["#);
    push_list(&mut out, t.polls.iter().map(|p| line(&p.line)));
    out.push_str(r#"],"wake_lines":["#);
    push_list(&mut out, t.wakes.iter().map(|w| line(&w.line)));
    out.push_str(r#"],"strings":["#);
    push_list(&mut out, t.strings.iter().map(|s| json_string(s)));
    out.push_str(r#"],"names":["#);
    push_list(&mut out, names.list.iter().map(|s| json_string(s)));
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

/// `[shape, values...]`, a value that reads back the same as a number written as one.
fn line(line: &super::Line) -> String {
    let mut out = format!("[{}", line.shape);
    for value in &line.values {
        out.push(',');
        match value.parse::<u64>() {
            Ok(n) if n.to_string() == *value => out.push_str(value),
            _ => out.push_str(&json_string(value)),
        }
    }
    out.push(']');
    out
}

/// Strings numbered in the order they are first seen.
#[derive(Default)]
struct Interner<'a> {
    list: Vec<&'a str>,
    ids: std::collections::HashMap<&'a str, u32>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        *self.ids.entry(s).or_insert_with(|| {
            self.list.push(s);
            self.list.len() as u32 - 1
        })
    }
}

fn push_list(out: &mut String, items: impl Iterator<Item = String>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
}
