//! Random numbers: counter-based keys (JAX's design) and a default key held as state
//! (BrainPy's `bm.random`).
//!
//! A [`Key`] is an `i64` tensor. Its numbers come from the `random_bits` primitive, the
//! Threefry-2x32 block cipher applied to the counters `0, 1, 2, ...` under the key: the same key
//! always gives the same numbers, on every run and machine, traced or not. A key is used once
//! and [`Key::split`] into fresh keys for more (as in JAX, the children of a key are its first
//! blocks of bits, so a key that was split must not also be sampled).
//!
//! The free functions ([`rand`], [`randn`], [`uniform`], [`normal`], [`randint`]) draw from a
//! default key held in a [`Var`] ([`state`]), seeded with 0 until [`seed`] is called. Each draw
//! splits it: the first half becomes the new state, the second is used. Inside a traced
//! function the key is therefore state like any variable: an implicit input and output, so a
//! compiled function advances it exactly as the same calls run eagerly would.
//!
//! Conversions from bits: uniform `f32` from the top 24 bits of an `i32` (`f64`: top 53 of an
//! `i64`), so every value is a multiple of 2^-24 (2^-53) in `[0, 1)`; normal by Box-Muller
//! (`sqrt(-2 ln u1) cos(2 pi u2)`, with `u1` in `(0, 1]`); integers in `[low, high)` as 63
//! random bits modulo the span (biased by at most `span / 2^63`).
//!
//! ```
//! use gradjit::random::{self, Key};
//! use gradjit::DType;
//! // Explicit keys: the same key gives the same numbers.
//! let [k1, k2] = Key::new(42).split2();
//! let x = k1.normal(0.0, 1.0, &[3], DType::F32).to_vec::<f32>()?;
//! assert_eq!(x, k1.normal(0.0, 1.0, &[3], DType::F32).to_vec::<f32>()?);
//! assert_ne!(x, k2.normal(0.0, 1.0, &[3], DType::F32).to_vec::<f32>()?);
//! // The default key: seeded, then advanced by every draw.
//! random::seed(7);
//! let a = random::rand(&[2]).to_vec::<f32>()?;
//! assert_ne!(random::rand(&[2]).to_vec::<f32>()?, a);
//! random::seed(7);
//! assert_eq!(random::rand(&[2]).to_vec::<f32>()?, a);
//! # Ok::<(), gradjit::Error>(())
//! ```

use crate::array::Array;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{caller, poison1};
use crate::var::Var;
use gradjit_ir::DType;
use std::sync::{Mutex, OnceLock, PoisonError};

/// The seed of the default key until [`seed`] is called.
pub const DEFAULT_SEED: u64 = 0;

/// A counter-based random key: an `i64[]` tensor (concrete, or traced inside a transformation).
#[derive(Clone, Debug)]
pub struct Key(Tensor);

impl Key {
    /// The key of `seed`.
    pub fn new(seed: u64) -> Key {
        Key(Tensor::scalar(seed as i64))
    }

    /// A key from an `i64[]` tensor, e.g. a key passed to a traced function as an argument.
    #[track_caller]
    pub fn from_tensor(t: Tensor) -> Result<Key> {
        let ty = t.ty_or_err()?;
        if ty.dtype != DType::I64 || ty.rank() != 0 {
            return Err(Error::op("Key::from_tensor", format!("a key is an i64[] tensor, not {ty}"), caller()));
        }
        Ok(Key(t))
    }

    /// The key as a tensor.
    pub fn tensor(&self) -> &Tensor {
        &self.0
    }

    /// The key's value, if it is concrete.
    #[track_caller]
    pub fn value(&self) -> Result<i64> {
        self.0.to_array()?.item::<i64>()
    }

    /// `n` new keys.
    #[track_caller]
    pub fn split(&self, n: usize) -> Vec<Key> {
        let keys = self.bits([n], DType::I64);
        (0..n).map(|i| Key(keys.index(i))).collect()
    }

    /// Two new keys.
    #[track_caller]
    pub fn split2(&self) -> [Key; 2] {
        let mut keys = self.split(2).into_iter();
        [keys.next().expect("split(2) gives 2 keys"), keys.next().expect("split(2) gives 2 keys")]
    }

    /// A new key for `data` (e.g. a step number or a layer index): distinct data give
    /// independent keys, and the key itself stays usable.
    #[track_caller]
    pub fn fold_in(&self, data: i64) -> Key {
        // Threefry at counter 0 under the key plus an odd multiple of an odd constant: distinct
        // data give distinct keys, none of them the key itself (whose counters give `split`).
        const GOLDEN: i64 = 0x9E37_79B9_7F4A_7C15_u64 as i64;
        let offset = data.wrapping_mul(2).wrapping_add(1).wrapping_mul(GOLDEN);
        Key((&self.0 + offset).random_bits(&[], DType::I64))
    }

    /// Random bits of `shape`, `i32` or `i64`, uniform over all values of the type.
    #[track_caller]
    pub fn bits(&self, shape: impl AsRef<[usize]>, dtype: DType) -> Tensor {
        self.0.random_bits(shape.as_ref(), dtype)
    }

    /// Floats uniform in `[low, high)` of `shape`; `dtype` is `f32` or `f64`.
    #[track_caller]
    pub fn uniform(&self, low: f64, high: f64, shape: impl AsRef<[usize]>, dtype: DType) -> Tensor {
        let loc = caller();
        if !(low.is_finite() && high.is_finite() && low < high) {
            return poison1(Error::op("uniform", format!("the interval [{low}, {high}) is empty or infinite"), loc));
        }
        // The top bits of a random integer, scaled to [0, 1): exact in the float type.
        let unit = match dtype {
            DType::F32 => self.bits(shape, DType::I32).shift_right_logical(32 - 24).astype(DType::F32) * 2f64.powi(-24),
            DType::F64 => self.bits(shape, DType::I64).shift_right_logical(64 - 53).astype(DType::F64) * 2f64.powi(-53),
            _ => return poison1(Error::op("uniform", format!("random floats are f32 or f64, not {dtype}"), loc)),
        };
        unit * (high - low) + low
    }

    /// Floats normally distributed with `mean` and standard deviation `std`, of `shape`;
    /// `dtype` is `f32` or `f64`.
    #[track_caller]
    pub fn normal(&self, mean: f64, std: f64, shape: impl AsRef<[usize]>, dtype: DType) -> Tensor {
        let mut pair_shape = vec![2];
        pair_shape.extend_from_slice(shape.as_ref());
        let u = self.uniform(0.0, 1.0, &pair_shape, dtype);
        let (u1, u2): (Tensor, Tensor) = (1.0 - u.index(0), u.index(1));
        let z = (u1.log() * -2.0).sqrt() * (u2 * std::f64::consts::TAU).cos();
        z * std + mean
    }

    /// Integers uniform in `[low, high)` of `shape`; `dtype` is `i32` or `i64`.
    #[track_caller]
    pub fn randint(&self, low: i64, high: i64, shape: impl AsRef<[usize]>, dtype: DType) -> Tensor {
        let loc = caller();
        if !dtype.is_int() {
            return poison1(Error::op("randint", format!("random integers are i32 or i64, not {dtype}"), loc));
        }
        let span = high.checked_sub(low).filter(|&s| s > 0);
        let fits = |v: i64| dtype == DType::I64 || i32::try_from(v).is_ok();
        let Some(span) = span.filter(|_| fits(low) && fits(high - 1)) else {
            return poison1(Error::op("randint", format!("no {dtype} integers in [{low}, {high})"), loc));
        };
        let nonnegative = self.bits(shape, DType::I64).shift_right_logical(1i64);
        (nonnegative % span + low).astype(dtype)
    }
}

// ---- The default key ----

/// Serializes the read-split-write of the default key between threads.
static DRAW: Mutex<()> = Mutex::new(());

/// The variable holding the default key (an `i64[]`), the state every free function advances.
pub fn state() -> &'static Var {
    static STATE: OnceLock<Var> = OnceLock::new();
    STATE.get_or_init(|| Var::new(Array::scalar(DEFAULT_SEED as i64)).with_name("random.DEFAULT"))
}

/// Seeds the default key: the draws that follow are the same on every run.
#[track_caller]
pub fn seed(seed: u64) {
    let _draw = DRAW.lock().unwrap_or_else(PoisonError::into_inner);
    // An i64[] into an i64[] variable cannot fail, traced or not.
    let _ = state().assign(seed as i64);
}

/// A fresh key from the default key, which advances (inside a traced function: a read and a
/// write of [`state`], as for any variable).
#[track_caller]
pub fn next_key() -> Key {
    let _draw = DRAW.lock().unwrap_or_else(PoisonError::into_inner);
    let [next, used] = Key(state().value()).split2();
    match state().set(&next.0) {
        Ok(()) => used,
        Err(e) => Key(poison1(e)),
    }
}

/// Floats uniform in `[0, 1)`, f32, from the default key.
#[track_caller]
pub fn rand(shape: impl AsRef<[usize]>) -> Tensor {
    next_key().uniform(0.0, 1.0, shape, DType::F32)
}

/// Standard normal floats, f32, from the default key.
#[track_caller]
pub fn randn(shape: impl AsRef<[usize]>) -> Tensor {
    next_key().normal(0.0, 1.0, shape, DType::F32)
}

/// Floats uniform in `[low, high)`, f32, from the default key.
#[track_caller]
pub fn uniform(low: f64, high: f64, shape: impl AsRef<[usize]>) -> Tensor {
    next_key().uniform(low, high, shape, DType::F32)
}

/// Normal floats with `mean` and standard deviation `std`, f32, from the default key.
#[track_caller]
pub fn normal(mean: f64, std: f64, shape: impl AsRef<[usize]>) -> Tensor {
    next_key().normal(mean, std, shape, DType::F32)
}

/// Integers uniform in `[low, high)`, i32, from the default key.
#[track_caller]
pub fn randint(low: i64, high: i64, shape: impl AsRef<[usize]>) -> Tensor {
    next_key().randint(low, high, shape, DType::I32)
}

/// [`uniform`] of `dtype` (f32 or f64).
#[track_caller]
pub fn uniform_of(dtype: DType, low: f64, high: f64, shape: impl AsRef<[usize]>) -> Tensor {
    next_key().uniform(low, high, shape, dtype)
}

/// [`normal`] of `dtype` (f32 or f64).
#[track_caller]
pub fn normal_of(dtype: DType, mean: f64, std: f64, shape: impl AsRef<[usize]>) -> Tensor {
    next_key().normal(mean, std, shape, dtype)
}

/// [`randint`] of `dtype` (i32 or i64).
#[track_caller]
pub fn randint_of(dtype: DType, low: i64, high: i64, shape: impl AsRef<[usize]>) -> Tensor {
    next_key().randint(low, high, shape, dtype)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::make_ir::make_ir;

    const N: usize = 100_000;

    fn f64s(t: &Tensor) -> Vec<f64> {
        t.to_array().unwrap().to_f64_vec()
    }

    /// Mean, variance, skewness and excess kurtosis.
    fn moments(x: &[f64]) -> [f64; 4] {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let central = |p: i32| x.iter().map(|v| (v - mean).powi(p)).sum::<f64>() / n;
        let var = central(2);
        [mean, var, central(3) / var.powf(1.5), central(4) / (var * var) - 3.0]
    }

    #[test]
    fn keys_are_deterministic_and_split_into_distinct_keys() {
        let key = Key::new(1234);
        assert_eq!(key.value().unwrap(), 1234);
        let bits = |k: &Key| k.bits([8], DType::I32).to_vec::<i32>().unwrap();
        assert_eq!(bits(&key), bits(&Key::new(1234)));
        assert_ne!(bits(&key), bits(&Key::new(1235)));
        let children: Vec<i64> = key.split(5).iter().map(|k| k.value().unwrap()).collect();
        assert_eq!(children, Key::new(1234).split(5).iter().map(|k| k.value().unwrap()).collect::<Vec<_>>());
        let mut distinct = children.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 5);
        let [a, b] = key.split2();
        assert_eq!([a.value().unwrap(), b.value().unwrap()], [children[0], children[1]]);
        let folded: Vec<i64> = (0..4).map(|d| key.fold_in(d).value().unwrap()).collect();
        assert_eq!(folded, (0..4).map(|d| key.fold_in(d).value().unwrap()).collect::<Vec<_>>());
        assert!(folded.iter().all(|f| !children.contains(f) && *f != 1234));
        assert_eq!(folded.iter().collect::<std::collections::HashSet<_>>().len(), 4);
    }

    #[test]
    fn uniform_f32_has_24_bit_resolution_and_uniform_moments() {
        let u = f64s(&Key::new(1).uniform(0.0, 1.0, [N], DType::F32));
        assert!(u.iter().all(|&v| (0.0..1.0).contains(&v)));
        assert!(u.iter().all(|&v| (v * 16777216.0).fract() == 0.0), "multiples of 2^-24");
        let [mean, var, skew, _] = moments(&u);
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "variance {var}");
        assert!(skew.abs() < 0.02, "skewness {skew}");
        // Every tenth of the interval gets its share.
        let mut bins = [0usize; 10];
        u.iter().for_each(|&v| bins[(v * 10.0) as usize] += 1);
        assert!(bins.iter().all(|&b| (b as f64 - N as f64 / 10.0).abs() < 600.0), "{bins:?}");
    }

    #[test]
    fn uniform_f64_uses_53_bits_and_the_interval() {
        let u = f64s(&Key::new(2).uniform(-2.0, 3.0, [N], DType::F64));
        assert!(u.iter().all(|&v| (-2.0..3.0).contains(&v)));
        let unit: Vec<f64> = f64s(&Key::new(2).uniform(0.0, 1.0, [1000], DType::F64));
        assert!(unit.iter().any(|&v| (v * 16777216.0).fract() != 0.0), "finer than 2^-24");
        assert!(unit.iter().all(|&v| (v * 2f64.powi(53)).fract() == 0.0));
        let [mean, var, ..] = moments(&u);
        assert!((mean - 0.5).abs() < 0.025, "mean {mean}");
        assert!((var - 25.0 / 12.0).abs() < 0.05, "variance {var}");
    }

    #[test]
    fn normal_has_gaussian_moments() {
        for dtype in [DType::F32, DType::F64] {
            let z = f64s(&Key::new(3).normal(0.0, 1.0, [N], dtype));
            let [mean, var, skew, kurt] = moments(&z);
            assert!(mean.abs() < 0.016, "{dtype} mean {mean}");
            assert!((var - 1.0).abs() < 0.025, "{dtype} variance {var}");
            assert!(skew.abs() < 0.04, "{dtype} skewness {skew}");
            assert!(kurt.abs() < 0.08, "{dtype} excess kurtosis {kurt}");
            // About 68.3% within one standard deviation.
            let within = z.iter().filter(|v| v.abs() < 1.0).count() as f64 / N as f64;
            assert!((within - 0.6827).abs() < 0.01, "{dtype} within 1 sd {within}");
        }
        let x = f64s(&Key::new(4).normal(2.0, 3.0, [N], DType::F32));
        let [mean, var, ..] = moments(&x);
        assert!((mean - 2.0).abs() < 0.05 && (var - 9.0).abs() < 0.25, "mean {mean}, variance {var}");
    }

    #[test]
    fn randint_covers_the_range_evenly() {
        let r = Key::new(5).randint(-3, 5, [N], DType::I32);
        assert_eq!(r.dtype(), DType::I32);
        let r = r.to_vec::<i32>().unwrap();
        let mut counts = [0usize; 8];
        r.iter().for_each(|&v| counts[(v + 3) as usize] += 1);
        assert!(counts.iter().all(|&c| (c as f64 - N as f64 / 8.0).abs() < 700.0), "{counts:?}");
        let big = Key::new(6).randint(1 << 40, (1 << 40) + 3, [1000], DType::I64).to_vec::<i64>().unwrap();
        assert!(big.iter().all(|v| ((1 << 40)..(1 << 40) + 3).contains(v)));
    }

    #[test]
    fn bad_arguments_poison_the_result() {
        let key = Key::new(0);
        let msg = |t: Tensor| t.to_array().unwrap_err().to_string();
        assert!(msg(key.uniform(1.0, 1.0, [2], DType::F32)).starts_with("uniform: the interval [1, 1) is empty"));
        assert!(msg(key.uniform(0.0, 1.0, [2], DType::I32)).starts_with("uniform: random floats are f32 or f64"));
        assert!(msg(key.randint(0, 0, [2], DType::I32)).starts_with("randint: no i32 integers in [0, 0)"));
        assert!(msg(key.randint(0, 1 << 40, [2], DType::I32)).starts_with("randint: no i32 integers"));
        assert!(msg(key.randint(0, 2, [2], DType::F32)).starts_with("randint: random integers are i32 or i64"));
        assert!(Key::from_tensor(Tensor::scalar(1.0f32)).is_err());
        assert_eq!(Key::from_tensor(Tensor::scalar(9i64)).unwrap().value().unwrap(), 9);
    }

    /// The only test that uses the default key (tests run in parallel).
    #[test]
    fn the_default_key_is_state_advanced_alike_eagerly_and_traced() {
        seed(11);
        let eager: Vec<Vec<f32>> = (0..3).map(|_| rand([4]).to_vec::<f32>().unwrap()).collect();
        assert_ne!(eager[0], eager[1]);
        seed(11);
        assert_eq!(rand([4]).to_vec::<f32>().unwrap(), eager[0]);

        // Traced, the key is an implicit input and output; each call advances it.
        seed(11);
        let ir = make_ir(|| rand([4]), ()).unwrap();
        assert_eq!(ir.var_inputs(), std::slice::from_ref(state()));
        assert_eq!(ir.var_outputs(), std::slice::from_ref(state()));
        assert_eq!(state().get().item::<i64>().unwrap(), 11, "tracing does not draw");
        for expected in &eager {
            assert_eq!(&ir.call(&[]).unwrap()[0].to_vec::<f32>().unwrap(), expected);
        }

        seed(12);
        let others = [randn([3]), uniform(-1.0, 1.0, [3]), normal(5.0, 0.1, [3]), randint(0, 3, [3])];
        assert_eq!(
            others.iter().map(Tensor::dtype).collect::<Vec<_>>(),
            [DType::F32, DType::F32, DType::F32, DType::I32]
        );
        assert!(f64s(&others[2]).iter().all(|v| (4.0..6.0).contains(v)));
        assert_eq!(uniform_of(DType::F64, 0.0, 1.0, [2]).dtype(), DType::F64);
        assert_eq!(normal_of(DType::F64, 0.0, 1.0, [2]).dtype(), DType::F64);
        assert_eq!(randint_of(DType::I64, 0, 9, [2]).dtype(), DType::I64);
    }
}
