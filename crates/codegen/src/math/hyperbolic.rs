//! `tanh` and `logistic` (the sigmoid `1 / (1 + exp(-x))`), both built on `exp`.
//!
//! `tanh`: for `|x| < 0.625` an odd minimax polynomial `x + x^3 P(x^2)` (`fit.py tanh_*`, 5 / 14 terms), since
//! every exp-based formula cancels there; above it `1 - 2 / (exp(2|x|) + 1)`, whose rounding errors are damped
//! by the subtraction from 1 and which saturates to 1 (exp overflows to inf, 2/inf = 0) with no special case.
//!
//! `logistic`: `e = exp(-|x|) <= 1`, then `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` for `x < 0`, so the
//! result never comes from a cancellation and tiny results keep their relative accuracy. A Newton-style
//! correction of the quotient leaves only the error of `exp`.

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

use super::builder::MathBuilder;
use super::exp::exp;

const TANH_SMALL: f64 = 0.625;
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
    let z = m.mul(x, x);
    let p = m.poly(z, m.prec.pick(&TANH_P_F32[..], &TANH_P_F64[..]));
    let xz = m.mul(x, z);
    let small = m.fma(xz, p, x);

    let a = m.abs(x);
    let two_a = m.add(a, a);
    let e = exp(m, two_a);
    let e1 = m.add_c(e, 1.0);
    let two = m.c(2.0);
    let q = m.div(two, e1);
    let one = m.c(1.0);
    let large = m.sub(one, q);
    let large = m.copysign(large, x);

    let is_small = m.lt_c(a, TANH_SMALL);
    let y = m.select(is_small, small, large);
    // tanh(-0) = -0, which the polynomial loses.
    let zero = m.eq_c(x, 0.0);
    m.select(zero, x, y)
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
