//! Safe file names, and text safe to print.
//!
//! A URL and a server's headers are written by strangers, and both end up in places that trust
//! them: a path handed to `open`, a string written to a terminal. Everything that comes from the
//! network passes through here first.
//!
//! - [`from_url`] and [`from_content_disposition`] turn what a server says into a name that is one
//!   plain path component: no separator, no `..`, no control character, no leading dot (no hidden
//!   files, no `.`/`..`), not empty (`index.html`), short enough for the file system once
//!   `.part` is added, and never ending in `.part` itself (`foo.part` is saved as `foo.part_`), so
//!   that no finished file can be, or be taken for, another download's `NAME.part`. Joined to the
//!   output folder it can only name a file directly inside it.
//! - [`for_display`] removes terminal control sequences, so a hostile name or reason phrase cannot
//!   move the cursor, retitle the window or hide text when it is printed.

/// What a download is called when nothing better is known (`http://host/`, or a name that sanitises
/// to nothing), as browsers and `wget` do.
pub const FALLBACK: &str = "index.html";

/// The longest name kept, in bytes: `NAME_MAX` (255 on Linux file systems) less room for `.part`.
const MAX_NAME_BYTES: usize = 250;

/// The name to save `url` as: its last path segment, percent-decoded, then made safe.
///
/// The segment is taken from the raw URL before decoding, so `%2F` cannot split it, and
/// [`sanitize`] then keeps only the last component of the decoded text: `..%2F..%2Fx` is `x`.
pub fn from_url(url: &str) -> String {
    // scheme://authority/path?query#fragment: the path starts at the first '/' after "//".
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme
        .find('/')
        .map_or("", |slash| &after_scheme[slash..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segment = path.rsplit('/').next().unwrap_or("");
    sanitize(&String::from_utf8_lossy(&percent_decode(segment)))
}

/// The file name a `Content-Disposition` header value asks for, made safe; `None` when it names
/// none (or only something that sanitises away, such as `..`).
///
/// `filename*` (RFC 6266 with RFC 8187's `UTF-8''percent%20encoded` form) wins over `filename`,
/// as the RFC says. Only UTF-8 and ISO-8859-1 are understood; anything else is ignored.
pub fn from_content_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for (key, raw) in parameters(value) {
        if key.eq_ignore_ascii_case("filename") {
            plain = Some(raw);
        } else if key.eq_ignore_ascii_case("filename*") {
            let mut parts = raw.splitn(3, '\'');
            let (charset, _language, encoded) = (parts.next()?, parts.next()?, parts.next()?);
            let bytes = percent_decode(encoded);
            extended = if charset.eq_ignore_ascii_case("utf-8") {
                Some(String::from_utf8_lossy(&bytes).into_owned())
            } else if charset.eq_ignore_ascii_case("iso-8859-1") {
                Some(bytes.iter().map(|&b| char::from(b)).collect())
            } else {
                None
            };
        }
    }
    let name = sanitize(&extended.or(plain)?);
    (name != FALLBACK).then_some(name)
}

/// The `key=value` parameters after the disposition type, with quoted strings unquoted.
fn parameters(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Skip the disposition type ("attachment", "inline").
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        let key = key.trim().trim_start_matches(';').trim().to_owned();
        if key.is_empty() {
            return out;
        }
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let mut val = String::new();
        if chars.next_if_eq(&'"').is_some() {
            // quoted-string: a backslash escapes the next character.
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => val.extend(chars.next()),
                    c => val.push(c),
                }
            }
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            val = chars.by_ref().take_while(|&c| c != ';').collect();
            val = val.trim().to_owned();
        }
        out.push((key, val));
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The suffix of a download in progress. No final name ends with it (see [`sanitize`]).
pub const PART_SUFFIX: &str = ".part";

/// Makes `raw` one safe path component: the text after its last `/` or `\`, without control or
/// bidirectional-override characters, without leading dots or spaces, cut to [`MAX_NAME_BYTES`];
/// [`FALLBACK`] if nothing is left.
///
/// A name ending in [`PART_SUFFIX`] gets a `_` after it (`foo.part` is saved as `foo.part_`).
/// The `.part` of a download is `NAME.part`, found again by that name alone; if a finished file
/// could be called `foo.part`, a download of `foo` would take it for its own unfinished part and
/// append to it, and a download whose server names it `foo.part` would rename onto its own part.
/// (Compared ignoring case, for file systems that do.)
pub fn sanitize(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|&c| !is_unprintable(c)).collect();
    let mut name = cleaned.trim_start_matches(['.', ' ']).trim_end().to_owned();
    cut_to(&mut name, MAX_NAME_BYTES);
    if is_part_name(&name) {
        cut_to(&mut name, MAX_NAME_BYTES - 1);
        name.push('_');
    }
    if name.is_empty() {
        FALLBACK.to_owned()
    } else {
        name
    }
}

/// Whether `name` ends in [`PART_SUFFIX`], in any case.
pub fn is_part_name(name: &str) -> bool {
    let (name, suffix) = (name.as_bytes(), PART_SUFFIX.as_bytes());
    name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Shortens `name` to at most `max` bytes, on a character boundary.
fn cut_to(name: &mut String, max: usize) {
    if name.len() > max {
        let mut cut = max;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
}

/// Control characters (C0, DEL, C1) and the invisible characters that reorder or hide text.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with terminal escape sequences removed and every other unprintable character replaced
/// by `?`, so printing it shows exactly what it says and does nothing else.
pub fn for_display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(if is_unprintable(c) { '?' } else { c });
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates, then one final byte in '@'..='~'.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC, DCS and friends: up to BEL or ST (ESC \).
            Some(']' | 'P' | 'X' | '^' | '_') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            // Any other escape is two characters long.
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_names_come_from_the_last_segment_decoded() {
        assert_eq!(
            from_url("http://h/a/b/report%20v2.pdf?x=1#y"),
            "report v2.pdf"
        );
        assert_eq!(from_url("http://h/files/file-1MiB.bin"), "file-1MiB.bin");
        assert_eq!(from_url("http://h/"), FALLBACK);
        assert_eq!(from_url("http://h"), FALLBACK);
        assert_eq!(from_url("http://h/dir/"), FALLBACK);
        assert_eq!(from_url("http://h/%E2%9C%93.txt"), "\u{2713}.txt");
    }

    #[test]
    fn hostile_url_names_stay_one_component() {
        assert_eq!(from_url("http://h/../../x"), "x");
        assert_eq!(from_url("http://h/..%2F..%2Fx"), "x");
        assert_eq!(from_url("http://h/%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(from_url("http://h/.."), FALLBACK);
        assert_eq!(from_url("http://h/%2e%2e"), FALLBACK);
        assert_eq!(from_url("http://h/a%5C..%5Cwin.ini"), "win.ini");
        assert_eq!(from_url("http://h/.bashrc"), "bashrc");
        assert_eq!(from_url("http://h/x%00y%1b%5B2Jz"), "xy[2Jz");
    }

    #[test]
    fn hostile_names_never_leave_the_folder() {
        let dir = std::path::Path::new("/out");
        for raw in [
            "../../x",
            "/etc/passwd",
            "..",
            ".",
            "",
            "a/../../b",
            "\\..\\c",
            "\u{202e}gpj.exe",
        ] {
            let name = sanitize(raw);
            let path = dir.join(&name);
            assert_eq!(path.parent(), Some(dir), "{raw:?} became {name:?}");
            assert!(
                !name.starts_with('.') && !name.contains(['/', '\\']),
                "{name:?}"
            );
            assert_eq!(path.components().count(), 3, "{raw:?} became {name:?}");
        }
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let name = sanitize(&"\u{e9}".repeat(200));
        assert!(name.len() <= MAX_NAME_BYTES && !name.is_empty());
        assert!(name.chars().all(|c| c == '\u{e9}'));
    }

    #[test]
    fn no_name_ends_in_part() {
        assert_eq!(sanitize("foo.part"), "foo.part_");
        assert_eq!(sanitize("foo.PART "), "foo.PART_");
        assert_eq!(sanitize("..part"), "part");
        assert_eq!(sanitize("foo.part_"), "foo.part_");
        assert_eq!(sanitize("foo.parts"), "foo.parts");
        assert_eq!(from_url("http://h/dir/foo.part?x"), "foo.part_");
        assert_eq!(
            from_content_disposition("attachment; filename=\"b.part\"").as_deref(),
            Some("b.part_")
        );
        // Still within the length limit when the `_` is added to a name cut to it.
        let long = format!("{}.part", "x".repeat(MAX_NAME_BYTES - 5));
        let name = sanitize(&long);
        assert!(
            name.len() <= MAX_NAME_BYTES && !is_part_name(&name),
            "{name}"
        );
        let long = format!("{}.part", "x".repeat(300));
        let name = sanitize(&long);
        assert!(
            name.len() <= MAX_NAME_BYTES && !is_part_name(&name),
            "{name}"
        );
    }

    #[test]
    fn content_disposition_names() {
        let cd = from_content_disposition;
        assert_eq!(
            cd("attachment; filename=\"../evil\"").as_deref(),
            Some("evil")
        );
        assert_eq!(
            cd("attachment; filename=report.pdf").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            cd("attachment; filename=\"a\\\"b.txt\"").as_deref(),
            Some("a\"b.txt")
        );
        assert_eq!(
            cd("attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt")
                .as_deref(),
            Some("\u{20ac} rates.txt")
        );
        assert_eq!(
            cd("attachment; filename*=iso-8859-1'en'%A3.txt").as_deref(),
            Some("\u{a3}.txt")
        );
        assert_eq!(
            cd("attachment; filename=\"/etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(cd("attachment; filename=\"..\""), None);
        assert_eq!(cd("inline"), None);
        assert_eq!(cd("attachment; size=3"), None);
    }

    #[test]
    fn display_text_loses_escape_sequences() {
        assert_eq!(for_display("a\x1b[2Jb"), "ab");
        assert_eq!(for_display("a\x1b]0;owned\x07b"), "ab");
        assert_eq!(for_display("a\x1b]8;;http://x\x1b\\b"), "ab");
        assert_eq!(for_display("line\nnext\r\u{9b}"), "line?next??");
        assert_eq!(for_display("plain \u{2713}"), "plain \u{2713}");
    }
}
