//! JVP rules: for each primitive, the tangent of its outputs as a linear function of the
//! tangents of its inputs.
//!
//! A rule receives the primal inputs `x` and outputs `y` (already emitted, so rules reuse them:
//! `exp` is `t * y`) and the input tangents `t`, where `None` is a symbolic zero. It returns one
//! tangent per output. The driver only calls a rule when some input tangent is non-zero and
//! some output is inexact, so integer and boolean operations never reach their rule.
//!
//! Every tangent is built from linear primitives applied to tangents, with primal values as the
//! other operands (`mul t (cos x)`, never `mul t t`): that is what lets the transpose rules in
//! [`super::transpose`] run the linear part backwards.

use crate::builder::{Builder, Outs};
use crate::control;
use crate::error::AdError;
use gradjit_ir::{Axes, BinaryOp, CollectiveOp, CompareOp, Prim, ReduceOp, Scalar, UnaryOp, Value};
use smallvec::{smallvec, SmallVec};
use std::f64::consts::FRAC_2_SQRT_PI;

/// Output tangents of one equation (`None` = symbolic zero).
pub(crate) type Tangents = SmallVec<[Option<Value>; 1]>;

/// The tangents of `y = prim(x)` given the tangents `t` of `x`.
///
/// A rule may recompute the primal outputs together with the tangents and replace `y` (as `call`
/// does, to evaluate its body once); the equation emitted first is then dead code.
pub(crate) fn jvp(
    b: &mut Builder,
    prim: &Prim,
    x: &[Value],
    y: &mut Outs,
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    let out = match prim {
        Prim::Unary(op) => unary(b, *op, x[0], y[0], t[0])?,
        Prim::Binary(op) => binary(b, *op, x[0], x[1], y[0], t[0], t[1])?,
        Prim::Compare(_) | Prim::Arg { .. } | Prim::Iota { .. } | Prim::Constant(_) => None,
        Prim::RandomBits { .. } | Prim::StopGradient => None,
        // d x^n = n x^(n-1) dx
        Prim::IntegerPow { y: n } => match (*n, t[0]) {
            (0, _) | (_, None) => None,
            (1, t) => t,
            (n, Some(t)) => {
                let p = if n == 2 { x[0] } else { b.emit1(Prim::IntegerPow { y: n - 1 }, &[x[0]])? };
                let d = b.scale(p, f64::from(n))?;
                Some(b.mul(t, d)?)
            }
        },
        Prim::Select => {
            let ty = b.ty(y[0]);
            let on_true = b.instantiate(t[1], &ty)?;
            let on_false = b.instantiate(t[2], &ty)?;
            Some(b.select(x[0], on_true, on_false)?)
        }
        // Structural primitives are linear in their first operand: apply them to its tangent.
        Prim::BroadcastInDim { .. }
        | Prim::Reshape { .. }
        | Prim::Transpose { .. }
        | Prim::Slice { .. }
        | Prim::Rev { .. }
        | Prim::Gather { .. }
        | Prim::DynamicSlice { .. }
        | Prim::Reduce { op: ReduceOp::Sum, .. } => same_on_first(b, prim, x, t[0])?,
        // The padding value is a static parameter: its derivative is zero.
        Prim::Pad { low, high, interior, value } => match t[0] {
            None => None,
            Some(t) => {
                let zero = Scalar::from_f64(0.0, value.dtype());
                let pad = Prim::Pad { low: low.clone(), high: high.clone(), interior: interior.clone(), value: zero };
                Some(b.emit1(pad, &[t])?)
            }
        },
        Prim::Concatenate { .. } => {
            let parts = instantiate_all(b, x, t)?;
            Some(b.emit1(prim.clone(), &parts)?)
        }
        // scatter_add(x, i, u) is linear in (x, u).
        Prim::ScatterAdd { .. } => match t[2] {
            None => t[0],
            Some(tu) => {
                let tx = b.instantiate(t[0], &b.ty(x[0]))?;
                Some(b.emit1(prim.clone(), &[tx, x[1], tu])?)
            }
        },
        // dynamic_update_slice(x, u, i..) is linear in (x, u); a zero update still overwrites.
        Prim::DynamicUpdateSlice => {
            let tx = b.instantiate(t[0], &b.ty(x[0]))?;
            let tu = b.instantiate(t[1], &b.ty(x[1]))?;
            let mut ins: SmallVec<[Value; 3]> = smallvec![tx, tu];
            ins.extend_from_slice(&x[2..]);
            Some(b.emit1(prim.clone(), &ins)?)
        }
        Prim::Reduce { op: ReduceOp::Max | ReduceOp::Min, axes } => match t[0] {
            None => None,
            Some(t) => Some(reduce_chooser(b, x[0], y[0], t, axes)?),
        },
        Prim::Reduce { op: ReduceOp::Prod, axes } => match t[0] {
            None => None,
            Some(t) => Some(reduce_prod(b, x[0], y[0], t, axes)?),
        },
        // d(a·b) = da·b + a·db
        Prim::DotGeneral(_) => {
            let da = t[0].map(|ta| b.emit1(prim.clone(), &[ta, x[1]])).transpose()?;
            let db = t[1].map(|tb| b.emit1(prim.clone(), &[x[0], tb])).transpose()?;
            b.add_any(da, db)?
        }
        Prim::ConvertElementType { dtype } => match t[0] {
            Some(t) if dtype.is_inexact() => Some(b.convert(t, *dtype)?),
            _ => None,
        },
        Prim::Call { body } => return control::call::jvp(b, body, x, y, t),
        Prim::Scan { length, reverse, num_consts, num_carry, body } => {
            let s = control::scan::Params::new(*length, *reverse, *num_consts, *num_carry, body);
            return control::scan::jvp(b, s, x, y, t);
        }
        Prim::While { cond_consts, body_consts, cond, body } => {
            let w = control::while_loop::Params { cond_consts: *cond_consts, body_consts: *body_consts, cond, body };
            return control::while_loop::jvp(b, w, x, y, t);
        }
        Prim::Cond { branches } => return control::cond::jvp(b, branches, x, y, t),
        Prim::CustomJvp { jvp, .. } => return control::custom::custom_jvp(b, jvp, x, y, t),
        Prim::CustomVjp { fwd, bwd, .. } => return control::custom::custom_vjp(b, fwd, bwd, x, y, t),
        Prim::CustomLin { num_res, .. } => return control::custom::custom_lin_jvp(b, prim, *num_res, x, t),
        // psum and pmean are linear: the same collective of the tangent.
        Prim::Collective { op: CollectiveOp::Psum | CollectiveOp::Pmean, .. } => same_on_first(b, prim, x, t[0])?,
        // The tangent of the lanes holding the extreme, averaged over them (as `reduce_max`).
        Prim::Collective { axis_name, .. } => match t[0] {
            None => None,
            Some(t) => {
                let psum = Prim::Collective { op: CollectiveOp::Psum, axis_name: axis_name.clone() };
                let hit = b.compare(CompareOp::Eq, x[0], y[0])?;
                let zero = b.full_like(0.0, t)?;
                let chosen = b.select(hit, t, zero)?;
                let total = b.emit1(psum.clone(), &[chosen])?;
                let dtype = b.ty(t).dtype;
                let count = b.convert(hit, dtype)?;
                let count = b.emit1(psum, &[count])?;
                Some(b.div(total, count)?)
            }
        },
    };
    Ok(smallvec![out])
}

/// Elementwise unary operations: `t` times the derivative, written with the output `y` where
/// that is cheaper.
fn unary(b: &mut Builder, op: UnaryOp, x: Value, y: Value, t: Option<Value>) -> Result<Option<Value>, AdError> {
    use UnaryOp::*;
    let Some(t) = t else { return Ok(None) };
    let complex = b.ty(x).dtype.is_complex();
    // The factor `d` in `t * d`.
    let d = match op {
        Sign | Floor | Ceil | Round | IsFinite | Not => return Ok(None),
        Neg | Real | Imag | Conj => return Ok(Some(b.unary(op, t)?)),
        // d|z| = Re(conj(z) dz) / |z|: real-linear, not holomorphic. At z = 0 JAX divides by 1
        // instead of 0, so the derivative there is 0, not NaN.
        Abs if complex => {
            let c = b.conj(x)?;
            let p = b.mul(t, c)?;
            let r = b.real(p)?;
            let zero = b.full_like(0.0, y)?;
            let at_zero = b.compare(CompareOp::Eq, y, zero)?;
            let one = b.full_like(1.0, y)?;
            let denominator = b.select(at_zero, one, y)?;
            return Ok(Some(b.div(r, denominator)?));
        }
        // JAX's select(x >= 0, t, -t): the slope at 0 is 1, not sign(0) = 0.
        Abs => {
            let zero = b.full_like(0.0, x)?;
            let nonnegative = b.compare(CompareOp::Ge, x, zero)?;
            let (one, minus_one) = (b.full_like(1.0, x)?, b.full_like(-1.0, x)?);
            b.select(nonnegative, one, minus_one)?
        }
        Exp => y,
        Expm1 => b.add_const(y, 1.0)?,
        Log => return Ok(Some(b.div(t, x)?)),
        Log1p => {
            let d = b.add_const(x, 1.0)?;
            return Ok(Some(b.div(t, d)?));
        }
        Sqrt => {
            let d = b.scale(y, 2.0)?;
            return Ok(Some(b.div(t, d)?));
        }
        // d x^(-1/2) = -1/2 x^(-3/2) = -1/2 y / x
        Rsqrt => {
            let q = b.div(y, x)?;
            b.scale(q, -0.5)?
        }
        Tanh => {
            let y2 = b.mul(y, y)?;
            b.const_sub(1.0, y2)?
        }
        Logistic => {
            let c = b.const_sub(1.0, y)?;
            b.mul(y, c)?
        }
        Sin => b.cos(x)?,
        Cos => {
            let s = b.sin(x)?;
            b.neg(s)?
        }
        Tan => {
            let y2 = b.mul(y, y)?;
            b.add_const(y2, 1.0)?
        }
        // d erf(x) = 2/sqrt(pi) exp(-x^2)
        Erf => {
            let x2 = b.mul(x, x)?;
            let n = b.neg(x2)?;
            let e = b.exp(n)?;
            b.scale(e, FRAC_2_SQRT_PI)?
        }
    };
    Ok(Some(b.mul(t, d)?))
}

/// `t * d`, building the factor `d` only when the tangent is non-zero.
fn times(
    b: &mut Builder,
    t: Option<Value>,
    d: impl FnOnce(&mut Builder) -> Result<Value, AdError>,
) -> Result<Option<Value>, AdError> {
    let Some(t) = t else { return Ok(None) };
    let d = d(b)?;
    Ok(Some(b.mul(t, d)?))
}

/// Elementwise binary operations.
fn binary(
    b: &mut Builder,
    op: BinaryOp,
    x0: Value,
    x1: Value,
    y: Value,
    t0: Option<Value>,
    t1: Option<Value>,
) -> Result<Option<Value>, AdError> {
    use BinaryOp::*;
    let (d0, d1) = match op {
        And | Or | ShiftRightLogical => return Ok(None),
        Add => (t0, t1),
        Sub => (t0, t1.map(|t| b.neg(t)).transpose()?),
        Mul => (times(b, t0, |_| Ok(x1))?, times(b, t1, |_| Ok(x0))?),
        // d(a/b) = da/b - db·(y/b)
        Div => {
            let d0 = t0.map(|t| b.div(t, x1)).transpose()?;
            let d1 = times(b, t1, |b| {
                let q = b.div(y, x1)?;
                b.neg(q)
            })?;
            (d0, d1)
        }
        // d(a^b) = b·a^(b-1) da + log(a)·y db, with 0 where b = 0 (resp. a = 0) as JAX does.
        Pow => {
            let d0 = times(b, t0, |b| {
                let bm1 = b.add_const(x1, -1.0)?;
                let p = b.pow(x0, bm1)?;
                let d = b.mul(x1, p)?;
                let zero = b.full_like(0.0, x1)?;
                let is0 = b.compare(CompareOp::Eq, x1, zero)?;
                b.select(is0, zero, d)
            })?;
            let d1 = times(b, t1, |b| {
                let zero = b.full_like(0.0, x0)?;
                let one = b.full_like(1.0, x0)?;
                let is0 = b.compare(CompareOp::Eq, x0, zero)?;
                let safe = b.select(is0, one, x0)?;
                let l = b.unary(UnaryOp::Log, safe)?;
                b.mul(y, l)
            })?;
            (d0, d1)
        }
        // Ties split the tangent evenly, so max(x, x) has derivative 1 (as in JAX).
        Max => (
            times(b, t0, |b| choice_weight(b, x0, x1, CompareOp::Gt))?,
            times(b, t1, |b| choice_weight(b, x1, x0, CompareOp::Gt))?,
        ),
        Min => (
            times(b, t0, |b| choice_weight(b, x0, x1, CompareOp::Lt))?,
            times(b, t1, |b| choice_weight(b, x1, x0, CompareOp::Lt))?,
        ),
        // rem(a, b) = a - b·trunc(a/b)
        Rem => {
            let d1 = times(b, t1, |b| {
                let q = b.div(x0, x1)?;
                let zero = b.full_like(0.0, q)?;
                let neg = b.compare(CompareOp::Lt, q, zero)?;
                let (c, f) = (b.ceil(q)?, b.floor(q)?);
                let trunc = b.select(neg, c, f)?;
                b.neg(trunc)
            })?;
            (t0, d1)
        }
        // atan2(a, b) = atan(a/b): d = (b da - a db) / (a² + b²)
        Atan2 => {
            let (a2, b2) = (b.mul(x0, x0)?, b.mul(x1, x1)?);
            let r = b.add(a2, b2)?;
            let d0 = times(b, t0, |b| b.div(x1, r))?;
            let d1 = times(b, t1, |b| {
                let q = b.div(x0, r)?;
                b.neg(q)
            })?;
            (d0, d1)
        }
        Complex => {
            let ty = b.ty(x0);
            let re = b.instantiate(t0, &ty)?;
            let im = b.instantiate(t1, &ty)?;
            return Ok(Some(b.complex(re, im)?));
        }
    };
    b.add_any(d0, d1)
}

/// 1 where `x op other`, 1/2 where they tie, 0 elsewhere.
fn choice_weight(b: &mut Builder, x: Value, other: Value, op: CompareOp) -> Result<Value, AdError> {
    let wins = b.compare(op, x, other)?;
    let ties = b.compare(CompareOp::Eq, x, other)?;
    let (one, half, zero) = (b.full_like(1.0, x)?, b.full_like(0.5, x)?, b.full_like(0.0, x)?);
    let tie_weight = b.select(ties, half, zero)?;
    b.select(wins, one, tie_weight)
}

fn same_on_first(b: &mut Builder, prim: &Prim, x: &[Value], t: Option<Value>) -> Result<Option<Value>, AdError> {
    let Some(t) = t else { return Ok(None) };
    let mut ins: SmallVec<[Value; 3]> = smallvec![t];
    ins.extend_from_slice(&x[1..]);
    Ok(Some(b.emit1(prim.clone(), &ins)?))
}

fn instantiate_all(b: &mut Builder, x: &[Value], t: &[Option<Value>]) -> Result<SmallVec<[Value; 3]>, AdError> {
    x.iter().zip(t).map(|(&x, &t)| b.instantiate(t, &b.ty(x))).collect()
}

/// reduce_max/min: the tangent of the chosen element, averaged over ties.
fn reduce_chooser(b: &mut Builder, x: Value, y: Value, t: Value, axes: &Axes) -> Result<Value, AdError> {
    let xt = b.ty(x);
    let yb = b.unreduce(y, &xt.shape, axes)?;
    let hit = b.compare(CompareOp::Eq, x, yb)?;
    let mask = b.convert(hit, xt.dtype)?;
    let count = b.reduce_sum(mask, axes.clone())?;
    let tm = b.mul(t, mask)?;
    let s = b.reduce_sum(tm, axes.clone())?;
    b.div(s, count)
}

/// reduce_prod: d(Π x)/dx_i = Π_{j≠i} x_j, which is y/x_i where x_i ≠ 0 and, at a zero, the
/// product of the others when it is the only zero (else 0).
fn reduce_prod(b: &mut Builder, x: Value, y: Value, t: Value, axes: &Axes) -> Result<Value, AdError> {
    let (xt, yt) = (b.ty(x), b.ty(y));
    let (zero, one) = (b.zeros(&xt)?, b.splat(1.0, &xt)?);
    let is_zero = b.compare(CompareOp::Eq, x, zero)?;
    let safe = b.select(is_zero, one, x)?;
    let safe_prod = b.reduce(ReduceOp::Prod, safe, axes.clone())?;
    let zeros_mask = b.convert(is_zero, xt.dtype)?;
    let zero_count = b.reduce_sum(zeros_mask, axes.clone())?;
    let (y_one, y_zero) = (b.splat(1.0, &yt)?, b.zeros(&yt)?);
    let single_zero = b.compare(CompareOp::Eq, zero_count, y_one)?;
    let at_zero = b.select(single_zero, safe_prod, y_zero)?;
    let at_zero = b.unreduce(at_zero, &xt.shape, axes)?;
    let yb = b.unreduce(y, &xt.shape, axes)?;
    let elsewhere = b.div(yb, safe)?;
    let d = b.select(is_zero, at_zero, elsewhere)?;
    let td = b.mul(t, d)?;
    b.reduce_sum(td, axes.clone())
}
