//! The options of `grad`, set with builder methods on [`Grad`].
//!
//! Each method takes and returns the `Grad` (`grad(f).argnums([0, 1]).has_aux(true)`), and
//! clears the cache of traced functions, which depend on the options. Options are checked when
//! the function is called, where the arguments they refer to are known.

use super::argnums::Argnums;
use super::error::GradError;
use super::exec::PlanCache;
use super::plan::Request;
use super::vars::IntoVarTree;
use super::Grad;
use crate::tree::Tree;
use crate::var::Var;

/// The options of a `grad` function (BrainPy's keyword arguments).
#[derive(Clone, Debug)]
pub struct GradOptions {
    /// The arguments to differentiate; `None`: argument 0 without `grad_vars`, no argument
    /// with them.
    pub argnums: Option<Argnums>,
    /// The variables to differentiate, in the structure their gradients take.
    pub grad_vars: Tree<Var>,
    /// The function returns `(loss, aux)`; only the loss is differentiated.
    pub has_aux: bool,
    /// The result's structure includes the loss.
    pub return_value: bool,
    /// The function is holomorphic: complex inputs and loss.
    pub holomorphic: bool,
    /// Integer and boolean inputs may be differentiated; their gradients are `float0` zeros.
    pub allow_int: bool,
    /// Named axes (of enclosing `vmap`s) to sum the gradients over.
    pub reduce_axes: Vec<String>,
}

impl Default for GradOptions {
    fn default() -> GradOptions {
        GradOptions {
            argnums: None,
            grad_vars: Tree::None,
            has_aux: false,
            return_value: false,
            holomorphic: false,
            allow_int: false,
            reduce_axes: Vec::new(),
        }
    }
}

impl GradOptions {
    /// The options checked for a call with `num_args` arguments.
    pub(crate) fn request(&self, transform: &'static str, num_args: usize) -> Result<Request<'_>, GradError> {
        if let Some(axis) = crate::vmap::first_unbound(&self.reduce_axes) {
            let (axes, axis, scope) = (self.reduce_axes.clone(), axis.to_string(), crate::vmap::describe_scope());
            return Err(GradError::ReduceAxes { axes, axis, scope });
        }
        // BrainPy decides "there are grad vars" by the number of leaves: `[]` and `{}` are none.
        let vars = self.grad_vars.leaves();
        let argnums = match (&self.argnums, vars.is_empty()) {
            (None, true) => Some(Argnums::Int(0).resolve(num_args)?),
            (None, false) => None,
            (Some(a), _) => Some(a.resolve(num_args)?),
        };
        if vars.is_empty() && argnums.as_ref().is_some_and(|r| r.positions.is_empty()) {
            return Err(GradError::EmptyArgnums);
        }
        Ok(Request {
            transform,
            argnums,
            vars_def: self.grad_vars.structure(),
            vars,
            has_aux: self.has_aux,
            return_value: self.return_value,
            holomorphic: self.holomorphic,
            allow_int: self.allow_int,
            reduce_axes: &self.reduce_axes,
        })
    }
}

impl<F, P> Grad<F, P> {
    /// The options, changed by `set`; the traced functions, which depend on them, are dropped.
    fn with(mut self, set: impl FnOnce(&mut GradOptions)) -> Self {
        set(&mut self.options);
        self.plans = PlanCache::default();
        self
    }

    /// The positional arguments to differentiate: an int (`argnums(1)`: that argument's
    /// gradient, bare) or a sequence (`argnums([1, 0])`: a tuple of gradients in that order).
    /// Default: argument 0 without `grad_vars`, no argument with them.
    pub fn argnums(self, argnums: impl Into<Argnums>) -> Self {
        let argnums = argnums.into();
        self.with(|o| o.argnums = Some(argnums))
    }

    /// The variables to differentiate (BrainPy's `grad_vars`): one variable, a list, a tuple,
    /// a string-keyed map, nested containers, or a module's `vars()` / `train_vars()` (see
    /// [`IntoVarTree`]). Their gradients come back in the same structure; an empty container
    /// is the same as no variables.
    pub fn grad_vars(self, vars: impl IntoVarTree) -> Self {
        let vars = vars.into_var_tree();
        self.with(|o| o.grad_vars = vars)
    }

    /// The function returns a pair `(loss, aux)`: the loss is differentiated and the auxiliary
    /// data (any structure of tensors) is returned alongside the gradients.
    pub fn has_aux(self, on: bool) -> Self {
        self.with(|o| o.has_aux = on)
    }

    /// The result's structure also holds the loss: `(grads, loss)` or `(grads, loss, aux)`.
    /// ([`GradResult::value`](super::GradResult::value) gives the loss either way.)
    pub fn return_value(self, on: bool) -> Self {
        self.with(|o| o.return_value = on)
    }

    /// The function is holomorphic: its differentiated inputs and its loss must be complex,
    /// and the gradient is the complex derivative (`z²` at `1+2j` gives `2+4j`).
    pub fn holomorphic(self, on: bool) -> Self {
        self.with(|o| o.holomorphic = on)
    }

    /// Integer and boolean inputs may be differentiated: their gradients are `float0` arrays of
    /// their shape (a type with no data: nothing changes an integer infinitesimally).
    pub fn allow_int(self, on: bool) -> Self {
        self.with(|o| o.allow_int = on)
    }

    /// Named axes to sum the gradients over: inside `vmap(..).axis_name("batch")`,
    /// `reduce_axes(&["batch"])` returns the total gradient over the batch instead of each
    /// example's (the seed's `reduce_axes`; JAX has since removed it in favour of an explicit
    /// `psum`). A name no enclosing `vmap` binds makes the call an error.
    pub fn reduce_axes(self, axes: &[&str]) -> Self {
        let axes = axes.iter().map(|a| a.to_string()).collect();
        self.with(|o| o.reduce_axes = axes)
    }

    /// Accepted for compatibility with BrainPy < 2.4, and ignored: the variables a function
    /// reads and writes are found by tracing it (as BrainPy has done since 2.4), so they need
    /// not be listed. Only `grad_vars` decides what is differentiated.
    pub fn dyn_vars(self, vars: impl IntoVarTree) -> Self {
        drop(vars.into_var_tree());
        self
    }

    /// The options.
    pub fn options(&self) -> &GradOptions {
        &self.options
    }
}
