//! Group commit: downloads that finish close together are made durable together.
//!
//! Each finished `.part` joins a queue. One blocking-pool job at a time takes everything queued
//! and gives it its final name with [`part::finish_batch`] (sync, renames, one sync per folder),
//! then tells each download how it went; files that finish while it works wait for its next
//! round. So a lone large file is `fsync`ed on its own, as before, while 2,000 small ones make a
//! few dozen rounds instead of 2,000 `fsync`s of a file and 2,000 of their folder: the waiting
//! for the disk is shared, as a database shares it between transactions.
//!
//! ```text
//!  download A ─┐                 ┌─ syncfs ─ rename A, B, C ─ fsync folder ─► A, B, C done
//!  download B ─┼─► queue ─► job ─┤
//!  download C ─┘   download D ──►└─ (next round) fsync D ─ rename D ─ fsync folder ─► D done
//! ```

use std::io;
use std::sync::{Mutex, MutexGuard};

use futures::channel::oneshot;

use crate::part::{self, Finishing};

/// What waits to be committed, and whether a job is at it.
struct Queue {
    /// Each file, and where its result goes.
    waiting: Vec<(Finishing, oneshot::Sender<io::Result<()>>)>,
    /// Whether a pool job is committing (and so will take what is waiting).
    committing: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    waiting: Vec::new(),
    committing: false,
});

fn queue() -> MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Gives `item` its final name durably, with whatever else finishes about now
/// ([`part::finish_batch`]'s guarantees, for this file). Once queued, the file is committed even
/// if this future is dropped (a cancelled download): it is complete, and only its result is lost.
pub async fn finish(item: Finishing) -> io::Result<()> {
    let (tx, rx) = oneshot::channel();
    let start_job = {
        let mut queue = queue();
        queue.waiting.push((item, tx));
        !std::mem::replace(&mut queue.committing, true)
    };
    if start_job && let Err(e) = reactor::blocking::unblock(commit_rounds) {
        // No thread to commit on: fail what waits (nobody else would take it).
        let mut queue = queue();
        queue.committing = false;
        for (_, tx) in queue.waiting.drain(..) {
            let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
        }
    }
    rx.await
        .unwrap_or_else(|_| Err(io::Error::other("the commit job stopped before this file")))
}

/// [`finish`], blocking the calling thread (the `--threads` design).
pub fn finish_blocking(item: Finishing) -> io::Result<()> {
    futures::executor::block_on(finish(item))
}

/// The pool job: commits what waits, round after round, until nothing does.
fn commit_rounds() {
    loop {
        let batch = {
            let mut queue = queue();
            if queue.waiting.is_empty() {
                queue.committing = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        let (items, results): (Vec<Finishing>, Vec<_>) = batch.into_iter().unzip();
        let done = std::panic::catch_unwind(|| part::finish_batch(&items));
        match done {
            Ok(done) => {
                for (tx, result) in results.into_iter().zip(done) {
                    let _ = tx.send(result);
                }
            }
            // Dropping the senders fails each wait; the next round goes on.
            Err(_) => drop(results),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_finished_together_each_get_their_own_result() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..24).map(|i| format!("f{i}")).collect();
        for name in &names {
            std::fs::write(dir.path().join(format!("{name}.part")), name).unwrap();
        }
        // One name is taken: only that file fails, and keeps its .part.
        std::fs::write(dir.path().join("f7"), b"old").unwrap();
        let results: Vec<io::Result<()>> = std::thread::scope(|scope| {
            let finishing: Vec<_> = names
                .iter()
                .map(|name| {
                    let item = Finishing {
                        part: dir.path().join(format!("{name}.part")),
                        to: dir.path().join(name),
                        force: false,
                    };
                    scope.spawn(move || finish_blocking(item))
                })
                .collect();
            finishing.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for (name, result) in names.iter().zip(&results) {
            if name == "f7" {
                assert_eq!(
                    result.as_ref().unwrap_err().kind(),
                    io::ErrorKind::AlreadyExists
                );
                assert_eq!(std::fs::read(dir.path().join("f7")).unwrap(), b"old");
                assert!(dir.path().join("f7.part").exists());
            } else {
                assert!(result.is_ok(), "{name}: {result:?}");
                assert_eq!(
                    std::fs::read_to_string(dir.path().join(name)).unwrap(),
                    *name
                );
                assert!(!dir.path().join(format!("{name}.part")).exists());
            }
        }
    }
}
