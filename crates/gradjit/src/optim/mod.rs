//! Optimisers: SGD, Adam, AdamW and RMSProp over a module's trainable variables, with
//! learning-rate schedules, gradient clipping and a finite check (BrainPy's `bp.optim`, with
//! optax's formulas).
//!
//! ```
//! use gradjit::optim::{Adam, Schedule};
//! use gradjit::{jit, value_and_grad, Array, Tensor, TrainVar};
//!
//! let w = TrainVar::new(Array::from(vec![1.0f32, -2.0])).with_name("w");
//! let loss = |x: Tensor| (x * w.value()).sum().square();
//! let lr = Schedule::cosine_decay(0.1, 100, 0.0).with_warmup(0.0, 10);
//! let opt = Adam::new(lr).clip_by_global_norm(1.0).build([("w", &w)])?;
//!
//! // Eagerly: gradients from `grad`, then one update.
//! let grads = value_and_grad(loss).grad_vars(&w).call(Array::ones([2]))?;
//! opt.update(&grads)?;
//!
//! // Compiled: the gradient and the update are one native function; the parameters and the
//! // optimiser's state are variables it reads and writes.
//! let train_step = jit(|x: Tensor| {
//!     let r = value_and_grad(loss).grad_vars(&w).apply(x)?;
//!     opt.update(&r)?;
//!     Ok::<_, gradjit::Error>(r.value().clone())
//! });
//! for _ in 0..20 {
//!     train_step.call(Array::ones([2]))?;
//! }
//! assert_eq!(opt.step_count()?, 21);
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! # Design
//!
//! An [`Optimizer`] is a rule ([`Sgd`], [`Adam`], [`RmsProp`]: the per-parameter arithmetic,
//! see [`rules`]) plus what every rule shares: its parameters by name, a step counter, one
//! state variable per parameter and slot (Adam's `mu` and `nu`), the learning-rate
//! [`Schedule`], clipping and the finite check. Its state lives in [`Var`]s, not in Rust
//! fields, for two reasons:
//! - `update` is written with tensor operations on variables, so called inside a jitted
//!   function it traces like any other code: the parameters and the state become inputs and
//!   outputs of the compiled function, and a train step `jit(|x| { grads; update })` runs as
//!   native kernels with no per-parameter dispatch from Rust. Called outside a trace, the same
//!   code runs eagerly (through the reference interpreter, one operation at a time).
//! - the state saves and loads like a module's variables ([`Optimizer::state`] with
//!   [`crate::npz`]); an optimiser is a [`Module`] whose variables are its state.
//!
//! # The step
//!
//! [`Optimizer::update`] takes gradients by variable: a [`GradResult`](crate::GradResult) of
//! `grad(..).grad_vars(..)` (arrays from `call`, tensors from `apply` inside a trace), or a
//! [`Grads`] map (e.g. averaged over micro-batches). It then
//! 1. matches the gradients to the parameters: a missing, extra or mistyped gradient is an
//!    [`Error::Argument`] naming the variable, and nothing is written;
//! 2. with `check_finite(true)`, refuses gradients holding NaN or an infinity: on concrete
//!    gradients an error naming the variable, before anything is written; inside a trace (data
//!    unknown) the compiled step leaves every variable unchanged when a gradient is not finite;
//! 3. clips the gradients to their global norm, if asked;
//! 4. evaluates the learning rate at the step count (0 at the first update, as optax), applies
//!    the rule to every parameter, and writes the parameters, the slots and the counter.

pub mod grads;
pub mod rules;
pub mod schedule;

pub use grads::{Grads, IntoGrads};
pub use rules::{adamw, Adam, Options, RmsProp, Rule, Sgd, Step};
pub use schedule::Schedule;

use crate::error::{Error, Result};
use crate::module::{FieldPath, Module, ModuleName, VarCollection, Visitor};
use crate::ops::select;
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::var::Var;
use std::fmt;

/// An optimiser: an update rule `R` over named trainable variables, its state in variables (see
/// the [module docs](self)). Build one with a rule's builder: `Adam::new(1e-3).build(vars)`.
pub struct Optimizer<R: Rule> {
    name: ModuleName,
    rule: R,
    params: VarCollection,
    /// The number of updates applied (i32, as optax's `count`).
    count: Var,
    /// The rule's slot names, and each parameter's slot variables in that order.
    slot_names: Vec<&'static str>,
    slots: Vec<Vec<Var>>,
}

impl<R: Rule> Optimizer<R> {
    /// The optimiser of `rule` over `params`, its state initialised (see the rules' `build`).
    pub fn new<S: Into<String>, V: Into<Var>>(rule: R, params: impl IntoIterator<Item = (S, V)>) -> Result<Self> {
        let mut collection = VarCollection::new();
        for (name, var) in params {
            let (name, var) = (name.into(), var.into());
            if !var.is_trainable() {
                return Err(Error::Argument(format!(
                    "`{name}` is a Var, not a TrainVar: optimisers train TrainVars (pass a module's `train_vars()`)"
                )));
            }
            if !var.dtype().is_float() {
                return Err(Error::Argument(format!(
                    "`{name}` has dtype {}: optimisers train floating-point variables",
                    var.dtype()
                )));
            }
            if let Some((other, _)) = collection.iter().find(|(_, v)| **v == var) {
                return Err(Error::Argument(format!(
                    "`{other}` and `{name}` are the same variable: an optimiser updates each variable once"
                )));
            }
            collection.insert(name, var)?;
        }
        if collection.is_empty() {
            return Err(Error::Argument(format!("{} was given no variables to train", rule.name())));
        }
        let name = ModuleName::new(rule.name());
        let slot_names = rule.slots();
        let slots = collection
            .iter()
            .map(|(pname, p)| {
                let init = |(i, slot): (usize, &&str)| {
                    Var::new(rule.init_slot(i, p)).with_name(format!("{name}.{slot}-{pname}"))
                };
                slot_names.iter().enumerate().map(init).collect()
            })
            .collect();
        let count = Var::new(0i32).with_name(format!("{name}.count"));
        Ok(Optimizer { name, rule, params: collection, count, slot_names, slots })
    }

    /// The rule and its options.
    pub fn rule(&self) -> &R {
        &self.rule
    }

    /// The variables it trains, by name.
    pub fn params(&self) -> &VarCollection {
        &self.params
    }

    /// The number of updates applied so far.
    #[track_caller]
    pub fn step_count(&self) -> Result<i64> {
        Ok(self.count.get().item::<i32>()? as i64)
    }

    /// The learning rate the next update will use.
    #[track_caller]
    pub fn learning_rate(&self) -> Result<f64> {
        Ok(self.rule.options().lr.value_at(self.step_count()?.max(0) as u64))
    }

    /// The optimiser's state by stable names, to save and load: `count`, and `{slot}-{param}`
    /// for each parameter's slots (`mu-Dense0.w`).
    pub fn state(&self) -> VarCollection {
        let mut out = VarCollection::new();
        let mut add = |name: String, var: &Var| out.insert(name, var).expect("state names are distinct");
        add("count".into(), &self.count);
        for (slot, s) in self.slot_names.iter().enumerate() {
            for ((pname, _), vars) in self.params.iter().zip(&self.slots) {
                add(format!("{s}-{pname}"), &vars[slot]);
            }
        }
        out
    }

    /// Resets the counter and every slot to their initial values (the parameters are kept).
    pub fn reset(&self) -> Result<()> {
        self.count.assign(0i32)?;
        for ((_, p), vars) in self.params.iter().zip(&self.slots) {
            for (i, v) in vars.iter().enumerate() {
                v.assign(self.rule.init_slot(i, p))?;
            }
        }
        Ok(())
    }

    /// Applies one step down `grads` to the parameters, in place (see the [module docs](self)):
    /// gradients by variable, as a `GradResult` of `grad(..).grad_vars(..)` or a [`Grads`] map.
    #[track_caller]
    pub fn update(&self, grads: impl IntoGrads) -> Result<()> {
        let loc = caller();
        let grads = grads.to_grads(&self.params)?;
        let ordered = self.match_grads(&grads)?;
        let options = self.rule.options();
        let guard = match options.check_finite {
            true if ordered.iter().all(Tensor::is_concrete) => {
                grads.check_finite()?;
                None
            }
            true => Some(all_finite(&ordered)),
            false => None,
        };
        let ordered = match options.clip_norm {
            Some(max) => {
                let clipped = grads.clip_by_global_norm(max);
                self.params.names().map(|n| clipped.get(n).expect("matched").clone()).collect()
            }
            None => ordered,
        };
        let count = self.count.value_at(&loc);
        let step = Step { lr: options.lr.eval(&count), t: &count + 1i32 };
        let mut writes: Vec<(&Var, Tensor, Tensor)> = Vec::new();
        for (((name, param), g), slot_vars) in self.params.iter().zip(&ordered).zip(&self.slots) {
            let p = param.value_at(&loc);
            let old: Vec<Tensor> = slot_vars.iter().map(|v| v.value_at(&loc)).collect();
            let mut new = old.clone();
            let change = self.rule.update(name, &p, g, &mut new, &step);
            writes.extend(slot_vars.iter().zip(old).zip(new).map(|((v, o), n)| (v, o, n)));
            writes.push((param, p.clone(), (&p + change).astype(param.dtype())));
        }
        writes.push((&self.count, count, step.t));
        if let Some(e) = writes.iter().find_map(|(_, _, new)| new.error()) {
            return Err(e.clone());
        }
        for (var, old, new) in writes {
            let value = match &guard {
                Some(ok) => select(ok, &new, &old),
                None => new,
            };
            var.set_at(&value, &loc)?;
        }
        Ok(())
    }

    /// The gradients in parameter order, after checking that they are exactly the parameters'
    /// with the parameters' types.
    fn match_grads(&self, grads: &Grads) -> Result<Vec<Tensor>> {
        if let Some(extra) = grads.names().find(|n| !self.params.contains(n)) {
            return Err(Error::Argument(format!(
                "the gradients hold `{extra}`, which is not a variable of optimiser {} (its variables: {})",
                self.name,
                list(self.params.names())
            )));
        }
        self.params
            .iter()
            .map(|(name, var)| {
                let Some(ty) = grads.ty_of(name) else {
                    return Err(Error::Argument(format!(
                        "no gradient for `{name}` ({}) in the {} gradients given to optimiser {} ({})",
                        var.ty(),
                        grads.len(),
                        self.name,
                        list(grads.names())
                    )));
                };
                let ty = ty?;
                if ty != var.ty() {
                    return Err(Error::Argument(format!(
                        "the gradient of `{name}` is {ty}, but the variable is {}",
                        var.ty()
                    )));
                }
                Ok(grads.get(name).expect("present").clone())
            })
            .collect()
    }
}

/// True (a rank-0 bool tensor) when every gradient is finite.
#[track_caller]
fn all_finite(grads: &[Tensor]) -> Tensor {
    let mut flags = grads.iter().map(|g| g.is_finite().all());
    let first = flags.next().unwrap_or_else(|| Tensor::scalar(true));
    flags.fold(first, |acc, f| acc.logical_and(&f))
}

/// Names for a message: `a, b, c` (at most eight, then the count of the others).
fn list<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let n = names.len();
    let mut shown: Vec<String> = names.take(8).map(|s| format!("`{s}`")).collect();
    if n > 8 {
        shown.push(format!("and {} more", n - 8));
    }
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
}

/// An optimiser is a module whose variables are its state: `count`, and `{slot}-{param}` for
/// each parameter's slots.
impl<R: Rule> Module for Optimizer<R> {
    fn name(&self) -> &ModuleName {
        &self.name
    }

    fn visit_fields<'a>(&'a self, visitor: &mut dyn Visitor<'a>) {
        visitor.var(&FieldPath::field("count"), &self.count);
        for (slot, s) in self.slot_names.iter().enumerate() {
            let field = FieldPath::field(s);
            for ((pname, _), vars) in self.params.iter().zip(&self.slots) {
                visitor.var(&field.key(pname), &vars[slot]);
            }
        }
    }
}

impl<R: Rule> fmt::Debug for Optimizer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Optimizer")
            .field("name", &self.name.as_str())
            .field("rule", &self.rule)
            .field("params", &self.params.names().collect::<Vec<_>>())
            .field("count", &self.count.get())
            .finish()
    }
}
