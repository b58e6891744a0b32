//! `vmap`: a function of one example mapped over a batch, as `jax.vmap`.
//!
//! ```
//! use gradjit::{grad, jit, vmap, Array, Tensor};
//! // Per-example gradients of a linear model's squared error: the weights are shared
//! // (`in_axes` None), the examples mapped along axis 0.
//! let loss = |w: Tensor, x: Tensor, y: Tensor| (&x.dot(&w) - &y).powi(2).sum();
//! let per_example = jit(vmap(grad(loss)).in_axes([None, Some(0), Some(0)]));
//! let w = Array::from(vec![1.0f64, -1.0]);
//! let xs = Array::from_vec([3, 2], vec![1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0])?;
//! let ys = Array::from(vec![0.0f64, 0.0, 1.0]);
//! let g = per_example.call((&w, &xs, &ys))?;
//! assert_eq!(g.arg_grad(0).unwrap().to_vec::<f64>()?, [2.0, 0.0, 0.0, -2.0, -2.0, -2.0]);
//! assert_eq!(per_example.num_compiles(), 1);
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! # How it works
//!
//! The first call with a new signature traces the function on *one example*: each mapped
//! argument with its `in_axes` dimension removed. The traced IR is batched by
//! `gradjit_autodiff::vmap` (an IR-to-IR transform with one batching rule per primitive) and
//! cached; every call runs it on the whole batch (interpreted, or inlined into an enclosing
//! trace). So `vmap` composes both ways: `vmap(grad(f))` batches the gradient's IR (per-example
//! gradients), `grad(..)` of a function calling `vmap(f)` differentiates the batched IR, and
//! `jit(vmap(..))` compiles it once per signature.
//!
//! # Axes
//!
//! [`Vmap::in_axes`] gives one entry per argument (applied to every leaf of a tree argument):
//! `Some(d)` maps dimension `d`, `None` passes the argument to every lane unchanged. The default
//! maps dimension 0 of every argument. [`Vmap::out_axes`] gives one entry for every output leaf,
//! or one for all (default `Some(0)`); `None` returns an output that does not vary along the
//! mapped axis (such as a [`psum`] over it) once instead of once per lane. The mapped size is
//! read from the arguments; [`Vmap::size`] gives it when no argument is mapped.
//!
//! # Named axes
//!
//! With [`Vmap::axis_name`], [`psum`], [`pmean`], [`pmax`] and [`pmin`] inside the function reduce
//! over the lanes, and `grad(..).reduce_axes(&[name])` sums gradients over them. Nested `vmap`s
//! with different names each bind their own.
//!
//! # State
//!
//! Variables the function reads are shared by every lane (unmapped inputs); writing a variable
//! inside `vmap` is an error, since each lane would write its own value (return it instead).

mod axes;

pub use axes::{axes_in_scope, pmax, pmean, pmin, psum};
pub(crate) use axes::{describe_scope, first_unbound, psum_outputs};

use crate::array::Array;
use crate::error::{Error, Result};
use crate::grad::{execute, signature, var_values, PlanCache, Signature};
use crate::jit::{Jittable, OutputForm};
use crate::signature::{ArgsFor, TraceFn};
use crate::tensor::Tensor;
use crate::trace::{caller, Tracing};
use crate::tree::Tree;
use crate::var::Var;
use gradjit_ir::{Function, Loc, TensorType};
use std::marker::PhantomData;

/// `f` mapped over a batch (see the [module docs](self)). `P` is the tuple of `f`'s parameter
/// types.
pub struct Vmap<F, P> {
    f: F,
    options: VmapOptions,
    plans: PlanCache<VmapPlan>,
    _params: PhantomData<fn(P)>,
}

/// The options of a `vmap`, set with the builder methods of [`Vmap`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmapOptions {
    /// One entry per argument; `None` (the default): dimension 0 of every argument.
    pub in_axes: Option<Vec<Option<usize>>>,
    /// One entry per output leaf, or one for all; `None` (the default): dimension 0.
    pub out_axes: Option<Vec<Option<usize>>>,
    /// The name collectives and `reduce_axes` use for the mapped axis.
    pub axis_name: Option<String>,
    /// The mapped size, needed only when no argument is mapped.
    pub size: Option<usize>,
}

/// `f` mapped over a batch along dimension 0 of every argument, configured with the builder
/// methods of [`Vmap`].
pub fn vmap<P, F: Jittable<P>>(f: F) -> Vmap<F, P> {
    Vmap { f, options: VmapOptions::default(), plans: PlanCache::default(), _params: PhantomData }
}

/// The batched function for one signature.
pub(crate) struct VmapPlan {
    function: Function,
    var_inputs: Vec<Var>,
    form: OutputForm,
}

impl<F, P> Vmap<F, P> {
    fn with(mut self, set: impl FnOnce(&mut VmapOptions)) -> Self {
        set(&mut self.options);
        self.plans = PlanCache::default();
        self
    }

    /// Which dimension of each argument is mapped (`None`: the argument is shared by every lane).
    pub fn in_axes(self, axes: impl IntoIterator<Item = Option<usize>>) -> Self {
        let axes = axes.into_iter().collect();
        self.with(|o| o.in_axes = Some(axes))
    }

    /// Where the mapped axis goes in each output leaf (one entry for all, or one per leaf;
    /// `None`: the output does not vary along it and is returned once).
    pub fn out_axes(self, axes: impl IntoIterator<Item = Option<usize>>) -> Self {
        let axes = axes.into_iter().collect();
        self.with(|o| o.out_axes = Some(axes))
    }

    /// Names the mapped axis, for [`psum`] and friends and `grad(..).reduce_axes(..)`.
    pub fn axis_name(self, name: &str) -> Self {
        let name = name.to_string();
        self.with(|o| o.axis_name = Some(name))
    }

    /// The mapped size, for a call in which no argument is mapped.
    pub fn size(self, n: usize) -> Self {
        self.with(|o| o.size = Some(n))
    }

    /// The options.
    pub fn options(&self) -> &VmapOptions {
        &self.options
    }

    /// How many times the function has been traced: once per new argument signature.
    pub fn num_traces(&self) -> usize {
        self.plans.num_traces()
    }
}

impl<F: Jittable<P>, P> Vmap<F, P> {
    /// Maps the function over `args` (a tuple of arguments, or one argument alone) and returns
    /// what it returns, with arrays.
    #[track_caller]
    pub fn call(&self, args: impl ArgsFor<P>) -> Result<F::Result> {
        let loc = caller();
        let (plan, outs) = self.run(args.into_trees(), &loc)?;
        let arrays = outs.iter().map(|t| t.to_array_at(&loc)).collect::<Result<Vec<Array>>>()?;
        F::arrays(&plan.form, arrays.into_iter())
    }

    /// Maps the function over tensors: concrete ones, or values of an enclosing trace (the
    /// batched IR is then inlined into it).
    #[track_caller]
    pub fn apply(&self, args: impl ArgsFor<P>) -> Result<F::Traced> {
        self.apply_at(args.into_trees(), &caller())
    }

    fn apply_at(&self, args: Vec<Tree<Tensor>>, loc: &Loc) -> Result<F::Traced> {
        let (plan, outs) = self.run(args, loc)?;
        F::tensors(&plan.form, outs.into_iter())
    }

    fn run(&self, args: Vec<Tree<Tensor>>, loc: &Loc) -> Result<(std::sync::Arc<VmapPlan>, Vec<Tensor>)> {
        let sig = signature(&args)?;
        let traced = self.plans.get_or_trace(&sig, || self.build(&sig, loc))?;
        let plan = traced.plan;
        let mut inputs: Vec<Tensor> = args.into_iter().flat_map(Tree::into_leaves).collect();
        inputs.extend(var_values(&plan.var_inputs, loc));
        inputs.extend(traced.captures);
        let outs = execute(&plan.function, &inputs, loc)?;
        Ok((plan, outs))
    }

    /// Traces the function on one example of `sig` and batches its IR.
    fn build(&self, sig: &Signature, loc: &Loc) -> Result<(VmapPlan, Vec<Tensor>)> {
        let err = |message: String| Error::op("vmap", message, loc.clone());
        let in_axes = match &self.options.in_axes {
            None => vec![Some(0); sig.len()],
            Some(a) if a.len() == sig.len() => a.clone(),
            Some(a) => {
                return Err(err(format!(
                    "in_axes has {} entries, but the function takes {} argument(s)",
                    a.len(),
                    sig.len()
                )))
            }
        };
        let (example, size) = self.example(sig, &in_axes, loc)?;

        let name = self.options.axis_name.as_deref();
        let tracing = Tracing::begin();
        let params: Vec<Tree<Tensor>> = example.iter().map(|t| t.map(|ty| tracing.param(ty.clone(), loc))).collect();
        let out = {
            let _scope = axes::enter(name);
            self.f.call_trees(params).and_then(F::split)
        };
        let (leaves, form) = match out {
            Ok(out) => out,
            Err(e) => return Err(tracing.finish(&[], loc).err().unwrap_or(e)),
        };
        let rec = tracing.finish(&leaves, loc)?;
        if let Some(v) = rec.var_outputs.first() {
            let var = v.name().map_or_else(|| format!("{}", v.id()), |n| format!("`{n}`"));
            return Err(err(format!(
                "the function writes variable {var} inside vmap: each lane would write its own value; return the new \
                 value from the function instead"
            )));
        }

        // Parameters: the arguments' leaves, then the variables read and the captured tensors
        // (shared by every lane).
        let mut ins: Vec<Option<usize>> =
            sig.iter().zip(&in_axes).flat_map(|(t, &a)| std::iter::repeat_n(a, t.num_leaves())).collect();
        ins.resize(rec.function.params.len(), None);
        let n_out = rec.function.outputs.len();
        let outs = match self.options.out_axes.as_deref() {
            None => vec![Some(0); n_out],
            Some([one]) => vec![*one; n_out],
            Some(a) if a.len() == n_out => a.to_vec(),
            Some(a) => {
                return Err(err(format!("out_axes has {} entries, but the function returns {n_out} array(s)", a.len())))
            }
        };
        let function =
            gradjit_autodiff::vmap(&rec.function, &ins, &outs, name, size).map_err(|e| err(e.to_string()))?;
        crate::jit::stages::record("vmap", || function.to_string());
        Ok((VmapPlan { function, var_inputs: rec.var_inputs, form }, rec.captures))
    }

    /// One example's signature (the mapped dimensions removed) and the mapped size.
    fn example(&self, sig: &Signature, in_axes: &[Option<usize>], loc: &Loc) -> Result<(Signature, usize)> {
        let err = |message: String| Error::op("vmap", message, loc.clone());
        let mut sizes: Vec<(String, usize)> = Vec::new();
        let mut example = Vec::with_capacity(sig.len());
        for (i, (t, &axis)) in sig.iter().zip(in_axes).enumerate() {
            let Some(a) = axis else {
                example.push(t.clone());
                continue;
            };
            let one = t.try_map(|ty: &TensorType| {
                if a >= ty.rank() {
                    return Err(err(format!("in_axes[{i}] = {a}, but argument {i} is {ty}, of rank {}", ty.rank())));
                }
                sizes.push((format!("argument {i} ({ty}) has {} along axis {a}", ty.dims()[a]), ty.dims()[a]));
                let mut dims = ty.dims().to_vec();
                dims.remove(a);
                Ok(TensorType::new(ty.dtype, dims))
            })?;
            example.push(one);
        }
        if let Some(n) = self.options.size {
            sizes.push((format!("size({n}) was given"), n));
        }
        let Some(&(_, n)) = sizes.first() else {
            return Err(err(
                "no argument is mapped (every in_axes entry is None): give the mapped size with .size(n)".into()
            ));
        };
        if sizes.iter().any(|(_, s)| *s != n) {
            let what: Vec<String> = sizes.into_iter().map(|(d, _)| d).collect();
            return Err(err(format!("the mapped arguments disagree on the mapped size: {}", what.join("; "))));
        }
        Ok((example, n))
    }
}

/// A `Vmap` is a traceable function: inside another transformation its batched IR is inlined,
/// so `grad(vmap(f))` (through a function calling it) and `vmap(vmap(f))` work.
impl<F: Jittable<P>, P> TraceFn<P> for Vmap<F, P> {
    type Out = F::Traced;
    const ARITY: usize = F::ARITY;
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<F::Traced> {
        self.apply_at(args, &caller())
    }
}

/// A borrowed `Vmap` is traceable too: `let f = vmap(..); let df = grad(&f);`.
impl<F: Jittable<P>, P> TraceFn<P> for &Vmap<F, P> {
    type Out = F::Traced;
    const ARITY: usize = F::ARITY;
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<F::Traced> {
        self.apply_at(args, &caller())
    }
}

/// `jit(vmap(f))` and `vmap(vmap(f))`: the result has the mapped function's type.
impl<F: Jittable<P>, P> Jittable<P> for Vmap<F, P> {
    type Result = F::Result;
    type Traced = F::Traced;
    fn split(out: F::Traced) -> Result<(Vec<Tensor>, OutputForm)> {
        F::split_traced(out)
    }
    fn split_traced(out: F::Traced) -> Result<(Vec<Tensor>, OutputForm)> {
        F::split_traced(out)
    }
    fn arrays(form: &OutputForm, leaves: impl Iterator<Item = Array>) -> Result<F::Result> {
        F::arrays(form, leaves)
    }
    fn tensors(form: &OutputForm, leaves: impl Iterator<Item = Tensor>) -> Result<F::Traced> {
        F::tensors(form, leaves)
    }
}
