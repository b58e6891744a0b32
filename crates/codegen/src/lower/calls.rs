//! Runtime functions that kernels call per element, for the operations that have no CLIF lowering:
//! integer division, remainder and powers with XLA's corner cases, and float `rem` (C `fmod`, exact).
//! Each is an `extern "C"` Rust function registered with the JIT under its name; in vector loops the call
//! is made once per lane.
//!
//! Their semantics are the interpreter's (`gradjit_ir::interp`), so results agree exactly.

use gradjit_ir::{BinaryOp, DType};

/// A runtime function: symbol, address, operand dtypes and result dtype.
pub struct RtFn {
    pub name: &'static str,
    pub addr: usize,
    pub params: &'static [DType],
    pub ret: DType,
}

macro_rules! rt {
    ($($name:ident($($a:ident: $t:ty),*) -> $r:ty = $body:expr;)*) => {
        $(extern "C" fn $name($($a: $t),*) -> $r { $body })*
        /// Every runtime function, for registration with the JIT.
        pub fn all() -> Vec<RtFn> {
            vec![$(RtFn {
                name: stringify!($name),
                addr: $name as *const () as usize,
                params: &[$(<$t as Dt>::DT),*],
                ret: <$r as Dt>::DT,
            }),*]
        }
    };
}

trait Dt {
    const DT: DType;
}
impl Dt for f32 {
    const DT: DType = DType::F32;
}
impl Dt for f64 {
    const DT: DType = DType::F64;
}
impl Dt for i32 {
    const DT: DType = DType::I32;
}
impl Dt for i64 {
    const DT: DType = DType::I64;
}

macro_rules! int_fns {
    ($div:ident, $rem:ident, $pow:ident, $t:ty) => {
        /// Truncating division; `x / 0 = -1`, `MIN / -1 = MIN`.
        fn $div(x: $t, y: $t) -> $t {
            if y == 0 {
                -1
            } else {
                x.wrapping_div(y)
            }
        }
        /// Truncating remainder; `x % 0 = x`, `MIN % -1 = 0`.
        fn $rem(x: $t, y: $t) -> $t {
            if y == 0 {
                x
            } else {
                x.wrapping_rem(y)
            }
        }
        /// `x^y` by squaring, wrapping; negative `y` gives the truncated reciprocal.
        fn $pow(base: $t, exp: $t) -> $t {
            if exp < 0 {
                return match base {
                    1 => 1,
                    -1 if exp % 2 == 0 => 1,
                    -1 => -1,
                    _ => 0,
                };
            }
            let (mut acc, mut sq, mut e): ($t, $t, $t) = (1, base, exp);
            while e > 0 {
                if e & 1 == 1 {
                    acc = acc.wrapping_mul(sq);
                }
                sq = sq.wrapping_mul(sq);
                e >>= 1;
            }
            acc
        }
    };
}
int_fns!(div32, rem32, pow32, i32);
int_fns!(div64, rem64, pow64, i64);

rt! {
    gj_fmod_f32(x: f32, y: f32) -> f32 = x % y;
    gj_fmod_f64(x: f64, y: f64) -> f64 = x % y;
    gj_div_i32(x: i32, y: i32) -> i32 = div32(x, y);
    gj_div_i64(x: i64, y: i64) -> i64 = div64(x, y);
    gj_rem_i32(x: i32, y: i32) -> i32 = rem32(x, y);
    gj_rem_i64(x: i64, y: i64) -> i64 = rem64(x, y);
    gj_pow_i32(x: i32, y: i32) -> i32 = pow32(x, y);
    gj_pow_i64(x: i64, y: i64) -> i64 = pow64(x, y);
}

/// The runtime function computing a binary operation on `dt`, if it is done by a call.
pub fn binary(op: BinaryOp, dt: DType) -> Option<&'static str> {
    use BinaryOp::*;
    Some(match (op, dt) {
        (Rem, DType::F32) => "gj_fmod_f32",
        (Rem, DType::F64) => "gj_fmod_f64",
        (Div, DType::I32) => "gj_div_i32",
        (Div, DType::I64) => "gj_div_i64",
        (Rem, DType::I32) => "gj_rem_i32",
        (Rem, DType::I64) => "gj_rem_i64",
        (Pow, DType::I32) => "gj_pow_i32",
        (Pow, DType::I64) => "gj_pow_i64",
        _ => return None,
    })
}
