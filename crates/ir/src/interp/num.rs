//! The element-type traits the kernels are generic over.
//!
//! Each trait lists exactly the arithmetic its kernels use, implemented by forwarding to `std`
//! and `num_complex`, so a kernel written once runs in each dtype's own precision: f32 math is
//! done in f32, never through f64 (except `erf`, which `std` lacks; see [`super::erf`]).
//!
//! - [`Float`]: `f32`, `f64`.
//! - [`Int`]: `i32`, `i64`, with wrapping arithmetic.
//! - [`Cplx`]: `Complex32` (`c64`), `Complex64` (`c128`).
//! - [`Ring`]: every dtype `reduce_sum`, `reduce_prod`, `dot_general` and `scatter_add` accept;
//!   integers wrap, and `bool` is the ring ({false, true}, or, and), as XLA's `add` on `pred` is `or`.

use crate::array::Element;
use num_complex::{Complex32, Complex64};
use std::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Not, Rem, Shr, Sub};

/// `f32` and `f64`.
pub(crate) trait Float:
    Element
    + PartialOrd
    + Neg<Output = Self>
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Rem<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    const TWO: Self;
    const HALF: Self;
    const NAN: Self;
    fn abs(self) -> Self;
    fn copysign(self, sign: Self) -> Self;
    fn exp(self) -> Self;
    fn exp_m1(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn sqrt(self) -> Self;
    fn tanh(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round(self) -> Self;
    fn erf(self) -> Self;
    fn powf(self, y: Self) -> Self;
    fn atan2(self, x: Self) -> Self;
    fn is_nan(self) -> bool;
}

macro_rules! impl_float {
    ($t:ident) => {
        impl Float for $t {
            const ZERO: $t = 0.0;
            const ONE: $t = 1.0;
            const TWO: $t = 2.0;
            const HALF: $t = 0.5;
            const NAN: $t = $t::NAN;
            impl_float!(@unary $t: abs exp exp_m1 ln ln_1p sqrt tanh sin cos tan floor ceil round);
            fn copysign(self, sign: $t) -> $t {
                $t::copysign(self, sign)
            }
            fn erf(self) -> $t {
                // f32 through f64: the f64 result rounded once is the correctly rounded f32 erf
                // except in rare double-rounding cases, well within f32 tolerance.
                super::erf::erf(self as f64) as $t
            }
            fn powf(self, y: $t) -> $t {
                $t::powf(self, y)
            }
            fn atan2(self, x: $t) -> $t {
                $t::atan2(self, x)
            }
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
        }
    };
    (@unary $t:ident: $($f:ident)*) => {
        $(fn $f(self) -> $t { $t::$f(self) })*
    };
}
impl_float!(f32);
impl_float!(f64);

/// `i32` and `i64`. Arithmetic wraps; division and remainder are total (see the impls).
pub(crate) trait Int:
    Element + Ord + BitAnd<Output = Self> + BitOr<Output = Self> + Not<Output = Self> + Shr<u32, Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn wrapping_add(self, y: Self) -> Self;
    fn wrapping_sub(self, y: Self) -> Self;
    fn wrapping_mul(self, y: Self) -> Self;
    fn wrapping_neg(self) -> Self;
    fn wrapping_abs(self) -> Self;
    /// Truncating division with XLA's answers where hardware would trap:
    /// `x / 0 == -1` and `MIN / -1 == MIN`.
    fn total_div(self, y: Self) -> Self;
    /// Truncating remainder (the sign of `x`) with XLA's answers where hardware would trap:
    /// `x % 0 == x` and `MIN % -1 == 0`.
    fn total_rem(self, y: Self) -> Self;
    fn signum(self) -> Self;
    /// `x >> y` on the unsigned bits; 0 when `y` (as unsigned) is at least the bit width.
    fn shift_right_logical(self, y: Self) -> Self;
}

macro_rules! impl_int {
    ($t:ident, $u:ident) => {
        impl Int for $t {
            const ZERO: $t = 0;
            const ONE: $t = 1;
            fn wrapping_add(self, y: $t) -> $t {
                $t::wrapping_add(self, y)
            }
            fn wrapping_sub(self, y: $t) -> $t {
                $t::wrapping_sub(self, y)
            }
            fn wrapping_mul(self, y: $t) -> $t {
                $t::wrapping_mul(self, y)
            }
            fn wrapping_neg(self) -> $t {
                $t::wrapping_neg(self)
            }
            fn wrapping_abs(self) -> $t {
                $t::wrapping_abs(self)
            }
            fn total_div(self, y: $t) -> $t {
                if y == 0 {
                    -1
                } else {
                    $t::wrapping_div(self, y)
                }
            }
            fn total_rem(self, y: $t) -> $t {
                if y == 0 {
                    self
                } else {
                    $t::wrapping_rem(self, y)
                }
            }
            fn signum(self) -> $t {
                $t::signum(self)
            }
            fn shift_right_logical(self, y: $t) -> $t {
                (self as $u).checked_shr(y as $u as u32).unwrap_or(0) as $t
            }
        }
    };
}
impl_int!(i32, u32);
impl_int!(i64, u64);

/// `Complex32` and `Complex64`.
pub(crate) trait Cplx:
    Element + Neg<Output = Self> + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    type Real: Float;
    const ZERO: Self;
    const ONE: Self;
    fn new(re: Self::Real, im: Self::Real) -> Self;
    fn re(self) -> Self::Real;
    fn im(self) -> Self::Real;
    /// The modulus `|z|` (computed with `hypot`, so it does not overflow early).
    fn norm(self) -> Self::Real;
    fn conj(self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn tanh(self) -> Self;
    /// `exp(y * ln(self))`, num_complex's principal branch.
    fn powc(self, y: Self) -> Self;
}

macro_rules! impl_complex {
    ($t:ident, $r:ident) => {
        impl Cplx for $t {
            type Real = $r;
            const ZERO: $t = $t::new(0.0, 0.0);
            const ONE: $t = $t::new(1.0, 0.0);
            fn new(re: $r, im: $r) -> $t {
                $t::new(re, im)
            }
            fn re(self) -> $r {
                self.re
            }
            fn im(self) -> $r {
                self.im
            }
            fn norm(self) -> $r {
                $t::norm(self)
            }
            fn powc(self, y: $t) -> $t {
                $t::powc(self, y)
            }
            fn conj(self) -> $t {
                $t::conj(&self)
            }
            impl_complex!(@unary $t: exp ln sqrt sin cos tan tanh);
        }
    };
    (@unary $t:ident: $($f:ident)*) => {
        $(fn $f(self) -> $t { $t::$f(self) })*
    };
}
impl_complex!(Complex32, f32);
impl_complex!(Complex64, f64);

/// A commutative ring: what sums and products need.
pub(crate) trait Ring: Element {
    const ZERO: Self;
    const ONE: Self;
    fn add(self, y: Self) -> Self;
    fn mul(self, y: Self) -> Self;
}

macro_rules! impl_ring {
    ($($t:ty: $zero:expr, $one:expr, |$a:ident, $b:ident| $add:expr, $mul:expr;)*) => {
        $(impl Ring for $t {
            const ZERO: $t = $zero;
            const ONE: $t = $one;
            fn add(self, $b: $t) -> $t { let $a = self; $add }
            fn mul(self, $b: $t) -> $t { let $a = self; $mul }
        })*
    };
}
impl_ring! {
    f32: 0.0, 1.0, |a, b| a + b, a * b;
    f64: 0.0, 1.0, |a, b| a + b, a * b;
    i32: 0, 1, |a, b| a.wrapping_add(b), a.wrapping_mul(b);
    i64: 0, 1, |a, b| a.wrapping_add(b), a.wrapping_mul(b);
    bool: false, true, |a, b| a | b, a & b;
    Complex32: Complex32::new(0.0, 0.0), Complex32::new(1.0, 0.0), |a, b| a + b, a * b;
    Complex64: Complex64::new(0.0, 0.0), Complex64::new(1.0, 0.0), |a, b| a + b, a * b;
}
