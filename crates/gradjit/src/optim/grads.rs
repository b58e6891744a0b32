//! Gradient maps as plain data: gradients by variable name, to add, scale and average.
//!
//! A [`Grads`] maps each variable's name to its gradient, as a [`Tensor`]: concrete arrays
//! after a `grad` call, or values of a trace inside a jitted train step, so that gradient
//! accumulation over micro-batches compiles with the rest of the step. Names are kept sorted,
//! as JAX flattens a dict, so reductions over the map (the global norm) sum in optax's order.
//!
//! Combining two maps checks that they hold the same names with gradients of the same shape and
//! dtype; a mismatch is an [`Error::Argument`] naming the variable, never a silently
//! broadcast sum.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::grad::{leaf_paths, GradResult};
use crate::module::VarCollection;
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::var::VarId;
use gradjit_ir::TensorType;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Gradients by variable name (see the [module docs](self)).
#[derive(Clone, Default)]
pub struct Grads(BTreeMap<String, Tensor>);

impl Grads {
    /// An empty map.
    pub fn new() -> Grads {
        Grads::default()
    }

    /// The variable gradients of a `grad` result, named as `vars` names them (a module's
    /// `train_vars()`, or an optimiser's [`params`](super::Optimizer::params)). Every variable
    /// of the result must be in `vars`.
    pub fn from_result<L: Clone + Into<Tensor>>(result: &GradResult<L>, vars: &VarCollection) -> Result<Grads> {
        let Some((tree, ids)) = &result.vars else {
            return Err(Error::Argument(
                "the gradient result holds no variable gradients: give the variables to `grad_vars`".into(),
            ));
        };
        let mut names: HashMap<VarId, &str> = HashMap::new();
        for (name, var) in vars.iter() {
            names.entry(var.id()).or_insert(name);
        }
        let paths = leaf_paths(tree);
        let mut out = Grads::new();
        for ((leaf, id), path) in tree.leaves().into_iter().zip(ids).zip(paths) {
            let name = names.get(id).ok_or_else(|| {
                let at = if path.is_empty() { String::new() } else { format!(" at {path}") };
                Error::Argument(format!(
                    "the gradients hold variable {id}{at}, which is not one of the {} variables they are named by",
                    vars.len()
                ))
            })?;
            out.insert(*name, leaf.clone());
        }
        Ok(out)
    }

    /// Sets the gradient of `name`.
    pub fn insert(&mut self, name: impl Into<String>, grad: impl Into<Tensor>) {
        self.0.insert(name.into(), grad.into());
    }

    /// The gradient of `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.0.get(name)
    }

    /// The number of gradients.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, sorted.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The entries, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Tensor)> {
        self.0.iter().map(|(n, g)| (n.as_str(), g))
    }

    /// `f` applied to every gradient.
    pub fn map(&self, mut f: impl FnMut(&Tensor) -> Tensor) -> Grads {
        Grads(self.0.iter().map(|(n, g)| (n.clone(), f(g))).collect())
    }

    /// The sum of two maps with the same names, shapes and dtypes.
    #[track_caller]
    pub fn add(&self, other: &Grads) -> Result<Grads> {
        self.check_same("add", other)?;
        Ok(Grads(self.0.iter().zip(other.0.values()).map(|((n, a), b)| (n.clone(), a + b)).collect()))
    }

    /// Every gradient multiplied by `factor`.
    #[track_caller]
    pub fn scale(&self, factor: f64) -> Grads {
        self.map(|g| g * factor)
    }

    /// The mean of several maps (micro-batch accumulation), which must all hold the same names,
    /// shapes and dtypes.
    #[track_caller]
    pub fn mean(maps: &[Grads]) -> Result<Grads> {
        let (first, rest) =
            maps.split_first().ok_or_else(|| Error::Argument("the mean of no gradient maps is undefined".into()))?;
        let sum = rest.iter().try_fold(first.clone(), |acc, g| acc.add(g))?;
        Ok(sum.scale(1.0 / maps.len() as f64))
    }

    /// The L2 norm of all the gradients together (optax's `tree.norm`), a rank-0 tensor of the
    /// first gradient's dtype.
    #[track_caller]
    pub fn global_norm(&self) -> Tensor {
        let mut squares = self.0.values().map(|g| g.square().sum());
        match squares.next() {
            Some(first) => squares
                .fold(first, |acc, s| {
                    let s = s.astype(acc.dtype());
                    acc + s
                })
                .sqrt(),
            None => Tensor::scalar(0.0f32),
        }
    }

    /// The gradients scaled down so their global norm is at most `max_norm` (optax's
    /// `clip_by_global_norm`: unchanged when the norm is below `max_norm`).
    #[track_caller]
    pub fn clip_by_global_norm(&self, max_norm: f64) -> Grads {
        let norm = self.global_norm();
        let keep = norm.lt(max_norm);
        self.map(|g| {
            let norm = norm.astype(g.dtype());
            keep.select(g, (g / &norm) * max_norm)
        })
    }

    /// An error naming the first gradient (in name order) holding a NaN or an infinity. The
    /// gradients must be concrete (a traced gradient's data is not known).
    #[track_caller]
    pub fn check_finite(&self) -> Result<()> {
        let loc = caller();
        for (name, g) in &self.0 {
            let a = g.to_array_at(&loc)?;
            let bad = a.as_host().scalars().enumerate().find(|(_, v)| !is_finite(v.to_c128()));
            if let Some((i, v)) = bad {
                return Err(Error::Argument(format!(
                    "the gradient of `{name}` ({}) is not finite: element {i} is {}",
                    a.ty(),
                    v.to_f64()
                )));
            }
        }
        Ok(())
    }

    /// The gradients as arrays (an error for traced gradients).
    #[track_caller]
    pub fn to_arrays(&self) -> Result<BTreeMap<String, Array>> {
        let loc = caller();
        self.0.iter().map(|(n, g)| Ok((n.clone(), g.to_array_at(&loc)?))).collect()
    }

    /// Checks that `other` holds the same names with gradients of the same types.
    fn check_same(&self, op: &str, other: &Grads) -> Result<()> {
        let missing = |name: &str, side: &str| {
            Error::Argument(format!("cannot {op} gradient maps: `{name}` has no gradient in the {side} map"))
        };
        if let Some(name) = self.names().find(|n| !other.0.contains_key(*n)) {
            return Err(missing(name, "second"));
        }
        if let Some(name) = other.names().find(|n| !self.0.contains_key(*n)) {
            return Err(missing(name, "first"));
        }
        for ((name, a), b) in self.0.iter().zip(other.0.values()) {
            let (ta, tb) = (a.ty_or_err()?, b.ty_or_err()?);
            if ta != tb {
                return Err(Error::Argument(format!(
                    "cannot {op} gradient maps: the gradients of `{name}` are {ta} and {tb}"
                )));
            }
        }
        Ok(())
    }

    /// The type of each gradient (its error for a poisoned one).
    pub(crate) fn ty_of(&self, name: &str) -> Option<Result<TensorType>> {
        self.0.get(name).map(Tensor::ty_or_err)
    }
}

fn is_finite(c: num_complex::Complex64) -> bool {
    c.re.is_finite() && c.im.is_finite()
}

impl<S: Into<String>, T: Into<Tensor>> FromIterator<(S, T)> for Grads {
    fn from_iter<I: IntoIterator<Item = (S, T)>>(iter: I) -> Grads {
        Grads(iter.into_iter().map(|(n, g)| (n.into(), g.into())).collect())
    }
}

impl fmt::Debug for Grads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

/// What an optimiser's `update` accepts: gradients it can name by its variables.
pub trait IntoGrads {
    /// The gradients named as `params` names the variables.
    fn to_grads(&self, params: &VarCollection) -> Result<Grads>;
}

impl IntoGrads for Grads {
    fn to_grads(&self, _: &VarCollection) -> Result<Grads> {
        Ok(self.clone())
    }
}

impl<L: Clone + Into<Tensor>> IntoGrads for GradResult<L> {
    fn to_grads(&self, params: &VarCollection) -> Result<Grads> {
        Grads::from_result(self, params)
    }
}

impl<G: IntoGrads + ?Sized> IntoGrads for &G {
    fn to_grads(&self, params: &VarCollection) -> Result<Grads> {
        (**self).to_grads(params)
    }
}

impl<S: AsRef<str> + Ord, T: Clone + Into<Tensor>> IntoGrads for BTreeMap<S, T> {
    fn to_grads(&self, _: &VarCollection) -> Result<Grads> {
        Ok(self.iter().map(|(n, g)| (n.as_ref().to_string(), g.clone())).collect())
    }
}
