//! Shared helpers of the differential tests: deterministic data, compile-and-compare against the
//! reference interpreter.

#![allow(dead_code)]

use gradjit_codegen::{compile, CompileOptions, Executable};
use gradjit_ir::{interp, DType, Function, HostArray, Scalar, Shape};

/// The sizes every elementwise test runs at: empty, one element, around the vector width and the unroll
/// factor, and large enough to be split over threads.
pub const SIZES: [usize; 9] = [0, 1, 3, 4, 5, 7, 8, 1000, 100003];

/// How close compiled results must be to the interpreter's.
#[derive(Clone, Copy, Debug)]
pub enum Tol {
    /// Bit for bit (NaNs of either sign are equal).
    Exact,
    /// At most this many ulps apart.
    Ulps(u64),
    /// `|a - b| <= rtol · (|b| + max |want|)`: for sums in another order and for chains of operations.
    Rel(f64),
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// An array of `shape` with values uniform in `[lo, hi)` (integers rounded, bools half true).
pub fn array(dt: DType, shape: &[usize], seed: u64, lo: f64, hi: f64) -> HostArray {
    let mut rng = Rng::new(seed);
    let shape = Shape::new(shape);
    let mut a = HostArray::zeros(dt, shape.clone());
    for i in 0..shape.numel() {
        let v = rng.uniform(lo, hi);
        let s = match dt {
            DType::Bool => Scalar::Bool(v > (lo + hi) / 2.0),
            DType::I32 | DType::I64 => Scalar::F64(v.round()),
            _ => Scalar::F64(v),
        };
        a.set(i, s);
    }
    a
}

fn ulp_distance(a: f64, b: f64, dt: DType) -> u64 {
    if dt == DType::F32 {
        let key = |x: f32| {
            let i = x.to_bits() as i32;
            if i < 0 {
                i64::from(i32::MIN) - i64::from(i)
            } else {
                i64::from(i)
            }
        };
        (key(a as f32) - key(b as f32)).unsigned_abs()
    } else {
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 {
                i128::from(i64::MIN) - i128::from(i)
            } else {
                i128::from(i)
            }
        };
        (key(a) - key(b)).unsigned_abs() as u64
    }
}

/// Compares two arrays element by element; `Err` names the first mismatch.
pub fn compare(got: &HostArray, want: &HostArray, tol: Tol) -> Result<(), String> {
    if got.ty() != want.ty() {
        return Err(format!("type {} != {}", got.ty(), want.ty()));
    }
    let dt = want.dtype();
    if !dt.is_float() {
        return if got.bit_eq(want) { Ok(()) } else { Err(format!("got {got:?}\nwant {want:?}")) };
    }
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    let scale = w.iter().filter(|x| x.is_finite()).fold(0.0f64, |m, x| m.max(x.abs()));
    for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
        let ok = (a.is_nan() && b.is_nan())
            || match tol {
                Tol::Exact => {
                    a.to_bits() == b.to_bits() || (dt == DType::F32 && (a as f32).to_bits() == (b as f32).to_bits())
                }
                Tol::Ulps(n) => a == b || ulp_distance(a, b, dt) <= n,
                Tol::Rel(r) => a == b || (a - b).abs() <= r * (b.abs() + scale),
            };
        if !ok {
            return Err(format!("element {i} of {}: got {a:e}, want {b:e} ({tol:?})", want.ty()));
        }
    }
    Ok(())
}

/// Compiles `f` with `opts`, runs it and the interpreter on `args`, and compares every output.
pub fn check_with(f: &Function, args: &[HostArray], tol: Tol, opts: &CompileOptions) -> Executable {
    let exe = compile(f, opts).unwrap_or_else(|e| panic!("compile failed: {e}\n{f}"));
    let refs: Vec<&HostArray> = args.iter().collect();
    let got = exe.run(&refs).unwrap_or_else(|e| panic!("run failed: {e}\n{f}"));
    let want = interp::run(f, args).unwrap_or_else(|e| panic!("interpreter failed: {e}\n{f}"));
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if let Err(msg) = compare(g, w, tol) {
            panic!("output {i}: {msg}\n{f}\nplan:\n{}", exe.plan());
        }
    }
    exe
}

pub fn check(f: &Function, args: &[HostArray], tol: Tol) -> Executable {
    check_with(f, args, tol, &CompileOptions::default())
}

/// The machine epsilon-based relative tolerance for sums of `n` terms of `dt` in another order.
pub fn sum_tol(dt: DType, n: usize) -> Tol {
    let eps = if dt == DType::F32 { f32::EPSILON as f64 } else { f64::EPSILON };
    Tol::Rel(eps * 4.0 * ((n as f64).sqrt() + 4.0))
}
