//! Branches: [`cond`] (JAX's `lax.cond`), [`switch`] (`lax.switch`) and [`ifelse`] (BrainPy's
//! `ifelse`), all one `cond` primitive holding every branch. Only the selected branch runs, and
//! only it is differentiated.
//!
//! Every branch takes the operands and must return the same structure and types. Variables
//! any branch reads or writes are operands of all of them, and a variable one branch writes is
//! written by all (the others pass its value through), so it holds the selected branch's value
//! afterwards.

use super::body::{apply, describe, error, output_types, rebind, types, write_back, Closure};
use crate::error::{Error, Result};
use crate::make_ir::{trace, TracedFunction};
use crate::ops::select;
use crate::signature::{ArgsFor, Output, TraceFn};
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::tree::Tree;
use crate::var::Var;
use gradjit_ir::{Loc, Prim, TensorType};

/// `true_fn(operands)` if `pred` holds, else `false_fn(operands)`, as `jax.lax.cond`. `pred` is
/// a bool (or integer, true when non-zero) scalar.
///
/// ```
/// use gradjit::{cond, Tensor};
/// let x = Tensor::from(3.0f32);
/// let y = cond(&x.gt(0.0f32), |x: Tensor| x.sqrt(), |x: Tensor| -x, &x)?;
/// assert!((y.item()? - 3.0f64.sqrt()).abs() < 1e-6);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn cond<P, T, F>(
    pred: &Tensor,
    true_fn: T,
    false_fn: F,
    operands: impl ArgsFor<P>,
) -> Result<<T::Out as Output>::With<Tensor>>
where
    T: TraceFn<P>,
    F: TraceFn<P>,
{
    let loc = caller();
    let ty = pred.ty_or_err()?;
    if ty.rank() != 0 || !(ty.dtype.is_int() || ty.dtype == gradjit_ir::DType::Bool) {
        return Err(error("cond", format!("the predicate must be a bool or integer scalar, got {ty}"), &loc));
    }
    // A non-zero integer is true; the primitive's index clamps, so compare first.
    let index = if ty.dtype.is_int() { pred.not_equal(0) } else { pred.clone() };
    let trees = operands.into_trees();
    let tys = trees.iter().map(types).collect::<Result<Vec<_>>>()?;
    let branches = vec![trace(&false_fn, &tys, &loc)?, trace(&true_fn, &tys, &loc)?];
    let out = run_cond("cond", &index, &branches, trees, &loc)?;
    <T::Out as Output>::rebuild(out).ok_or_else(|| structure_error("cond"))
}

/// `branches[index](operands)`, as `jax.lax.switch`: `index` is an integer scalar, clamped into
/// range. Branches of different closure types can be passed as `&dyn Fn` references.
///
/// ```
/// use gradjit::{switch, Tensor};
/// let branches: [&dyn Fn(Tensor) -> Tensor; 3] = [&|x| x.sin(), &|x| x.cos(), &|x| x.exp()];
/// let y = switch(&Tensor::from(2), &branches, 0.0f32)?;
/// assert_eq!(y.item()?, 1.0);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn switch<P, F: TraceFn<P>>(
    index: &Tensor,
    branches: &[F],
    operands: impl ArgsFor<P>,
) -> Result<<F::Out as Output>::With<Tensor>> {
    let loc = caller();
    let ty = index.ty_or_err()?;
    if ty.rank() != 0 || !ty.dtype.is_int() {
        return Err(error("switch", format!("the index must be an integer scalar, got {ty}"), &loc));
    }
    traced_switch("switch", index, branches, operands, &loc)
}

/// BrainPy's `ifelse`: `branches[i](operands)` for the first `conditions[i]` that holds, or the
/// last branch if none does (so there is one more branch than conditions). Each condition is a
/// bool scalar.
///
/// ```
/// use gradjit::{ifelse, Tensor};
/// let x = Tensor::from(5.0f32);
/// let branches: [&dyn Fn(Tensor) -> Tensor; 3] = [&|x| x * 1.0, &|x| x * 2.0, &|x| x * 3.0];
/// let y = ifelse(&[x.lt(0.0f32), x.lt(10.0f32)], &branches, &x)?;
/// assert_eq!(y.item()?, 10.0);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn ifelse<P, F: TraceFn<P>>(
    conditions: &[Tensor],
    branches: &[F],
    operands: impl ArgsFor<P>,
) -> Result<<F::Out as Output>::With<Tensor>> {
    let loc = caller();
    if branches.len() != conditions.len() + 1 {
        let message = format!(
            "needs one branch more than conditions (the last runs when none holds), got {} branches for {} conditions",
            branches.len(),
            conditions.len()
        );
        return Err(error("ifelse", message, &loc));
    }
    for c in conditions {
        let ty = c.ty_or_err()?;
        if ty != TensorType::scalar(gradjit_ir::DType::Bool) {
            return Err(error("ifelse", format!("each condition must be a bool scalar, got {ty}"), &loc));
        }
    }
    // The first condition that holds wins: fold from the last.
    let mut index = Tensor::scalar(conditions.len() as i32);
    for (k, c) in conditions.iter().enumerate().rev() {
        index = select(c, Tensor::scalar(k as i32), &index);
    }
    traced_switch("ifelse", &index, branches, operands, &loc)
}

fn traced_switch<P, F: TraceFn<P>>(
    op: &str,
    index: &Tensor,
    branches: &[F],
    operands: impl ArgsFor<P>,
    loc: &Loc,
) -> Result<<F::Out as Output>::With<Tensor>> {
    if branches.is_empty() {
        return Err(error(op, "needs at least one branch", loc));
    }
    let trees = operands.into_trees();
    let tys = trees.iter().map(types).collect::<Result<Vec<_>>>()?;
    let traced = branches.iter().map(|b| trace(b, &tys, loc)).collect::<Result<Vec<_>>>()?;
    let out = run_cond(op, index, &traced, trees, loc)?;
    <F::Out as Output>::rebuild(out).ok_or_else(|| structure_error(op))
}

/// Applies a `cond` of the traced branches to the operands and returns the output tree.
fn run_cond(
    op: &str,
    index: &Tensor,
    branches: &[TracedFunction],
    operands: Vec<Tree<Tensor>>,
    loc: &Loc,
) -> Result<Tree<Tensor>> {
    let out = output_types(&branches[0])?;
    for (k, b) in branches.iter().enumerate().skip(1) {
        let other = output_types(b)?;
        if other != out {
            let message = format!(
                "every branch must return the same types, but branch 0 returns {} and branch {k} returns {}",
                describe(&out),
                describe(&other)
            );
            return Err(error(op, message, loc));
        }
    }
    let mut closure = Closure::default();
    let mut written: Vec<Var> = Vec::new();
    for b in branches {
        closure.add(b, true);
        for v in b.var_outputs() {
            if !written.contains(v) {
                written.push(v.clone());
            }
        }
    }
    let functions = branches
        .iter()
        .map(|b| {
            let r = rebind(b, &closure, &written);
            let params =
                [&r.explicit_params, &r.var_params, &r.capture_params].into_iter().flatten().copied().collect();
            let outputs = r.explicit_outputs.iter().chain(&r.written_outputs).copied().collect();
            r.finish(params, outputs).into()
        })
        .collect();
    let (var_values, captures) = closure.operands(loc);
    let mut all = vec![index.clone()];
    all.extend(operands.into_iter().flat_map(Tree::into_leaves));
    all.extend(var_values);
    all.extend(captures);
    let mut outs = apply(Prim::Cond { branches: functions }, &all, loc)?;
    let finals = outs.split_off(out.num_leaves());
    write_back(&written, &finals, loc)?;
    out.structure().unflatten(outs)
}

fn structure_error(op: &str) -> Error {
    Error::Structure(format!("{op}: the results do not fit the branches' output type"))
}
