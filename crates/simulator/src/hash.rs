//! Cheap, deterministic hash functions that stand in for a random generator.
//!
//! Every number of the simulated world is a pure function of the seed and a few integers
//! (account index, post index, day, metric), so the world needs no storage beyond a compact
//! description of each post and any value can be recomputed on demand, in any order, with
//! the same result.

/// The SplitMix64 finaliser: a fast bijective mixer with good avalanche behaviour.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a list of integers into one 64-bit value.
pub(crate) fn h(parts: &[u64]) -> u64 {
    let mut acc = 0x243F_6A88_85A3_08D3_u64;
    for &p in parts {
        acc = mix(acc ^ p);
    }
    acc
}

/// Hashes a string (used as a salt, e.g. a metric name) into a 64-bit value (FNV-1a, then mixed).
pub(crate) fn hs(s: &str) -> u64 {
    let mut acc = 0xCBF2_9CE4_8422_2325_u64;
    for b in s.bytes() {
        acc ^= u64::from(b);
        acc = acc.wrapping_mul(0x0100_0000_01B3);
    }
    mix(acc)
}

/// A uniform number in `[0, 1)` derived from a hash.
pub(crate) fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal number derived from a hash (Box–Muller on two halves of the state).
pub(crate) fn normal(x: u64) -> f64 {
    let u1 = unit(x).max(1e-12);
    let u2 = unit(mix(x ^ 0x5851_F42D_4C95_7F2D));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal number `exp(mu + sigma * N(0,1))` derived from a hash.
pub(crate) fn log_normal(x: u64, mu: f64, sigma: f64) -> f64 {
    (mu + sigma * normal(x)).exp()
}

/// A uniform number in `[lo, hi)` derived from a hash.
pub(crate) fn range(x: u64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(x)
}

/// Encodes a hash as `len` characters of the given alphabet.
pub(crate) fn encode(mut x: u64, alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    for i in 0..len {
        if i % 10 == 9 {
            x = mix(x);
        }
        out.push(char::from(alphabet[(x % alphabet.len() as u64) as usize]));
        x /= alphabet.len() as u64;
    }
    out
}

/// Letters and digits, the alphabet of tokens and trace ids.
pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The alphabet of Instagram shortcodes.
pub(crate) const SHORTCODE: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_stays_in_range_and_spreads() {
        let mut lo = 0;
        let mut hi = 0;
        for i in 0..10_000 {
            let u = unit(h(&[7, i]));
            assert!((0.0..1.0).contains(&u));
            if u < 0.5 {
                lo += 1;
            } else {
                hi += 1;
            }
        }
        assert!(lo > 4_500 && hi > 4_500, "{lo} {hi}");
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|i| normal(h(&[3, i]))).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn encode_uses_the_alphabet() {
        let s = encode(h(&[1]), ALNUM, 27);
        assert_eq!(s.len(), 27);
        assert!(s.bytes().all(|b| ALNUM.contains(&b)));
    }
}
