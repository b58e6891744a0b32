//! Elementwise primitives: unary, binary and comparison operations, `integer_pow`, `select`
//! and `convert_element_type`.
//!
//! Each family is a table from operation to a plain `fn` on one element type family
//! ([`Float`], [`Int`], [`Cplx`], `bool`); `None` means the family has no such operation (the
//! shape rule rejects those operands first). The tables are the semantics: see the module docs
//! of [`super`] for the rules in words.

use super::layout::copy_element;
use super::num::{Cplx, Float, Int, Ring};
use crate::array::{Element, HostArray};
use crate::dtype::DType;
use crate::prim::{BinaryOp, CompareOp, UnaryOp};
use num_complex::{Complex32, Complex64};

/// `f` applied to each element of `x` (`None` if `T` is not `x`'s element type).
fn map<T: Element, U: Element>(x: &HostArray, f: impl Fn(T) -> U) -> Option<HostArray> {
    let xs = x.as_slice::<T>()?;
    let mut out = HostArray::zeros(U::DTYPE, x.shape().clone());
    for (o, &v) in out.as_mut_slice::<U>()?.iter_mut().zip(xs) {
        *o = f(v);
    }
    Some(out)
}

/// `f` applied to each pair of elements of `x` and `y` (same shape).
fn zip<T: Element, U: Element>(x: &HostArray, y: &HostArray, f: impl Fn(T, T) -> U) -> Option<HostArray> {
    let (xs, ys) = (x.as_slice::<T>()?, y.as_slice::<T>()?);
    let mut out = HostArray::zeros(U::DTYPE, x.shape().clone());
    for ((o, &a), &b) in out.as_mut_slice::<U>()?.iter_mut().zip(xs).zip(ys) {
        *o = f(a, b);
    }
    Some(out)
}

pub(super) fn unary(op: UnaryOp, x: &HostArray) -> Option<HostArray> {
    use DType::*;
    use UnaryOp::*;
    match (x.dtype(), op) {
        (F32, IsFinite) => map(x, f32::is_finite),
        (F64, IsFinite) => map(x, f64::is_finite),
        (F32, _) => map(x, float_unary::<f32>(op)?),
        (F64, _) => map(x, float_unary::<f64>(op)?),
        (I32, _) => map(x, int_unary::<i32>(op)?),
        (I64, _) => map(x, int_unary::<i64>(op)?),
        (Bool, Not) => map(x, |b: bool| !b),
        (C64, Abs | Real | Imag) => map(x, complex_to_real::<Complex32>(op)?),
        (C128, Abs | Real | Imag) => map(x, complex_to_real::<Complex64>(op)?),
        (C64, _) => map(x, complex_unary::<Complex32>(op)?),
        (C128, _) => map(x, complex_unary::<Complex64>(op)?),
        _ => None,
    }
}

fn float_unary<F: Float>(op: UnaryOp) -> Option<fn(F) -> F> {
    use UnaryOp::*;
    let f: fn(F) -> F = match op {
        Neg => |x| -x,
        Abs => F::abs,
        // sign(±0) = ±0 and sign(nan) = nan, as jax.lax.sign.
        Sign => |x| if x == F::ZERO || x.is_nan() { x } else { F::ONE.copysign(x) },
        Exp => F::exp,
        Expm1 => F::exp_m1,
        Log => F::ln,
        Log1p => F::ln_1p,
        Sqrt => F::sqrt,
        Rsqrt => |x| F::ONE / x.sqrt(),
        Tanh => F::tanh,
        Logistic => logistic,
        Sin => F::sin,
        Cos => F::cos,
        Tan => F::tan,
        Erf => F::erf,
        Floor => F::floor,
        Ceil => F::ceil,
        // Half away from zero (Rust's `round`), as jax.lax.round's default.
        Round => F::round,
        IsFinite | Not | Real | Imag | Conj => return None,
    };
    Some(f)
}

/// `1 / (1 + exp(-x))`, evaluated so that `exp` never overflows.
fn logistic<F: Float>(x: F) -> F {
    if x >= F::ZERO {
        F::ONE / (F::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::ONE + e)
    }
}

fn int_unary<I: Int>(op: UnaryOp) -> Option<fn(I) -> I> {
    use UnaryOp::*;
    let f: fn(I) -> I = match op {
        Neg => I::wrapping_neg,
        // abs(MIN) = MIN, as two's complement hardware gives.
        Abs => I::wrapping_abs,
        Sign => I::signum,
        Not => |x| !x,
        _ => return None,
    };
    Some(f)
}

fn complex_to_real<C: Cplx>(op: UnaryOp) -> Option<fn(C) -> C::Real> {
    let f: fn(C) -> C::Real = match op {
        UnaryOp::Abs => C::norm,
        UnaryOp::Real => C::re,
        UnaryOp::Imag => C::im,
        _ => return None,
    };
    Some(f)
}

fn complex_unary<C: Cplx>(op: UnaryOp) -> Option<fn(C) -> C> {
    use UnaryOp::*;
    let f: fn(C) -> C = match op {
        Neg => |z| -z,
        // z / |z|, and 0 for 0.
        Sign => |z| {
            let r = z.norm();
            if r == C::Real::ZERO {
                z
            } else {
                C::new(z.re() / r, z.im() / r)
            }
        },
        Exp => C::exp,
        Expm1 => complex_expm1,
        Log => C::ln,
        Log1p => complex_log1p,
        Sqrt => C::sqrt,
        Rsqrt => |z| C::ONE / z.sqrt(),
        Tanh => C::tanh,
        Logistic => |z| C::ONE / (C::ONE + (-z).exp()),
        Sin => C::sin,
        Cos => C::cos,
        Tan => C::tan,
        Conj => C::conj,
        Abs | Real | Imag | Erf | Floor | Ceil | Round | IsFinite | Not => return None,
    };
    Some(f)
}

/// `exp(z) - 1` without cancellation for small `z = x + iy`:
/// `e^x cos y - 1 = expm1(x) cos y - 2 sin²(y/2)`.
fn complex_expm1<C: Cplx>(z: C) -> C {
    let (x, y) = (z.re(), z.im());
    let half_sin = (y * C::Real::HALF).sin();
    C::new(x.exp_m1() * y.cos() - C::Real::TWO * half_sin * half_sin, x.exp() * y.sin())
}

/// `ln(1 + z)` without cancellation for small `z = x + iy`:
/// `ln|1+z| = ½ log1p(2x + x² + y²)` and `arg(1+z) = atan2(y, 1+x)`.
fn complex_log1p<C: Cplx>(z: C) -> C {
    let (x, y) = (z.re(), z.im());
    let re = C::Real::HALF * (C::Real::TWO * x + x * x + y * y).ln_1p();
    C::new(re, y.atan2(C::Real::ONE + x))
}

pub(super) fn binary(op: BinaryOp, x: &HostArray, y: &HostArray) -> Option<HostArray> {
    use BinaryOp::*;
    use DType::*;
    match (x.dtype(), op) {
        (F32, Complex) => zip(x, y, Complex32::new),
        (F64, Complex) => zip(x, y, Complex64::new),
        (F32, _) => zip(x, y, float_binary::<f32>(op)?),
        (F64, _) => zip(x, y, float_binary::<f64>(op)?),
        (I32, _) => zip(x, y, int_binary::<i32>(op)?),
        (I64, _) => zip(x, y, int_binary::<i64>(op)?),
        (Bool, And) => zip(x, y, |a: bool, b: bool| a & b),
        (Bool, Or) => zip(x, y, |a: bool, b: bool| a | b),
        (C64, _) => zip(x, y, complex_binary::<Complex32>(op)?),
        (C128, _) => zip(x, y, complex_binary::<Complex64>(op)?),
        _ => None,
    }
}

fn float_binary<F: Float>(op: BinaryOp) -> Option<fn(F, F) -> F> {
    use BinaryOp::*;
    let f: fn(F, F) -> F = match op {
        Add => |a, b| a + b,
        Sub => |a, b| a - b,
        Mul => |a, b| a * b,
        Div => |a, b| a / b,
        Pow => F::powf,
        Max => float_max,
        Min => float_min,
        // Rust's `%` on floats is C's fmod: truncated quotient, the sign of `a`.
        Rem => |a, b| a % b,
        // jax.lax.atan2(x, y) = atan(x / y): the first operand is the ordinate.
        Atan2 => F::atan2,
        Complex | And | Or | ShiftRightLogical => return None,
    };
    Some(f)
}

/// IEEE 754-2019 `maximum`: NaN if either is NaN (as jax.lax.max), and `max(-0, +0) = +0`.
pub(super) fn float_max<F: Float>(a: F, b: F) -> F {
    if a.is_nan() || b.is_nan() {
        F::NAN
    } else if a > b || (a == b && F::ONE.copysign(b) < F::ZERO) {
        a
    } else {
        b
    }
}

/// IEEE 754-2019 `minimum`: NaN if either is NaN (as jax.lax.min), and `min(-0, +0) = -0`.
pub(super) fn float_min<F: Float>(a: F, b: F) -> F {
    if a.is_nan() || b.is_nan() {
        F::NAN
    } else if a < b || (a == b && F::ONE.copysign(a) < F::ZERO) {
        a
    } else {
        b
    }
}

fn int_binary<I: Int>(op: BinaryOp) -> Option<fn(I, I) -> I> {
    use BinaryOp::*;
    let f: fn(I, I) -> I = match op {
        Add => I::wrapping_add,
        Sub => I::wrapping_sub,
        Mul => I::wrapping_mul,
        Div => I::total_div,
        Rem => I::total_rem,
        Pow => int_pow,
        Max => |a, b| a.max(b),
        Min => |a, b| a.min(b),
        And => |a, b| a & b,
        Or => |a, b| a | b,
        ShiftRightLogical => I::shift_right_logical,
        Atan2 | Complex => return None,
    };
    Some(f)
}

/// `base^exp` by squaring, wrapping on overflow. A negative exponent gives the truncated
/// `1 / base^|exp|`: 0 unless `base` is ±1 (XLA's rule; no division by zero for base 0).
pub(super) fn int_pow<I: Int>(base: I, exp: I) -> I {
    let minus_one = I::ONE.wrapping_neg();
    if exp < I::ZERO {
        let odd = exp & I::ONE == I::ONE;
        return if base == I::ONE || (base == minus_one && !odd) {
            I::ONE
        } else if base == minus_one {
            minus_one
        } else {
            I::ZERO
        };
    }
    let (mut acc, mut square, mut e) = (I::ONE, base, exp);
    while e > I::ZERO {
        if e & I::ONE == I::ONE {
            acc = acc.wrapping_mul(square);
        }
        square = square.wrapping_mul(square);
        e = e >> 1;
    }
    acc
}

fn complex_binary<C: Cplx>(op: BinaryOp) -> Option<fn(C, C) -> C> {
    use BinaryOp::*;
    let f: fn(C, C) -> C = match op {
        Add => |a, b| a + b,
        Sub => |a, b| a - b,
        Mul => |a, b| a * b,
        // The textbook formula (num_complex): x / 0 is NaN, not infinity.
        Div => |a, b| a / b,
        Pow => complex_pow,
        Max | Min | Rem | Atan2 | And | Or | ShiftRightLogical | Complex => return None,
    };
    Some(f)
}

/// `exp(w·ln z)`, with `0^0 = 1` and `0^w = 0` when `re(w) > 0` (where `ln 0` would give NaN).
fn complex_pow<C: Cplx>(z: C, w: C) -> C {
    if z == C::ZERO {
        if w == C::ZERO {
            return C::ONE;
        }
        if w.re() > C::Real::ZERO {
            return C::ZERO;
        }
    }
    z.powc(w)
}

pub(super) fn compare(op: CompareOp, x: &HostArray, y: &HostArray) -> Option<HostArray> {
    use DType::*;
    match x.dtype() {
        F32 => zip(x, y, ordering::<f32>(op)),
        F64 => zip(x, y, ordering::<f64>(op)),
        I32 => zip(x, y, ordering::<i32>(op)),
        I64 => zip(x, y, ordering::<i64>(op)),
        Bool => zip(x, y, ordering::<bool>(op)),
        C64 => zip(x, y, equality::<Complex32>(op)?),
        C128 => zip(x, y, equality::<Complex64>(op)?),
        Float0 => None,
    }
}

/// Comparisons by `PartialOrd`: IEEE for floats (every comparison with NaN is false, except
/// `ne`), `false < true` for bool.
fn ordering<T: PartialOrd>(op: CompareOp) -> fn(T, T) -> bool {
    match op {
        CompareOp::Eq => |a, b| a == b,
        CompareOp::Ne => |a, b| a != b,
        CompareOp::Lt => |a, b| a < b,
        CompareOp::Le => |a, b| a <= b,
        CompareOp::Gt => |a, b| a > b,
        CompareOp::Ge => |a, b| a >= b,
    }
}

/// `eq`/`ne` for types without an order (complex).
fn equality<T: PartialEq>(op: CompareOp) -> Option<fn(T, T) -> bool> {
    match op {
        CompareOp::Eq => Some(|a, b| a == b),
        CompareOp::Ne => Some(|a, b| a != b),
        _ => None,
    }
}

/// `x^y` for a static integer `y`.
pub(super) fn integer_pow(x: &HostArray, y: i32) -> Option<HostArray> {
    use DType::*;
    match x.dtype() {
        F32 => map(x, |v: f32| pow_by_squaring(v, y, |a| 1.0 / a)),
        F64 => map(x, |v: f64| pow_by_squaring(v, y, |a| 1.0 / a)),
        C64 => map(x, |v: Complex32| pow_by_squaring(v, y, |a| Complex32::new(1.0, 0.0) / a)),
        C128 => map(x, |v: Complex64| pow_by_squaring(v, y, |a| Complex64::new(1.0, 0.0) / a)),
        I32 => map(x, |v: i32| int_pow(v, y)),
        I64 => map(x, |v: i64| int_pow(v, i64::from(y))),
        Bool | Float0 => None,
    }
}

/// `x^y` with jax.lax.integer_pow's sequence of multiplications (binary powering from the low
/// bit, the first factor taken as is), so results match JAX bit for bit; `1 / x^|y|` for `y < 0`.
fn pow_by_squaring<T: Ring>(x: T, y: i32, recip: fn(T) -> T) -> T {
    let mut n = y.unsigned_abs();
    let (mut acc, mut square): (Option<T>, T) = (None, x);
    while n > 0 {
        if n & 1 == 1 {
            acc = Some(acc.map_or(square, |a| a.mul(square)));
        }
        n >>= 1;
        if n > 0 {
            square = square.mul(square);
        }
    }
    let acc = acc.unwrap_or(T::ONE);
    if y < 0 {
        recip(acc)
    } else {
        acc
    }
}

/// `pred ? on_true : on_false`, elementwise, for any dtype.
pub(super) fn select(pred: &HostArray, on_true: &HostArray, on_false: &HostArray) -> Option<HostArray> {
    let mut out = on_false.clone();
    for (i, &p) in pred.as_slice::<bool>()?.iter().enumerate() {
        if p {
            copy_element(&mut out, i, on_true, i);
        }
    }
    Some(out)
}

/// `x` converted to `dtype` by the rules of [`crate::array::Scalar::cast`].
pub(super) fn convert_element_type(x: &HostArray, dtype: DType) -> HostArray {
    if x.dtype() == dtype {
        x.clone()
    } else {
        x.cast(dtype)
    }
}
