//! `atan2(y, x)`.
//!
//! Reduction: `t = min(|x|, |y|) / max(|x|, |y|)` in `[0, 1]`; above `tan(pi/8)` use
//! `atan t = pi/4 + atan((t - 1) / (t + 1))`, so the kernel only sees `|t| <= tan(pi/8)`, where an odd minimax
//! polynomial `t + t^3 P(t^2)` (`fit.py atan_*`, 6 / 12 terms) suffices. Both cases are one division:
//! `min / max` or `(min - max) / (min + max)`. The octant is then undone
//! with `pi/2 - a` (if `|y| > |x|`), `pi - a` (if `x` has its sign bit set, which covers `-0`) and the sign of `y`,
//! the constants carried as two doubles. The C99 special cases (signed zeros, infinities) come out of the same
//! path with two patches: `0/0` gives the angle 0 and `inf/inf` the angle pi/4.

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

use super::builder::MathBuilder;

const ATAN_P_F32: [f64; 6] = [
    -0.3333333134651184,
    0.19999903440475464,
    -0.1428200751543045,
    0.11044687032699585,
    -0.08476242423057556,
    0.04743991792201996,
];
const ATAN_P_F64: [f64; 12] = [
    -0.33333333333333326,
    0.1999999999999765,
    -0.14285714285385967,
    0.11111111088069778,
    -0.09090908141248731,
    0.07692282696974863,
    -0.0666622601175117,
    0.0587701595576476,
    -0.0521837528526075,
    0.04503462534933551,
    -0.033473102777402244,
    0.015194401035141114,
];
const TAN_PI_8: f64 = 0.41421356237309503;

/// pi/4, pi/2 and pi as `(hi, lo)` pairs per precision: `hi` the rounded constant, `lo` the rounded rest.
const PIO4_F32: (f64, f64) = (0.7853981852531433, -2.1855694143368964e-08);
const PIO2_F32: (f64, f64) = (1.5707963705062866, -4.371138828673793e-08);
const PI_F32: (f64, f64) = (3.1415927410125732, -8.742277657347586e-08);
const PIO4_F64: (f64, f64) = (std::f64::consts::FRAC_PI_4, 3.061616997868383e-17);
const PIO2_F64: (f64, f64) = (std::f64::consts::FRAC_PI_2, 6.123233995736766e-17);
const PI_F64: (f64, f64) = (std::f64::consts::PI, 1.2246467991473532e-16);

pub(crate) fn atan2(m: &mut MathBuilder, y: Value, x: Value) -> Value {
    let prec = m.prec;
    let (pio4_hi, pio4_lo) = prec.pick(PIO4_F32, PIO4_F64);
    let (pio2_hi, pio2_lo) = prec.pick(PIO2_F32, PIO2_F64);
    let (pi_hi, pi_lo) = prec.pick(PI_F32, PI_F64);

    let ax = m.abs(x);
    let ay = m.abs(y);
    let swap = m.gt(ay, ax);
    let num = m.select(swap, ax, ay);
    let den = m.select(swap, ay, ax);
    let den_zero = m.eq_c(den, 0.0);
    let both_inf = m.eq_c(num, f64::INFINITY);
    // Above tan(pi/8) use (num - den) / (num + den) = (t - 1) / (t + 1): the difference is exact or nearly so,
    // which makes it more accurate than forming it from the rounded t. Halving both first (exact: num is then
    // at least 0.4 den > 0.4) keeps num + den finite near the largest floats.
    let big = {
        let k = m.mul_c(den, TAN_PI_8);
        m.gt(num, k)
    };
    let big = m.or(big, both_inf);
    let large = m.gt_c(den, 1.0);
    let one = m.c(1.0);
    let half = m.c(0.5);
    let s = m.select(large, half, one);
    let ns = m.mul(num, s);
    let ds = m.mul(den, s);
    let diff = m.sub(ns, ds);
    let sum = m.add(ns, ds);
    let n2 = m.select(big, diff, num);
    let d2 = m.select(big, sum, den);
    let t = m.div(n2, d2);
    let zero = m.c(0.0);
    let patch = m.or(den_zero, both_inf);
    let t = m.select(patch, zero, t);

    let z = m.mul(t, t);
    let p = m.poly(z, m.prec.pick(&ATAN_P_F32[..], &ATAN_P_F64[..]));
    let tz = m.mul(t, z);
    let a = m.fma(tz, p, t);
    // a += pi/4 where reduced (a is in [-tan(pi/8), 0] there, so the sum does not cancel).
    let a_off = m.add_c(a, pio4_lo);
    let a_off = m.add_c(a_off, pio4_hi);
    let a = m.select(big, a_off, a);

    // |y| > |x|: pi/2 - a.
    let c = m.c(pio2_hi);
    let r = m.sub(c, a);
    let r = m.add_c(r, pio2_lo);
    let a = m.select(swap, r, a);
    // x negative (including -0 and -inf): pi - a.
    let c = m.c(pi_hi);
    let r = m.sub(c, a);
    let r = m.add_c(r, pi_lo);
    let x_sign = m.sign_of(x);
    let x_neg = m.bits(x_sign);
    let x_neg = m.ieq_c(x_neg, 0);
    let a = m.select(x_neg, a, r);
    let a = m.copysign(a, y);
    // The 0/0 patch above would turn a NaN operand into an angle.
    let x_nan = m.is_nan(x);
    let y_nan = m.is_nan(y);
    let nan = m.or(x_nan, y_nan);
    let sum = m.add(x, y);
    m.select(nan, sum, a)
}

/// `atan2(y, x)`: the angle of the point `(x, y)`, in `[-pi, pi]`.
pub fn emit_atan2(b: &mut FunctionBuilder, y: Value, x: Value) -> Value {
    atan2(&mut MathBuilder::new(b, y), y, x)
}
