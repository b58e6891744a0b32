//! Deterministic inputs shared with the JAX side (scripts/bench_jax.py implements the same).
//!
//! Element `i` of a stream is splitmix64's output for the state `seed + (i + 1) * GAMMA`: a
//! counter-based generator, so numpy computes whole arrays at once and both languages produce
//! bit-identical arrays without exchanging files. Uniform floats take the top 24 bits, which
//! scale exactly to `[0, 1)` in f32, then `lo + (hi - lo) * u` in f32 (no fused multiply-add,
//! as in numpy).

use gradjit::Array;

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Element `i` of the stream `seed`.
pub fn splitmix64(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_mul(GAMMA).wrapping_add((i + 1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` f32 values uniform in `[lo, hi)`.
pub fn uniform_vec(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f32> {
    let (lo, width) = (lo as f32, (hi - lo) as f32);
    (0..n as u64).map(|i| lo + width * ((splitmix64(seed, i) >> 40) as f32 * (1.0 / (1u32 << 24) as f32))).collect()
}

/// An f32 array of `shape` uniform in `[lo, hi)`.
pub fn uniform(seed: u64, shape: &[usize], lo: f64, hi: f64) -> Array {
    let data = uniform_vec(seed, shape.iter().product(), lo, hi);
    Array::from_vec(shape.to_vec(), data).expect("length is the shape's product")
}

/// `rows` one-hot f32 rows of `classes` columns; row `i`'s class is `(bits_i >> 32) mod classes`.
pub fn one_hot(seed: u64, rows: usize, classes: usize) -> Array {
    let mut data = vec![0.0f32; rows * classes];
    for r in 0..rows {
        let class = ((splitmix64(seed, r as u64) >> 32) % classes as u64) as usize;
        data[r * classes + class] = 1.0;
    }
    Array::from_vec(vec![rows, classes], data).expect("length is rows * classes")
}
