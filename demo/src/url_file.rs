//! `-i FILE`: URLs to download, one a line, each optionally with the SHA-256 the file must have.
//!
//! ```text
//! # comments and blank lines are ignored
//! https://example.com/a.iso  sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! https://example.com/b.txt
//! ```
//!
//! The whole file is read and checked before anything is downloaded: a bad line stops the run
//! with its line number, and nothing is fetched or written. A file whose SHA-256 differs from
//! its line's fails, and its bytes never get the final name (`download.rs`'s `Commit`).

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::hash::Digest;

/// One line's download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The URL, as written.
    pub url: String,
    /// The SHA-256 the file must have, if the line gives one.
    pub sha256: Option<Digest>,
}

/// What is wrong with a URL file: it could not be read, or some of its lines are bad (all of
/// them are listed, each with its number).
#[derive(Debug)]
pub enum UrlFileError {
    /// Reading it failed (missing, unreadable, not UTF-8...).
    Read { file: String, what: String },
    /// These lines, `(number, what is wrong)`.
    Lines {
        file: String,
        bad: Vec<(usize, String)>,
    },
}

impl fmt::Display for UrlFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlFileError::Read { file, what } => write!(f, "{file}: {what}"),
            UrlFileError::Lines { file, bad } => {
                let s = if bad.len() == 1 { "" } else { "s" };
                write!(f, "{file}: {} bad line{s}, nothing downloaded:", bad.len())?;
                for (line, what) in bad {
                    write!(f, "\n  line {line}: {what}")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads and parses the URL file at `path` (`-`: standard input).
pub fn read(path: &Path) -> Result<Vec<Entry>, UrlFileError> {
    let file = if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        crate::names::for_display(&path.display().to_string())
    };
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    read.map_err(|e| UrlFileError::Read {
        file: file.clone(),
        what: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| UrlFileError::Read {
        file: file.clone(),
        what: format!(
            "not UTF-8 text (byte {} is not valid UTF-8)",
            e.utf8_error().valid_up_to()
        ),
    })?;
    parse(&text).map_err(|bad| UrlFileError::Lines { file, bad })
}

/// The entries of a URL file's text, or every bad line with its number (from 1).
pub fn parse(text: &str) -> Result<Vec<Entry>, Vec<(usize, String)>> {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    // A byte-order mark, as some editors on Windows write, is not part of the first URL.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok(entry) => entries.push(entry),
            Err(what) => bad.push((index + 1, what)),
        }
    }
    if bad.is_empty() {
        Ok(entries)
    } else {
        Err(bad)
    }
}

/// `URL` or `URL sha256=HEX`.
fn parse_line(line: &str) -> Result<Entry, String> {
    let mut words = line.split_whitespace();
    let url = words.next().unwrap_or_default();
    let shown = crate::names::for_display;
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(format!(
            "`{}` is not an http:// or https:// URL",
            shown(url)
        ));
    }
    let sha256 = match words.next() {
        None => None,
        Some(word) => {
            let hex = word.strip_prefix("sha256=").ok_or_else(|| {
                format!("expected sha256=HEX after the URL, found `{}`", shown(word))
            })?;
            Some(digest(hex).ok_or_else(|| {
                format!("`{}` is not a SHA-256 (64 hexadecimal digits)", shown(hex))
            })?)
        }
    };
    if let Some(extra) = words.next() {
        return Err(format!(
            "unexpected `{}` after the checksum (one URL and at most one sha256=HEX a line)",
            shown(extra)
        ));
    }
    Ok(Entry {
        url: url.to_owned(),
        sha256,
    })
}

/// 64 hexadecimal digits (either case) as a digest.
fn digest(hex: &str) -> Option<Digest> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn urls_comments_blank_lines_and_checksums() {
        let text = format!(
            "\u{feff}# mirror list\n\n  http://h/a  \nhttps://h/b\tsha256={}\r\n",
            ABC.to_uppercase()
        );
        let entries = parse(&text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].url, "http://h/a");
        assert_eq!(entries[0].sha256, None);
        assert_eq!(entries[1].url, "https://h/b");
        assert_eq!(crate::hash::hex(&entries[1].sha256.unwrap()), ABC);
    }

    #[test]
    fn every_bad_line_is_named_by_its_number() {
        let text = format!(
            "http://h/ok\nftp://h/x\nhttp://h/a md5=00\nhttp://h/b sha256=12\n\
             http://h/c sha256={ABC} more\nhttp://h/d sha256={}\n",
            &ABC[..63]
        );
        let bad = parse(&text).unwrap_err();
        let lines: Vec<usize> = bad.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6], "{bad:?}");
        assert!(bad[0].1.contains("not an http://"), "{bad:?}");
        assert!(bad[1].1.contains("expected sha256=HEX"), "{bad:?}");
        assert!(bad[2].1.contains("64 hexadecimal digits"), "{bad:?}");
        assert!(bad[3].1.contains("unexpected `more`"), "{bad:?}");
    }
}
