//! What every transformation of this module shares: argument signatures, the per-signature
//! cache of transformed functions, and running a transformed function where its inputs live.
//!
//! **Signatures and the cache.** A transformation traces the user's function once per
//! [`Signature`] (each argument's structure, dtypes and shapes) and keeps the transformed IR
//! in a [`PlanCache`]; later calls with the same signature reuse it without running the Rust
//! function again. A plan whose trace captured tensors of an enclosing trace (a closure over an
//! outer function's values, inside `grad` of `grad`) belongs to that one trace and is not
//! cached. Like `jax.jit`, the cache assumes the function computes the same thing each time it
//! is traced: a closure over a `RefCell` that it reads as plain Rust data is baked in.
//!
//! **Running.** [`execute`] evaluates a transformed function on the current inputs: with the
//! reference interpreter when they are all concrete, or by recording its equations into the
//! enclosing trace when some are traced (how a `grad` function called inside another
//! transformation inlines its gradient IR). `jit` makes the same choice, with native code for the
//! first branch (`jit(grad(f))` traces the gradient into one function and compiles it).

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{apply_function, placement, Placement};
use crate::tree::Tree;
use crate::var::Var;
use gradjit_ir::{Function, HostArray, Loc, TensorType};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The types and structures of a call's arguments, one tree per argument.
pub(crate) type Signature = Vec<Tree<TensorType>>;

/// The signature of `args`, or the error of a poisoned argument.
pub(crate) fn signature(args: &[Tree<Tensor>]) -> Result<Signature> {
    args.iter().map(|t| t.try_map(Tensor::ty_or_err)).collect()
}

/// A plan traced for one call, with the tensors of enclosing traces it captured (inputs after
/// the variables; such a plan is used once and not cached).
pub(crate) struct Traced<T> {
    pub plan: Arc<T>,
    pub captures: Vec<Tensor>,
}

/// Transformed functions by signature, and how many times the user's function was traced.
pub(crate) struct PlanCache<T> {
    plans: Mutex<HashMap<Signature, Arc<T>>>,
    traces: AtomicUsize,
}

impl<T> Default for PlanCache<T> {
    fn default() -> Self {
        PlanCache { plans: Mutex::new(HashMap::new()), traces: AtomicUsize::new(0) }
    }
}

impl<T> PlanCache<T> {
    /// The plan for `sig`: cached, or built by `trace` (which traces the user's function) and
    /// cached unless it captured tensors. The lock is not held while tracing, so a function
    /// may call other transformed functions (or this one, at another signature). While a `jit`
    /// records its stages, the function is traced afresh so that the stages are seen.
    pub fn get_or_trace(&self, sig: &Signature, trace: impl FnOnce() -> Result<(T, Vec<Tensor>)>) -> Result<Traced<T>> {
        if let Some(plan) = self.lock().get(sig).filter(|_| !crate::jit::stages::is_recording()) {
            return Ok(Traced { plan: plan.clone(), captures: Vec::new() });
        }
        self.traces.fetch_add(1, Ordering::Relaxed);
        let (plan, captures) = trace()?;
        let plan = Arc::new(plan);
        if captures.is_empty() {
            self.lock().insert(sig.clone(), plan.clone());
        }
        Ok(Traced { plan, captures })
    }

    /// How many times the user's function has been traced.
    pub fn num_traces(&self) -> usize {
        self.traces.load(Ordering::Relaxed)
    }

    /// How many signatures have a cached plan.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Signature, Arc<T>>> {
        self.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs `f` on `inputs`: by the interpreter if they are all concrete, else recorded into the
/// innermost trace. Poisoned or escaped inputs are their error.
pub(crate) fn execute(f: &Function, inputs: &[Tensor], loc: &Loc) -> Result<Vec<Tensor>> {
    let refs: Vec<&Tensor> = inputs.iter().collect();
    match placement(&refs, loc)? {
        Placement::Eager => {
            let hosts: Vec<HostArray> =
                inputs.iter().filter_map(Tensor::concrete).map(|a| a.as_host().clone()).collect();
            let outs = gradjit_ir::interp::run(f, &hosts).map_err(|e| Error::Eval {
                op: "run".into(),
                message: e.to_string(),
                loc: loc.clone(),
            })?;
            Ok(outs.into_iter().map(Tensor::from).collect())
        }
        Placement::Trace(_) => {
            let outs = apply_function(f, inputs, loc)?;
            match outs.iter().find_map(Tensor::error) {
                Some(e) => Err(e.clone()),
                None => Ok(outs),
            }
        }
    }
}

/// Writes the values a function computed for the variables it wrote (now when eager, recorded
/// as writes of the enclosing trace when traced).
pub(crate) fn write_back(vars: &[Var], values: &[Tensor], loc: &Loc) -> Result<()> {
    vars.iter().zip(values).try_for_each(|(var, value)| var.set_at(value, loc))
}

/// The current values of `vars`, as inputs of a traced function (traced values inside a trace).
pub(crate) fn var_values(vars: &[Var], loc: &Loc) -> Vec<Tensor> {
    vars.iter().map(|v| v.value_at(loc)).collect()
}

/// The path of each leaf of `t`, in flattening order, in Python's subscript notation: `""` for
/// a leaf, `[0]`, `['w']`, `['layers'][1]`.
pub(crate) fn leaf_paths<T>(t: &Tree<T>) -> Vec<String> {
    fn walk<T>(t: &Tree<T>, prefix: &str, out: &mut Vec<String>) {
        match t {
            Tree::Leaf(_) => out.push(prefix.to_string()),
            Tree::Tuple(items) | Tree::List(items) => {
                items.iter().enumerate().for_each(|(i, item)| walk(item, &format!("{prefix}[{i}]"), out))
            }
            Tree::Dict(entries) => entries.iter().for_each(|(k, item)| walk(item, &format!("{prefix}['{k}']"), out)),
            Tree::None => {}
        }
    }
    let mut out = Vec::new();
    walk(t, "", &mut out);
    out
}

/// `argument 1`, or `argument 1 at ['w']` for a leaf inside a tree argument.
pub(crate) fn describe_arg(index: usize, path: &str) -> String {
    if path.is_empty() {
        format!("argument {index}")
    } else {
        format!("argument {index} at {path}")
    }
}

/// ``grad var `Example0.x` `` (or the variable's id if it has no name).
pub(crate) fn describe_var(var: &Var) -> String {
    match var.name() {
        Some(n) => format!("grad var `{n}`"),
        None => format!("grad var {}", var.id()),
    }
}

/// `t` with each leaf replaced by the tree `graft` gives for it (called in flattening order):
/// how Jacobians nest the inputs' structures inside the outputs'.
pub(crate) fn graft<T, L>(t: &Tree<T>, leaf: &mut impl FnMut() -> Result<Tree<L>>) -> Result<Tree<L>> {
    Ok(match t {
        Tree::Leaf(_) => leaf()?,
        Tree::Tuple(items) => Tree::Tuple(items.iter().map(|i| graft(i, leaf)).collect::<Result<_>>()?),
        Tree::List(items) => Tree::List(items.iter().map(|i| graft(i, leaf)).collect::<Result<_>>()?),
        Tree::Dict(entries) => {
            Tree::Dict(entries.iter().map(|(k, i)| Ok((k.clone(), graft(i, leaf)?))).collect::<Result<_>>()?)
        }
        Tree::None => Tree::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_paths_use_python_subscripts() {
        let t = Tree::<u8>::tuple([
            Tree::leaf(0),
            Tree::dict([("w", Tree::list([Tree::leaf(1), Tree::leaf(2)])), ("b", Tree::leaf(3))]),
        ]);
        assert_eq!(leaf_paths(&t), ["[0]", "[1]['b']", "[1]['w'][0]", "[1]['w'][1]"]);
        assert_eq!(leaf_paths(&Tree::leaf(1)), [""]);
        assert_eq!(describe_arg(2, "['w']"), "argument 2 at ['w']");
    }

    #[test]
    fn graft_replaces_leaves_in_order() {
        let outer = Tree::<()>::tuple([Tree::leaf(()), Tree::list([Tree::leaf(())])]);
        let mut n = 0;
        let t = graft(&outer, &mut || {
            n += 1;
            Ok(Tree::tuple([Tree::leaf(n), Tree::leaf(n * 10)]))
        })
        .unwrap();
        assert_eq!(t.to_string(), "((1, 10), [(2, 20)])");
    }
}
