//! Constant folding: an equation whose operands are all constants is evaluated by the
//! reference interpreter ([`crate::interp::apply`]) and replaced by a constant.
//!
//! Folding must not trade a cheap equation for a large literal: a kernel that broadcasts a
//! scalar is faster than one that streams a megabyte of constant data. So results whose
//! elements are all equal stay `Splat`, and a dense result is kept only if it is small
//! ([`MAX_DENSE`] elements) or no larger than a dense operand it was computed from. Elementwise
//! operations on splats are evaluated on one element. Everything else is evaluated only if the
//! operands and the result together hold at most [`MAX_WORK`] elements, so folding stays fast
//! on functions with large shapes.
//!
//! `random_bits` of a constant key folds like anything else (under the same limits); of a
//! non-constant key it is, like every equation with a non-constant operand, left alone.
//! Equations the interpreter rejects are left alone too: the error belongs to run time.

use super::rewrite::{self, Rewrite, Rule, Site};
use crate::array::HostArray;
use crate::function::Function;
use crate::interp;
use crate::prim::{Literal, Prim};
use crate::Scalar;
use smallvec::SmallVec;
use std::sync::Arc;

/// The largest dense constant folding creates from non-dense (or smaller) operands.
pub const MAX_DENSE: usize = 64;

/// The most elements (operands plus result) folding materialises to evaluate one equation.
pub const MAX_WORK: usize = 1 << 16;

/// Evaluates equations on constants, recursively inside `call` bodies.
pub fn fold(f: &Function) -> Function {
    rewrite::rewrite(f, RULES, fold)
}

const RULES: &[Rule] = &[
    Rule { name: "splat_dense_constant", apply: splat_dense_constant },
    Rule { name: "fold_elementwise_splats", apply: fold_elementwise_splats },
    Rule { name: "fold_constants", apply: fold_constants },
];

/// A dense constant whose elements are all equal is a splat.
fn splat_dense_constant(s: &Site) -> Option<Rewrite> {
    let Prim::Constant(Literal::Dense(a)) = s.prim else { return None };
    a.splat_value().map(|c| Rewrite::constant(Literal::Splat(c, s.ty.shape.clone())))
}

/// An elementwise operation on splats is a splat of the operation on one element.
fn fold_elementwise_splats(s: &Site) -> Option<Rewrite> {
    if !s.prim.is_elementwise() || s.inputs.is_empty() {
        return None;
    }
    let scalars: SmallVec<[HostArray; 3]> =
        (0..s.inputs.len()).map(|i| s.splat(i).map(HostArray::scalar)).collect::<Option<_>>()?;
    let refs: SmallVec<[&HostArray; 3]> = scalars.iter().collect();
    let out = interp::apply(s.prim, &refs).ok()?;
    Some(Rewrite::constant(Literal::Splat(out.first()?.get(0), s.ty.shape.clone())))
}

/// Any other primitive with constant operands, under the size limits.
fn fold_constants(s: &Site) -> Option<Rewrite> {
    // Nullary primitives (constant, iota) have nothing to fold; sub-functions are folded inside.
    if s.inputs.is_empty() || !s.prim.bodies().is_empty() {
        return None;
    }
    let literals: SmallVec<[&Literal; 3]> = (0..s.inputs.len()).map(|i| s.literal(i)).collect::<Option<_>>()?;
    let out_numel = s.ty.numel();
    let work = out_numel + literals.iter().map(|l| l.ty().numel()).sum::<usize>();
    if work > MAX_WORK {
        return None;
    }
    let arrays: SmallVec<[HostArray; 3]> = literals.iter().map(|l| l.to_array()).collect();
    let refs: SmallVec<[&HostArray; 3]> = arrays.iter().collect();
    let out = interp::apply(s.prim, &refs).ok()?.into_iter().next()?;
    if out_numel == 0 {
        return Some(Rewrite::constant(Literal::Splat(Scalar::from_f64(0.0, s.ty.dtype), s.ty.shape.clone())));
    }
    if let Some(c) = out.splat_value() {
        return Some(Rewrite::constant(Literal::Splat(c, s.ty.shape.clone())));
    }
    let largest_dense = literals.iter().filter(|l| matches!(l, Literal::Dense(_))).map(|l| l.ty().numel()).max();
    let small = out_numel <= MAX_DENSE || largest_dense.is_some_and(|n| out_numel <= n);
    small.then(|| Rewrite::constant(Literal::Dense(Arc::new(out))))
}
