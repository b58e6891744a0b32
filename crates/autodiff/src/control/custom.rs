//! Custom derivatives: the user's rules replace differentiation through the primal function.
//!
//! - `custom_jvp_call`: the JVP is a call of the user's `jvp` rule on the primals and their
//!   tangents (zeros instantiated). Reverse mode linearizes and transposes that call like any
//!   other code, which is why the rule must be linear in the tangents.
//! - `custom_vjp_call`: reverse mode calls `fwd` for the outputs and the residuals and emits a
//!   `custom_lin` of the residuals and the tangents, whose transpose calls `bwd`. Forward mode
//!   has no rule to use, so it is an error ([`AdError::CustomVjpForward`]), as in JAX.
//! - `custom_lin` is linear in its tangents: its JVP is itself applied to their tangents.

use super::tangent_ty;
use crate::builder::{Builder, Mode, Outs};
use crate::error::AdError;
use crate::rules::jvp::Tangents;
use crate::rules::transpose::{Cotangents, Operand};
use gradjit_ir::{Function, Prim, Value};
use smallvec::SmallVec;
use std::sync::Arc;

/// Tangents of `y`, kept only for inexact outputs (integers have none).
fn inexact(b: &Builder, y: &[Value], t: impl IntoIterator<Item = Value>) -> Tangents {
    y.iter().zip(t).map(|(&v, t)| b.ty(v).dtype.is_inexact().then_some(t)).collect()
}

/// `t` with zeros (of the tangent type of `x`) for symbolic zeros.
fn instantiate_all(b: &mut Builder, x: &[Value], t: &[Option<Value>]) -> Result<SmallVec<[Value; 3]>, AdError> {
    x.iter().zip(t).map(|(&x, &t)| b.instantiate(t, &tangent_ty(&b.ty(x)))).collect()
}

/// `custom_jvp_call`: the user's rule, called on the primals and their tangents.
pub(crate) fn custom_jvp(
    b: &mut Builder,
    jvp: &Arc<Function>,
    x: &[Value],
    y: &mut Outs,
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    let mut args: SmallVec<[Value; 3]> = x.iter().copied().collect();
    args.extend(instantiate_all(b, x, t)?);
    let outs = b.emit(Prim::Call { body: jvp.clone() }, &args)?;
    let (primal, tangents) = outs.split_at(y.len());
    *y = primal.iter().copied().collect();
    Ok(inexact(b, y, tangents.iter().copied()))
}

/// `custom_vjp_call`: `fwd` gives the outputs and residuals; the tangents are a `custom_lin` of
/// the residuals and the operands' tangents.
pub(crate) fn custom_vjp(
    b: &mut Builder,
    fwd: &Arc<Function>,
    bwd: &Arc<Function>,
    x: &[Value],
    y: &mut Outs,
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    if b.mode == Mode::Forward {
        return Err(AdError::CustomVjpForward);
    }
    let outs = b.emit(Prim::Call { body: fwd.clone() }, x)?;
    let (primal, residuals) = outs.split_at(y.len());
    *y = primal.iter().copied().collect();
    let mut args: SmallVec<[Value; 3]> = residuals.iter().copied().collect();
    args.extend(instantiate_all(b, x, t)?);
    let lin = b.emit(Prim::CustomLin { num_res: residuals.len(), bwd: bwd.clone() }, &args)?;
    Ok(inexact(b, y, lin))
}

/// `custom_lin`: linear in its tangent operands, constant in its residuals.
pub(crate) fn custom_lin_jvp(
    b: &mut Builder,
    prim: &Prim,
    num_res: usize,
    x: &[Value],
    t: &[Option<Value>],
) -> Result<Tangents, AdError> {
    if t[..num_res].iter().any(Option::is_some) {
        return Err(AdError::NotLinear { prim: "custom_lin".into(), operands: "its residuals".into() });
    }
    let mut args: SmallVec<[Value; 3]> = x[..num_res].iter().copied().collect();
    args.extend(instantiate_all(b, &x[num_res..], &t[num_res..])?);
    let outs = b.emit(prim.clone(), &args)?;
    Ok(outs.into_iter().map(Some).collect())
}

/// The transpose of `custom_lin`: `bwd` of the residuals and the output cotangents.
pub(crate) fn custom_lin_transpose(
    b: &mut Builder,
    num_res: usize,
    bwd: &Arc<Function>,
    x: &[Operand],
    ct: &[Option<Value>],
) -> Result<Cotangents, AdError> {
    let residuals: Option<SmallVec<[Value; 3]>> = x[..num_res].iter().map(Operand::primal).collect();
    let Some(mut args) = residuals else {
        return Err(AdError::NotLinear { prim: "custom_lin".into(), operands: "its residuals".into() });
    };
    if ct.iter().all(Option::is_none) {
        return Ok(x.iter().map(|_| None).collect());
    }
    let ct_tys = &bwd.param_types()[num_res..];
    for (c, ty) in ct.iter().zip(ct_tys) {
        args.push(b.instantiate(*c, ty)?);
    }
    let outs = b.emit(Prim::Call { body: bwd.clone() }, &args)?;
    let mut outs = outs.into_iter();
    Ok(x.iter()
        .enumerate()
        .map(|(i, o)| if i >= num_res { outs.next().filter(|_| o.is_linear()) } else { None })
        .collect())
}
