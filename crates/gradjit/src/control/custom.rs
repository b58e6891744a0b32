//! Custom derivatives: [`custom_jvp`] and [`custom_vjp`], as `jax.custom_jvp` and
//! `jax.custom_vjp`.
//!
//! The function runs as written; differentiation uses the rule instead of differentiating the
//! function's operations. That is how a spike (a step function, whose true derivative is zero
//! almost everywhere) gets a useful *surrogate* gradient ([`crate::surrogate`]), and how a
//! numerically delicate function gets a stable derivative.
//!
//! - a `custom_jvp` rule maps primals and tangents to outputs and output tangents; it serves
//!   forward and reverse mode (reverse mode transposes it, so it must be linear in the tangents);
//! - a `custom_vjp` pair of rules: `fwd` returns the outputs and residuals (whatever the
//!   backward pass needs), `bwd` maps residuals and output cotangents to one cotangent per
//!   argument. It serves reverse mode only: forward mode through it is an error, as in JAX.
//!
//! The function and its rules may read variables and use tensors of an enclosing trace; these are
//! treated as constants (their derivative through a custom function is zero). They must not
//! write variables.

use super::body::{apply, describe, error, output_types, rebind, types, Closure};
use crate::error::{Error, Result};
use crate::make_ir::{trace, TracedFunction};
use crate::signature::{ArgsFor, Output, TraceFn};
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::tree::Tree;
use gradjit_ir::{Loc, Prim, TensorType, Value};
use std::marker::PhantomData;

/// The tangent type of each leaf.
fn tangents(t: &Tree<TensorType>) -> Tree<TensorType> {
    t.map(|ty| ty.with_dtype(ty.dtype.tangent()))
}

/// An error unless no traced function writes a variable.
fn no_writes(op: &str, traced: &[&TracedFunction], loc: &Loc) -> Result<()> {
    match traced.iter().find_map(|t| t.var_outputs().first()) {
        Some(v) => Err(error(
            op,
            format!("a custom derivative's functions must not write variables, but {} is written", v.describe()),
            loc,
        )),
        None => Ok(()),
    }
}

/// A function with a custom JVP rule: see [`custom_jvp`].
pub struct CustomJvp<F, J, P, Q> {
    f: F,
    jvp: J,
    _types: PhantomData<fn(P, Q)>,
}

/// `f`, differentiated by the rule `jvp` (as `jax.custom_jvp`). For an `f` of `n` arguments,
/// `jvp` takes the `n` primal arguments, then their `n` tangents, and returns the pair (outputs,
/// output tangents); its tangents must be linear in the input tangents.
///
/// ```
/// use gradjit::{custom_jvp, grad, Tensor};
/// // A step whose derivative is taken to be 1 near the threshold (a straight-through estimator).
/// let step = custom_jvp(
///     |x: Tensor| x.ge(0.0f32).astype(gradjit::DType::F32),
///     |x: Tensor, t: Tensor| (x.ge(0.0f32).astype(gradjit::DType::F32), t * x.abs().lt(1.0f32).astype(gradjit::DType::F32)),
/// );
/// assert_eq!(step.call(0.5f32)?.item()?, 1.0);
/// let g = grad(|x: Tensor| step.call(x)).call(0.5f32)?;
/// assert_eq!(g.arg_grad(0).unwrap().item::<f32>()?, 1.0);
/// # Ok::<(), gradjit::Error>(())
/// ```
pub fn custom_jvp<P, Q, F: TraceFn<P>, J: TraceFn<Q>>(f: F, jvp: J) -> CustomJvp<F, J, P, Q> {
    CustomJvp { f, jvp, _types: PhantomData }
}

impl<P, Q, F: TraceFn<P>, J: TraceFn<Q>> CustomJvp<F, J, P, Q> {
    /// Applies the function to `args` (evaluated now, or recorded in the enclosing trace).
    #[track_caller]
    pub fn call(&self, args: impl ArgsFor<P>) -> Result<<F::Out as Output>::With<Tensor>> {
        self.apply(args.into_trees(), &caller())
    }

    fn apply(&self, args: Vec<Tree<Tensor>>, loc: &Loc) -> Result<<F::Out as Output>::With<Tensor>> {
        if J::ARITY != 2 * F::ARITY {
            let message = format!(
                "the jvp rule of a function of {} argument(s) takes the primals, then the tangents: {} argument(s), not {}",
                F::ARITY,
                2 * F::ARITY,
                J::ARITY
            );
            return Err(error("custom_jvp", message, loc));
        }
        let tys = args.iter().map(types).collect::<Result<Vec<_>>>()?;
        let tf = trace(&self.f, &tys, loc)?;
        let rule_args: Vec<Tree<TensorType>> = tys.iter().cloned().chain(tys.iter().map(tangents)).collect();
        let tj = trace(&self.jvp, &rule_args, loc)?;
        no_writes("custom_jvp", &[&tf, &tj], loc)?;
        let out = output_types(&tf)?;
        let want = Tree::Tuple(vec![out.clone(), tangents(&out)]);
        let got = output_types(&tj)?;
        if got != want {
            let message = format!(
                "the jvp rule must return (outputs, tangents) of types {}, not {}",
                describe(&want),
                describe(&got)
            );
            return Err(error("custom_jvp", message, loc));
        }

        let mut closure = Closure::default();
        closure.add(&tf, false);
        closure.add(&tj, false);
        let rf = rebind(&tf, &closure, &[]);
        let body_params =
            [&rf.explicit_params, &rf.var_params, &rf.capture_params].into_iter().flatten().copied().collect();
        let body_outputs = rf.explicit_outputs.clone();
        let body = rf.finish(body_params, body_outputs);
        let mut rj = rebind(&tj, &closure, &[]);
        let n = rj.explicit_params.len() / 2;
        let mut params: Vec<Value> = rj.explicit_params[..n].to_vec();
        params.extend(rj.var_params.iter().chain(&rj.capture_params));
        params.extend_from_slice(&rj.explicit_params[n..]);
        // The rule's tangents for the implicit inputs: parameters it ignores.
        for ty in &closure.types() {
            params.push(rj.function.new_value(ty.with_dtype(ty.dtype.tangent())));
        }
        let outputs = rj.explicit_outputs.clone();
        let jvp = rj.finish(params, outputs);

        let (var_values, captures) = closure.operands(loc);
        let mut operands: Vec<Tensor> = args.into_iter().flat_map(Tree::into_leaves).collect();
        operands.extend(var_values);
        operands.extend(captures);
        let outs = apply(Prim::CustomJvp { body: body.into(), jvp: jvp.into() }, &operands, loc)?;
        <F::Out as Output>::rebuild(out.structure().unflatten(outs)?).ok_or_else(|| structure_error("custom_jvp"))
    }
}

/// A custom-derivative function is a function of tensors itself: it can be differentiated,
/// jitted and traced like a closure.
impl<P, Q, F: TraceFn<P>, J: TraceFn<Q>> TraceFn<P> for CustomJvp<F, J, P, Q>
where
    <F::Out as Output>::With<Tensor>: Output,
{
    type Out = <F::Out as Output>::With<Tensor>;
    const ARITY: usize = F::ARITY;
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<Self::Out> {
        self.apply(args, &caller())
    }
}

/// A function with custom reverse-mode rules: see [`custom_vjp`].
pub struct CustomVjp<F, Fw, Bw, P, R> {
    f: F,
    fwd: Fw,
    bwd: Bw,
    _types: PhantomData<fn(P, R)>,
}

/// `f`, differentiated in reverse mode by `fwd` and `bwd` (as `jax.custom_vjp`): `fwd` takes
/// `f`'s arguments and returns the pair (outputs, residuals); `bwd` takes the residuals and the
/// output cotangents and returns one cotangent per argument (a tuple for several arguments).
///
/// ```
/// use gradjit::{custom_vjp, grad, Tensor};
/// // sin, whose backward pass clips the gradient to [-0.5, 0.5].
/// let clipped = custom_vjp(
///     |x: Tensor| x.sin(),
///     |x: Tensor| (x.sin(), x.cos()),
///     |cos: Tensor, ct: Tensor| (ct * cos).clip(-0.5f32, 0.5f32),
/// );
/// let g = grad(|x: Tensor| clipped.call(x)).call(0.1f32)?;
/// assert_eq!(g.arg_grad(0).unwrap().item::<f32>()?, 0.5);
/// # Ok::<(), gradjit::Error>(())
/// ```
pub fn custom_vjp<P, R, F, Fw, Bw>(f: F, fwd: Fw, bwd: Bw) -> CustomVjp<F, Fw, Bw, P, R>
where
    F: TraceFn<P>,
    Fw: TraceFn<P>,
    Bw: TraceFn<R>,
{
    CustomVjp { f, fwd, bwd, _types: PhantomData }
}

impl<P, R, F: TraceFn<P>, Fw: TraceFn<P>, Bw: TraceFn<R>> CustomVjp<F, Fw, Bw, P, R> {
    /// Applies the function to `args` (evaluated now, or recorded in the enclosing trace).
    #[track_caller]
    pub fn call(&self, args: impl ArgsFor<P>) -> Result<<F::Out as Output>::With<Tensor>> {
        self.apply(args.into_trees(), &caller())
    }

    fn apply(&self, args: Vec<Tree<Tensor>>, loc: &Loc) -> Result<<F::Out as Output>::With<Tensor>> {
        if Bw::ARITY != 2 {
            let message = format!("the bwd rule takes (residuals, output cotangents): 2 arguments, not {}", Bw::ARITY);
            return Err(error("custom_vjp", message, loc));
        }
        let tys = args.iter().map(types).collect::<Result<Vec<_>>>()?;
        let tf = trace(&self.f, &tys, loc)?;
        let tw = trace(&self.fwd, &tys, loc)?;
        let out = output_types(&tf)?;
        let residuals = match output_types(&tw)? {
            Tree::Tuple(mut items) if items.len() == 2 && items[0] == out => items.pop().unwrap_or(Tree::None),
            other => {
                let message = format!(
                    "the fwd rule must return (outputs, residuals) with outputs of types {}, not {}",
                    describe(&out),
                    describe(&other)
                );
                return Err(error("custom_vjp", message, loc));
            }
        };
        let tb = trace(&self.bwd, &[residuals.clone(), tangents(&out)], loc)?;
        no_writes("custom_vjp", &[&tf, &tw, &tb], loc)?;
        let arg_tangents: Vec<TensorType> = tys.iter().flat_map(|t| tangents(t).into_leaves()).collect();
        let cts: Vec<TensorType> = output_types(&tb)?.into_leaves();
        if cts != arg_tangents {
            let message = format!(
                "the bwd rule must return one cotangent per argument, of types ({}), not ({})",
                list(&arg_tangents),
                list(&cts)
            );
            return Err(error("custom_vjp", message, loc));
        }

        let mut closure = Closure::default();
        for t in [&tf, &tw, &tb] {
            closure.add(t, false);
        }
        let layout = |explicit: &[Value], vars: &[Value], captures: &[Value]| -> Vec<Value> {
            explicit.iter().chain(vars).chain(captures).copied().collect()
        };
        let rf = rebind(&tf, &closure, &[]);
        let (params, outputs) =
            (layout(&rf.explicit_params, &rf.var_params, &rf.capture_params), rf.explicit_outputs.clone());
        let body = rf.finish(params, outputs);
        // fwd also passes the implicit inputs on to bwd, as residuals.
        let rw = rebind(&tw, &closure, &[]);
        let params = layout(&rw.explicit_params, &rw.var_params, &rw.capture_params);
        let outputs = layout(&rw.explicit_outputs, &rw.var_params, &rw.capture_params);
        let fwd = rw.finish(params, outputs);
        // bwd takes them after the residuals, and gives them zero cotangents.
        let mut rb = rebind(&tb, &closure, &[]);
        let num_res = residuals.num_leaves();
        let mut params = layout(&rb.explicit_params[..num_res], &rb.var_params, &rb.capture_params);
        params.extend_from_slice(&rb.explicit_params[num_res..]);
        let mut outputs = rb.explicit_outputs.clone();
        for ty in closure.types() {
            let zero = rb.function.push1(Prim::splat(0.0, &ty.with_dtype(ty.dtype.tangent())), &[], None);
            outputs.push(zero.map_err(|e| Error::from_shape(e, loc.clone()))?);
        }
        let bwd = rb.finish(params, outputs);

        let (var_values, captures) = closure.operands(loc);
        let mut operands: Vec<Tensor> = args.into_iter().flat_map(Tree::into_leaves).collect();
        operands.extend(var_values);
        operands.extend(captures);
        let prim = Prim::CustomVjp { body: body.into(), fwd: fwd.into(), bwd: bwd.into() };
        let outs = apply(prim, &operands, loc)?;
        <F::Out as Output>::rebuild(out.structure().unflatten(outs)?).ok_or_else(|| structure_error("custom_vjp"))
    }
}

impl<P, R, F: TraceFn<P>, Fw: TraceFn<P>, Bw: TraceFn<R>> TraceFn<P> for CustomVjp<F, Fw, Bw, P, R>
where
    <F::Out as Output>::With<Tensor>: Output,
{
    type Out = <F::Out as Output>::With<Tensor>;
    const ARITY: usize = F::ARITY;
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<Self::Out> {
        self.apply(args, &caller())
    }
}

fn list(tys: &[TensorType]) -> String {
    tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

fn structure_error(op: &str) -> Error {
    Error::Structure(format!("{op}: the results do not fit the function's output type"))
}
