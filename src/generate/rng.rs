//! The generator's random numbers: xoshiro256** seeded through splitmix64.
//!
//! Our own small generator rather than `rand`'s `StdRng` because the output
//! must stay byte-identical for a given seed across dependency upgrades
//! (`StdRng`'s algorithm is explicitly not a stability promise). It
//! implements `fake`'s `RngCore` so that `fake` draws from the same stream.

use fake::rand::RngCore;

/// A deterministic pseudo-random generator (xoshiro256**).
#[derive(Debug, Clone)]
pub(crate) struct SeedRng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SeedRng {
    /// A generator for `seed`.
    pub(crate) fn new(seed: u64) -> SeedRng {
        let mut state = seed;
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        SeedRng { s }
    }

    /// An independent generator for a named part of the work (a table, a
    /// link): a table's values depend on the seed, its own settings and its
    /// parents' rows, not on how many values other tables drew.
    pub(crate) fn derive(seed: u64, label: &str) -> SeedRng {
        // FNV-1a of the label, mixed with the seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut state = seed ^ h.rotate_left(17);
        SeedRng::new(splitmix64(&mut state))
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant here.
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform index into a collection of `len` elements.
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128) as u128;
        if span >= u128::from(u64::MAX) {
            return self.next() as i64;
        }
        (lo as i128 + i128::from(self.below(span as u64 + 1))) as i64
    }

    /// A uniform float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// An index drawn with the given non-negative weights (uniform when
    /// they are all zero).
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if total <= 0.0 {
            return self.index(weights.len());
        }
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if *w <= 0.0 {
                continue;
            }
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

impl RngCore for SeedRng {
    fn next_u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.next()
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_labels_separate() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = SeedRng::new(7);
                move |_| r.next()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = SeedRng::new(7);
                move |_| r.next()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            SeedRng::derive(7, "a").next(),
            SeedRng::derive(7, "b").next()
        );
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = SeedRng::new(1);
        for _ in 0..1000 {
            let x = r.range_i64(-3, 3);
            assert!((-3..=3).contains(&x));
            assert!(r.below(5) < 5);
        }
        assert_eq!(r.range_i64(5, 5), 5);
        let _ = r.range_i64(i64::MIN, i64::MAX);
    }
}
