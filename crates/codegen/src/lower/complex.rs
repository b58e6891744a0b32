//! Complex numbers in loop kernels: legalisation of a [`LoopNest`] to real arithmetic.
//!
//! Planning treats `c64`/`c128` like any other dtype, so complex elementwise chains, broadcasts, splat
//! constants, `iota` and sums fuse into loops exactly as real ones do. Before a nest is lowered, [`legalize`]
//! rewrites it into a nest over `f32`/`f64` only (what LLVM calls type legalisation), so that the loop
//! emitter, the vectoriser and the math emitters never see a complex value:
//!
//! - a complex value is a pair of real ops `(re, im)`;
//! - memory is interleaved (`re, im` per element, as `HostArray` stores `num_complex` values), so a complex
//!   access `offset + Σ i·s` becomes two real accesses `2·offset + {0, 1} + Σ i·2s`. Slots hold complex
//!   scalars the same way (the planner aligns `c128` slots to 16 bytes);
//! - stores and sum reductions split into one per part (a complex sum is two real sums, so it keeps the
//!   real reductions' fixed order and threading); `reduce_prod` is not a part-wise operation and is planned
//!   as a host step;
//! - every operation is spelled with real kernel ops: `mul`/`div` with `num_complex`'s textbook formulas
//!   (bit for bit the interpreter's), transcendentals from the real ones of [`crate::math`] (`exp`, `expm1`,
//!   `log`, `log1p`, `sin`, `cos`, `atan2`, `sqrt`), with formulas that stay accurate where the textbook
//!   ones overflow or cancel: `tanh` as `(sinh a cosh a + i sin b cos b) / (sinh² a + cos² b)` and `±1` for
//!   large `|a|` (`num_complex`'s `(sinh 2a + i sin 2b) / (cosh 2a + cos 2b)` is NaN from `|a| ≈ 355`),
//!   `sinh`/`cosh` that overflow only where the result does, `sqrt` by Kahan's `t = √((|a| + |z|)/2)` instead
//!   of the polar form, and `|z|`, `ln |z|` and that `t` without overflow (in f64 for `c64`, scaled by the
//!   larger part for `c128`).
//!
//! Complex loads and stores are strided by 2 in the real view. The vector loop reads the parts of `W`
//! elements as two full vectors split by a shuffle into a vector of real parts and one of imaginary
//! parts ([`load_part`]), and writes them back interleaved ([`store_parts`]), so complex programs of one
//! real type are SIMD like real ones. `|z|`, `ln |z|` and `√z` of `c64` work in f64 (one rounding, no
//! overflow), which mixes widths, so nests using them run the scalar loop.

use crate::error::CodegenError;
use crate::kir::{Access, KOp, LoopNest, Reduction, Store};
use cranelift_codegen::ir::{types, ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use gradjit_ir::{BinaryOp, CompareOp, DType, ReduceOp, Scalar, UnaryOp};
use std::borrow::Cow;

/// A value of the original nest in the legalised one: one real op, or the ops of its two parts.
#[derive(Clone, Copy, Debug)]
enum Part {
    Real(usize),
    Pair(usize, usize),
}

/// A complex value as its parts' op indices.
type Cx = (usize, usize);

fn unsupported(what: String) -> CodegenError {
    CodegenError::Unsupported(format!("complex kernel: {what}"))
}

/// `nest` with every complex value split into real parts (borrowed unchanged when it has none).
pub(crate) fn legalize(nest: &LoopNest) -> Result<Cow<'_, LoopNest>, CodegenError> {
    if !nest.ops.iter().any(|(_, d)| d.is_complex()) {
        return Ok(Cow::Borrowed(nest));
    }
    let mut e = Emitter { ops: Vec::with_capacity(nest.ops.len() * 4), f: DType::F32 };
    let mut parts: Vec<Part> = Vec::with_capacity(nest.ops.len());
    for (op, dt) in &nest.ops {
        let p = e.op(op, *dt, nest, &parts)?;
        parts.push(p);
    }
    let mut out = LoopNest { dims: nest.dims.clone(), ops: e.ops, stores: vec![], reductions: vec![] };
    for s in &nest.stores {
        match parts[s.value] {
            Part::Real(v) => out.stores.push(Store { value: v, to: s.to.clone() }),
            Part::Pair(re, im) => {
                out.stores.push(Store { value: re, to: part_access(&s.to, 0) });
                out.stores.push(Store { value: im, to: part_access(&s.to, 1) });
            }
        }
    }
    for r in &nest.reductions {
        match parts[r.value] {
            Part::Real(v) => out.reductions.push(Reduction { value: v, ..r.clone() }),
            Part::Pair(re, im) if r.op == ReduceOp::Sum => {
                for (value, k) in [(re, 0), (im, 1)] {
                    out.reductions.push(Reduction { value, to: part_access(&r.to, k), ..r.clone() });
                }
            }
            Part::Pair(..) => return Err(unsupported(format!("{} in a loop", r.op.name()))),
        }
    }
    Ok(Cow::Owned(out))
}

/// The real part (`k = 0`) or imaginary part (`k = 1`) of a complex access, in units of the real type.
fn part_access(a: &Access, k: i64) -> Access {
    Access { arg: a.arg, offset: 2 * a.offset + k, strides: a.strides.iter().map(|s| 2 * s).collect() }
}

/// Appends real ops; `f` is the real type of the complex operation being spelled out.
struct Emitter {
    ops: Vec<(KOp, DType)>,
    f: DType,
}

impl Emitter {
    fn push(&mut self, op: KOp, dt: DType) -> usize {
        self.ops.push((op, dt));
        self.ops.len() - 1
    }

    // ---- real building blocks (in the type `self.f`) ----

    fn c(&mut self, v: f64) -> usize {
        let f = self.f;
        self.push(KOp::Const(Scalar::from_f64(v, f)), f)
    }
    fn un(&mut self, op: UnaryOp, a: usize) -> usize {
        let f = self.f;
        self.push(KOp::Unary(op, a), f)
    }
    fn bin(&mut self, op: BinaryOp, a: usize, b: usize) -> usize {
        let f = self.f;
        self.push(KOp::Binary(op, a, b), f)
    }
    fn add(&mut self, a: usize, b: usize) -> usize {
        self.bin(BinaryOp::Add, a, b)
    }
    fn sub(&mut self, a: usize, b: usize) -> usize {
        self.bin(BinaryOp::Sub, a, b)
    }
    fn mul(&mut self, a: usize, b: usize) -> usize {
        self.bin(BinaryOp::Mul, a, b)
    }
    fn div(&mut self, a: usize, b: usize) -> usize {
        self.bin(BinaryOp::Div, a, b)
    }
    fn neg(&mut self, a: usize) -> usize {
        self.un(UnaryOp::Neg, a)
    }
    fn abs(&mut self, a: usize) -> usize {
        self.un(UnaryOp::Abs, a)
    }
    fn cmp(&mut self, op: CompareOp, a: usize, b: usize) -> usize {
        self.push(KOp::Compare(op, a, b), DType::Bool)
    }
    fn and(&mut self, a: usize, b: usize) -> usize {
        self.push(KOp::Binary(BinaryOp::And, a, b), DType::Bool)
    }
    fn or(&mut self, a: usize, b: usize) -> usize {
        self.push(KOp::Binary(BinaryOp::Or, a, b), DType::Bool)
    }
    fn not(&mut self, a: usize) -> usize {
        self.push(KOp::Unary(UnaryOp::Not, a), DType::Bool)
    }
    fn select(&mut self, p: usize, a: usize, b: usize) -> usize {
        let f = self.f;
        self.push(KOp::Select(p, a, b), f)
    }
    fn convert(&mut self, x: usize, from: DType, to: DType) -> usize {
        if from == to {
            x
        } else {
            self.push(KOp::Convert(x), to)
        }
    }
    /// `x == 0` (either zero).
    fn is_zero(&mut self, x: usize) -> usize {
        let zero = self.c(0.0);
        self.cmp(CompareOp::Eq, x, zero)
    }
    /// The sign bit of `x` without bit casts: `x < 0` or `1/x < 0` (true for `-0`).
    fn signbit(&mut self, x: usize) -> usize {
        let (zero, one) = (self.c(0.0), self.c(1.0));
        let neg = self.cmp(CompareOp::Lt, x, zero);
        let r = self.div(one, x);
        let neg_zero = self.cmp(CompareOp::Lt, r, zero);
        self.or(neg, neg_zero)
    }
    /// `-x` where `c` holds, else `x`.
    fn negate_if(&mut self, c: usize, x: usize) -> usize {
        let n = self.neg(x);
        self.select(c, n, x)
    }

    /// `x² + y²` of f32 parts in f64, where the squares are exact and nothing overflows or underflows.
    fn wide_norm_sqr(&mut self, x: usize, y: usize) -> usize {
        let (x64, y64) = (self.convert(x, DType::F32, DType::F64), self.convert(y, DType::F32, DType::F64));
        self.f = DType::F64;
        let (xx, yy) = (self.mul(x64, x64), self.mul(y64, y64));
        let s = self.add(xx, yy);
        self.f = DType::F32;
        s
    }

    /// `√(x² + y²)/2` of f64 parts as `(m/2)·√(1 + (n/m)²)` with `m = max(|x|, |y|)`, `n = min(|x|, |y|)`:
    /// the ratio is at most 1, so nothing overflows, even where `|z|` itself would.
    fn half_hypot(&mut self, x: usize, y: usize) -> usize {
        let (m, n) = self.max_min_abs(x, y);
        let r = self.div(n, m);
        let rr = self.mul(r, r);
        let (half, one, zero) = (self.c(0.5), self.c(1.0), self.c(0.0));
        let s = self.add(one, rr);
        let q = self.un(UnaryOp::Sqrt, s);
        let hm = self.mul(half, m);
        let h = self.mul(hm, q);
        let m_zero = self.is_zero(m);
        self.select(m_zero, zero, h)
    }

    fn max_min_abs(&mut self, x: usize, y: usize) -> (usize, usize) {
        let (ax, ay) = (self.abs(x), self.abs(y));
        (self.bin(BinaryOp::Max, ax, ay), self.bin(BinaryOp::Min, ax, ay))
    }

    /// `v`, or `+∞` where `x` or `y` is infinite (even with a NaN beside it), as C's `hypot`.
    fn inf_if_any_inf(&mut self, x: usize, y: usize, v: usize) -> usize {
        let (ax, ay) = (self.abs(x), self.abs(y));
        let inf = self.c(f64::INFINITY);
        let x_inf = self.cmp(CompareOp::Eq, ax, inf);
        let y_inf = self.cmp(CompareOp::Eq, ay, inf);
        let any_inf = self.or(x_inf, y_inf);
        self.select(any_inf, inf, v)
    }

    /// `|x + iy|` without overflow or underflow: in f64 for f32 parts (one rounding), scaled for f64 ones.
    fn hypot(&mut self, x: usize, y: usize) -> usize {
        let h = if self.f == DType::F32 {
            let s = self.wide_norm_sqr(x, y);
            self.f = DType::F64;
            let r = self.un(UnaryOp::Sqrt, s);
            self.f = DType::F32;
            self.convert(r, DType::F64, DType::F32)
        } else {
            let h = self.half_hypot(x, y);
            self.add(h, h)
        };
        self.inf_if_any_inf(x, y, h)
    }

    /// `ln |x + iy|`, finite wherever it is defined: `½ ln(x² + y²)` in f64 for f32 parts, and
    /// `ln m + ½ log1p((n/m)²)` for f64 parts (so `|z|` never overflows on the way).
    fn log_abs(&mut self, x: usize, y: usize) -> usize {
        let l = if self.f == DType::F32 {
            let s = self.wide_norm_sqr(x, y);
            self.f = DType::F64;
            let ls = self.un(UnaryOp::Log, s);
            let half = self.c(0.5);
            let l = self.mul(half, ls);
            self.f = DType::F32;
            self.convert(l, DType::F64, DType::F32)
        } else {
            let (m, n) = self.max_min_abs(x, y);
            let r = self.div(n, m);
            let rr = self.mul(r, r);
            let lr = self.un(UnaryOp::Log1p, rr);
            let half = self.c(0.5);
            let hl = self.mul(half, lr);
            let lm = self.un(UnaryOp::Log, m);
            let l = self.add(lm, hl);
            let m_zero = self.is_zero(m);
            let minus_inf = self.c(f64::NEG_INFINITY);
            self.select(m_zero, minus_inf, l)
        };
        self.inf_if_any_inf(x, y, l)
    }

    /// `(sinh x, cosh x)`, accurate near 0 (through `expm1`) and finite wherever the results are.
    fn sinh_cosh(&mut self, x: usize) -> (usize, usize) {
        let ax = self.abs(x);
        let (half, one) = (self.c(0.5), self.c(1.0));
        // |x| < 1: sinh = (m + m/(m+1))/2 with m = expm1(|x|).
        let m = self.un(UnaryOp::Expm1, ax);
        let m1 = self.add(m, one);
        let q = self.div(m, m1);
        let mq = self.add(m, q);
        let small = self.mul(half, mq);
        // e^|x|/2, from (e^(|x|/2)/2)·e^(|x|/2) where e^|x| overflows but e^|x|/2 need not.
        let e = self.un(UnaryOp::Exp, ax);
        let half_e_direct = self.mul(half, e);
        let hx = self.mul(half, ax);
        let h = self.un(UnaryOp::Exp, hx);
        let hh = self.mul(half, h);
        let half_e_split = self.mul(hh, h);
        let inf = self.c(f64::INFINITY);
        let e_inf = self.cmp(CompareOp::Eq, e, inf);
        let half_e = self.select(e_inf, half_e_split, half_e_direct);
        let quarter = self.c(0.25);
        let half_inv = self.div(quarter, half_e);
        let big = self.sub(half_e, half_inv);
        let cosh = self.add(half_e, half_inv);
        let is_small = self.cmp(CompareOp::Lt, ax, one);
        let sinh_abs = self.select(is_small, small, big);
        let zero = self.c(0.0);
        let x_neg = self.cmp(CompareOp::Lt, x, zero);
        let sinh = self.negate_if(x_neg, sinh_abs);
        (sinh, cosh)
    }

    // ---- complex operations on (re, im) pairs ----

    fn cadd(&mut self, (a, b): Cx, (c, d): Cx) -> Cx {
        (self.add(a, c), self.add(b, d))
    }

    /// `num_complex`'s product: `(ac − bd) + i(ad + bc)`.
    fn cmul(&mut self, (a, b): Cx, (c, d): Cx) -> Cx {
        let (ac, bd) = (self.mul(a, c), self.mul(b, d));
        let (ad, bc) = (self.mul(a, d), self.mul(b, c));
        (self.sub(ac, bd), self.add(ad, bc))
    }

    /// `num_complex`'s quotient: `((ac + bd) + i(bc − ad)) / (c² + d²)` (so `x / 0` is NaN, as in the interpreter).
    fn cdiv(&mut self, (a, b): Cx, (c, d): Cx) -> Cx {
        let (cc, dd) = (self.mul(c, c), self.mul(d, d));
        let n = self.add(cc, dd);
        let (ac, bd) = (self.mul(a, c), self.mul(b, d));
        let re = self.add(ac, bd);
        let (bc, ad) = (self.mul(b, c), self.mul(a, d));
        let im = self.sub(bc, ad);
        (self.div(re, n), self.div(im, n))
    }

    fn one(&mut self) -> Cx {
        (self.c(1.0), self.c(0.0))
    }

    /// `e^a (cos b + i sin b)`, with `num_complex`'s special cases: `e^(x ± 0i)` keeps the imaginary zero
    /// (where `∞ · 0` would be NaN), `e^(-∞ + iy) = 0` and `e^(+∞ + iy) = ∞ + NaN i` for non-finite `y`.
    fn cexp(&mut self, (a, b): Cx) -> Cx {
        let ea = self.un(UnaryOp::Exp, a);
        let (cb, sb) = (self.un(UnaryOp::Cos, b), self.un(UnaryOp::Sin, b));
        let re = self.mul(ea, cb);
        let im = self.mul(ea, sb);
        let b_zero = self.is_zero(b);
        let im = self.select(b_zero, b, im);
        let ab = self.abs(b);
        let (zero, inf, minus_inf) = (self.c(0.0), self.c(f64::INFINITY), self.c(f64::NEG_INFINITY));
        let b_finite = self.cmp(CompareOp::Lt, ab, inf);
        let b_nonfinite = self.not(b_finite);
        let a_minus_inf = self.cmp(CompareOp::Eq, a, minus_inf);
        let vanish = self.and(a_minus_inf, b_nonfinite);
        let a_inf = self.cmp(CompareOp::Eq, a, inf);
        let blow_up = self.and(a_inf, b_nonfinite);
        let re = self.select(blow_up, inf, re);
        (self.select(vanish, zero, re), self.select(vanish, zero, im))
    }

    /// `ln|z| + i arg z` (principal branch, cut along the negative reals).
    fn clog(&mut self, (a, b): Cx) -> Cx {
        (self.log_abs(a, b), self.bin(BinaryOp::Atan2, b, a))
    }

    /// Principal square root by `t = √((|a| + |z|)/2)`: `(t, b/2t)` for `a ≥ 0`, `(|b|/2t, ±t)` otherwise.
    /// Both parts are computed without cancellation (the polar form loses the small part near the cut).
    fn csqrt(&mut self, (a, b): Cx) -> Cx {
        let t = self.sqrt_half_sum(a, b);
        let two_t = self.add(t, t);
        let b_over = self.div(b, two_t);
        let ab = self.abs(b);
        let ab_over = self.div(ab, two_t);
        let b_neg = self.signbit(b);
        let t_signed = self.negate_if(b_neg, t);
        let zero = self.c(0.0);
        let right = self.cmp(CompareOp::Ge, a, zero);
        let re = self.select(right, t, ab_over);
        let im = self.select(right, b_over, t_signed);
        // √(x ± 0i) keeps the imaginary zero unless x < 0 (b/2t is NaN for x = 0 or NaN); √(x ± i∞) = ∞ ± i∞.
        let b_zero = self.is_zero(b);
        let a_neg = self.cmp(CompareOp::Lt, a, zero);
        let a_not_neg = self.not(a_neg);
        let keep_b = self.and(b_zero, a_not_neg);
        let im = self.select(keep_b, b, im);
        let inf = self.c(f64::INFINITY);
        let b_inf = self.cmp(CompareOp::Eq, ab, inf);
        (self.select(b_inf, inf, re), self.select(b_inf, b, im))
    }

    /// `√((|a| + |z|)/2)` without overflow: in f64 for f32 parts, through `half_hypot` for f64 ones.
    fn sqrt_half_sum(&mut self, a: usize, b: usize) -> usize {
        if self.f == DType::F32 {
            let s = self.wide_norm_sqr(a, b);
            let a64 = self.convert(a, DType::F32, DType::F64);
            self.f = DType::F64;
            let r = self.un(UnaryOp::Sqrt, s);
            let aa = self.abs(a64);
            let sum = self.add(aa, r);
            let half = self.c(0.5);
            let hs = self.mul(half, sum);
            let t = self.un(UnaryOp::Sqrt, hs);
            self.f = DType::F32;
            self.convert(t, DType::F64, DType::F32)
        } else {
            let hr = self.half_hypot(a, b);
            let aa = self.abs(a);
            let half = self.c(0.5);
            let ha = self.mul(half, aa);
            let s = self.add(ha, hr);
            self.un(UnaryOp::Sqrt, s)
        }
    }

    /// `sin a cosh b + i cos a sinh b`.
    fn csin(&mut self, (a, b): Cx) -> Cx {
        let (sh, ch) = self.sinh_cosh(b);
        let (sa, ca) = (self.un(UnaryOp::Sin, a), self.un(UnaryOp::Cos, a));
        (self.mul(sa, ch), self.mul(ca, sh))
    }

    /// `cos a cosh b − i sin a sinh b`.
    fn ccos(&mut self, (a, b): Cx) -> Cx {
        let (sh, ch) = self.sinh_cosh(b);
        let (sa, ca) = (self.un(UnaryOp::Sin, a), self.un(UnaryOp::Cos, a));
        let re = self.mul(ca, ch);
        let sa_sh = self.mul(sa, sh);
        (re, self.neg(sa_sh))
    }

    /// `(sinh a cosh a + i sin b cos b) / (sinh² a + cos² b)`: the denominator is `(cosh 2a + cos 2b)/2`
    /// without its cancellation near the poles; beyond `|a| = T` the real part is `±1` to the last bit
    /// (where `sinh a cosh a / sinh² a` would be ∞/∞).
    fn ctanh(&mut self, (a, b): Cx) -> Cx {
        let (sh, ch) = self.sinh_cosh(a);
        let (sb, cb) = (self.un(UnaryOp::Sin, b), self.un(UnaryOp::Cos, b));
        let (ss, cc) = (self.mul(sh, sh), self.mul(cb, cb));
        let d = self.add(ss, cc);
        let (num_re, num_im) = (self.mul(sh, ch), self.mul(sb, cb));
        let re = self.div(num_re, d);
        let im = self.div(num_im, d);
        // 1 − tanh(T) = 2e^(−2T) is below half an ulp of 1: T = 10 (f32), 20 (f64).
        let limit = self.c(if self.f == DType::F32 { 10.0 } else { 20.0 });
        let aa = self.abs(a);
        let big = self.cmp(CompareOp::Gt, aa, limit);
        let (zero, one) = (self.c(0.0), self.c(1.0));
        let a_neg = self.cmp(CompareOp::Lt, a, zero);
        let unit = self.negate_if(a_neg, one);
        (self.select(big, unit, re), im)
    }

    /// `tan z = −i tanh(iz)`.
    fn ctan(&mut self, (a, b): Cx) -> Cx {
        let nb = self.neg(b);
        let (u, v) = self.ctanh((nb, a));
        (v, self.neg(u))
    }

    /// The interpreter's `expm1`: `(expm1(a) cos b − 2 sin²(b/2)) + i e^a sin b`.
    fn cexpm1(&mut self, (a, b): Cx) -> Cx {
        let (half, two) = (self.c(0.5), self.c(2.0));
        let hb = self.mul(b, half);
        let hs = self.un(UnaryOp::Sin, hb);
        let em = self.un(UnaryOp::Expm1, a);
        let cb = self.un(UnaryOp::Cos, b);
        let t = self.mul(em, cb);
        let ths = self.mul(two, hs);
        let s2 = self.mul(ths, hs);
        let re = self.sub(t, s2);
        let ea = self.un(UnaryOp::Exp, a);
        let sb = self.un(UnaryOp::Sin, b);
        (re, self.mul(ea, sb))
    }

    /// The interpreter's `log1p`: `½ log1p(2a + a² + b²) + i atan2(b, 1 + a)`.
    fn clog1p(&mut self, (a, b): Cx) -> Cx {
        let (half, one, two) = (self.c(0.5), self.c(1.0), self.c(2.0));
        let two_a = self.mul(two, a);
        let aa = self.mul(a, a);
        let bb = self.mul(b, b);
        let s = self.add(two_a, aa);
        let s = self.add(s, bb);
        let l = self.un(UnaryOp::Log1p, s);
        let re = self.mul(half, l);
        let a1 = self.add(one, a);
        (re, self.bin(BinaryOp::Atan2, b, a1))
    }

    /// `z / |z|`, and `0` for `0`.
    fn csign(&mut self, (a, b): Cx) -> Cx {
        let r = self.hypot(a, b);
        let (ra, rb) = (self.div(a, r), self.div(b, r));
        let r_zero = self.is_zero(r);
        (self.select(r_zero, a, ra), self.select(r_zero, b, rb))
    }

    /// The interpreter's `pow`: `exp(w ln z)`, with `z^0 = 1` and `0^w = 0` for `re w > 0`.
    fn cpow(&mut self, z: Cx, w: Cx) -> Cx {
        let l = self.clog(z);
        let p = self.cmul(w, l);
        let (re, im) = self.cexp(p);
        let (w_re0, w_im0) = (self.is_zero(w.0), self.is_zero(w.1));
        let w_zero = self.and(w_re0, w_im0);
        let (z_re0, z_im0) = (self.is_zero(z.0), self.is_zero(z.1));
        let z_zero = self.and(z_re0, z_im0);
        let zero = self.c(0.0);
        let w_pos = self.cmp(CompareOp::Gt, w.0, zero);
        let vanish = self.and(z_zero, w_pos);
        let (re, im) = (self.select(vanish, zero, re), self.select(vanish, zero, im));
        let one = self.c(1.0);
        (self.select(w_zero, one, re), self.select(w_zero, zero, im))
    }

    /// `x^y` by the interpreter's (JAX's) multiplication sequence, `1 / x^|y|` for negative `y`.
    fn cinteger_pow(&mut self, x: Cx, y: i32) -> Cx {
        let mut n = y.unsigned_abs();
        let (mut acc, mut square): (Option<Cx>, Cx) = (None, x);
        while n > 0 {
            if n & 1 == 1 {
                acc = Some(match acc {
                    None => square,
                    Some(a) => self.cmul(a, square),
                });
            }
            n >>= 1;
            if n > 0 {
                square = self.cmul(square, square);
            }
        }
        let acc = match acc {
            Some(a) => a,
            None => self.one(),
        };
        if y < 0 {
            let one = self.one();
            self.cdiv(one, acc)
        } else {
            acc
        }
    }

    fn cunary(&mut self, op: UnaryOp, z: Cx) -> Result<Part, CodegenError> {
        use UnaryOp::*;
        let pair = |(re, im): Cx| Part::Pair(re, im);
        Ok(match op {
            Real => Part::Real(z.0),
            Imag => Part::Real(z.1),
            Abs => Part::Real(self.hypot(z.0, z.1)),
            Conj => Part::Pair(z.0, self.neg(z.1)),
            Neg => Part::Pair(self.neg(z.0), self.neg(z.1)),
            Sign => pair(self.csign(z)),
            Exp => pair(self.cexp(z)),
            Expm1 => pair(self.cexpm1(z)),
            Log => pair(self.clog(z)),
            Log1p => pair(self.clog1p(z)),
            Sqrt => pair(self.csqrt(z)),
            Rsqrt => {
                let s = self.csqrt(z);
                let one = self.one();
                pair(self.cdiv(one, s))
            }
            Sin => pair(self.csin(z)),
            Cos => pair(self.ccos(z)),
            Tan => pair(self.ctan(z)),
            Tanh => pair(self.ctanh(z)),
            Logistic => {
                let nz = (self.neg(z.0), self.neg(z.1));
                let e = self.cexp(nz);
                let one = self.one();
                let d = self.cadd(one, e);
                let one = self.one();
                pair(self.cdiv(one, d))
            }
            Erf | Floor | Ceil | Round | IsFinite | Not => {
                return Err(unsupported(format!("{} on complex", op.name())))
            }
        })
    }

    fn cbinary(&mut self, op: BinaryOp, x: Cx, y: Cx) -> Result<Cx, CodegenError> {
        Ok(match op {
            BinaryOp::Add => self.cadd(x, y),
            BinaryOp::Sub => (self.sub(x.0, y.0), self.sub(x.1, y.1)),
            BinaryOp::Mul => self.cmul(x, y),
            BinaryOp::Div => self.cdiv(x, y),
            BinaryOp::Pow => self.cpow(x, y),
            _ => return Err(unsupported(format!("{} on complex", op.name()))),
        })
    }

    /// The legalised form of op `op` (of dtype `dt`) of `nest`, whose earlier ops are `parts`.
    fn op(&mut self, op: &KOp, dt: DType, nest: &LoopNest, parts: &[Part]) -> Result<Part, CodegenError> {
        let real = |i: usize| match parts[i] {
            Part::Real(v) => Ok(v),
            Part::Pair(..) => Err(unsupported("a complex operand where a real one is expected".into())),
        };
        let pair = |i: usize| match parts[i] {
            Part::Pair(re, im) => Ok((re, im)),
            Part::Real(_) => Err(unsupported("a real operand where a complex one is expected".into())),
        };
        let src_dt = |i: usize| nest.ops[i].1;
        self.f = dt.real();
        let f = self.f;
        // Operations that take or give complex values.
        match *op {
            KOp::Load(ref a) if dt.is_complex() => {
                let re = self.push(KOp::Load(part_access(a, 0)), f);
                return Ok(Part::Pair(re, self.push(KOp::Load(part_access(a, 1)), f)));
            }
            KOp::Const(s) if dt.is_complex() => {
                let c = s.to_c128();
                let re = self.push(KOp::Const(Scalar::from_f64(c.re, f)), f);
                return Ok(Part::Pair(re, self.push(KOp::Const(Scalar::from_f64(c.im, f)), f)));
            }
            KOp::Index(ref coefs) if dt.is_complex() => {
                let re = self.push(KOp::Index(coefs.clone()), f);
                return Ok(Part::Pair(re, self.c(0.0)));
            }
            KOp::Unary(o, x) if src_dt(x).is_complex() => return self.cunary(o, pair(x)?),
            KOp::Binary(BinaryOp::Complex, x, y) => return Ok(Part::Pair(real(x)?, real(y)?)),
            KOp::Binary(o, x, y) if dt.is_complex() => {
                let (re, im) = self.cbinary(o, pair(x)?, pair(y)?)?;
                return Ok(Part::Pair(re, im));
            }
            KOp::Compare(o, x, y) if src_dt(x).is_complex() => {
                let ((a, b), (c, d)) = (pair(x)?, pair(y)?);
                self.f = src_dt(x).real();
                let (re, im) = (self.cmp(o, a, c), self.cmp(o, b, d));
                return match o {
                    CompareOp::Eq => Ok(Part::Real(self.and(re, im))),
                    CompareOp::Ne => Ok(Part::Real(self.or(re, im))),
                    _ => Err(unsupported(format!("{} on complex", o.name()))),
                };
            }
            KOp::Select(p, x, y) if dt.is_complex() => {
                let (p, (a, b), (c, d)) = (real(p)?, pair(x)?, pair(y)?);
                let re = self.select(p, a, c);
                return Ok(Part::Pair(re, self.select(p, b, d)));
            }
            KOp::IntegerPow(y, x) if dt.is_complex() => {
                let (re, im) = self.cinteger_pow(pair(x)?, y);
                return Ok(Part::Pair(re, im));
            }
            KOp::Convert(x) if dt.is_complex() || src_dt(x).is_complex() => {
                return self.cconvert(x, src_dt(x), dt, parts)
            }
            _ => {}
        }
        // A real operation: the same op on the legalised operands.
        let op = match *op {
            KOp::Load(_) | KOp::Const(_) | KOp::Index(_) => op.clone(),
            KOp::Unary(o, x) => KOp::Unary(o, real(x)?),
            KOp::Binary(o, x, y) => KOp::Binary(o, real(x)?, real(y)?),
            KOp::Compare(o, x, y) => KOp::Compare(o, real(x)?, real(y)?),
            KOp::Select(p, x, y) => KOp::Select(real(p)?, real(x)?, real(y)?),
            KOp::Convert(x) => KOp::Convert(real(x)?),
            KOp::IntegerPow(y, x) => KOp::IntegerPow(y, real(x)?),
        };
        Ok(Part::Real(self.push(op, dt)))
    }

    /// `convert_element_type` to or from complex, with the interpreter's rules: complex → real drops the
    /// imaginary part, complex → bool is `z != 0`, anything → complex has a zero imaginary part.
    fn cconvert(&mut self, x: usize, from: DType, to: DType, parts: &[Part]) -> Result<Part, CodegenError> {
        match (parts[x], to.is_complex()) {
            (Part::Pair(re, im), true) => {
                let (fr, tr) = (from.real(), to.real());
                Ok(Part::Pair(self.convert(re, fr, tr), self.convert(im, fr, tr)))
            }
            (Part::Pair(re, im), false) if to == DType::Bool => {
                self.f = from.real();
                let zero = self.c(0.0);
                let (nr, ni) = (self.cmp(CompareOp::Ne, re, zero), self.cmp(CompareOp::Ne, im, zero));
                Ok(Part::Real(self.or(nr, ni)))
            }
            (Part::Pair(re, _), false) => Ok(Part::Real(self.convert(re, from.real(), to))),
            (Part::Real(v), true) => {
                self.f = to.real();
                let re = self.convert(v, from, to.real());
                Ok(Part::Pair(re, self.c(0.0)))
            }
            (Part::Real(_), false) => Err(unsupported(format!("conversion {from} -> {to}"))),
        }
    }
}

// ------------------------------------------------------------------------------------------------ SIMD

/// Whether `a` (of a legalised nest, with innermost stride 2) is one part of a complex access whose other
/// part `nest` also touches (through `others`): then a vector loop can read or write both parts of `W`
/// elements with two full vectors and a shuffle, never touching memory outside the `W` elements.
fn pairs_with<'n>(a: &Access, inner: usize, mut others: impl Iterator<Item = &'n Access>) -> bool {
    let partner = if a.offset.rem_euclid(2) == 0 { a.offset + 1 } else { a.offset - 1 };
    a.strides[inner] == 2
        && a.strides.iter().all(|s| s % 2 == 0)
        && others.any(|o| o.arg == a.arg && o.strides == a.strides && o.offset == partner)
}

/// A load of one part of complex memory, whose other part the nest loads too.
pub(crate) fn is_part_load(nest: &LoopNest, a: &Access, inner: usize) -> bool {
    let loads = nest.ops.iter().filter_map(|(op, _)| if let KOp::Load(l) = op { Some(l) } else { None });
    pairs_with(a, inner, loads)
}

/// A store of one part of complex memory, whose other part the nest stores too.
pub(crate) fn is_part_store(nest: &LoopNest, s: &Store, inner: usize) -> bool {
    pairs_with(&s.to, inner, nest.stores.iter().map(|t| &t.to))
}

/// The store of the imaginary part paired with real-part store `s` (see [`is_part_store`]).
pub(crate) fn imag_store<'n>(nest: &'n LoopNest, s: &Store) -> Option<&'n Store> {
    let t = &s.to;
    nest.stores.iter().find(|o| o.to.arg == t.arg && o.to.strides == t.strides && o.to.offset == t.offset + 1)
}

/// Byte indices into the 32 bytes of two vectors (`a` then `b`) taking lanes `lanes` of `lane_bytes` each.
fn shuffle_mask(lanes: &[u8], lane_bytes: u8) -> [u8; 16] {
    let mut m = [0u8; 16];
    for (i, &l) in lanes.iter().enumerate() {
        for k in 0..lane_bytes {
            m[i * lane_bytes as usize + k as usize] = l * lane_bytes + k;
        }
    }
    m
}

fn shuffle(b: &mut FunctionBuilder, x: Value, y: Value, lanes: &[u8]) -> Value {
    let ty = b.func.dfg.value_type(x);
    let little = MemFlagsData::new().with_endianness(Endianness::Little);
    let (bx, by) = (b.ins().bitcast(types::I8X16, little, x), b.ins().bitcast(types::I8X16, little, y));
    let mask = shuffle_mask(lanes, (ty.lane_bits() / 8) as u8);
    let imm = b.func.dfg.immediates.push(ConstantData::from(&mask[..]));
    let s = b.ins().shuffle(bx, by, imm);
    b.ins().bitcast(ty, little, s)
}

/// The real (`odd = false`) or imaginary parts of the vector's worth of complex elements at `even_addr`.
pub(crate) fn load_part(b: &mut FunctionBuilder, ty: Type, even_addr: Value, odd: bool) -> Value {
    let mem = MemFlagsData::trusted();
    let lo = b.ins().load(ty, mem, even_addr, 0);
    let hi = b.ins().load(ty, mem, even_addr, 16);
    let first = u8::from(odd);
    let lanes: Vec<u8> = (0..ty.lane_count() as u8).map(|l| 2 * l + first).collect();
    shuffle(b, lo, hi, &lanes)
}

/// Stores parts `re` and `im` of a vector's worth of complex elements, interleaved, at `addr`.
pub(crate) fn store_parts(b: &mut FunctionBuilder, re: Value, im: Value, addr: Value) {
    let n = b.func.dfg.value_type(re).lane_count() as u8;
    let half = n / 2;
    let lo_lanes: Vec<u8> = (0..half).flat_map(|l| [l, n + l]).collect();
    let hi_lanes: Vec<u8> = (half..n).flat_map(|l| [l, n + l]).collect();
    let lo = shuffle(b, re, im, &lo_lanes);
    let hi = shuffle(b, re, im, &hi_lanes);
    let mem = MemFlagsData::trusted();
    b.ins().store(mem, lo, addr, 0);
    b.ins().store(mem, hi, addr, 16);
}
