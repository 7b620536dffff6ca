//! The trace of a run: one line per step, hashed as it goes, the last few kept for a failure.

use std::collections::VecDeque;

/// FNV-1a, 64 bits: stable across Rust releases and platforms, unlike `DefaultHasher`.
#[derive(Debug, Clone)]
pub struct Trace {
    hash: u64,
    tail: VecDeque<String>,
    keep: usize,
    pub lines: u64,
    /// Every line, when asked for (a replay with `--trace`).
    pub all: Option<Vec<String>>,
}

impl Trace {
    pub fn new(keep: usize, keep_all: bool) -> Trace {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            tail: VecDeque::new(),
            keep,
            lines: 0,
            all: keep_all.then(Vec::new),
        }
    }

    pub fn push(&mut self, line: String) {
        for byte in line.bytes().chain([b'\n']) {
            self.hash ^= u64::from(byte);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.lines += 1;
        if self.tail.len() == self.keep {
            self.tail.pop_front();
        }
        if let Some(all) = self.all.as_mut() {
            all.push(line.clone());
        }
        self.tail.push_back(line);
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    pub fn tail(&self) -> impl Iterator<Item = &String> {
        self.tail.iter()
    }
}
