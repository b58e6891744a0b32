//! Forward mode: the JVP transform.
//!
//! `jvp(f)` is a function of `(primals..., tangents...)` returning `(outputs..., output
//! tangents...)`. It copies every equation of `f` and follows it with the equations of its JVP
//! rule ([`crate::rules::jvp`]). Tangents are tracked as `Option<Value>` with `None` a symbolic
//! zero, so a value that does not depend on the tangent inputs costs nothing; zeros are only
//! materialised where a rule or an output needs an array.
//!
//! The tangent of a value of type `T` has type `T` with dtype [`DType::tangent`](gradjit_ir::DType::tangent): `float0` for
//! integers and booleans, whose tangents are always (symbolic) zero.

use crate::builder::{lookup, Builder, Mode};
use crate::error::AdError;
use crate::rules;
use gradjit_ir::{Function, ShapeError, Value};
use smallvec::SmallVec;

/// Emits the JVP of `f` into `b`, with `primals` bound to `f`'s parameters and `tangents` their
/// tangents; returns `f`'s outputs and their tangents.
pub(crate) fn jvp_into(
    b: &mut Builder,
    f: &Function,
    primals: &[Value],
    tangents: &[Option<Value>],
) -> Result<(Vec<Value>, Vec<Option<Value>>), AdError> {
    let mut env: Vec<Option<Value>> = vec![None; f.num_values()];
    let mut tan: Vec<Option<Value>> = vec![None; f.num_values()];
    for (i, &p) in f.params.iter().enumerate() {
        env[p.index()] = Some(primals[i]);
        if f.ty(p).dtype.is_inexact() {
            tan[p.index()] = tangents[i];
        }
    }
    let saved = b.loc.clone();
    for e in &f.eqns {
        let x = e.inputs.iter().map(|&v| lookup(&env, v)).collect::<Result<SmallVec<[Value; 3]>, _>>()?;
        let t: SmallVec<[Option<Value>; 3]> = e.inputs.iter().map(|&v| tan[v.index()]).collect();
        b.loc = e.loc.clone();
        let mut y = b.emit(e.prim.clone(), &x)?;
        let differentiable = e.outputs.iter().any(|&o| f.ty(o).dtype.is_inexact());
        let ty = if differentiable && t.iter().any(Option::is_some) {
            rules::jvp::jvp(b, &e.prim, &x, &mut y, &t)?
        } else {
            SmallVec::from_elem(None, y.len())
        };
        for ((&o, &yv), &tv) in e.outputs.iter().zip(&y).zip(&ty) {
            env[o.index()] = Some(yv);
            if let Some(tv) = tv {
                check_tangent(b, e.prim.name(), yv, tv)?;
                tan[o.index()] = Some(tv);
            }
        }
    }
    b.loc = saved;
    let outs = f.outputs.iter().map(|&v| lookup(&env, v)).collect::<Result<Vec<_>, _>>()?;
    Ok((outs, f.outputs.iter().map(|&v| tan[v.index()]).collect()))
}

/// A rule's tangent must have the primal's shape and its tangent dtype.
fn check_tangent(b: &Builder, prim: &str, primal: Value, tangent: Value) -> Result<(), AdError> {
    let (p, t) = (b.ty(primal), b.ty(tangent));
    if t == p.with_dtype(p.dtype.tangent()) {
        Ok(())
    } else {
        Err(ShapeError::new(prim, format!("JVP rule produced a {t} tangent for a {p} output")).at(b.loc.clone()).into())
    }
}

/// The JVP of `f` as a function. Its parameters are `f`'s, then one tangent for each parameter
/// `i` with `tangent_params[i]` (of dtype `float0`, and ignored, for non-inexact ones). Its
/// outputs are `f`'s, then their tangents: all of them when `instantiate` (zeros materialised),
/// else only the non-zero ones, as reported by the returned mask.
pub(crate) fn jvp_function(
    f: &Function,
    tangent_params: &[bool],
    instantiate: bool,
    mode: Mode,
) -> Result<(Function, Vec<bool>), AdError> {
    let mut g = Function::new();
    let primals: Vec<Value> = f.params.iter().map(|&p| g.add_param(f.ty(p).clone())).collect();
    let mut tangents = Vec::with_capacity(f.params.len());
    for (&p, &has) in f.params.iter().zip(tangent_params) {
        let ty = f.ty(p);
        tangents.push(has.then(|| g.add_param(ty.with_dtype(ty.dtype.tangent()))).filter(|_| ty.dtype.is_inexact()));
    }
    let mut b = Builder::with_mode(&mut g, mode);
    let (outs, touts) = jvp_into(&mut b, f, &primals, &tangents)?;
    let mut outputs = outs.clone();
    let mut nonzero = Vec::with_capacity(touts.len());
    for (&o, t) in outs.iter().zip(touts) {
        nonzero.push(t.is_some());
        if instantiate {
            let ty = b.ty(o);
            outputs.push(b.instantiate(t, &ty.with_dtype(ty.dtype.tangent()))?);
        } else {
            outputs.extend(t);
        }
    }
    g.outputs = outputs;
    Ok((g, nonzero))
}

/// Forward-mode derivative: `jvp(f)(x..., t...) = (f(x)..., ∂f(x)·t...)`.
///
/// The result takes `f`'s parameters then one tangent per parameter (dtype
/// [`DType::tangent`](gradjit_ir::DType::tangent) of the parameter's), and returns `f`'s outputs then one tangent per output.
pub fn jvp(f: &Function) -> Result<Function, AdError> {
    let (g, _) = jvp_function(f, &vec![true; f.params.len()], true, Mode::Forward)?;
    Ok(crate::finish(g))
}
