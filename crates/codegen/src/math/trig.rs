//! `sin`, `cos` and `tan`.
//!
//! Reduction: `x = n pi/2 + r`, `|r| <= pi/4`, with `pi/2` split into 3 (f64) or 4 (f32) parts of full precision
//! subtracted by successive `fma`s. The first step is exact while `|x - n p1| < 2` fits the format (the product
//! is exact inside `fma`), so the reduced argument is accurate to about 1 ulp. `n = round(x 2/pi)` may be off by
//! one for large `x`; a second step with `n2` in {-1, 0, 1} fixes that. This holds up to `|x| ~ 2^21 pi/2` (f32)
//! and `2^50 pi/2` (f64) (the ranges tested are in `docs/transcendentals.md`). Beyond, `r` is clamped to
//! `[-pi/4, pi/4]`, so results stay in `[-1, 1]` but carry no information (a Payne-Hanek reduction would need
//! table gathers, which Cranelift does not have).
//!
//! Kernels on `[-pi/4, pi/4]` (minimax, `fit.py sin_* cos_*`):
//! `sin r = r + r^3 S(r^2)` and `cos r = 1 - r^2/2 + r^4 C(r^2)`, the latter with the rounding error of
//! `1 - r^2/2` added back. The quadrant `n mod 4` picks the kernel and the sign. `tan` is the quotient of the two
//! kernels (`-cos/sin` in odd quadrants), corrected once with the exact division residual and the kernels'
//! rounding errors: two divisions, cheaper than the degree-27 polynomial a direct fit would need.

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

use super::builder::MathBuilder;

const S_F32: [f64; 4] = [-0.1666666716337204, 0.008333329111337662, -0.00019839232845697552, 2.7173650778422598e-06];
const S_F64: [f64; 7] = [
    -0.16666666666666666,
    0.008333333333333321,
    -0.00019841269841253218,
    2.755731921323991e-06,
    -2.5052104665725242e-08,
    1.605833548099098e-10,
    -7.57716104435201e-13,
];
const C_F32: [f64; 4] = [0.0416666679084301, -0.0013888883404433727, 2.479943577782251e-05, -2.720329064231919e-07];
const C_F64: [f64; 6] = [
    0.04166666666666659,
    -0.0013888888888872596,
    2.48015872884904e-05,
    -2.755731405608544e-07,
    2.0875681812597256e-09,
    -1.1357445188092047e-11,
];

/// pi/2 as a sum of parts, each the rounded remainder of the previous ones.
const PIO2_F32: [f64; 4] = [1.5707963705062866, -4.371138828673793e-08, -1.7151245100058819e-15, 1.056299898220315e-23];
const PIO2_F64: [f64; 3] = [std::f64::consts::FRAC_PI_2, 6.123233995736766e-17, -1.4973849048591698e-33];

/// `x - n pi/2` by successive `fma`s with the parts of pi/2 (the first is exact).
fn subtract_pio2_multiple(m: &mut MathBuilder, x: Value, n: Value) -> Value {
    let neg_n = m.neg(n);
    let mut r = x;
    for &part in m.prec.pick(&PIO2_F32[..], &PIO2_F64[..]) {
        r = m.fma_c(neg_n, part, r);
    }
    r
}

/// The reduced argument `r` (clamped to `[-pi/4, pi/4]`) and the quadrant `n mod 4` as an integer.
fn reduce_pio2(m: &mut MathBuilder, x: Value) -> (Value, Value) {
    let t = m.mul_c(x, std::f64::consts::FRAC_2_PI);
    let (n, n_int) = m.round_int(t);
    let r = subtract_pio2_multiple(m, x, n);
    // For large |x| the rounding error of `t` can make `n` off by one, leaving |r| up to ~pi/4 + 0.2: a second,
    // exact step (n2 in {-1, 0, 1}) brings r back into [-pi/4, pi/4].
    let t2 = m.mul_c(r, std::f64::consts::FRAC_2_PI);
    let (n2, n2_int) = m.round_int(t2);
    let r = subtract_pio2_multiple(m, r, n2);
    let n_int = m.iadd(n_int, n2_int);
    // A no-op within the accurate range (the polynomials are fitted on 1.01 pi/4); beyond it, keeps results sane.
    let lim = std::f64::consts::FRAC_PI_4 * 1.01;
    let r = m.clamp(r, -lim, lim);
    let quadrant = m.iand_c(n_int, 3);
    (r, quadrant)
}

/// `sin r` and `cos r` on the reduced interval, each with the rounding error of its last operation (`tan` uses
/// them; `sin` and `cos` leave them to dead-code elimination).
struct SinCos {
    sin: Value,
    sin_err: Value,
    cos: Value,
    cos_err: Value,
}

fn kernels(m: &mut MathBuilder, r: Value) -> SinCos {
    let prec = m.prec;
    let z = m.mul(r, r);
    let s = m.poly(z, prec.pick(&S_F32[..], &S_F64[..]));
    let rz = m.mul(r, z);
    let sin = m.fma(rz, s, r);
    // sin = r + rz s rounded; r - sin is exact (they are within a factor 2), so this is its error.
    let r_minus_sin = m.sub(r, sin);
    let sin_err = m.fma(rz, s, r_minus_sin);

    let c = m.poly(z, prec.pick(&C_F32[..], &C_F64[..]));
    let z2 = m.mul(z, z);
    let hz = m.mul_c(z, 0.5);
    let one = m.c(1.0);
    let w = m.sub(one, hz);
    // (1 - w) - hz is the rounding error of w, exactly.
    let w_err = m.sub(one, w);
    let w_err = m.sub(w_err, hz);
    let tail = m.fma(z2, c, w_err);
    let cos = m.add(w, tail);
    let w_minus_cos = m.sub(w, cos);
    let cos_err = m.add(w_minus_cos, tail);
    SinCos { sin, sin_err, cos, cos_err }
}

/// A float holding only a sign bit: set where bit 1 of the quadrant is.
fn quadrant_sign(m: &mut MathBuilder, quadrant: Value) -> Value {
    let bit = m.iand_c(quadrant, 2);
    let sign_pos = m.prec.pick(31, 63);
    let sign = m.shl(bit, sign_pos - 1);
    m.float_from_bits(sign)
}

/// `sin(x + quadrant_offset pi/2)`: sin for offset 0, cos for offset 1.
fn sin_shifted(m: &mut MathBuilder, x: Value, quadrant_offset: i64) -> Value {
    let (r, q) = reduce_pio2(m, x);
    let q = m.iadd_c(q, quadrant_offset);
    let k = kernels(m, r);
    let odd_bit = m.iand_c(q, 1);
    let odd = m.ieq_c(odd_bit, 1);
    let y = m.select(odd, k.cos, k.sin);
    let sign = quadrant_sign(m, q);
    m.xor_sign(y, sign)
}

pub(crate) fn sin(m: &mut MathBuilder, x: Value) -> Value {
    let y = sin_shifted(m, x, 0);
    // sin(-0) = -0, which the kernel loses.
    let zero = m.eq_c(x, 0.0);
    m.select(zero, x, y)
}

pub(crate) fn cos(m: &mut MathBuilder, x: Value) -> Value {
    sin_shifted(m, x, 1)
}

pub(crate) fn tan(m: &mut MathBuilder, x: Value) -> Value {
    let (r, q) = reduce_pio2(m, x);
    let k = kernels(m, r);
    let odd_bit = m.iand_c(q, 1);
    let odd = m.ieq_c(odd_bit, 1);
    // tan(r + pi/2) = -cos(r) / sin(r).
    let num = m.select(odd, k.cos, k.sin);
    let num_err = m.select(odd, k.cos_err, k.sin_err);
    let den = m.select(odd, k.sin, k.cos);
    let den_err = m.select(odd, k.sin_err, k.cos_err);
    let q0 = m.div(num, den);
    // One correction step with the exact residual of the division and the kernels' rounding errors:
    // (num + num_err) - q0 (den + den_err), divided by den.
    let neg_q0 = m.neg(q0);
    let res = m.fma(neg_q0, den, num);
    let res = m.add(res, num_err);
    let res = m.fma(neg_q0, den_err, res);
    let corr = m.div(res, den);
    let y = m.add(q0, corr);
    let neg_y = m.neg(y);
    let y = m.select(odd, neg_y, y);
    let zero = m.eq_c(x, 0.0);
    m.select(zero, x, y)
}

pub fn emit_sin(b: &mut FunctionBuilder, x: Value) -> Value {
    sin(&mut MathBuilder::new(b, x), x)
}

pub fn emit_cos(b: &mut FunctionBuilder, x: Value) -> Value {
    cos(&mut MathBuilder::new(b, x), x)
}

pub fn emit_tan(b: &mut FunctionBuilder, x: Value) -> Value {
    tan(&mut MathBuilder::new(b, x), x)
}
