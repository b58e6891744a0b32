//! `log` and `log1p`.
//!
//! Reduction (fdlibm's, done on all bits at once): `x = 2^k m` with `m` in `[sqrt(2)/2, sqrt(2))`, found by
//! offsetting the bits so that the exponent field steps at `sqrt(2)`; subnormals are scaled into the normal range
//! first. With `f = m - 1` and `s = f / (2 + f)`:
//!
//! ```text
//! log(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2)),   R(z) = z (2/3 + 2/5 z + ...)
//! ```
//!
//! so the division only feeds the small correction term and the result is within ~1 ulp. `R` is a minimax fit
//! (`fit.py log_f32/log_f64`: degree 4 / 7 in `z`, `|s| <= 0.1716`); our f64 fit reproduces fdlibm's `Lg1..Lg7`.
//! `k ln2` is added in two pieces (`ln2_hi`, `ln2_lo`) so it contributes no rounding error of its own.
//! `log1p(x)` runs the same kernel on `u = 1 + x` and adds the rounding error of that sum, `(x - (u - 1)) / u`.

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

use super::builder::{MathBuilder, Precision};

const R_F32: [f64; 4] = [0.6666666269302368, 0.4000033438205719, 0.2853730618953705, 0.23582173883914948];
const R_F64: [f64; 7] = [
    0.6666666666666734,
    0.3999999999941464,
    0.285714287423956,
    0.22222198572304058,
    0.1818356437495995,
    0.1531404922694076,
    0.14795963687917557,
];

/// ln 2 split so that `k * ln2_hi` is exact for every exponent `k` (the low bits of LN2_HI are zero).
pub(crate) fn ln2_split(prec: Precision) -> (f64, f64) {
    prec.pick(
        (0.693_145_751_953_125, 1.428_606_820_309_417_3e-6),
        (6.931_471_803_691_238e-1, 1.908_214_929_270_587_7e-10),
    )
}

/// Splits `u > 0` finite (normal or subnormal) into `2^k * mant` with `mant` in `[sqrt(2)/2, sqrt(2))`; returns
/// `(k as float, mant)`.
pub(crate) fn decompose(m: &mut MathBuilder, u: Value) -> (Value, Value) {
    let prec = m.prec;
    let mant = prec.mantissa_bits();
    // Scale subnormals up by 2^(mant + 2) so that their exponent field is meaningful.
    let min_normal = prec.pick(f32::MIN_POSITIVE as f64, f64::MIN_POSITIVE);
    let sub = m.lt_c(u, min_normal);
    let up = m.mul_c(u, (2f64).powi(mant as i32 + 2));
    let u = m.select(sub, up, u);
    let zero = m.c(0.0);
    let k_adj = m.c(-(mant as f64) - 2.0);
    let k_adj = m.select(sub, k_adj, zero);

    // Offset the bits so the exponent field increments at sqrt(2) instead of 2.
    let one_bits = prec.exponent_bias() << mant;
    let sqrt_half_bits = prec.pick(0x3f35_04f3, 0x3fe6_a09e_667f_3bcd);
    let mant_mask = (1i64 << mant) - 1;
    let bits = m.bits(u);
    let ix = m.iadd_c(bits, one_bits - sqrt_half_bits);
    let k = m.sshr(ix, mant);
    let k = m.iadd_c(k, -prec.exponent_bias());
    let k = m.int_to_float(k);
    let k = m.add(k, k_adj);
    let m_bits = m.iand_c(ix, mant_mask);
    let m_bits = m.iadd_c(m_bits, sqrt_half_bits);
    (k, m.float_from_bits(m_bits))
}

/// `log(u) + c` for `u > 0` finite (normal or subnormal), `c` a tiny correction (zero for plain `log`).
fn log_kernel(m: &mut MathBuilder, u: Value, c: Option<Value>) -> Value {
    let prec = m.prec;
    let (k, mm) = decompose(m, u);
    let f = m.add_c(mm, -1.0);
    let two_plus_f = m.add_c(f, 2.0);
    let s = m.div(f, two_plus_f);
    let z = m.mul(s, s);
    let r = m.poly(z, prec.pick(&R_F32[..], &R_F64[..]));
    let r = m.mul(r, z);
    let half_f = m.mul_c(f, 0.5);
    let hfsq = m.mul(half_f, f);
    // log = k ln2_hi - ((hfsq - (s (hfsq + R) + k ln2_lo + c)) - f)
    let (ln2_hi, ln2_lo) = ln2_split(prec);
    let hfsq_r = m.add(hfsq, r);
    let low = m.mul_c(k, ln2_lo);
    let low = match c {
        Some(c) => m.add(low, c),
        None => low,
    };
    let low = m.fma(s, hfsq_r, low);
    let t = m.sub(hfsq, low);
    let t = m.sub(t, f);
    let hi = m.mul_c(k, ln2_hi);
    m.sub(hi, t)
}

/// The IEEE special cases shared by `log` and `log1p`, applied on `u` (`x` or `1 + x`).
fn log_specials(m: &mut MathBuilder, u: Value, y: Value) -> Value {
    let inf = m.eq_c(u, f64::INFINITY);
    let y = m.select_c(inf, f64::INFINITY, y);
    let zero = m.eq_c(u, 0.0);
    let y = m.select_c(zero, f64::NEG_INFINITY, y);
    // Negative inputs and NaN give NaN (`!(u >= 0)` holds for both).
    let non_neg = m.ge_c(u, 0.0);
    let invalid = m.not(non_neg);
    m.select_c(invalid, f64::NAN, y)
}

pub(crate) fn log(m: &mut MathBuilder, x: Value) -> Value {
    let y = log_kernel(m, x, None);
    log_specials(m, x, y)
}

pub(crate) fn log1p(m: &mut MathBuilder, x: Value) -> Value {
    let u = m.add_c(x, 1.0);
    // c = (x - (u - 1)) / u: the part of x lost in rounding 1 + x, to first order in log.
    let u_minus_1 = m.add_c(u, -1.0);
    let lost = m.sub(x, u_minus_1);
    let c = m.div(lost, u);
    let y = log_kernel(m, u, Some(c));
    let y = log_specials(m, u, y);
    // log1p(+-0) = +-0 (the kernel gives +0), and tiny x where u rounds to 1 give c = x exactly.
    let zero = m.eq_c(x, 0.0);
    m.select(zero, x, y)
}

pub fn emit_log(b: &mut FunctionBuilder, x: Value) -> Value {
    log(&mut MathBuilder::new(b, x), x)
}

pub fn emit_log1p(b: &mut FunctionBuilder, x: Value) -> Value {
    log1p(&mut MathBuilder::new(b, x), x)
}
