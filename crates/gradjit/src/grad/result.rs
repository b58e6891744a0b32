//! [`GradResult`]: what a `grad` function returns, with typed accessors and BrainPy's exact
//! return structure.
//!
//! BrainPy returns one of twelve structures, depending on `grad_vars`, `argnums`, `has_aux`
//! and `return_value` (see [`crate::grad`]); [`GradResult::tree`] builds exactly that
//! structure, for code that wants to mirror BrainPy. Rust code rarely needs to unpack it: the
//! accessors name each part.
//!
//! ```
//! use gradjit::{grad, Array, Tensor, TrainVar};
//! let w = TrainVar::new(Array::from(vec![1.0f32, 2.0]));
//! let loss = |x: Tensor| ((&x * w.value()).sum(), x.sum());
//! let r = grad(loss).grad_vars(&w).argnums(0).has_aux(true).return_value(true).call(Array::ones([2]))?;
//! assert_eq!(r.var_grad(&w).unwrap().to_vec::<f32>()?, [1.0, 1.0]); // d/dw sum(x*w) = x
//! assert_eq!(r.arg_grad(0).unwrap().to_vec::<f32>()?, [1.0, 2.0]); // d/dx = w
//! assert_eq!(r.value().item::<f32>()?, 3.0);
//! assert_eq!(r.aux().unwrap().as_leaf().unwrap().item::<f32>()?, 2.0);
//! // BrainPy's structure: ((var_grads, arg_grads), loss, aux).
//! assert_eq!(r.tree().structure().to_string(), "((*, *), *, *)");
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! `GradResult<Tensor>` is what [`Grad::apply`](super::Grad::apply) returns inside a trace; it
//! is an [`Output`], so a function may return it (that is how `grad` of `grad` works).

use crate::array::Array;
use crate::error::Result;
use crate::signature::Output;
use crate::tensor::Tensor;
use crate::tree::Tree;
use crate::var::{Var, VarId};
use std::fmt;

/// The gradients (and loss and auxiliary data) computed by a `grad` function, over leaves of
/// type `L`: [`Array`]s from [`Grad::call`](super::Grad::call), [`Tensor`]s from
/// [`Grad::apply`](super::Grad::apply).
#[derive(Clone, Debug)]
pub struct GradResult<L = Array> {
    /// The gradients of the arguments in `argnums`: the argument's gradient for an int argnums,
    /// a tuple of them for a sequence; `None` when only variables are differentiated.
    pub(crate) args: Option<Tree<L>>,
    /// True if `argnums` was a sequence.
    pub(crate) args_is_seq: bool,
    /// The gradients of `grad_vars`, in their structure, and the variable of each leaf.
    pub(crate) vars: Option<(Tree<L>, Vec<VarId>)>,
    /// The loss.
    pub(crate) value: L,
    /// The auxiliary data, with `has_aux`.
    pub(crate) aux: Option<Tree<L>>,
    /// Whether the structure includes the loss (`return_value`).
    pub(crate) return_value: bool,
}

impl<L> GradResult<L> {
    /// The gradients of the `argnums` arguments: the gradient of the argument (an array, or a
    /// tree for a tree argument) for an int argnums, a tuple of them for a sequence. `None` if
    /// `grad_vars` was given without `argnums`.
    pub fn arg_grads(&self) -> Option<&Tree<L>> {
        self.args.as_ref()
    }

    /// The gradient of the `k`-th differentiated argument (in `argnums` order: for
    /// `argnums([2, 0])`, `k = 0` is argument 2) as a tree; for an int argnums only `k = 0`.
    pub fn arg_grad_tree(&self, k: usize) -> Option<&Tree<L>> {
        let args = self.args.as_ref()?;
        if self.args_is_seq {
            args.get(k)
        } else {
            (k == 0).then_some(args)
        }
    }

    /// The gradient of the `k`-th differentiated argument (see [`GradResult::arg_grad_tree`]),
    /// if that argument is a single array.
    pub fn arg_grad(&self, k: usize) -> Option<&L> {
        self.arg_grad_tree(k)?.as_leaf()
    }

    /// The gradients of `grad_vars`, in the structure `grad_vars` was given in (a bare array
    /// for one variable, a list for a list, a dict for a map or a module's variables). `None`
    /// without `grad_vars`.
    pub fn var_grads(&self) -> Option<&Tree<L>> {
        self.vars.as_ref().map(|(t, _)| t)
    }

    /// The gradient of variable `var`, if it is one of `grad_vars` (a `&TrainVar` works too).
    pub fn var_grad(&self, var: &Var) -> Option<&L> {
        let (tree, ids) = self.vars.as_ref()?;
        let i = ids.iter().position(|&id| id == var.id())?;
        tree.leaves().into_iter().nth(i)
    }

    /// The loss: what the function returned (its first element with `has_aux`). Available
    /// whether or not `return_value` asked for it to be part of [`GradResult::tree`].
    pub fn value(&self) -> &L {
        &self.value
    }

    /// The auxiliary data (the second element of the function's output), with `has_aux`.
    pub fn aux(&self) -> Option<&Tree<L>> {
        self.aux.as_ref()
    }

    /// Converts every leaf, e.g. tensors to arrays.
    pub fn try_map<M>(self, mut f: impl FnMut(L) -> Result<M>) -> Result<GradResult<M>> {
        let value = f(self.value)?;
        let mut convert = |t: Tree<L>| -> Result<Tree<M>> {
            let (leaves, def) = t.flatten();
            def.unflatten(leaves.into_iter().map(&mut f).collect::<Result<Vec<M>>>()?)
        };
        Ok(GradResult {
            args: self.args.map(&mut convert).transpose()?,
            args_is_seq: self.args_is_seq,
            vars: self.vars.map(|(t, ids)| Ok::<_, crate::Error>((convert(t)?, ids))).transpose()?,
            value,
            aux: self.aux.map(&mut convert).transpose()?,
            return_value: self.return_value,
        })
    }
}

impl<L: Clone> GradResult<L> {
    /// The gradients as BrainPy returns them: `arg_grads` without `grad_vars`; `var_grads`
    /// with `grad_vars` and no `argnums`; `(var_grads, arg_grads)` with both.
    pub fn grads(&self) -> Tree<L> {
        match (&self.vars, &self.args) {
            (Some((vars, _)), Some(args)) => Tree::Tuple(vec![vars.clone(), args.clone()]),
            (Some((vars, _)), None) => vars.clone(),
            (None, Some(args)) => args.clone(),
            (None, None) => Tree::None,
        }
    }

    /// BrainPy's return structure (see [`GradResult::into_tree`]).
    pub fn tree(&self) -> Tree<L> {
        self.clone().into_tree()
    }

    /// BrainPy's return structure: [`grads`](GradResult::grads), then as tuples
    /// `(grads, loss)` with `return_value`, `(grads, aux)` with `has_aux`, and
    /// `(grads, loss, aux)` with both.
    pub fn into_tree(self) -> Tree<L> {
        let grads = self.grads();
        match (self.return_value, self.aux) {
            (false, None) => grads,
            (true, None) => Tree::Tuple(vec![grads, Tree::Leaf(self.value)]),
            (false, Some(aux)) => Tree::Tuple(vec![grads, aux]),
            (true, Some(aux)) => Tree::Tuple(vec![grads, Tree::Leaf(self.value), aux]),
        }
    }
}

impl GradResult<Tensor> {
    /// The data of every tensor (an error for tensors of a trace, whose data is not known).
    #[track_caller]
    pub fn to_arrays(self) -> Result<GradResult<Array>> {
        let loc = crate::trace::caller();
        self.try_map(|t| t.to_array_at(&loc))
    }
}

impl<L: Clone + fmt::Display> fmt::Display for GradResult<L> {
    /// BrainPy's structure in Python's notation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.tree(), f)
    }
}

/// A function may return a `GradResult<Tensor>` (e.g. a closure calling [`Grad::apply`](super::Grad::apply)):
/// its output is BrainPy's structure.
impl Output for GradResult<Tensor> {
    type With<M> = Tree<M>;
    fn into_tree(self) -> Result<Tree<Tensor>> {
        Ok(GradResult::into_tree(self))
    }
    fn rebuild<M>(t: Tree<M>) -> Option<Tree<M>> {
        Some(t)
    }
}
