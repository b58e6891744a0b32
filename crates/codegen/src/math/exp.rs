//! `exp`, `expm1` and the functions built on them (`logistic`, `tanh` live in `hyperbolic.rs`).
//!
//! Reduction: `x = n ln2 + r` with `n = round(x / ln2)`, `|r| <= ln2 / 2`, where `n ln2` is subtracted in two
//! `fma` steps (Cody-Waite with an exact product: `ln2_hi` and `ln2_lo` together hold ~106 bits of ln 2).
//! Then `exp(r)` is a minimax polynomial (degree 6 for f32, 11 for f64) by Horner's rule, and `2^n` is built in
//! the exponent field with integer ops. `expm1` keeps the form `r + r^2 q(r)` with the Taylor coefficients `1/k!`
//! (degree 8 / 13: truncation below 0.3 ulp), since it must stay accurate where `exp(r) - 1` cancels.

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

use super::builder::{MathBuilder, Precision};

const LN2_HI: f64 = std::f64::consts::LN_2;
/// ln 2 - LN2_HI, so LN2_HI + LN2_LO carries ln 2 to about 2^-107.
const LN2_LO: f64 = 2.319_046_813_846_299_6e-17;
/// For f32: ln 2 rounded to f32, and the rest rounded to f32.
const LN2_HI_F32: f64 = 0.693_147_182_464_599_6;
const LN2_LO_F32: f64 = -1.904_654_212_125_933_6e-9;

/// `1/k!` for k = 2.., the tail of the exponential series after `1 + r`.
const INV_FACTORIALS: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
];

/// Minimax coefficients of `exp(r)` on `|r| <= ln2 / 2` (`fit.py exp_*`, relative error 1.7e-8 / 2.2e-17: well
/// below the final rounding, with fewer terms than the Taylor series).
const EXP_F32: [f64; 7] = [
    1.0,
    1.0,
    0.49999991059303284,
    0.16666419804096222,
    0.04166822507977486,
    0.008374819532036781,
    0.0013836851576343179,
];
const EXP_F64: [f64; 12] = [
    1.0,
    1.0,
    0.5000000000000018,
    0.1666666666666617,
    0.04166666666649274,
    0.008333333333559302,
    0.0013888888951231815,
    0.00019841269432642518,
    2.480148651298329e-05,
    2.7557622542351194e-06,
    2.763229642307187e-07,
    2.4994307224625207e-08,
];

/// Inputs beyond which `exp` is `+inf` / `0` for certain (the exact thresholds are handled by the scaling itself).
fn exp_limits(prec: Precision) -> (f64, f64) {
    prec.pick((-104.0, 89.0), (-746.0, 710.0))
}

/// `expm1(x) - r` for the reduced `r`: `r^2 (1/2 + r/6 + ...)`.
fn expm1_tail(m: &mut MathBuilder, r: Value) -> Value {
    let terms = m.prec.pick(7, 12);
    let q = m.poly(r, &INV_FACTORIALS[..terms]);
    let r2 = m.mul(r, r);
    m.mul(r2, q)
}

/// Splits `x = n ln2 + r`; returns `(r, n, n as integer)`. Needs `|x| < 2^(mantissa_bits - 2)`.
fn reduce_ln2(m: &mut MathBuilder, x: Value) -> (Value, Value, Value) {
    let (hi, lo) = m.prec.pick((LN2_HI_F32, LN2_LO_F32), (LN2_HI, LN2_LO));
    let t = m.mul_c(x, std::f64::consts::LOG2_E);
    let (n, n_int) = m.round_int(t);
    let neg_n = m.neg(n);
    let r = m.fma_c(neg_n, hi, x);
    let r = m.fma_c(neg_n, lo, r);
    (r, n, n_int)
}

pub(crate) fn exp(m: &mut MathBuilder, x: Value) -> Value {
    exp_dd(m, x, None)
}

/// `exp(x + tail)` for a double-word argument (`|tail| <= ulp(x)`): `tail` joins the reduced argument, so
/// `pow` gets the accuracy of its double-double `y log x` into the result.
pub(crate) fn exp_dd(m: &mut MathBuilder, x: Value, tail: Option<Value>) -> Value {
    let (lo, hi) = exp_limits(m.prec);
    let xc = m.clamp(x, lo, hi);
    let (r, _, n) = reduce_ln2(m, xc);
    let r = match tail {
        Some(t) => m.add(r, t),
        None => r,
    };
    let e = m.poly(r, m.prec.pick(&EXP_F32[..], &EXP_F64[..]));
    let y = m.scale(e, n);
    if tail.is_none() {
        // The clamp limits scale to inf and (through the subnormals) to 0, so +-inf and far-out inputs come out
        // exact, and a NaN passes the clamp and every operation after it: no special cases needed.
        return y;
    }
    // The tail is not clamped: far out, it can be as large as the reduced argument and spoil the result.
    let over = m.gt_c(x, hi);
    let y = m.select_c(over, f64::INFINITY, y);
    let under = m.lt_c(x, lo);
    m.select_c(under, 0.0, y)
}

pub(crate) fn expm1(m: &mut MathBuilder, x: Value) -> Value {
    // Below `lo` the result rounds to -1; clamping there keeps `n` small enough for `2^-n` below.
    let lo = m.prec.pick(-20.0, -40.0);
    let hi = exp_limits(m.prec).1;
    let xc = m.clamp(x, lo, hi);
    let (r, n_f, n) = reduce_ln2(m, xc);
    let tail = expm1_tail(m, r);
    // expm1(x) = 2^n (expm1(r) + 1) - 1 = 2^n ((1 - 2^-n) + r + tail). Adding r to 1 - 2^-n before the small
    // tail avoids the cancellation of (r + tail) + 1/2 at n = 1. For n beyond the precision 1 - 2^-n rounds to 1,
    // so n is capped there to keep 2^-n normal.
    let cap = m.c((m.prec.mantissa_bits() + 8) as f64);
    let n_capped = m.min(n_f, cap);
    let neg_n_capped = m.neg(n_capped);
    let (_, neg_n) = m.round_int(neg_n_capped);
    let two_neg_n = m.exp2_int(neg_n);
    let one = m.c(1.0);
    let c = m.sub(one, two_neg_n);
    let t = m.add(c, r);
    let t = m.add(t, tail);
    let y = m.scale(t, n);
    let over = m.gt_c(x, hi);
    let y = m.select_c(over, f64::INFINITY, y);
    // expm1(+-0) = +-0; the formula gives +0 for -0.
    let zero = m.eq_c(x, 0.0);
    m.select(zero, x, y)
}

/// `exp(2x)` for `0 <= x <= 40` (f32) / `350` (f64), or NaN: the exp inside `tanh`, with none of the work
/// `exp` spends on its full range. `2x = n ln2 + 2r` is reduced as `x = n ln2/2 + r` (two `fma`s, |r| <= ln2/4),
/// `exp(2r)` is the `exp` polynomial with its coefficients scaled by `2^k` (exactly), and `2^n` is a single
/// factor in the normal range. The rounding
/// constant carries the exponent bias, so the bits of `n + shifter`, shifted left by the mantissa width, are
/// `2^n` itself (the shifter's own bits shift out). About 12 instructions on f32x4 against ~50 for `exp`.
pub(crate) fn exp2x_bounded(m: &mut MathBuilder, x: Value) -> Value {
    let (hi, lo) = m.prec.pick((LN2_HI_F32, LN2_LO_F32), (LN2_HI, LN2_LO));
    let mantissa_bits = m.prec.mantissa_bits();
    let shifter = 1.5 * 2f64.powi(mantissa_bits as i32) + m.prec.exponent_bias() as f64;
    let k = m.c(shifter);
    let t = m.fma_c(x, 2.0 * std::f64::consts::LOG2_E, k);
    let n = m.sub(t, k);
    let r = m.fma_c(n, -hi / 2.0, x);
    let r = m.fma_c(n, -lo / 2.0, r);
    let exp_r = m.prec.pick(&EXP_F32[..], &EXP_F64[..]);
    let exp_2r: Vec<f64> = exp_r.iter().zip(0..).map(|(c, k)| c * 2f64.powi(k)).collect();
    let p = m.poly(r, &exp_2r);
    let t_bits = m.bits(t);
    let two_n_bits = m.shl(t_bits, mantissa_bits);
    let two_n = m.float_from_bits(two_n_bits);
    m.mul(p, two_n)
}

pub fn emit_exp(b: &mut FunctionBuilder, x: Value) -> Value {
    exp(&mut MathBuilder::new(b, x), x)
}

pub fn emit_expm1(b: &mut FunctionBuilder, x: Value) -> Value {
    expm1(&mut MathBuilder::new(b, x), x)
}
