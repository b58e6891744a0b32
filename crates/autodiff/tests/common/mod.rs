//! Shared helpers of the autodiff tests: random arrays, the pairing `<a, b>`, and running
//! functions on the reference interpreter.

#![allow(dead_code)] // each test binary uses its own subset

use gradjit_ir::{interp, parse_function, DType, Function, HostArray, Scalar, TensorType};
use num_complex::Complex64;

/// A small deterministic generator (splitmix64); proptest supplies the seeds.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Where a parameter's values are drawn from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Domain {
    /// `[-2, 2)`.
    Any,
    /// `[0.5, 2)`.
    Positive,
    /// `(-0.9, 0.9)`.
    Unit,
    /// `±[0.5, 2)`: away from zero.
    NonZero,
    /// Like `Any`, with the first element exactly zero.
    WithZero,
    /// Integers in `0..n`.
    Index(u64),
    /// Random booleans.
    Bool,
}

/// A random array of type `ty` from `domain` (complex dtypes get independent real and imaginary parts).
pub fn sample(rng: &mut Rng, ty: &TensorType, domain: Domain) -> HostArray {
    let mut a = HostArray::zeros(ty.dtype, ty.shape.clone());
    let real = |rng: &mut Rng| match domain {
        Domain::Any | Domain::WithZero => rng.uniform(-2.0, 2.0),
        Domain::Positive => rng.uniform(0.5, 2.0),
        Domain::Unit => rng.uniform(-0.9, 0.9),
        Domain::NonZero => rng.uniform(0.5, 2.0) * if rng.below(2) == 0 { -1.0 } else { 1.0 },
        Domain::Index(n) => rng.below(n) as f64,
        Domain::Bool => rng.below(2) as f64,
    };
    for i in 0..a.numel() {
        let v = match ty.dtype {
            DType::C64 | DType::C128 => Scalar::C128(Complex64::new(real(rng), real(rng))),
            DType::Float0 => Scalar::Float0,
            d => Scalar::from_f64(real(rng), d),
        };
        a.set(i, v);
    }
    if domain == Domain::WithZero && a.numel() > 0 {
        a.set(0, Scalar::F64(0.0));
    }
    a
}

/// `<a, b> = Re Σ a·b`, the pairing of tangents with cotangents (0 for `float0`).
pub fn pair(a: &HostArray, b: &HostArray) -> f64 {
    assert_eq!(a.ty(), b.ty(), "paired arrays differ in type");
    if a.dtype() == DType::Float0 {
        return 0.0;
    }
    a.scalars().zip(b.scalars()).map(|(x, y)| (x.to_c128() * y.to_c128()).re).sum()
}

/// `a + s·t` elementwise (for finite differences), in `a`'s dtype.
pub fn axpy(a: &HostArray, s: f64, t: &HostArray) -> HostArray {
    let mut out = a.clone();
    for i in 0..a.numel() {
        let v = a.get(i).to_c128() + t.get(i).to_c128() * s;
        out.set(i, Scalar::C128(v));
    }
    out
}

/// Runs `f` on the reference interpreter, panicking with the function's text on failure.
pub fn run(f: &Function, args: &[HostArray]) -> Vec<HostArray> {
    interp::run(f, args).unwrap_or_else(|e| panic!("interpreter failed: {e}\n{f}"))
}

pub fn parse(text: &str) -> Function {
    parse_function(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A scalar or array of f64 values.
pub fn f64s(shape: &[usize], data: &[f64]) -> HostArray {
    HostArray::from_slice(shape.to_vec(), data).expect("data matches the shape")
}

/// Asserts `|a - b| <= tol·(1 + |a| + |b|)`.
pub fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol * (1.0 + a.abs() + b.abs()), "{what}: {a} vs {b} (difference {})", (a - b).abs());
}

/// Asserts two arrays agree elementwise within `tol` (relative to magnitude).
pub fn assert_all_close(a: &HostArray, b: &HostArray, tol: f64, what: &str) {
    assert_eq!(a.ty(), b.ty(), "{what}: types differ");
    for (i, (x, y)) in a.scalars().zip(b.scalars()).enumerate() {
        let (x, y) = (x.to_c128(), y.to_c128());
        assert!((x - y).norm() <= tol * (1.0 + x.norm() + y.norm()), "{what}: element {i}: {x} vs {y}\n{a}\n{b}");
    }
}
