//! Vectorised transcendental functions emitted as Cranelift IR.
//!
//! Cranelift has no `exp`/`log`/`sin` opcodes, and a libcall per lane spills every vector register around the
//! call. Each `emit_<name>(builder, x)` here instead emits straight-line CLIF that computes the function for the
//! type of `x` (`F32X4`, `F64X2`, `F32` or `F64`), in the classic libm structure:
//!
//! 1. **range reduction** to a small interval (Cody-Waite with `fma`, exponent extraction with integer ops),
//! 2. a **polynomial** on that interval (Horner with `fma`; minimax coefficients from `fit.py`, or Taylor
//!    coefficients where those are already accurate enough),
//! 3. **reconstruction** (exponent arithmetic on the bits, quadrant fix-ups),
//! 4. **special cases** (NaN, infinities, signed zeros, overflow, underflow) patched in with lane-wise selects.
//!
//! There are no branches and no calls: the same code serves all lanes, and the scalar types reuse it for loop
//! tails. `MathBuilder` (in `builder.rs`) hides the scalar/vector differences. Accuracy, algorithms and tested
//! ranges are listed in `docs/transcendentals.md` and checked by `tests/ulp.rs`.
//!
//! Every emitter panics if `x` is not one of the four float types: that is a bug in the caller (the code
//! generator), not a user error.

mod atan;
mod builder;
mod erf;
mod exp;
mod hyperbolic;
mod log;
mod pow;
mod trig;

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

pub use atan::emit_atan2;
pub use erf::emit_erf;
pub use exp::{emit_exp, emit_expm1};
pub use hyperbolic::{emit_logistic, emit_tanh};
pub use log::{emit_log, emit_log1p};
pub use pow::emit_pow;
pub use trig::{emit_cos, emit_sin, emit_tan};

/// An emitter of a one-argument function.
pub type UnaryEmitter = fn(&mut FunctionBuilder, Value) -> Value;
/// An emitter of a two-argument function.
pub type BinaryEmitter = fn(&mut FunctionBuilder, Value, Value) -> Value;

/// Every one-argument emitter by name, for table-driven lowering.
pub const UNARY: [(&str, UnaryEmitter); 12] = [
    ("exp", emit_exp),
    ("expm1", emit_expm1),
    ("log", emit_log),
    ("log1p", emit_log1p),
    ("tanh", emit_tanh),
    ("logistic", emit_logistic),
    ("sin", emit_sin),
    ("cos", emit_cos),
    ("tan", emit_tan),
    ("erf", emit_erf),
    ("sqrt", emit_sqrt),
    ("rsqrt", emit_rsqrt),
];

/// Every two-argument emitter by name: `pow(x, y)` and `atan2(y, x)`.
pub const BINARY: [(&str, BinaryEmitter); 2] = [("pow", emit_pow), ("atan2", emit_atan2)];

/// `sqrt(x)`: one instruction, correctly rounded.
pub fn emit_sqrt(b: &mut FunctionBuilder, x: Value) -> Value {
    builder::MathBuilder::new(b, x).sqrt(x)
}

/// `1 / sqrt(x)` as a correctly rounded square root and division (at most 1 ulp). Cranelift has no
/// reciprocal-square-root estimate, and Newton steps on one would cost as much as the division.
pub fn emit_rsqrt(b: &mut FunctionBuilder, x: Value) -> Value {
    let mut m = builder::MathBuilder::new(b, x);
    let s = m.sqrt(x);
    let one = m.c(1.0);
    m.div(one, s)
}
