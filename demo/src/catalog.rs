//! The embedded demo's files: their names, sizes, pace, and the bytes they hold.
//!
//! Nothing is stored: every byte is a pure function of the file's seed and its offset, so the
//! server can produce any range on the fly and the downloader can check every byte it receives
//! against the same function, with no copy of the file kept anywhere.
//!
//! The generator is SplitMix64 run in counter mode: word `i` of a file is `mix(seed + i * GAMMA)`.
//! Counter mode gives random access (the server starts a `Range` answer at any offset, the checker
//! checks any chunk on its own) at the cost of a few multiplications per 8 bytes, which is far
//! below what the network pace asks of the CPU.

use std::time::Duration;

/// How big the embedded show is. `Full` is what `cargo run -p demo` shows; `Small` exists so the
/// tests, built without optimisations, can run the same code in a second or two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// About 133 MiB in eight files, over roughly five seconds.
    Full,
    /// The same eight files at 1/64 of the size, over about a second.
    Small,
}

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// The last path segment it is served under, and so the name it is saved as.
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Keys the generator: two files never share content, so a mixed-up stream is caught.
    pub seed: u64,
    /// Sent with `Transfer-Encoding: chunked` instead of `Content-Length`, so both framings of the
    /// HTTP client are exercised (and a bar without a server-given length is shown).
    pub chunked: bool,
    /// How long the server takes to send it whole: the throttle that makes the show visible.
    pub duration: Duration,
}

/// Every file the embedded server offers.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// In the order the downloads are started.
    pub files: Vec<GeneratedFile>,
}

impl Catalog {
    /// The eight files of the show: 1 to 64 MiB (`Full`), each sent over 2 to 5.5 seconds so the
    /// bars finish one after another rather than all at once.
    pub fn new(scale: Scale) -> Catalog {
        const MIB: u64 = 1024 * 1024;
        let (unit, base_ms, step_ms) = match scale {
            Scale::Full => (MIB, 2000, 500),
            Scale::Small => (MIB / 64, 300, 100),
        };
        let sizes_in_mib = [1, 2, 4, 6, 8, 16, 32, 64];
        let files = sizes_in_mib
            .iter()
            .enumerate()
            .map(|(i, &mib)| GeneratedFile {
                name: format!("file-{}.bin", size_label(mib * unit)),
                size: mib * unit,
                seed: 0x676c_6173_7300_0000 + i as u64, // "glass" and the index
                chunked: i % 2 == 1,
                duration: Duration::from_millis(base_ms + step_ms * i as u64),
            })
            .collect();
        Catalog { files }
    }

    /// The file served under `name`, if any.
    pub fn find(&self, name: &str) -> Option<&GeneratedFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// `1MiB`, `96KiB`: short enough for a file name.
fn size_label(bytes: u64) -> String {
    match bytes {
        b if b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b => format!("{}KiB", b >> 10),
    }
}

/// SplitMix64's increment (the golden ratio in fixed point).
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijection on `u64` that scrambles nearby inputs thoroughly.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl GeneratedFile {
    /// Fills `buf` with the file's bytes starting at `offset`. Bytes past the end are generated
    /// too; callers stop at `size`.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let mut word_index = offset / 8;
        let mut skip = (offset % 8) as usize; // bytes of the first word that come before `offset`
        let mut out = 0;
        while out < buf.len() {
            let word = mix(self.seed.wrapping_add(word_index.wrapping_mul(GAMMA))).to_le_bytes();
            let take = (8 - skip).min(buf.len() - out);
            buf[out..out + take].copy_from_slice(&word[skip..skip + take]);
            out += take;
            skip = 0;
            word_index += 1;
        }
    }

    /// Where `data`, claimed to start at `offset`, first differs from the file; `None` if every
    /// byte matches and none lies past the end.
    pub fn first_mismatch(&self, offset: u64, data: &[u8]) -> Option<u64> {
        let mut expected = [0u8; 4096];
        for (i, piece) in data.chunks(expected.len()).enumerate() {
            let at = offset + (i * expected.len()) as u64;
            let expected = &mut expected[..piece.len()];
            self.fill(at, expected);
            if let Some(j) = piece.iter().zip(expected.iter()).position(|(a, b)| a != b) {
                return Some(at + j as u64);
            }
        }
        let end = offset + data.len() as u64;
        (end > self.size).then_some(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> GeneratedFile {
        Catalog::new(Scale::Small).files[3].clone()
    }

    #[test]
    fn any_range_matches_the_whole() {
        let f = file();
        let mut whole = vec![0; 100];
        f.fill(0, &mut whole);
        for start in 0..30 {
            let mut part = vec![0; 37];
            f.fill(start, &mut part);
            assert_eq!(part, whole[start as usize..start as usize + 37]);
        }
    }

    #[test]
    fn first_mismatch_finds_the_changed_byte() {
        let f = file();
        let mut data = vec![0; 10_000];
        f.fill(5, &mut data);
        assert_eq!(f.first_mismatch(5, &data), None);
        data[9_000] ^= 1;
        assert_eq!(f.first_mismatch(5, &data), Some(9_005));
    }

    #[test]
    fn bytes_past_the_end_are_a_mismatch() {
        let f = file();
        let mut data = vec![0; 10];
        f.fill(f.size - 5, &mut data);
        assert_eq!(f.first_mismatch(f.size - 5, &data), Some(f.size));
    }

    #[test]
    fn files_differ_and_names_show_sizes() {
        let c = Catalog::new(Scale::Full);
        let names: Vec<_> = c.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names[0], "file-1MiB.bin");
        assert_eq!(names[7], "file-64MiB.bin");
        let (mut a, mut b) = ([0; 64], [0; 64]);
        c.files[0].fill(0, &mut a);
        c.files[1].fill(0, &mut b);
        assert_ne!(a, b);
        assert_eq!(c.files.iter().map(|f| f.size).sum::<u64>(), 133 << 20);
    }
}
