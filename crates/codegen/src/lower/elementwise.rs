//! Lowering of one kernel-IR operation to CLIF, in scalar or vector mode.
//!
//! Representations: in [`Mode::Scalar`] every dtype is its CLIF scalar (`bool` is an `i8` holding 0 or 1,
//! as `icmp`/`fcmp` produce). In [`Mode::Vector`] a loop runs over one float type `F`: `F` values are
//! `f32x4`/`f64x2` vectors and `bool` values are lane masks of the same width (`i32x4`/`i64x2`, all ones
//! for true), so comparisons feed `bitselect` directly. Only programs that fit that model are vectorised
//! (see `loops::vector_float`); integer programs run scalar.
//!
//! Operations without an instruction sequence here call a runtime function ([`super::calls`]), once per
//! lane in vector mode.

use super::calls;
use crate::error::CodegenError;
use crate::math;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, FuncRef, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use gradjit_ir::{BinaryOp, CompareOp, DType, ReduceOp, Scalar, UnaryOp};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Mode {
    Scalar,
    /// Lanes of one float type (`F32` or `F64`) filling a 128-bit vector.
    Vector(DType),
}

/// The CLIF type of one element of `dt` in scalar code.
pub(crate) fn scalar_ty(dt: DType) -> Type {
    match dt {
        DType::F32 => types::F32,
        DType::F64 => types::F64,
        DType::I32 => types::I32,
        DType::I64 => types::I64,
        _ => types::I8,
    }
}

impl Mode {
    pub fn lanes(self) -> i64 {
        match self {
            Mode::Scalar => 1,
            Mode::Vector(f) => 16 / f.size_of() as i64,
        }
    }

    /// The CLIF type representing `dt` in this mode.
    pub fn ty(self, dt: DType) -> Type {
        match (self, dt) {
            (Mode::Scalar, d) => scalar_ty(d),
            (Mode::Vector(DType::F32), DType::F32) => types::F32X4,
            (Mode::Vector(DType::F32), _) => types::I32X4,
            (Mode::Vector(_), DType::F64) => types::F64X2,
            (Mode::Vector(_), _) => types::I64X2,
        }
    }
}

/// The math emitters of the `math` module, by operation.
fn math_emitter(op: UnaryOp) -> Option<fn(&mut FunctionBuilder, Value) -> Value> {
    Some(match op {
        UnaryOp::Exp => math::emit_exp,
        UnaryOp::Expm1 => math::emit_expm1,
        UnaryOp::Log => math::emit_log,
        UnaryOp::Log1p => math::emit_log1p,
        UnaryOp::Sin => math::emit_sin,
        UnaryOp::Cos => math::emit_cos,
        UnaryOp::Tan => math::emit_tan,
        UnaryOp::Tanh => math::emit_tanh,
        UnaryOp::Logistic => math::emit_logistic,
        UnaryOp::Erf => math::emit_erf,
        UnaryOp::Sqrt => math::emit_sqrt,
        UnaryOp::Rsqrt => math::emit_rsqrt,
        _ => return None,
    })
}

/// True if `op` on floats is one of the `math` module's polynomial expansions.
pub(crate) fn has_math_emitter(op: UnaryOp) -> bool {
    math_emitter(op).is_some()
}

fn unsupported(what: String) -> CodegenError {
    CodegenError::Unsupported(what)
}

pub(crate) struct OpEmitter<'a, 'b, 'c> {
    pub b: &'a mut FunctionBuilder<'b>,
    pub mode: Mode,
    pub calls: &'c HashMap<&'static str, FuncRef>,
}

impl OpEmitter<'_, '_, '_> {
    fn vector(&self) -> bool {
        self.mode != Mode::Scalar
    }

    /// `v` in every lane, in the representation of `dt`.
    pub fn constant(&mut self, s: Scalar, dt: DType) -> Value {
        let s = s.cast(dt);
        let scalar = match s {
            Scalar::F32(v) => self.b.ins().f32const(v),
            Scalar::F64(v) => self.b.ins().f64const(v),
            Scalar::I32(v) => self.b.ins().iconst(types::I32, i64::from(v)),
            Scalar::I64(v) => self.b.ins().iconst(types::I64, v),
            Scalar::Bool(v) if self.vector() => {
                let lane = self.mode.ty(DType::Bool).lane_type();
                self.b.ins().iconst(lane, if v { -1 } else { 0 })
            }
            Scalar::Bool(v) => self.b.ins().iconst(types::I8, i64::from(v)),
            _ => self.b.ins().iconst(types::I8, 0),
        };
        self.splat(scalar, dt)
    }

    /// A scalar of `dt` broadcast to the mode's representation (a bool as a 0/1 `i8` becomes a mask).
    pub fn splat(&mut self, x: Value, dt: DType) -> Value {
        if !self.vector() {
            return x;
        }
        let ty = self.mode.ty(dt);
        let x = if dt == DType::Bool && self.b.func.dfg.value_type(x) == types::I8 {
            let lane = ty.lane_type();
            let wide = self.b.ins().uextend(lane, x);
            self.b.ins().ineg(wide)
        } else {
            x
        };
        self.b.ins().splat(ty, x)
    }

    fn fconst(&mut self, v: f64, dt: DType) -> Value {
        self.constant(Scalar::F64(v), dt)
    }

    /// A float bit pattern (sign masks) in the representation of `dt`.
    fn fbits(&mut self, bits: i64, dt: DType) -> Value {
        let int_dt = if dt == DType::F32 { DType::I32 } else { DType::I64 };
        let i = self.b.ins().iconst(scalar_ty(int_dt), bits);
        let ty = self.mode.ty(dt);
        let i = if self.vector() { self.b.ins().splat(ty.as_int(), i) } else { i };
        self.b.ins().bitcast(ty, MemFlagsData::new(), i)
    }

    fn sign_bit(dt: DType) -> i64 {
        if dt == DType::F32 {
            i64::from(i32::MIN)
        } else {
            i64::MIN
        }
    }

    /// `|mag|` with the sign of `sign_src` (vector `fcopysign` has no x86 lowering).
    fn copysign(&mut self, mag: Value, sign_src: Value, dt: DType) -> Value {
        let sign = self.fbits(Self::sign_bit(dt), dt);
        let s = self.b.ins().band(sign_src, sign);
        let m = self.b.ins().fabs(mag);
        self.b.ins().bor(m, s)
    }

    /// Lane-wise `m ? a : b` where `m` is a bool in this mode's representation.
    pub fn choose(&mut self, m: Value, a: Value, b: Value) -> Value {
        if self.vector() {
            let ty = self.b.func.dfg.value_type(a);
            let m =
                if self.b.func.dfg.value_type(m) == ty { m } else { self.b.ins().bitcast(ty, MemFlagsData::new(), m) };
            self.b.ins().bitselect(m, a, b)
        } else {
            self.b.ins().select(m, a, b)
        }
    }

    fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.b.ins().fcmp(cc, a, b)
    }

    /// Calls runtime function `name` on each lane.
    fn call(&mut self, name: &'static str, args: &[Value]) -> Result<Value, CodegenError> {
        let f = *self.calls.get(name).ok_or_else(|| unsupported(format!("internal error: {name} not imported")))?;
        if !self.vector() {
            let inst = self.b.ins().call(f, args);
            return Ok(self.b.inst_results(inst)[0]);
        }
        let mut out = args[0];
        for lane in 0..self.mode.lanes() as u8 {
            let lane_args: Vec<Value> = args.iter().map(|&a| self.b.ins().extractlane(a, lane)).collect();
            let inst = self.b.ins().call(f, &lane_args);
            let r = self.b.inst_results(inst)[0];
            out = self.b.ins().insertlane(out, r, lane);
        }
        Ok(out)
    }

    pub fn unary(&mut self, op: UnaryOp, dt: DType, x: Value) -> Result<Value, CodegenError> {
        use UnaryOp::*;
        if dt.is_float() {
            if let Some(emit) = math_emitter(op) {
                return Ok(emit(self.b, x));
            }
            return Ok(match op {
                Neg => self.b.ins().fneg(x),
                Abs => self.b.ins().fabs(x),
                Floor => self.b.ins().floor(x),
                Ceil => self.b.ins().ceil(x),
                // sign(±0) = ±0, sign(NaN) = NaN, else ±1.
                Sign => {
                    let zero = self.fconst(0.0, dt);
                    let one = self.fconst(1.0, dt);
                    let s = self.copysign(one, x, dt);
                    let is_zero = self.fcmp(FloatCC::Equal, x, zero);
                    let is_nan = self.fcmp(FloatCC::Unordered, x, x);
                    let keep = self.b.ins().bor(is_zero, is_nan);
                    self.choose(keep, x, s)
                }
                // Half away from zero: trunc(x), plus ±1 when the dropped fraction is at least one half.
                Round => {
                    let t = self.b.ins().trunc(x);
                    let frac = self.b.ins().fsub(x, t);
                    let frac = self.b.ins().fabs(frac);
                    let half = self.fconst(0.5, dt);
                    let up = self.fcmp(FloatCC::GreaterThanOrEqual, frac, half);
                    let one = self.fconst(1.0, dt);
                    let step = self.copysign(one, x, dt);
                    let away = self.b.ins().fadd(t, step);
                    // Not `t + 0` when staying: that would turn round(-0.3) = -0 into +0.
                    self.choose(up, away, t)
                }
                IsFinite => {
                    let a = self.b.ins().fabs(x);
                    let inf = self.fconst(f64::INFINITY, dt);
                    self.fcmp(FloatCC::LessThan, a, inf)
                }
                _ => return Err(unsupported(format!("{} on {dt}", op.name()))),
            });
        }
        let ty = self.mode.ty(dt);
        Ok(match (op, dt) {
            (Not, DType::Bool) if !self.vector() => {
                let one = self.b.ins().iconst(types::I8, 1);
                self.b.ins().bxor(x, one)
            }
            (Not, _) => self.b.ins().bnot(x),
            (Neg, _) => self.b.ins().ineg(x),
            (Abs, _) => {
                let zero = self.b.ins().iconst(ty, 0);
                let neg = self.b.ins().icmp(IntCC::SignedLessThan, x, zero);
                let n = self.b.ins().ineg(x);
                self.b.ins().select(neg, n, x)
            }
            (Sign, _) => {
                let zero = self.b.ins().iconst(ty, 0);
                let one = self.b.ins().iconst(ty, 1);
                let minus = self.b.ins().iconst(ty, -1);
                let pos = self.b.ins().icmp(IntCC::SignedGreaterThan, x, zero);
                let neg = self.b.ins().icmp(IntCC::SignedLessThan, x, zero);
                let s = self.b.ins().select(neg, minus, zero);
                self.b.ins().select(pos, one, s)
            }
            _ => return Err(unsupported(format!("{} on {dt}", op.name()))),
        })
    }

    pub fn binary(&mut self, op: BinaryOp, dt: DType, a: Value, b: Value) -> Result<Value, CodegenError> {
        use BinaryOp::*;
        if let Some(name) = calls::binary(op, dt) {
            return self.call(name, &[a, b]);
        }
        match op {
            Pow if dt.is_float() => return Ok(math::emit_pow(self.b, a, b)),
            // `atan2(x, y) = atan(x / y)`: the first operand is the ordinate, as in `math::emit_atan2`.
            Atan2 => return Ok(math::emit_atan2(self.b, a, b)),
            _ => {}
        }
        let ins = self.b.ins();
        Ok(match (op, dt.is_float()) {
            (Add, true) => ins.fadd(a, b),
            (Sub, true) => ins.fsub(a, b),
            (Mul, true) => ins.fmul(a, b),
            (Div, true) => ins.fdiv(a, b),
            // CLIF fmax/fmin are IEEE 754-2019 maximum/minimum: NaN-propagating, -0 < +0 (as jax.lax.max).
            (Max, true) => ins.fmax(a, b),
            (Min, true) => ins.fmin(a, b),
            (Add, false) => ins.iadd(a, b),
            (Sub, false) => ins.isub(a, b),
            (Mul, false) => ins.imul(a, b),
            (And, false) => ins.band(a, b),
            (Or, false) => ins.bor(a, b),
            (Max, false) => {
                let gt = ins.icmp(IntCC::SignedGreaterThan, a, b);
                self.b.ins().select(gt, a, b)
            }
            (Min, false) => {
                let lt = ins.icmp(IntCC::SignedLessThan, a, b);
                self.b.ins().select(lt, a, b)
            }
            (ShiftRightLogical, false) => {
                let ty = scalar_ty(dt);
                let bits = self.b.ins().iconst(ty, i64::from(ty.bits()));
                let too_far = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, b, bits);
                let shifted = self.b.ins().ushr(a, b);
                let zero = self.b.ins().iconst(ty, 0);
                self.b.ins().select(too_far, zero, shifted)
            }
            _ => return Err(unsupported(format!("{} on {dt}", op.name()))),
        })
    }

    pub fn compare(&mut self, op: CompareOp, dt: DType, a: Value, b: Value) -> Value {
        if dt.is_float() {
            // `ne` is true for NaN operands (unordered or not equal), like Rust's `!=`.
            let cc = match op {
                CompareOp::Eq => FloatCC::Equal,
                CompareOp::Ne => FloatCC::NotEqual,
                CompareOp::Lt => FloatCC::LessThan,
                CompareOp::Le => FloatCC::LessThanOrEqual,
                CompareOp::Gt => FloatCC::GreaterThan,
                CompareOp::Ge => FloatCC::GreaterThanOrEqual,
            };
            return self.b.ins().fcmp(cc, a, b);
        }
        // bool is 0/1 (scalar) with false < true: unsigned order; integers: signed.
        let signed = dt != DType::Bool;
        let cc = match (op, signed) {
            (CompareOp::Eq, _) => IntCC::Equal,
            (CompareOp::Ne, _) => IntCC::NotEqual,
            (CompareOp::Lt, true) => IntCC::SignedLessThan,
            (CompareOp::Le, true) => IntCC::SignedLessThanOrEqual,
            (CompareOp::Gt, true) => IntCC::SignedGreaterThan,
            (CompareOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
            (CompareOp::Lt, false) => IntCC::UnsignedLessThan,
            (CompareOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
            (CompareOp::Gt, false) => IntCC::UnsignedGreaterThan,
            (CompareOp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
        };
        self.b.ins().icmp(cc, a, b)
    }

    /// `convert_element_type` with the interpreter's rules (float to int saturates, NaN to 0; to bool is
    /// `x != 0`).
    pub fn convert(&mut self, from: DType, to: DType, x: Value) -> Result<Value, CodegenError> {
        use DType::*;
        if from == to {
            return Ok(x);
        }
        if self.vector() {
            // The only vector conversion: a mask to 0.0/1.0.
            if from == Bool && to.is_float() {
                let ty = self.mode.ty(to);
                let m = self.b.ins().bitcast(ty, MemFlagsData::new(), x);
                let one = self.fconst(1.0, to);
                return Ok(self.b.ins().band(m, one));
            }
            return Err(unsupported(format!("vector conversion {from} -> {to}")));
        }
        let ins = self.b.ins();
        let to_ty = scalar_ty(to);
        Ok(match (from, to) {
            (F32, F64) => ins.fpromote(types::F64, x),
            (F64, F32) => ins.fdemote(types::F32, x),
            (F32 | F64, I32 | I64) => ins.fcvt_to_sint_sat(to_ty, x),
            (F32 | F64, Bool) => {
                let zero = if from == F32 { ins.f32const(0.0) } else { self.b.ins().f64const(0.0) };
                self.b.ins().fcmp(FloatCC::NotEqual, x, zero)
            }
            (I32, I64) => ins.sextend(types::I64, x),
            (I64, I32) => ins.ireduce(types::I32, x),
            (I32 | I64, F32 | F64) => ins.fcvt_from_sint(to_ty, x),
            (I32 | I64, Bool) => ins.icmp_imm_s(IntCC::NotEqual, x, 0),
            (Bool, I32 | I64) => ins.uextend(to_ty, x),
            (Bool, F32 | F64) => {
                let w = ins.uextend(types::I32, x);
                self.b.ins().fcvt_from_sint(to_ty, w)
            }
            _ => return Err(unsupported(format!("conversion {from} -> {to}"))),
        })
    }

    /// `x^y` with jax.lax.integer_pow's multiplication sequence (so results match the interpreter bit for
    /// bit): binary powering from the low bit, then `1 / x^|y|` for negative `y`.
    pub fn integer_pow(&mut self, dt: DType, y: i32, x: Value) -> Result<Value, CodegenError> {
        if !dt.is_float() {
            let name = if dt == DType::I32 { "gj_pow_i32" } else { "gj_pow_i64" };
            let e = self.b.ins().iconst(scalar_ty(dt), i64::from(y));
            return self.call(name, &[x, e]);
        }
        let mut n = y.unsigned_abs();
        let (mut acc, mut square) = (None::<Value>, x);
        while n > 0 {
            if n & 1 == 1 {
                acc = Some(match acc {
                    None => square,
                    Some(a) => self.b.ins().fmul(a, square),
                });
            }
            n >>= 1;
            if n > 0 {
                square = self.b.ins().fmul(square, square);
            }
        }
        let acc = match acc {
            Some(a) => a,
            None => self.fconst(1.0, dt),
        };
        Ok(if y < 0 {
            let one = self.fconst(1.0, dt);
            self.b.ins().fdiv(one, acc)
        } else {
            acc
        })
    }

    /// `a op b` for the combining operation of a reduction.
    pub fn reduce_combine(&mut self, op: ReduceOp, dt: DType, a: Value, b: Value) -> Result<Value, CodegenError> {
        let bin = match (op, dt) {
            (ReduceOp::Sum, _) => BinaryOp::Add,
            (ReduceOp::Prod, _) => BinaryOp::Mul,
            (ReduceOp::Max, DType::Bool) => BinaryOp::Or,
            (ReduceOp::Min, DType::Bool) => BinaryOp::And,
            (ReduceOp::Max, _) => BinaryOp::Max,
            (ReduceOp::Min, _) => BinaryOp::Min,
        };
        self.binary(bin, dt, a, b)
    }
}
