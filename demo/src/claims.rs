//! Which names this run's downloads hold, so two of them never write the same file.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::names;

/// The file names (in the output folder) this run's downloads are writing or about to write.
///
/// A name is claimed with its `.part` twin, both or neither: a download named `NAME` holds
/// `NAME` and `NAME.part`. Names never end in `.part` (`names::sanitize`), so the pairs of two
/// different names cannot overlap anyway; holding both paths makes that a checked fact here
/// rather than an assumption about another module.
#[derive(Debug, Default)]
pub struct Claims(Mutex<HashSet<String>>);

/// A name and its `.part`, held by one download; released when dropped.
#[derive(Debug)]
pub struct Claim {
    /// Where to give the names back.
    claims: Arc<Claims>,
    /// `NAME` and `NAME.part`.
    paths: [String; 2],
}

impl Claims {
    /// Takes `name` and `name.part` for one download, or `None` if another one holds either.
    pub fn claim(self: &Arc<Self>, name: &str) -> Option<Claim> {
        let paths = [name.to_owned(), format!("{name}{}", names::PART_SUFFIX)];
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if paths.iter().any(|p| held.contains(p)) {
            return None;
        }
        held.extend(paths.iter().cloned());
        Some(Claim {
            claims: self.clone(),
            paths,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut held = self.claims.0.lock().unwrap_or_else(|e| e.into_inner());
        for path in &self.paths {
            held.remove(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_holds_the_name_and_its_part() {
        let claims = Arc::new(Claims::default());
        let b = claims.claim("b").unwrap();
        // `b.part` as a final name would be `b`'s .part (sanitize never makes one; claims do not
        // rely on that).
        assert!(claims.claim("b.part").is_none());
        assert!(claims.claim("b").is_none());
        let other = claims.claim("c").unwrap();
        drop(b);
        assert!(claims.claim("b.part").is_some());
        drop(other);
    }

    #[test]
    fn a_part_twin_claimed_first_keeps_the_name_out() {
        let claims = Arc::new(Claims::default());
        let _held = claims.claim("b.part").unwrap();
        assert!(claims.claim("b").is_none());
    }
}
