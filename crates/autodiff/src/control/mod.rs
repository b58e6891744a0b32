//! The derivative rules of the primitives that carry sub-functions: `call`, `scan`, `while`,
//! `cond` and the custom-derivative primitives. Each has a file with its JVP rule, the
//! linearity analysis of its outputs, its split into a primal and a linear equation (for partial
//! evaluation and reverse mode) and its transpose rule, as far as they exist:
//!
//! | primitive | JVP | split (reverse mode) | transpose |
//! |---|---|---|---|
//! | `call` | the body's JVP, called | the body's split, called twice | the linear body's transpose, called |
//! | `scan` | a scan of the body's JVP, carries' tangents found by a fixed point | a primal scan that stacks the residuals of each step as extra outputs, and a linear scan that reads them | a scan of the transposed body in the other direction: backpropagation through time |
//! | `while` | a while of the body's JVP | an error: the trip count depends on the data (use `scan`) | - |
//! | `cond` | a cond of the branches' JVPs | a primal and a linear cond; each branch's residuals get their own slots | a cond of the branches' transposes |
//! | `custom_jvp_call` | the user's rule, called | - | - |
//! | `custom_vjp_call` | `fwd`, then a `custom_lin` (reverse mode only) | - | - |
//! | `custom_lin` | itself (it is linear) | - | a call of `bwd` |
//!
//! These are JAX's rules (`jax/_src/lax/control_flow/loops.py`: `_scan_jvp`,
//! `_scan_partial_eval`, `_scan_transpose`; `conditionals.py`; `custom_derivatives.py`).

pub(crate) mod call;
pub(crate) mod cond;
pub(crate) mod custom;
pub(crate) mod scan;
pub(crate) mod while_loop;

use crate::builder::Builder;
use crate::error::AdError;
use gradjit_ir::{Function, Prim, TensorType, Value};

/// An equation with sub-functions split into a primal and a linear equation.
pub(crate) struct EqnSplit {
    /// Applied to the operands listed in `primal_operands` (all non-linear), it returns the
    /// non-linear outputs, then `num_residuals` residuals; `None` when it would return nothing.
    pub primal: Option<Prim>,
    pub primal_operands: Vec<usize>,
    pub num_residuals: usize,
    /// Returns the linear outputs (in order) from `linear_operands`.
    pub linear: Prim,
    pub linear_operands: Vec<Source>,
    /// For each output of the equation, whether the linear equation computes it.
    pub output_is_linear: Vec<bool>,
}

/// Where an operand of the linear half of a split equation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Residual `k` of the primal half.
    Residual(usize),
    /// Operand `i` of the original equation (linear, or a non-linear value passed through).
    Operand(usize),
}

/// Which outputs of `prim` depend on the operands marked in `mask` (all of them, unless its
/// sub-functions say otherwise).
pub(crate) fn linear_outputs(prim: &Prim, mask: &[bool]) -> Vec<bool> {
    match prim {
        Prim::Call { body } => call::linear_outputs(body, mask),
        Prim::Scan { num_consts, num_carry, body, .. } => scan::linear_outputs(*num_consts, *num_carry, body, mask),
        Prim::While { cond_consts, body, .. } => while_loop::linear_outputs(*cond_consts, body, mask),
        Prim::Cond { branches } => cond::linear_outputs(branches, mask),
        p => vec![mask.contains(&true); p.num_results()],
    }
}

/// `prim` split by which operands are linear (`mask`), for the primitives that split; `None` for
/// the others, which are linear or not as a whole.
pub(crate) fn split_eqn(prim: &Prim, mask: &[bool]) -> Result<Option<EqnSplit>, AdError> {
    match prim {
        Prim::Call { body } => call::split(body, mask).map(Some),
        Prim::Scan { length, reverse, num_consts, num_carry, body } => {
            scan::split(scan::Params::new(*length, *reverse, *num_consts, *num_carry, body), mask).map(Some)
        }
        Prim::While { .. } => Err(AdError::WhileLoopReverse),
        Prim::Cond { branches } => cond::split(branches, mask).map(Some),
        _ => Ok(None),
    }
}

/// The type of a tangent of a value of type `t`.
pub(crate) fn tangent_ty(t: &TensorType) -> TensorType {
    t.with_dtype(t.dtype.tangent())
}

/// The JVP of a sub-function, taken apart: `f` is the result of
/// [`jvp_function`](crate::jvp::jvp_function) with tangents for the parameters in `mask`, and
/// this gives its primal parameters, the tangent parameter of each masked parameter, its primal
/// outputs, and the tangent of each output in `want` (zeros added to `f` where the JVP has none).
pub(crate) struct JvpParts {
    pub params: Vec<Value>,
    pub tangent_params: Vec<Option<Value>>,
    pub outputs: Vec<Value>,
    pub tangent_outputs: Vec<Option<Value>>,
}

impl JvpParts {
    pub fn of(f: &mut Function, mask: &[bool], nonzero: &[bool], want: &[bool]) -> Result<JvpParts, AdError> {
        let n_in = mask.len();
        let n_out = nonzero.len();
        let params = f.params[..n_in].to_vec();
        let mut next = f.params[n_in..].iter();
        let tangent_params = mask.iter().map(|&m| if m { next.next().copied() } else { None }).collect();
        let outputs = f.outputs[..n_out].to_vec();
        let tangents: Vec<Value> = f.outputs[n_out..].to_vec();
        let mut nz = tangents.into_iter();
        let mut tangent_outputs = Vec::with_capacity(n_out);
        for (k, (&has, &w)) in nonzero.iter().zip(want).enumerate() {
            let t = if has { nz.next() } else { None };
            tangent_outputs.push(match (w, t) {
                (false, _) => None,
                (true, Some(t)) => Some(t),
                (true, None) => {
                    let ty = tangent_ty(f.ty(outputs[k]));
                    Some(Builder::new(f).zeros(&ty)?)
                }
            });
        }
        Ok(JvpParts { params, tangent_params, outputs, tangent_outputs })
    }
}

/// The `nonzero` flags of a JVP restricted to outputs that can have tangents (inexact ones).
pub(crate) fn inexact_nonzero(f: &Function, nonzero: &[bool]) -> Vec<bool> {
    f.outputs.iter().zip(nonzero).map(|(&o, &nz)| nz && f.ty(o).dtype.is_inexact()).collect()
}
