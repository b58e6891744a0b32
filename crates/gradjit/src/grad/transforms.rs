//! JAX's other differentiation transformations: [`jvp`], [`vjp`], [`jacrev`], [`jacfwd`] and
//! [`hessian`], each the matching `gradjit-autodiff` transform applied to the traced function.
//!
//! ```
//! use gradjit::{hessian, jvp, vjp, Array, Tensor};
//! let f = |x: Tensor| (&x * &x).sum();
//! let x = Array::from(vec![1.0f64, 2.0]);
//! // Forward mode: f(x) and the derivative along t.
//! let (y, dy) = jvp(f, &x, Array::from(vec![1.0f64, 0.0]))?;
//! assert_eq!((y.item::<f64>()?, dy.item::<f64>()?), (5.0, 2.0));
//! // Reverse mode: f(x) and a pullback of output cotangents.
//! let (_, pullback) = vjp(f, &x)?;
//! assert_eq!(pullback.call(1.0f64)?[0].as_leaf().unwrap().to_vec::<f64>()?, [2.0, 4.0]);
//! // Second order: the Hessian of sum(x²) is 2I.
//! let h = hessian(f).call(&x)?;
//! assert_eq!(h.as_leaf().unwrap().to_vec::<f64>()?, [2.0, 0.0, 0.0, 2.0]);
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! Structures follow JAX. `jvp` and `vjp` differentiate every positional argument; tangents
//! have the primals' structures and types (`float0` for integer primals), cotangents the
//! output's. The Jacobians differentiate the arguments in `argnums` (default 0) and nest the
//! structures: each output leaf holds, for an int argnums, a tree of the argument's structure
//! whose leaves have shape `out.shape ++ in.shape`; for a sequence, a tuple of such trees. The
//! Hessian nests twice (`((H00, H01), (H10, H11))` for `argnums([0, 1])`).
//!
//! Variables are state here as in `grad`: they are read at their current values and those the
//! function writes are written back. They are not differentiated.

use super::argnums::{Argnums, Resolved};
use super::error::GradError;
use super::exec::{describe_arg, execute, graft, leaf_paths, signature, var_values, write_back, PlanCache, Signature};
use super::plan::{ad_error, at};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::make_ir::{trace, TracedFunction};
use crate::signature::{Arg, ArgsFor, Output, TraceFn};
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::tree::{Tree, TreeDef};
use crate::var::Var;
use gradjit_ir::{Function, Loc, TensorType};
use std::marker::PhantomData;

/// What a function `F` of parameters `P` returns, with arrays for its tensors (`Array` for a
/// function returning one `Tensor`, `(Array, Array)` for a pair, ...).
pub type OutputOf<F, P> = <<F as TraceFn<P>>::Out as Output>::With<Array>;

/// The tangent type of a value of type `ty` (float0 for integers and booleans).
fn tangent_ty(ty: &TensorType) -> TensorType {
    ty.with_dtype(ty.dtype.tangent())
}

/// Zeros of the tangent type of each of `tys`.
fn zero_tangents<'a>(tys: impl IntoIterator<Item = &'a TensorType>) -> Vec<Tensor> {
    tys.into_iter().map(|ty| Tensor::zeros(ty.dtype.tangent(), ty.dims())).collect()
}

/// Checks that `actual` is a valid (co)tangent for a value of type `primal`: the same structure,
/// and leaves of the tangent types.
fn check_tangent(
    transform: &'static str,
    what: &str,
    primal: &Tree<TensorType>,
    actual: &Tree<TensorType>,
) -> Result<(), GradError> {
    let mismatch = |what: &str, actual: String, expected: String, reason: &str| GradError::TangentMismatch {
        transform,
        mismatch: format!("{what} has type {actual}, but it must have type {expected} ({reason})"),
    };
    if primal.structure() != actual.structure() {
        let reason = "a tangent has the structure of its primal";
        return Err(mismatch(what, actual.to_string(), primal.to_string(), reason));
    }
    for ((path, p), a) in leaf_paths(primal).iter().zip(primal.leaves()).zip(actual.leaves()) {
        let expected = tangent_ty(p);
        if *a != expected {
            let reason = "a tangent has its primal's shape, and its dtype (float0 for integer and boolean primals)";
            let what = if path.is_empty() { what.to_string() } else { format!("{what} at {path}") };
            return Err(mismatch(&what, a.to_string(), expected.to_string(), reason));
        }
    }
    Ok(())
}

/// The data of `tensors`, in `def`'s structure.
fn arrays(def: &TreeDef, tensors: &[Tensor], loc: &Loc) -> Result<Tree<Array>> {
    def.unflatten(tensors.iter().map(|t| t.to_array_at(loc)).collect::<Result<Vec<_>>>()?)
}

/// `out` in the typed structure of `F`'s output.
fn typed<F: TraceFn<P>, P>(out: Tree<Array>) -> Result<OutputOf<F, P>> {
    let def = out.structure();
    <F::Out as Output>::rebuild(out)
        .ok_or_else(|| Error::Structure(format!("the function's output {def} does not have its declared type")))
}

/// The inputs of a traced function at `args`: the arguments' leaves, the variables' current
/// values, the captured tensors.
fn inputs_of(traced: &TracedFunction, args: &[Tree<Tensor>], loc: &Loc) -> Vec<Tensor> {
    let mut inputs: Vec<Tensor> = args.iter().flat_map(|t| t.leaves()).cloned().collect();
    inputs.extend(var_values(traced.var_inputs(), loc));
    inputs.extend(traced.captures().iter().cloned());
    inputs
}

/// Forward mode (JAX's `jvp`): `f(primals)` and its derivative along `tangents`, both in the
/// structure of `f`'s output.
#[track_caller]
pub fn jvp<P, F: TraceFn<P>>(
    f: F,
    primals: impl ArgsFor<P>,
    tangents: impl ArgsFor<P>,
) -> Result<(OutputOf<F, P>, OutputOf<F, P>)> {
    let loc = caller();
    let (primals, tangents) = (primals.into_trees(), tangents.into_trees());
    let (sig, tangent_sig) = (signature(&primals)?, signature(&tangents)?);
    for (i, (p, t)) in sig.iter().zip(&tangent_sig).enumerate() {
        check_tangent("jvp", &format!("the tangent of argument {i}"), p, t).map_err(at(&loc))?;
    }
    let traced = trace(&f, &sig, &loc)?;
    let func = traced.function();
    let jf = gradjit_autodiff::jvp(func).map_err(|e| ad_error("jvp", e, &loc))?;
    let mut inputs = inputs_of(&traced, &primals, &loc);
    inputs.extend(tangents.iter().flat_map(|t| t.leaves()).cloned());
    let implicit = &func.params[traced.num_explicit_inputs()..];
    inputs.extend(zero_tangents(implicit.iter().map(|&p| func.ty(p))));
    let outs = execute(&jf, &inputs, &loc)?;

    let (n_explicit, n_out) = (traced.num_explicit_outputs(), func.outputs.len());
    write_back(traced.var_outputs(), &outs[n_explicit..n_out], &loc)?;
    let primal_out = arrays(traced.out_tree(), &outs[..n_explicit], &loc)?;
    let tangent_out = arrays(traced.out_tree(), &outs[n_out..n_out + n_explicit], &loc)?;
    Ok((typed::<F, P>(primal_out)?, typed::<F, P>(tangent_out)?))
}

/// The pullback of a [`vjp`]: maps a cotangent of `f`'s output to the cotangents of its
/// arguments.
pub struct Vjp {
    /// `autodiff::vjp` of the traced function with respect to every argument leaf.
    function: Function,
    /// The traced function's inputs at the primal point.
    inputs: Vec<Tensor>,
    /// The explicit output's types, in its structure.
    out_types: Tree<TensorType>,
    /// The types of the written variables (outputs after the explicit ones): zero cotangents.
    var_output_types: Vec<TensorType>,
    /// The structure of each argument.
    in_trees: Vec<TreeDef>,
}

/// Reverse mode (JAX's `vjp`): `f(primals)`, and a [`Vjp`] pulling output cotangents back to
/// the arguments.
#[track_caller]
pub fn vjp<P, F: TraceFn<P>>(f: F, primals: impl ArgsFor<P>) -> Result<(OutputOf<F, P>, Vjp)> {
    let loc = caller();
    let primals = primals.into_trees();
    let sig = signature(&primals)?;
    let traced = trace(&f, &sig, &loc)?;
    let func = traced.function();
    let wrt: Vec<usize> = (0..traced.num_explicit_inputs()).collect();
    let function = gradjit_autodiff::vjp(func, &wrt).map_err(|e| ad_error("vjp", e, &loc))?;
    let inputs = inputs_of(&traced, &primals, &loc);
    let outs = execute(func, &inputs, &loc)?;

    let n_explicit = traced.num_explicit_outputs();
    write_back(traced.var_outputs(), &outs[n_explicit..], &loc)?;
    let out = typed::<F, P>(arrays(traced.out_tree(), &outs[..n_explicit], &loc)?)?;
    let types = func.output_types();
    let pullback = Vjp {
        out_types: traced.out_tree().unflatten(types[..n_explicit].iter().cloned())?,
        var_output_types: types[n_explicit..].to_vec(),
        function,
        inputs,
        in_trees: sig.iter().map(Tree::structure).collect(),
    };
    Ok((out, pullback))
}

impl Vjp {
    /// The cotangents of the arguments (one tree per argument, in its structure) for the output
    /// cotangent `cotangent` (of the output's structure and tangent types).
    #[track_caller]
    pub fn call(&self, cotangent: impl Arg) -> Result<Vec<Tree<Array>>> {
        let loc = caller();
        let ct = cotangent.into_arg();
        let ct_types = ct.try_map(Tensor::ty_or_err)?;
        check_tangent("vjp", "the cotangent of the output", &self.out_types, &ct_types).map_err(at(&loc))?;
        let mut inputs = self.inputs.clone();
        inputs.extend(ct.leaves().into_iter().cloned());
        inputs.extend(zero_tangents(&self.var_output_types));
        let outs = execute(&self.function, &inputs, &loc)?;
        let mut grads = &outs[self.out_types.num_leaves() + self.var_output_types.len()..];
        self.in_trees
            .iter()
            .map(|def| {
                let (mine, rest) = grads.split_at(def.num_leaves().min(grads.len()));
                grads = rest;
                arrays(def, mine, &loc)
            })
            .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JacKind {
    Rev,
    Fwd,
    Hessian,
}

impl JacKind {
    fn name(self) -> &'static str {
        match self {
            JacKind::Rev => "jacrev",
            JacKind::Fwd => "jacfwd",
            JacKind::Hessian => "hessian",
        }
    }
}

/// A Jacobian (or Hessian) function of `f`, built by [`jacrev`], [`jacfwd`] or [`hessian`].
///
/// Its result nests the structures as JAX does: each leaf of `f`'s output holds, for an int
/// `argnums`, a tree of the argument's structure whose leaves have shape `out.shape ++
/// in.shape`, and for a sequence a tuple of such trees, one per argument. A Hessian nests
/// twice: `((H00, H01), (H10, H11))` for `argnums([0, 1])`. Variables are read at their current
/// values (not differentiated), and those `f` writes are written back.
pub struct Jacobian<F, P> {
    f: F,
    kind: JacKind,
    argnums: Argnums,
    plans: PlanCache<JacPlan>,
    _params: PhantomData<fn(P)>,
}

/// The reverse-mode Jacobian of `f` (one pullback per output element).
pub fn jacrev<P, F: TraceFn<P>>(f: F) -> Jacobian<F, P> {
    Jacobian { f, kind: JacKind::Rev, argnums: Argnums::Int(0), plans: PlanCache::default(), _params: PhantomData }
}

/// The forward-mode Jacobian of `f` (one JVP per input element).
pub fn jacfwd<P, F: TraceFn<P>>(f: F) -> Jacobian<F, P> {
    Jacobian { kind: JacKind::Fwd, ..jacrev(f) }
}

/// The Hessian of `f`: `jacfwd(jacrev(f))`.
pub fn hessian<P, F: TraceFn<P>>(f: F) -> Jacobian<F, P> {
    Jacobian { kind: JacKind::Hessian, ..jacrev(f) }
}

/// A Jacobian function for one signature.
struct JacPlan {
    /// The Jacobians of the explicit outputs, output-major, then argument leaf (twice for a Hessian).
    function: Function,
    /// The traced function restricted to the variables it writes (`None` if it writes none).
    state: Option<Function>,
    var_inputs: Vec<Var>,
    var_outputs: Vec<Var>,
    out_tree: TreeDef,
    arg_trees: Vec<TreeDef>,
}

impl<F: TraceFn<P>, P> Jacobian<F, P> {
    /// The arguments to differentiate: an int (default 0) or a sequence (a tuple of Jacobians).
    pub fn argnums(mut self, argnums: impl Into<Argnums>) -> Self {
        self.argnums = argnums.into();
        self.plans = PlanCache::default();
        self
    }

    /// How many times `f` has been traced: once per new argument signature.
    pub fn num_traces(&self) -> usize {
        self.plans.num_traces()
    }

    /// The Jacobian (or Hessian) at `args`, in JAX's structure (see [`Jacobian`]).
    #[track_caller]
    pub fn call(&self, args: impl ArgsFor<P>) -> Result<Tree<Array>> {
        let loc = caller();
        let args = args.into_trees();
        let transform = self.kind.name();
        let argnums = self.argnums.resolve(args.len()).map_err(at(&loc))?;
        if argnums.positions.is_empty() {
            return Err(Error::Grad { error: GradError::EmptyArgnums, loc });
        }
        let sig = signature(&args)?;
        for &a in &argnums.positions {
            for (path, ty) in leaf_paths(&sig[a]).iter().zip(sig[a].leaves()) {
                if !ty.dtype.is_inexact() {
                    let (input, dtype) = (describe_arg(a, path), ty.dtype);
                    return Err(Error::Grad {
                        error: GradError::NonDifferentiableInput { transform, input, dtype },
                        loc,
                    });
                }
            }
        }
        let traced = self.plans.get_or_trace(&sig, || self.build(&sig, &argnums, &loc))?;
        let plan = &traced.plan;
        let mut inputs: Vec<Tensor> = args.iter().flat_map(|t| t.leaves()).cloned().collect();
        inputs.extend(var_values(&plan.var_inputs, &loc));
        inputs.extend(traced.captures);
        if let Some(state) = &plan.state {
            write_back(&plan.var_outputs, &execute(state, &inputs, &loc)?, &loc)?;
        }
        let outs = execute(&plan.function, &inputs, &loc)?;
        let mut blocks = outs.iter();
        let mut next = || -> Result<Tree<Array>> {
            let t = blocks.next().ok_or_else(|| Error::Structure(format!("{transform} returned too few outputs")))?;
            Ok(Tree::Leaf(t.to_array_at(&loc)?))
        };
        let (trees, seq) = (&plan.arg_trees, argnums.is_seq);
        match self.kind {
            JacKind::Rev | JacKind::Fwd => graft(plan.out_tree.as_tree(), &mut || per_argnum(trees, seq, &mut next)),
            JacKind::Hessian => graft(plan.out_tree.as_tree(), &mut || {
                per_argnum(trees, seq, &mut || per_argnum(trees, seq, &mut next))
            }),
        }
    }

    fn build(&self, sig: &Signature, argnums: &Resolved, loc: &Loc) -> Result<(JacPlan, Vec<Tensor>)> {
        let transform = self.kind.name();
        let traced = trace(&self.f, sig, loc)?;
        let func = traced.function();
        let n_explicit = traced.num_explicit_outputs();
        let explicit: Vec<usize> = (0..n_explicit).collect();
        let written: Vec<usize> = (n_explicit..func.outputs.len()).collect();
        let ad = |e| ad_error(transform, e, loc);
        let outputs = gradjit_autodiff::select_outputs(func, &explicit).map_err(ad)?;
        let offsets: Vec<usize> = sig
            .iter()
            .scan(0, |n, t| {
                let start = *n;
                *n += t.num_leaves();
                Some(start)
            })
            .collect();
        let wrt: Vec<usize> =
            argnums.positions.iter().flat_map(|&a| offsets[a]..offsets[a] + sig[a].num_leaves()).collect();
        let function = match self.kind {
            JacKind::Rev => gradjit_autodiff::jacrev(&outputs, &wrt),
            JacKind::Fwd => gradjit_autodiff::jacfwd(&outputs, &wrt),
            JacKind::Hessian => gradjit_autodiff::hessian(&outputs, &wrt),
        }
        .map_err(ad)?;
        let state =
            if written.is_empty() { None } else { Some(gradjit_autodiff::select_outputs(func, &written).map_err(ad)?) };
        let plan = JacPlan {
            function,
            state,
            var_inputs: traced.var_inputs().to_vec(),
            var_outputs: traced.var_outputs().to_vec(),
            out_tree: traced.out_tree().clone(),
            arg_trees: argnums.positions.iter().map(|&a| sig[a].structure()).collect(),
        };
        Ok((plan, traced.captures().to_vec()))
    }
}

/// One tree per differentiated argument (in its structure, leaves from `leaf`), bare for an
/// int argnums and as a tuple for a sequence.
fn per_argnum(
    arg_trees: &[TreeDef],
    is_seq: bool,
    mut leaf: &mut dyn FnMut() -> Result<Tree<Array>>,
) -> Result<Tree<Array>> {
    let mut trees = Vec::with_capacity(arg_trees.len());
    for def in arg_trees {
        trees.push(graft(def.as_tree(), &mut leaf)?);
    }
    if is_seq {
        Ok(Tree::Tuple(trees))
    } else {
        Ok(trees.pop().unwrap_or(Tree::None))
    }
}
