//! `pow(x, y) = exp(y log|x|)` with a double-double logarithm, plus the C99 special cases.
//!
//! An error `d` in `y log x` becomes a relative error `d` in the result, and `|y log x|` reaches ~745 before
//! the result under- or overflows, so `log x` must be good to about 2^-64 relative: 11 bits more than a double.
//! `log_dd` keeps `log|x|` as an unevaluated sum `hi + lo`:
//!
//! * `|x| = 2^k m`, `m` in `[sqrt(2)/2, sqrt(2))` (shared with `log`), `f = m - 1` (exact),
//!   `s = f / (2 + f)` as a double-double (the division residual is exact with `fma`);
//! * `log m = 2 atanh(s) = 2s + (2/3) s^3 + s^5 U(s^2)`: the first two terms in double-double, the rest
//!   (relative size below 1e-4) in plain arithmetic with Taylor coefficients;
//! * `+ k ln2` with ln 2 split so that `k ln2_hi` is exact.
//!
//! Then `y (hi + lo)` is formed exactly with `fma` and handed to `exp_dd`, whose reduced argument absorbs the low
//! part. f32 `pow` runs the same f64 code on promoted lanes (two `f64x2` halves for an `f32x4`), as glibc's
//! `powf` does: 53 bits leave a wide margin, and the special cases then come out of the f64 code for free.

use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

use super::builder::{Mask, MathBuilder, Precision};
use super::exp::exp_dd;
use super::log::{decompose, ln2_split};

/// 2/3 as a double-double.
const TWO_THIRDS_HI: f64 = 0.6666666666666666;
const TWO_THIRDS_LO: f64 = 3.700743415417188e-17;
/// `U(z) = sum 2 z^j / (2j + 5)`: truncated where `s^5 U` is below 2^-66 relative to `log m`.
const U: [f64; 11] =
    [2. / 5., 2. / 7., 2. / 9., 2. / 11., 2. / 13., 2. / 15., 2. / 17., 2. / 19., 2. / 21., 2. / 23., 2. / 25.];

/// `a + b` as `(sum, exact error)` for `|a| >= |b|`.
fn fast_two_sum(m: &mut MathBuilder, a: Value, b: Value) -> (Value, Value) {
    let s = m.add(a, b);
    let t = m.sub(a, s);
    let e = m.add(t, b);
    (s, e)
}

/// `a + b` as `(sum, exact error)` for any magnitudes (Knuth).
fn two_sum(m: &mut MathBuilder, a: Value, b: Value) -> (Value, Value) {
    let s = m.add(a, b);
    let bb = m.sub(s, a);
    let aa = m.sub(s, bb);
    let ea = m.sub(a, aa);
    let eb = m.sub(b, bb);
    let e = m.add(ea, eb);
    (s, e)
}

/// `a * b` as `(product, exact error)`.
fn two_prod(m: &mut MathBuilder, a: Value, b: Value) -> (Value, Value) {
    let p = m.mul(a, b);
    let neg_p = m.neg(p);
    let e = m.fma(a, b, neg_p);
    (p, e)
}

/// `log(a)` as a double-double `(hi, lo)` for `a > 0` finite (f64 lanes).
fn log_dd(m: &mut MathBuilder, a: Value) -> (Value, Value) {
    let (k, mant) = decompose(m, a);
    let f = m.add_c(mant, -1.0);
    // s = f / (2 + f) as sh + sl.
    let two = m.c(2.0);
    let (d, d_lo) = fast_two_sum(m, two, f);
    let sh = m.div(f, d);
    let neg_sh = m.neg(sh);
    let res = m.fma(neg_sh, d, f);
    let res = m.fma(neg_sh, d_lo, res);
    let sl = m.div(res, d);
    // s^2 and s^3 as double-doubles (dropping sl^2 terms, ~2^-106 relative).
    let (zh, zl) = two_prod(m, sh, sh);
    let two_sh_sl = m.mul(sh, sl);
    let two_sh_sl = m.add(two_sh_sl, two_sh_sl);
    let zl = m.add(zl, two_sh_sl);
    let (ch, cl) = two_prod(m, sh, zh);
    let cl = m.fma(sh, zl, cl);
    let cl = m.fma(sl, zh, cl);
    // (2/3) s^3.
    let (th, tl) = {
        let c23 = m.c(TWO_THIRDS_HI);
        let (p, e) = two_prod(m, ch, c23);
        let e = m.fma_c(ch, TWO_THIRDS_LO, e);
        let e = m.fma_c(cl, TWO_THIRDS_HI, e);
        (p, e)
    };
    // s^5 U(s^2).
    let u = m.poly(zh, &U);
    let s5 = m.mul(ch, zh);
    let rest = m.mul(s5, u);
    // log m = 2 sh + th + (2 sl + tl + rest).
    let two_sh = m.add(sh, sh);
    let (a_hi, a_lo) = fast_two_sum(m, two_sh, th);
    let two_sl = m.add(sl, sl);
    let lo = m.add(a_lo, two_sl);
    let lo = m.add(lo, tl);
    let lo = m.add(lo, rest);
    // + k ln2 (k * ln2_hi is exact).
    let (ln2_hi, ln2_lo) = ln2_split(Precision::F64);
    let k_hi = m.mul_c(k, ln2_hi);
    let (b_hi, b_lo) = two_sum(m, k_hi, a_hi);
    let lo = m.add(lo, b_lo);
    let lo = m.fma_c(k, ln2_lo, lo);
    fast_two_sum(m, b_hi, lo)
}

/// Lanes holding an integer (infinities count as even integers).
fn is_integer(m: &mut MathBuilder, v: Value) -> Mask {
    let big = (2f64).powi(m.prec.mantissa_bits() as i32);
    let a = m.abs(v);
    let large = m.ge_c(a, big);
    // Below 2^mantissa_bits, a + 2^mantissa_bits rounds a to an integer.
    let t = m.add_c(a, big);
    let t = m.add_c(t, -big);
    let same = m.eq(t, a);
    m.or(large, same)
}

fn pow_f64(m: &mut MathBuilder, x: Value, y: Value) -> Value {
    let ax = m.abs(x);
    let (lh, ll) = log_dd(m, ax);
    // log|x| for the inputs log_dd does not take: 0 -> -inf, inf -> inf, NaN -> NaN.
    let zero = m.eq_c(ax, 0.0);
    let lh = m.select_c(zero, f64::NEG_INFINITY, lh);
    let inf = m.eq_c(ax, f64::INFINITY);
    let lh = m.select_c(inf, f64::INFINITY, lh);
    let nan = m.is_nan(ax);
    let lh = m.select(nan, ax, lh);

    // z = y log|x| = zh + zl.
    let (zh, zl) = two_prod(m, y, lh);
    let zl = m.fma(y, ll, zl);
    // Infinite or NaN zh: no low part (it would be NaN), exp_dd handles zh alone.
    let abs_zh = m.abs(zh);
    let finite = m.lt_c(abs_zh, f64::INFINITY);
    let zero_c = m.c(0.0);
    let zl = m.select(finite, zl, zero_c);
    let r = exp_dd(m, zh, Some(zl));

    // Negative bases: odd integer y flips the sign (also for -0 and -inf), non-integer y is invalid.
    let y_int = is_integer(m, y);
    let half_y = m.mul_c(y, 0.5);
    let half_y_int = is_integer(m, half_y);
    let not_half_int = m.not(half_y_int);
    let odd = m.and(y_int, not_half_int);
    let x_sign = m.sign_of(x);
    let flip = m.select(odd, x_sign, zero_c);
    let r = m.xor_sign(r, flip);
    let negative = m.lt_c(x, 0.0);
    let finite_x = m.gt_c(x, f64::NEG_INFINITY);
    let not_int = m.not(y_int);
    let invalid = m.and(negative, finite_x);
    let invalid = m.and(invalid, not_int);
    let r = m.select_c(invalid, f64::NAN, r);

    // Exactly 1: y = 0 (even for NaN x), x = 1 (even for NaN y), x = -1 with y = +-inf.
    let y_zero = m.eq_c(y, 0.0);
    let x_one = m.eq_c(x, 1.0);
    let ax_one = m.eq_c(ax, 1.0);
    let abs_y = m.abs(y);
    let y_inf = m.eq_c(abs_y, f64::INFINITY);
    let minus_one_inf = m.and(ax_one, y_inf);
    let one = m.or(y_zero, x_one);
    let one = m.or(one, minus_one_inf);
    m.select_c(one, 1.0, r)
}

/// `v` as little-endian bytes, for `shuffle`.
fn to_bytes(b: &mut FunctionBuilder, v: Value) -> Value {
    b.ins().bitcast(types::I8X16, MemFlagsData::new().with_endianness(Endianness::Little), v)
}

fn from_bytes(b: &mut FunctionBuilder, ty: Type, v: Value) -> Value {
    b.ins().bitcast(ty, MemFlagsData::new().with_endianness(Endianness::Little), v)
}

fn shuffle(b: &mut FunctionBuilder, x: Value, y: Value, lanes: [u8; 16]) -> Value {
    let mask = b.func.dfg.immediates.push(lanes.as_slice().into());
    b.ins().shuffle(x, y, mask)
}

/// An `F32X4` as two `F64X2` (lanes 0-1, lanes 2-3).
fn promote_halves(b: &mut FunctionBuilder, x: Value) -> (Value, Value) {
    let lo = b.ins().fvpromote_low(x);
    let bytes = to_bytes(b, x);
    let upper = shuffle(b, bytes, bytes, [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
    let upper = from_bytes(b, types::F32X4, upper);
    let hi = b.ins().fvpromote_low(upper);
    (lo, hi)
}

/// The inverse of [`promote_halves`], rounding to f32.
fn demote_join(b: &mut FunctionBuilder, lo: Value, hi: Value) -> Value {
    let lo = b.ins().fvdemote(lo);
    let hi = b.ins().fvdemote(hi);
    let lo = to_bytes(b, lo);
    let hi = to_bytes(b, hi);
    let joined = shuffle(b, lo, hi, [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
    from_bytes(b, types::F32X4, joined)
}

fn pow_on(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let mut m = MathBuilder::new(b, x);
    pow_f64(&mut m, x, y)
}

/// `x^y` for two values of the same type (`F32X4`, `F64X2`, `F32` or `F64`).
pub fn emit_pow(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    match b.func.dfg.value_type(x) {
        types::F32 => {
            let (x, y) = (b.ins().fpromote(types::F64, x), b.ins().fpromote(types::F64, y));
            let r = pow_on(b, x, y);
            b.ins().fdemote(types::F32, r)
        }
        types::F32X4 => {
            let (x_lo, x_hi) = promote_halves(b, x);
            let (y_lo, y_hi) = promote_halves(b, y);
            let r_lo = pow_on(b, x_lo, y_lo);
            let r_hi = pow_on(b, x_hi, y_hi);
            demote_join(b, r_lo, r_hi)
        }
        _ => pow_on(b, x, y),
    }
}
