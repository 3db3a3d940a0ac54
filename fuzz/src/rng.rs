//! Where the fuzzers' random choices come from. `Rng` is a seeded xorshift64* generator, the
//! same on every machine, for the deterministic fuzzers in the test suite; `Bytes` reads the
//! choices from a cargo-fuzz input instead, so that libFuzzer's coverage guidance steers them.
//! Both implement `Source`, which is all the script generator (`generate/`) asks for.

/// A stream of choices. `below(n)` (n > 0) is in `0..n`; a source that runs dry answers 0,
/// which every caller treats as its simplest option, so generation always ends.
pub trait Source {
    fn below(&mut self, n: usize) -> usize;

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// xorshift64*: small, fast, and the same on every machine.
pub struct Rng(pub u64);

impl Rng {
    /// A generator for `seed`, mixed (splitmix64) so that neighbouring seeds start far apart and
    /// a zero seed does not stall xorshift.
    pub fn seeded(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)).max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl Source for Rng {
    /// Uniform enough in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Choices read from fuzzer input: one byte per choice among up to 256 options, two beyond.
pub struct Bytes<'a>(pub &'a [u8]);

impl Source for Bytes<'_> {
    fn below(&mut self, n: usize) -> usize {
        let take = if n <= 256 { 1 } else { 2 };
        if self.0.len() < take {
            self.0 = &[];
            return 0;
        }
        let (head, rest) = self.0.split_at(take);
        self.0 = rest;
        let v = head.iter().fold(0usize, |v, &b| v << 8 | usize::from(b));
        v % n
    }
}
