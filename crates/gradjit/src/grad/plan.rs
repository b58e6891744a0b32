//! A `grad` function specialised to one argument signature: the user's function traced,
//! checked and differentiated ([`GradPlan::build`]), then run on each call's values
//! ([`GradPlan::run`]).
//!
//! The traced function `F` takes the arguments' leaves, then the variables it reads (implicit
//! inputs, in first-read order), then any captured tensors; it returns the output's leaves
//! (the loss first, then the aux leaves), then the values of the variables it wrote. The plan
//! differentiates `F`'s output 0 with respect to
//!
//! - the leaves of the `argnums` arguments, in `argnums` order, and
//! - the inputs of the `grad_vars` that `F` reads, each once however often it is listed.
//!
//! A grad var that `F` never reads (or overwrites before reading) does not influence the loss
//! through its value on entry: its gradient is zeros of its shape. A grad var that `F` writes
//! is written back like any variable, while its gradient is taken with respect to its value on
//! entry, which is the input `F` read (BrainPy's behaviour: `w ← 10w; loss = w·a` gives
//! `d/dw = 10a` and leaves `w` multiplied by 10).

use super::argnums::Resolved;
use super::error::GradError;
use super::exec::{describe_arg, describe_var, execute, leaf_paths, var_values, write_back, Signature};
use super::result::GradResult;
use crate::error::{Error, Result};
use crate::make_ir::trace;
use crate::signature::TraceFn;
use crate::tensor::Tensor;
use crate::tree::{Tree, TreeDef};
use crate::var::{Var, VarId};
use gradjit_autodiff::AdError;
use gradjit_ir::{DType, Function, Loc, TensorType};
use std::collections::HashMap;

/// What one call asks for: the options, checked against the call's arguments.
pub(crate) struct Request<'v> {
    /// `grad` or `value_and_grad`, for messages.
    pub transform: &'static str,
    /// The arguments to differentiate; `None` when only variables are.
    pub argnums: Option<Resolved>,
    /// The `grad_vars` leaves, in flattening order (empty: no variables).
    pub vars: Vec<&'v Var>,
    /// The structure of `grad_vars`.
    pub vars_def: TreeDef,
    pub has_aux: bool,
    pub return_value: bool,
    pub holomorphic: bool,
    pub allow_int: bool,
    /// Named axes to sum the gradients over (each bound by an enclosing `vmap`).
    pub reduce_axes: &'v [String],
}

/// The differentiated function for one signature, and how to read its outputs.
pub(crate) struct GradPlan {
    /// `F`'s parameters; outputs: the loss, the aux leaves, the written variables, then the
    /// gradients of the arguments' leaves and of the read grad vars.
    function: Function,
    var_inputs: Vec<Var>,
    var_outputs: Vec<Var>,
    /// The structure of the aux data (with `has_aux`).
    aux: Option<TreeDef>,
    /// The structure of each differentiated argument, in `argnums` order.
    arg_trees: Vec<TreeDef>,
    /// For each `grad_vars` leaf, its gradient's index among the variable gradients (`None`:
    /// not read, zeros).
    var_slots: Vec<Option<usize>>,
}

/// A `GradError` at the user's call site.
pub(crate) fn at(loc: &Loc) -> impl Fn(GradError) -> Error + '_ {
    move |error| Error::Grad { error, loc: loc.clone() }
}

/// An autodiff failure as a gradjit error (shape errors keep the location of the equation).
pub(crate) fn ad_error(transform: &str, e: AdError, loc: &Loc) -> Error {
    match e {
        AdError::Shape(e) => Error::from_shape(e, loc.clone()),
        e => Error::op(transform, e.to_string(), loc.clone()),
    }
}

/// Checks the dtype of every differentiated input before tracing (as JAX does): arguments
/// in `argnums` and grad vars must be floating-point or complex (any type with `allow_int`),
/// and complex with `holomorphic`.
pub(crate) fn check_inputs(req: &Request<'_>, sig: &Signature) -> Result<(), GradError> {
    let check = |input: String, dtype: DType| {
        let transform = req.transform;
        if req.holomorphic && !dtype.is_complex() {
            Err(GradError::HolomorphicRealInput { transform, input, dtype })
        } else if !dtype.is_inexact() && !req.allow_int {
            Err(GradError::IntegerInput { transform, input, dtype })
        } else {
            Ok(())
        }
    };
    for &a in req.argnums.iter().flat_map(|r| &r.positions) {
        for (path, ty) in leaf_paths(&sig[a]).iter().zip(sig[a].leaves()) {
            check(describe_arg(a, path), ty.dtype)?;
        }
    }
    req.vars.iter().try_for_each(|v| check(describe_var(v), v.dtype()))
}

/// Checks the traced output (JAX's order: the `(loss, aux)` pair, then a scalar loss, then its
/// dtype) and returns the structure of the aux data.
fn check_output(req: &Request<'_>, out: Tree<TensorType>) -> Result<Option<TreeDef>, GradError> {
    let (loss, aux) = if req.has_aux {
        match out {
            Tree::Tuple(mut items) | Tree::List(mut items) if items.len() == 2 => {
                let aux = items.pop().map(|a| a.structure());
                (items.pop().unwrap_or(Tree::None), aux)
            }
            other => return Err(GradError::NotAPair { structure: other.to_string() }),
        }
    } else {
        (out, None)
    };
    let Tree::Leaf(ty) = loss else {
        return Err(GradError::StructuredOutput { structure: loss.to_string() });
    };
    if ty.rank() != 0 {
        return Err(GradError::NonScalarOutput { shape: ty.shape });
    }
    let (transform, dtype) = (req.transform, ty.dtype);
    if req.holomorphic && !dtype.is_complex() {
        Err(GradError::HolomorphicRealOutput { transform, dtype })
    } else if !dtype.is_inexact() {
        Err(GradError::IntegerOutput { transform, dtype })
    } else if dtype.is_complex() && !req.holomorphic {
        Err(GradError::ComplexOutput { transform, dtype })
    } else {
        Ok(aux)
    }
}

impl GradPlan {
    /// Traces `f` at `sig`, checks its output and differentiates it. Returns the plan and the
    /// tensors of enclosing traces the trace captured.
    pub fn build<P, F: TraceFn<P>>(
        f: &F,
        sig: &Signature,
        req: &Request<'_>,
        loc: &Loc,
    ) -> Result<(GradPlan, Vec<Tensor>)> {
        let traced = trace(f, sig, loc)?;
        let func = traced.function();
        crate::jit::stages::record("traced", || func.to_string());
        let out_types = func.output_types();
        let out = traced.out_tree().unflatten(out_types.into_iter().take(traced.num_explicit_outputs()))?;
        let aux = check_output(req, out).map_err(at(loc))?;

        // The arguments' leaves are the first parameters, argument after argument.
        let offsets: Vec<usize> = sig
            .iter()
            .scan(0, |n, t| {
                let start = *n;
                *n += t.num_leaves();
                Some(start)
            })
            .collect();
        let mut wrt = Vec::new();
        let mut arg_trees = Vec::new();
        for &a in req.argnums.iter().flat_map(|r| &r.positions) {
            wrt.extend(offsets[a]..offsets[a] + sig[a].num_leaves());
            arg_trees.push(sig[a].structure());
        }
        let first_var = traced.num_explicit_inputs();
        let mut slots: HashMap<VarId, usize> = HashMap::new();
        let var_slots = req
            .vars
            .iter()
            .map(|v| {
                let j = traced.var_inputs().iter().position(|w| w == *v)?;
                let next = slots.len();
                Some(*slots.entry(v.id()).or_insert_with(|| {
                    wrt.push(first_var + j);
                    next
                }))
            })
            .collect();

        let function = gradjit_autodiff::grad(func, &wrt).map_err(|e| ad_error(req.transform, e, loc))?;
        // `reduce_axes`: the gradients (the outputs after the loss, aux and written variables)
        // summed over the named axes, which the enclosing vmap turns into sums over its batch.
        let first_grad = traced.num_explicit_outputs() + traced.var_outputs().len();
        let function = crate::vmap::psum_outputs(function, first_grad, req.reduce_axes, loc)?;
        crate::jit::stages::record("grad", || function.to_string());
        let plan = GradPlan {
            function,
            var_inputs: traced.var_inputs().to_vec(),
            var_outputs: traced.var_outputs().to_vec(),
            aux,
            arg_trees,
            var_slots,
        };
        Ok((plan, traced.captures().to_vec()))
    }

    /// Runs the plan on `args` (the call's arguments, of the plan's signature), writes back the
    /// variables `f` wrote, and assembles the result.
    pub fn run(
        &self,
        args: &[Tree<Tensor>],
        captures: Vec<Tensor>,
        req: &Request<'_>,
        loc: &Loc,
    ) -> Result<GradResult<Tensor>> {
        let mut inputs: Vec<Tensor> = args.iter().flat_map(|t| t.leaves()).cloned().collect();
        inputs.extend(var_values(&self.var_inputs, loc));
        inputs.extend(captures);
        let mut outs = execute(&self.function, &inputs, loc)?.into_iter();

        let missing = || Error::Structure("the differentiated function returned too few outputs".into());
        let value = outs.next().ok_or_else(missing)?;
        let aux = match &self.aux {
            Some(def) => Some(def.unflatten(outs.by_ref().take(def.num_leaves()))?),
            None => None,
        };
        let written: Vec<Tensor> = outs.by_ref().take(self.var_outputs.len()).collect();
        write_back(&self.var_outputs, &written, loc)?;
        let arg_grads = self
            .arg_trees
            .iter()
            .map(|def| def.unflatten(outs.by_ref().take(def.num_leaves())))
            .collect::<Result<Vec<_>>>()?;
        let var_grads: Vec<Tensor> = outs.collect();

        let args = req.argnums.as_ref().map(|r| {
            if r.is_seq {
                Tree::Tuple(arg_grads)
            } else {
                arg_grads.into_iter().next().unwrap_or(Tree::None)
            }
        });
        let vars = if req.vars.is_empty() {
            None
        } else {
            let leaves = req.vars.iter().zip(&self.var_slots).map(|(v, slot)| match slot {
                Some(s) => var_grads.get(*s).cloned().ok_or_else(missing),
                None => {
                    let ty = v.ty();
                    Ok(Tensor::zeros(ty.dtype.tangent(), ty.dims()))
                }
            });
            let tree = req.vars_def.unflatten(leaves.collect::<Result<Vec<_>>>()?)?;
            Some((tree, req.vars.iter().map(|v| v.id()).collect()))
        };
        Ok(GradResult {
            args,
            args_is_seq: req.argnums.as_ref().is_some_and(|r| r.is_seq),
            vars,
            value,
            aux,
            return_value: req.return_value,
        })
    }
}
