//! `docs/TOUR.md` names files and functions at every hop; this checks that each still exists,
//! so that a rename or a move breaks this test instead of silently breaking the tour.
//!
//! The notation (the tour's last section states it): a file is a backquoted path ending in
//! `.rs`, relative to the workspace's root, or starting `mio/` for the mio crate `Cargo.lock`
//! pins; a function is a backquoted `fn name`, defined in the nearest file named before it in
//! the same paragraph or list item; a backquoted type right after "(of " appears in that file.

#[path = "run_example/mod.rs"]
mod run_example;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directory of the mio crate the workspace builds with: its version from `Cargo.lock`, its
/// sources where cargo unpacked them (`$CARGO_HOME/registry/src/<registry>/mio-<version>`). This
/// test runs after the build of this crate, which depends on mio, so the sources are there; no
/// other platform's crates need resolving (as `cargo metadata` would, even offline).
fn mio_dir(root: &Path) -> PathBuf {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find(|package| package.contains("\nname = \"mio\"\n"))
        .and_then(|package| package.split("\nversion = \"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("Cargo.lock pins mio");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .expect("CARGO_HOME or HOME is set");
    let registries = cargo_home.join("registry/src");
    std::fs::read_dir(&registries)
        .unwrap_or_else(|e| panic!("{}: {e}", registries.display()))
        .filter_map(Result::ok)
        .map(|registry| registry.path().join(format!("mio-{version}")))
        .find(|dir| dir.join("src/poll.rs").is_file())
        .unwrap_or_else(|| panic!("mio {version}'s sources in {}", registries.display()))
}

/// The tour's paragraphs and list items (outside code blocks), each as one string.
fn blocks(text: &str) -> Vec<String> {
    let mut blocks = vec![String::new()];
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") && !trimmed.starts_with("``` `") {
            in_code = !in_code;
            blocks.push(String::new());
            continue;
        }
        if in_code {
            continue;
        }
        let new_item = trimmed.starts_with("- ")
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if trimmed.is_empty() || new_item {
            blocks.push(String::new());
        }
        let block = blocks.last_mut().expect("never empty");
        block.push_str(trimmed);
        block.push(' ');
    }
    blocks.retain(|b| !b.trim().is_empty());
    blocks
}

/// Whether `source` defines a function called `name`.
fn defines_fn(source: &str, name: &str) -> bool {
    [format!("fn {name}("), format!("fn {name}<")]
        .iter()
        .any(|pattern| source.contains(pattern.as_str()))
}

/// Whether `word` occurs in `source` as a whole identifier (`Waiter` is not in `Waiters`).
fn contains_word(source: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    source.match_indices(word).any(|(at, _)| {
        let before = source[..at].chars().next_back();
        let after = source[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn every_file_and_function_the_tour_names_exists() {
    let root = run_example::workspace_root();
    let tour = std::fs::read_to_string(root.join("docs/TOUR.md")).expect("docs/TOUR.md");
    let mio = mio_dir(&root);
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut problems = Vec::new();
    let (mut files, mut functions) = (0, 0);

    for block in blocks(&tour) {
        let mut file: Option<String> = None;
        // Backquoted spans are the odd-numbered pieces between backquotes.
        let pieces: Vec<&str> = block.split('`').collect();
        for i in (1..pieces.len()).step_by(2) {
            let span = pieces[i];
            if span.ends_with(".rs") && span.contains('/') && !span.contains(' ') {
                let path = match span.strip_prefix("mio/") {
                    Some(rest) => mio.join(rest),
                    None => root.join(span),
                };
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        files += 1;
                        sources.insert(span.to_owned(), text);
                        file = Some(span.to_owned());
                    }
                    Err(e) => {
                        problems.push(format!("{span}: {e} ({})", path.display()));
                        file = None;
                    }
                }
            } else if let Some(name) = span.strip_prefix("fn ") {
                functions += 1;
                match &file {
                    None => {
                        problems.push(format!("`fn {name}` with no file before it in: {block}"))
                    }
                    Some(f) if !defines_fn(&sources[f], name) => {
                        problems.push(format!("{f} defines no `fn {name}`"))
                    }
                    Some(_) => {}
                }
            } else if pieces[i - 1].ends_with("(of ")
                && let Some(f) = &file
            {
                let word = span.split("::").next().unwrap_or(span);
                if !contains_word(&sources[f], word) {
                    problems.push(format!("{f} has no `{word}`, which the tour says is there"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the tour is out of date:\n{}",
        problems.join("\n")
    );
    // The tour names well over these many places; a parser that found none would prove nothing.
    assert!(
        files >= 20 && functions >= 30,
        "{files} files, {functions} functions found"
    );
}

#[test]
fn every_file_the_readme_names_exists() {
    let root = run_example::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let paths: Vec<&str> = readme
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.ends_with(".rs") && span.contains('/') && !span.contains(' '))
        .collect();
    // The reading order alone names a dozen.
    assert!(paths.len() >= 10, "{paths:?}");
    let missing: Vec<_> = paths.iter().filter(|p| !root.join(p).is_file()).collect();
    assert!(
        missing.is_empty(),
        "README.md names missing files: {missing:?}"
    );
}

/// The README's "The minimal core" lists the files a learner reads for the executor and the
/// reactor, one per numbered item (its first backquoted path); together, docs included, they stay
/// at most 1,200 lines.
#[test]
fn the_minimal_core_the_readme_lists_stays_small() {
    let root = run_example::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let section = readme
        .split("\n## The minimal core\n")
        .nth(1)
        .expect("README.md has a heading \"The minimal core\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let files: Vec<&str> = section
        .lines()
        .filter(|line| {
            line.split_once(". ")
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
        })
        .filter_map(|item| item.split('`').nth(1))
        .filter(|span| span.ends_with(".rs") && span.contains('/'))
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    let lines: usize = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            text.lines().count()
        })
        .sum();
    assert!(
        lines <= 1200,
        "the minimal core is {lines} lines: {files:?}"
    );
}
