//! `tanh` and `logistic` (the sigmoid `1 / (1 + exp(-x))`), both built on `exp`.
//!
//! `tanh`: for `|x| < 0.625` an odd minimax polynomial `x + x^3 P(x^2)` (`fit.py tanh_*`, 5 / 14 terms), since
//! every exp-based formula cancels there; above it `1 - 2 / (exp(2|x|) + 1)`, whose rounding errors are damped
//! by the subtraction from 1. `|x|` is clamped where the result rounds to 1, so that exp is the cheap
//! `exp2x_bounded` (no overflow, no special cases): about 30 instructions and one division per f32x4.
//!
//! `logistic`: `e = exp(-|x|) <= 1`, then `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` for `x < 0`, so the
//! result never comes from a cancellation and tiny results keep their relative accuracy. A Newton-style
//! correction of the quotient leaves only the error of `exp`.

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

use super::builder::MathBuilder;
use super::exp::{exp, exp2x_bounded};

const TANH_SMALL: f64 = 0.625;
/// A bound above which `tanh` rounds to 1: `2 / (exp(2x) + 1)` is below half an ulp of 1 from `13 ln2` (f32) and
/// `27.5 ln2` (f64) on.
const TANH_SATURATED_F32: f64 = 10.0;
const TANH_SATURATED_F64: f64 = 20.0;
const TANH_P_F32: [f64; 5] =
    [-0.3333328068256378, 0.13331441581249237, -0.053739696741104126, 0.020639019086956978, -0.005704907234758139];
const TANH_P_F64: [f64; 14] = [
    -0.3333333333333333,
    0.13333333333333325,
    -0.05396825396824699,
    0.021869488535866306,
    -0.008863235522798107,
    0.0035921279232558616,
    -0.001455833150527611,
    0.0005900179040945691,
    -0.0002390761551057591,
    9.67020933128227e-05,
    -3.865736205627669e-05,
    1.4630964375374432e-05,
    -4.601805287245307e-06,
    8.541272720447096e-07,
];

pub(crate) fn tanh(m: &mut MathBuilder, x: Value) -> Value {
    // Everything is computed on |x| and the sign of x is put back at the end: the result is odd by construction,
    // tanh(-0) = -0 comes for free, and a NaN stays a NaN. `x ^ sign` is |x| without `fabs`'s own mask.
    let sign = m.sign_of(x);
    let a = m.xor_sign(x, sign);

    let z = m.mul(a, a);
    let p = m.poly(z, m.prec.pick(&TANH_P_F32[..], &TANH_P_F64[..]));
    let az = m.mul(a, z);
    let small = m.fma(az, p, a);

    // Past `TANH_SATURATED` the result rounds to 1, so the exp needs no overflow or special-case handling.
    let saturated = m.c(m.prec.pick(TANH_SATURATED_F32, TANH_SATURATED_F64));
    let ac = m.min(a, saturated);
    let e = exp2x_bounded(m, ac);
    let e1 = m.add_c(e, 1.0);
    let two = m.c(2.0);
    let q = m.div(two, e1);
    let one = m.c(1.0);
    let large = m.sub(one, q);

    // A NaN fails the comparison and keeps the polynomial's NaN (the clamp above turned it into a number).
    let is_large = m.ge_c(a, TANH_SMALL);
    let y = m.select(is_large, large, small);
    m.xor_sign(y, sign)
}

pub(crate) fn logistic(m: &mut MathBuilder, x: Value) -> Value {
    let a = m.abs(x);
    let minus_a = m.neg(a);
    let e = exp(m, minus_a);
    let negative = m.lt_c(x, 0.0);
    let one = m.c(1.0);
    let num = m.select(negative, e, one);
    let den = m.add(one, e);
    let q = m.div(num, den);
    // One correction step removes the rounding errors of 1 + e and of the division: with den_lo the exact error
    // of the sum, num - q (den + den_lo) is computed exactly by the fma, and q + residual / den is within ~1 ulp
    // of the exact quotient (leaving the ~1 ulp of exp, damped by 1/(1 + e) where x >= 0).
    let den_err = m.sub(one, den);
    let den_lo = m.add(den_err, e);
    let neg_q = m.neg(q);
    let residual = m.fma(neg_q, den, num);
    let residual = m.fma(neg_q, den_lo, residual);
    let correction = m.div(residual, den);
    m.add(q, correction)
}

pub fn emit_tanh(b: &mut FunctionBuilder, x: Value) -> Value {
    tanh(&mut MathBuilder::new(b, x), x)
}

pub fn emit_logistic(b: &mut FunctionBuilder, x: Value) -> Value {
    logistic(&mut MathBuilder::new(b, x), x)
}
