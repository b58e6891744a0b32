//! `grad` and friends: BrainPy's `brainpy.math.grad` (and JAX's transformations) for Rust
//! functions and modules.
//!
//! ```
//! use gradjit::{grad, Array, Tensor};
//! let grad_tanh = grad(|x: Tensor| x.tanh());
//! let g = grad_tanh.call(0.2f32)?;
//! assert!((g.arg_grad(0).unwrap().item::<f32>()? - 0.961043).abs() < 1e-6);
//! // The function may call grad itself: grad(grad(x³)) = 6x.
//! let d2 = grad(grad(|x: Tensor| x.powi(3)));
//! assert_eq!(d2.call(2.0f32)?.arg_grad(0).unwrap().item::<f32>()?, 12.0);
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! # What is differentiated
//!
//! `grad(f)` differentiates the scalar loss `f` returns with respect to
//! - the positional arguments in `argnums` ([`Grad::argnums`]; default: argument 0 when
//!   there are no `grad_vars`), and
//! - the variables in `grad_vars` ([`Grad::grad_vars`]): one [`Var`](crate::Var), a list, a tuple,
//!   a map, nested containers, or a module's `vars()` / `train_vars()`.
//!
//! `f` is a closure (`|z: Tensor, v: Tensor| ...`) or a reference to a module implementing
//! [`Call`] (BrainPy's class object). Other variables `f` reads are constants of the
//! differentiation, and arrays it captures are constants.
//!
//! # What comes back: the twelve structures
//!
//! The result is a [`GradResult`]: typed accessors for each part, and [`GradResult::tree`],
//! exactly BrainPy's structure. With `A` a gradient array:
//!
//! | `grad_vars` | `argnums` | neither flag | `has_aux` | `return_value` | both |
//! |---|---|---|---|---|---|
//! | none | none (→ 0) or int | `A` | `(A, aux)` | `(A, loss)` | `(A, loss, aux)` |
//! | none | sequence | `(A, ..)` | `((A, ..), aux)` | `((A, ..), loss)` | `((A, ..), loss, aux)` |
//! | given | none | `V` | `(V, aux)` | `(V, loss)` | `(V, loss, aux)` |
//! | given | int / seq | `(V, A)` / `(V, (A, ..))` | `((V, ..), aux)` | `((V, ..), loss)` | `((V, ..), loss, aux)` |
//!
//! `V` mirrors the structure of `grad_vars`: a bare array for one variable, a list for a list,
//! a tuple for a tuple, a dict (keys sorted) for a map or a module's variables. An argument
//! that is a tree has a gradient of the same tree structure. A variable or argument the loss
//! does not depend on gets zeros. An integer argument with [`Grad::allow_int`] gets a `float0`
//! array of its shape. Gradients of `argnums` come in `argnums` order (`argnums([1, 0])` on
//! `2a + 3b` gives `(3, 2)`).
//!
//! # State
//!
//! Variables are state, as in BrainPy: those `f` writes keep their new values after the call
//! (a counter incremented inside `f` counts calls). A grad var that `f` writes also keeps the
//! written value, and its gradient is taken with respect to its value on entry.
//!
//! # Tracing, caching, nesting
//!
//! Calling a `grad` function traces `f` on abstract arguments of the call's types (once per
//! argument signature: later calls with the same shapes and dtypes reuse the differentiated IR
//! without running `f`; see [`Grad::num_traces`]), differentiates the IR with
//! `gradjit-autodiff` (which simplifies its result), and runs it with the reference interpreter.
//! Called on traced tensors (inside another transformation), it instead inlines the gradient IR
//! into the enclosing trace, so transformations compose: a `Grad` is itself a traceable
//! function (`grad(grad(f))`), and a closure may call [`Grad::apply`] on its tensors, also
//! capturing tensors of the outer function.
//!
//! # Errors
//!
//! Misuse is an [`Error::Grad`](crate::Error::Grad) at the line of the call, with BrainPy's
//! wording and the user's numbers (see [`GradError`]): a non-scalar loss (shape `(1,)`
//! included) or a structured one without `has_aux`, a non-pair with `has_aux`, an integer or
//! complex loss, integer inputs without `allow_int`, real inputs with `holomorphic`, argnums out
//! of range, negative or repeated, and `argnums([])` without `grad_vars` (nothing to
//! differentiate; with `grad_vars` it gives `(var_grads, ())`). A `grad_vars` entry that is
//! not a variable does not compile. `dyn_vars` is accepted and ignored: variables are found by
//! tracing.
//!
//! # Other transformations
//!
//! [`value_and_grad`] (`grad` with `return_value`), [`vjp`], [`jvp`], and the Jacobians
//! [`jacrev`], [`jacfwd`] and [`hessian`], with JAX's structures.

mod argnums;
mod error;
mod exec;
mod module_call;
mod options;
mod plan;
mod result;
mod transforms;
mod vars;

pub use argnums::Argnums;
pub use error::GradError;
pub use module_call::{Call, ModuleCall};
pub use options::GradOptions;
pub use result::GradResult;
pub use transforms::{hessian, jacfwd, jacrev, jvp, vjp, Jacobian, OutputOf, Vjp};
pub use vars::IntoVarTree;

// What `jit` shares with the transformations here.
pub(crate) use exec::{describe_arg, leaf_paths, signature, var_values, write_back, Signature};
// What `vmap` shares with them.
pub(crate) use exec::{execute, PlanCache};

use crate::array::Array;
use crate::error::Result;
use crate::signature::{ArgsFor, TraceFn};
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::tree::Tree;
use gradjit_ir::Loc;
use plan::{at, check_inputs, GradPlan};
use std::marker::PhantomData;

/// A function that computes gradients of `f` (see the [module docs](self)). `P` is the tuple
/// of `f`'s parameter types.
pub struct Grad<F, P> {
    f: F,
    /// `grad` or `value_and_grad`, for messages.
    name: &'static str,
    options: GradOptions,
    plans: PlanCache<GradPlan>,
    _params: PhantomData<fn(P)>,
}

/// The gradient of `f`, configured with the builder methods of [`Grad`] and computed by
/// [`Grad::call`].
pub fn grad<P, F: TraceFn<P>>(f: F) -> Grad<F, P> {
    Grad { f, name: "grad", options: GradOptions::default(), plans: PlanCache::default(), _params: PhantomData }
}

/// The loss and its gradient: [`grad`] with [`Grad::return_value`] set, so the result's
/// structure is BrainPy's `(grads, loss)` (and [`GradResult::value`] is the loss).
pub fn value_and_grad<P, F: TraceFn<P>>(f: F) -> Grad<F, P> {
    Grad { name: "value_and_grad", ..grad(f) }.return_value(true)
}

impl<F: TraceFn<P>, P> Grad<F, P> {
    /// Computes the gradients at `args` (a tuple of arguments, or one argument alone).
    #[track_caller]
    pub fn call(&self, args: impl ArgsFor<P>) -> Result<GradResult<Array>> {
        let loc = caller();
        self.apply_at(args.into_trees(), &loc)?.try_map(|t| t.to_array_at(&loc))
    }

    /// Computes the gradients at `args` as tensors: concrete ones when the arguments are, and
    /// values of the enclosing trace when called inside a transformation (the gradient IR is
    /// then inlined into that trace).
    #[track_caller]
    pub fn apply(&self, args: impl ArgsFor<P>) -> Result<GradResult<Tensor>> {
        self.apply_at(args.into_trees(), &caller())
    }

    /// How many times `f` has been traced: once per new argument signature.
    pub fn num_traces(&self) -> usize {
        self.plans.num_traces()
    }

    /// How many argument signatures have a cached differentiated function.
    pub fn num_cached(&self) -> usize {
        self.plans.len()
    }

    fn apply_at(&self, args: Vec<Tree<Tensor>>, loc: &Loc) -> Result<GradResult<Tensor>> {
        let req = self.options.request(self.name, args.len()).map_err(at(loc))?;
        let sig = signature(&args)?;
        check_inputs(&req, &sig).map_err(at(loc))?;
        let traced = self.plans.get_or_trace(&sig, || GradPlan::build(&self.f, &sig, &req, loc))?;
        traced.plan.run(&args, traced.captures, &req, loc)
    }
}

/// A `Grad` is a function of tensors itself, so transformations nest: `grad(grad(f))`,
/// `make_ir(grad(f), ..)`. Its output is BrainPy's structure of the gradients.
impl<F: TraceFn<P>, P> TraceFn<P> for Grad<F, P> {
    type Out = GradResult<Tensor>;
    const ARITY: usize = F::ARITY;
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<GradResult<Tensor>> {
        self.apply_at(args, &caller())
    }
}
