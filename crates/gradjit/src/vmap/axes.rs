//! Named axes: the `axis_name`s of the `vmap`s being traced (innermost last), the collectives
//! that reduce over them ([`psum`], [`pmean`], [`pmax`], [`pmin`]), and the sum of gradients over
//! them that `grad(..).reduce_axes(..)` asks for.
//!
//! A name is in scope while a `vmap` with that `axis_name` traces its function; a collective or
//! a `reduce_axes` naming anything else is an error that lists the names in scope, as JAX's
//! "unbound axis name" is.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{bind1, caller};
use gradjit_ir::{CollectiveOp, Function, Loc, Prim};
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    static SCOPE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `name` in scope until dropped.
pub(crate) struct ScopeGuard(bool);

/// Puts `name` (if any) in scope while the returned guard lives.
pub(crate) fn enter(name: Option<&str>) -> ScopeGuard {
    if let Some(n) = name {
        SCOPE.with(|s| s.borrow_mut().push(n.to_string()));
    }
    ScopeGuard(name.is_some())
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        if self.0 {
            SCOPE.with(|s| s.borrow_mut().pop());
        }
    }
}

/// The axis names in scope, outermost first.
pub fn axes_in_scope() -> Vec<String> {
    SCOPE.with(|s| s.borrow().clone())
}

/// The first of `axes` that no enclosing `vmap` binds.
pub(crate) fn first_unbound(axes: &[String]) -> Option<&str> {
    let scope = axes_in_scope();
    axes.iter().find(|a| !scope.contains(a)).map(String::as_str)
}

/// `text` naming the axes in scope, for errors.
pub(crate) fn describe_scope() -> String {
    let scope = axes_in_scope();
    if scope.is_empty() {
        "no vmap with an axis_name encloses it".into()
    } else {
        format!("the axis names in scope are {scope:?}")
    }
}

#[track_caller]
fn collective(op: CollectiveOp, x: &Tensor, axis_name: &str) -> Tensor {
    let loc = caller();
    if !axes_in_scope().iter().any(|a| a == axis_name) {
        let message = format!("{} over unbound axis name '{axis_name}': {}", op.name(), describe_scope());
        return Tensor::poisoned(Rc::new(Error::op(op.name(), message, loc)));
    }
    bind1(Prim::Collective { op, axis_name: axis_name.into() }, &[x], &loc)
}

/// The sum of `x` over every lane of the enclosing `vmap` named `axis_name` (JAX's `lax.psum`):
/// the same total in every lane. Outside such a `vmap` the result is an error.
///
/// ```
/// use gradjit::{psum, vmap, Array, Tensor};
/// let share = vmap(|x: Tensor| &x / &psum(&x, "batch")).axis_name("batch");
/// let out = share.call(Array::from(vec![1.0f64, 3.0]))?;
/// assert_eq!(out.to_vec::<f64>()?, [0.25, 0.75]);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn psum(x: &Tensor, axis_name: &str) -> Tensor {
    collective(CollectiveOp::Psum, x, axis_name)
}

/// The mean of `x` over the lanes of the enclosing `vmap` named `axis_name` (`lax.pmean`).
#[track_caller]
pub fn pmean(x: &Tensor, axis_name: &str) -> Tensor {
    collective(CollectiveOp::Pmean, x, axis_name)
}

/// The maximum of `x` over the lanes of the enclosing `vmap` named `axis_name` (`lax.pmax`).
#[track_caller]
pub fn pmax(x: &Tensor, axis_name: &str) -> Tensor {
    collective(CollectiveOp::Pmax, x, axis_name)
}

/// The minimum of `x` over the lanes of the enclosing `vmap` named `axis_name` (`lax.pmin`).
#[track_caller]
pub fn pmin(x: &Tensor, axis_name: &str) -> Tensor {
    collective(CollectiveOp::Pmin, x, axis_name)
}

/// `f` with its outputs from index `from` on summed over each of `axes` (the gradients of a
/// `grad` with `reduce_axes`): one `psum` per output and axis.
pub(crate) fn psum_outputs(f: Function, from: usize, axes: &[String], loc: &Loc) -> Result<Function> {
    let mut f = f;
    for i in from..f.outputs.len() {
        for a in axes {
            let prim = Prim::Collective { op: CollectiveOp::Psum, axis_name: a.as_str().into() };
            let v = f.outputs[i];
            if !f.ty(v).dtype.is_inexact() {
                continue; // float0 gradients of integer inputs stay zeros
            }
            f.outputs[i] = f.push1(prim, &[v], Some(loc.clone())).map_err(|e| Error::from_shape(e, loc.clone()))?;
        }
    }
    Ok(f)
}
