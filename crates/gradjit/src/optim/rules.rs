//! The update rules: SGD (momentum, Nesterov), Adam (AdamW with weight decay) and RMSProp.
//!
//! A rule is the per-parameter arithmetic of one step, written with tensor operations so that it
//! traces: given a parameter, its gradient (already clipped) and its state slots, it returns the
//! change to add to the parameter and replaces the slots with their new values. Everything else
//! (matching gradients to parameters, clipping, the step counter, the finite check, writing the
//! variables) is the [`Optimizer`](super::Optimizer)'s, shared by every rule.
//!
//! Each rule follows optax's formulas, in optax's order of operations, with the scalar
//! arithmetic (bias corrections, learning rate) rounded to the parameter's dtype where optax
//! rounds it: the updates agree with optax's to a few ulps.
//!
//! | rule | optax | slots |
//! |---|---|---|
//! | [`Sgd`] | `sgd(lr, momentum, nesterov)` | `trace` with momentum |
//! | [`Adam`] | `adam(lr, b1, b2, eps, eps_root, nesterov)`; `adamw(.., weight_decay, mask)` | `mu`, `nu` |
//! | [`RmsProp`] | `rmsprop(lr, decay, eps, initial_scale, eps_in_sqrt, centered, momentum, nesterov, bias_correction)` | `nu`, `mu` if centered, `trace` with momentum |

use super::schedule::Schedule;
use crate::array::Array;
use crate::tensor::Tensor;
use crate::var::Var;
use gradjit_ir::DType;
use std::fmt;

/// The options every optimiser has, set with the builder methods of each rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The learning rate, as a function of the step.
    pub lr: Schedule,
    /// Clip the gradients to this global norm before the update.
    pub clip_norm: Option<f64>,
    /// Refuse non-finite gradients (see [`Optimizer::update`](super::Optimizer::update)).
    pub check_finite: bool,
}

impl Options {
    fn new(lr: impl Into<Schedule>) -> Options {
        Options { lr: lr.into(), clip_norm: None, check_finite: false }
    }
}

/// What one step's arithmetic needs besides the parameter: the learning rate at this step and
/// the number of this step (1 for the first update).
pub struct Step {
    /// The learning rate (a rank-0 f64 tensor), the schedule's value before the counter moves.
    pub lr: Tensor,
    /// The step number (a rank-0 i32 tensor).
    pub t: Tensor,
}

impl Step {
    /// `-lr` in `dtype`: the factor that turns a direction into an update.
    #[track_caller]
    pub fn neg_lr(&self, dtype: DType) -> Tensor {
        (-&self.lr).astype(dtype)
    }

    /// `1 - decay^t` in `dtype` (optax's bias correction, computed in the moment's precision).
    #[track_caller]
    pub fn bias_correction(&self, decay: f64, dtype: DType) -> Tensor {
        self.bias_correction_ahead(decay, 0, dtype)
    }

    /// `1 - decay^(t + ahead)` in `dtype` (Nesterov's look-ahead uses the next step's).
    #[track_caller]
    pub fn bias_correction_ahead(&self, decay: f64, ahead: i32, dtype: DType) -> Tensor {
        1.0 - Tensor::scalar(decay).astype(dtype).pow((&self.t + ahead).astype(dtype))
    }
}

/// The per-parameter arithmetic of an optimiser (see the [module docs](self)).
pub trait Rule: Clone + fmt::Debug + Send + Sync + 'static {
    /// The optimiser's name (`Adam`), for its module name and messages.
    fn name(&self) -> &'static str;
    /// The common options.
    fn options(&self) -> &Options;
    /// The names of the state slots each parameter has, in order.
    fn slots(&self) -> Vec<&'static str>;
    /// The initial value of slot `slot` for `param` (zeros unless the rule says otherwise).
    fn init_slot(&self, _slot: usize, param: &Var) -> Array {
        Array::zeros_of(param.dtype(), param.shape())
    }
    /// The change to add to parameter `p` (named `name`) for gradient `g`; `slots` holds the
    /// parameter's state and is replaced by its new values.
    fn update(&self, name: &str, p: &Tensor, g: &Tensor, slots: &mut [Tensor], step: &Step) -> Tensor;
}

/// The trace of momentum (optax's `trace`): `t ← g + m·t`, and the direction `t`, or
/// `g + m·t` with Nesterov's correction.
#[track_caller]
fn momentum(g: &Tensor, trace: &mut Tensor, m: f64, nesterov: bool) -> Tensor {
    *trace = g + &*trace * m;
    if nesterov {
        g + &*trace * m
    } else {
        trace.clone()
    }
}

/// `(1 - decay)·x + decay·moment`: an exponential moving average.
#[track_caller]
fn ema(x: &Tensor, moment: &Tensor, decay: f64) -> Tensor {
    x * (1.0 - decay) + moment * decay
}

/// Adds the builder methods every rule shares.
macro_rules! common_options {
    ($Rule:ident) => {
        impl $Rule {
            /// Clips the gradients to a global L2 norm of at most `max_norm` before each update
            /// (optax's `clip_by_global_norm`, chained before the optimiser).
            pub fn clip_by_global_norm(mut self, max_norm: f64) -> Self {
                self.options.clip_norm = Some(max_norm);
                self
            }

            /// Checks the gradients for NaN and infinities before each update: an error naming
            /// the variable on concrete gradients, a skipped step inside a jitted function.
            pub fn check_finite(mut self, on: bool) -> Self {
                self.options.check_finite = on;
                self
            }

            /// The optimiser over `params`: named trainable variables, as a module's
            /// `train_vars()` or any list or map of `(name, TrainVar)`.
            pub fn build<S: Into<String>, V: Into<Var>>(
                self,
                params: impl IntoIterator<Item = (S, V)>,
            ) -> crate::error::Result<super::Optimizer<$Rule>> {
                super::Optimizer::new(self, params)
            }
        }
    };
}

/// Stochastic gradient descent, with optional momentum (heavy ball or Nesterov).
#[derive(Clone, Debug)]
pub struct Sgd {
    options: Options,
    momentum: Option<f64>,
    nesterov: bool,
}

impl Sgd {
    /// Plain SGD: `p ← p - lr·g`.
    pub fn new(lr: impl Into<Schedule>) -> Sgd {
        Sgd { options: Options::new(lr), momentum: None, nesterov: false }
    }

    /// Momentum `m`: `t ← g + m·t`, `p ← p - lr·t`.
    pub fn momentum(mut self, m: f64) -> Sgd {
        self.momentum = Some(m);
        self
    }

    /// Nesterov's momentum: `p ← p - lr·(g + m·t)` (with [`Sgd::momentum`]).
    pub fn nesterov(mut self, on: bool) -> Sgd {
        self.nesterov = on;
        self
    }
}
common_options!(Sgd);

impl Rule for Sgd {
    fn name(&self) -> &'static str {
        "Sgd"
    }
    fn options(&self) -> &Options {
        &self.options
    }
    fn slots(&self) -> Vec<&'static str> {
        self.momentum.map(|_| vec!["trace"]).unwrap_or_default()
    }
    fn update(&self, _name: &str, _p: &Tensor, g: &Tensor, slots: &mut [Tensor], step: &Step) -> Tensor {
        let direction = match (self.momentum, slots) {
            (Some(m), [trace]) => momentum(g, trace, m, self.nesterov),
            _ => g.clone(),
        };
        direction * step.neg_lr(g.dtype())
    }
}

/// Adam (Kingma & Ba), and AdamW (Loshchilov & Hutter) with [`Adam::weight_decay`].
#[derive(Clone, Debug)]
pub struct Adam {
    options: Options,
    b1: f64,
    b2: f64,
    eps: f64,
    eps_root: f64,
    weight_decay: f64,
    /// Which parameters (by name) weight decay applies to; all without a mask.
    decay_mask: Option<fn(&str) -> bool>,
    nesterov: bool,
}

impl Adam {
    /// Adam with optax's defaults: `b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`, no weight decay.
    pub fn new(lr: impl Into<Schedule>) -> Adam {
        Adam {
            options: Options::new(lr),
            b1: 0.9,
            b2: 0.999,
            eps: 1e-8,
            eps_root: 0.0,
            weight_decay: 0.0,
            decay_mask: None,
            nesterov: false,
        }
    }

    /// The decay of the first moment.
    pub fn b1(mut self, b1: f64) -> Adam {
        self.b1 = b1;
        self
    }

    /// The decay of the second moment.
    pub fn b2(mut self, b2: f64) -> Adam {
        self.b2 = b2;
        self
    }

    /// Added to the denominator: `m̂ / (√v̂ + eps)`.
    pub fn eps(mut self, eps: f64) -> Adam {
        self.eps = eps;
        self
    }

    /// Added under the square root: `m̂ / (√(v̂ + eps_root) + eps)`.
    pub fn eps_root(mut self, eps_root: f64) -> Adam {
        self.eps_root = eps_root;
        self
    }

    /// Decoupled weight decay (AdamW): `wd·p` is added to Adam's direction before the learning
    /// rate scales it.
    pub fn weight_decay(mut self, wd: f64) -> Adam {
        self.weight_decay = wd;
        self
    }

    /// Nesterov's momentum (NAdam, Dozat 2016; optax's `adam(.., nesterov=True)`): the first
    /// moment looks one step ahead, `m̂ = b1·m/(1 - b1^(t+1)) + (1 - b1)·g/(1 - b1^t)`.
    pub fn nesterov(mut self, on: bool) -> Adam {
        self.nesterov = on;
        self
    }

    /// Decays only the parameters whose name `decays` accepts (optax's `mask`), e.g. weights but
    /// not biases: `.weight_decay_mask(|name| !name.ends_with(".b"))`.
    pub fn weight_decay_mask(mut self, decays: fn(&str) -> bool) -> Adam {
        self.decay_mask = Some(decays);
        self
    }
}
common_options!(Adam);

/// AdamW with optax's default weight decay, `1e-4` (change it with [`Adam::weight_decay`]).
pub fn adamw(lr: impl Into<Schedule>) -> Adam {
    Adam::new(lr).weight_decay(1e-4)
}

impl Rule for Adam {
    fn name(&self) -> &'static str {
        if self.weight_decay != 0.0 {
            "AdamW"
        } else {
            "Adam"
        }
    }
    fn options(&self) -> &Options {
        &self.options
    }
    fn slots(&self) -> Vec<&'static str> {
        vec!["mu", "nu"]
    }
    fn update(&self, name: &str, p: &Tensor, g: &Tensor, slots: &mut [Tensor], step: &Step) -> Tensor {
        let [mu, nu] = slots else { unreachable!("Adam has two slots") };
        let dtype = g.dtype();
        *mu = ema(g, mu, self.b1);
        *nu = ema(&g.square(), nu, self.b2);
        let mu_hat = if self.nesterov {
            let ahead = &*mu / step.bias_correction_ahead(self.b1, 1, dtype);
            let now = g / step.bias_correction(self.b1, dtype);
            ahead * self.b1 + now * (1.0 - self.b1)
        } else {
            &*mu / step.bias_correction(self.b1, dtype)
        };
        let nu_hat = &*nu / step.bias_correction(self.b2, dtype);
        let mut direction = mu_hat / ((nu_hat + self.eps_root).sqrt() + self.eps);
        if self.weight_decay != 0.0 && self.decay_mask.is_none_or(|decays| decays(name)) {
            direction += p * self.weight_decay;
        }
        direction * step.neg_lr(dtype)
    }
}

/// RMSProp (Tieleman & Hinton), optionally centered and with momentum, as optax writes it.
#[derive(Clone, Debug)]
pub struct RmsProp {
    options: Options,
    decay: f64,
    eps: f64,
    initial_scale: f64,
    eps_in_sqrt: bool,
    centered: bool,
    bias_correction: bool,
    momentum: Option<f64>,
    nesterov: bool,
}

impl RmsProp {
    /// RMSProp with optax's defaults: `decay = 0.9`, `eps = 1e-8` inside the square root.
    pub fn new(lr: impl Into<Schedule>) -> RmsProp {
        RmsProp {
            options: Options::new(lr),
            decay: 0.9,
            eps: 1e-8,
            initial_scale: 0.0,
            eps_in_sqrt: true,
            centered: false,
            bias_correction: false,
            momentum: None,
            nesterov: false,
        }
    }

    /// The decay of the moving averages.
    pub fn decay(mut self, decay: f64) -> RmsProp {
        self.decay = decay;
        self
    }

    /// The term that keeps the division finite.
    pub fn eps(mut self, eps: f64) -> RmsProp {
        self.eps = eps;
        self
    }

    /// `g / √(ν + eps)` (true, optax's default) or `g / (√ν + eps)` (false, PyTorch's).
    pub fn eps_in_sqrt(mut self, on: bool) -> RmsProp {
        self.eps_in_sqrt = on;
        self
    }

    /// The initial value of the second moment.
    pub fn initial_scale(mut self, scale: f64) -> RmsProp {
        self.initial_scale = scale;
        self
    }

    /// Divides by the standard deviation of the gradients instead of their root mean square.
    pub fn centered(mut self, on: bool) -> RmsProp {
        self.centered = on;
        self
    }

    /// Divides the moving averages by `1 - decay^t`, as Adam does, so the first steps are not
    /// too large (optax's `bias_correction`).
    pub fn bias_correction(mut self, on: bool) -> RmsProp {
        self.bias_correction = on;
        self
    }

    /// Momentum `m` over the learning-rate-scaled updates.
    pub fn momentum(mut self, m: f64) -> RmsProp {
        self.momentum = Some(m);
        self
    }

    /// Nesterov's momentum (with [`RmsProp::momentum`]).
    pub fn nesterov(mut self, on: bool) -> RmsProp {
        self.nesterov = on;
        self
    }
}
common_options!(RmsProp);

impl Rule for RmsProp {
    fn name(&self) -> &'static str {
        "RmsProp"
    }
    fn options(&self) -> &Options {
        &self.options
    }
    fn slots(&self) -> Vec<&'static str> {
        let mut slots = vec!["nu"];
        if self.centered {
            slots.push("mu");
        }
        if self.momentum.is_some() {
            slots.push("trace");
        }
        slots
    }
    fn init_slot(&self, slot: usize, param: &Var) -> Array {
        let value = if slot == 0 { self.initial_scale } else { 0.0 };
        Array::full_of(param.dtype(), value, param.shape())
    }
    fn update(&self, _name: &str, _p: &Tensor, g: &Tensor, slots: &mut [Tensor], step: &Step) -> Tensor {
        let (nu, rest) = slots.split_first_mut().expect("RmsProp has a `nu` slot");
        let debias = |x: &Tensor| match self.bias_correction {
            true => x / step.bias_correction(self.decay, x.dtype()),
            false => x.clone(),
        };
        *nu = ema(&g.square(), nu, self.decay);
        let (variance, rest) = match (self.centered, rest) {
            (true, [mu, rest @ ..]) => {
                *mu = ema(g, mu, self.decay);
                (debias(nu) - debias(mu).square(), rest)
            }
            (_, rest) => (debias(nu), rest),
        };
        let scaling = if self.eps_in_sqrt { (variance + self.eps).rsqrt() } else { 1.0 / (variance.sqrt() + self.eps) };
        let update = scaling * g * step.neg_lr(g.dtype());
        match (self.momentum, rest) {
            (Some(m), [trace]) => momentum(&update, trace, m, self.nesterov),
            _ => update,
        }
    }
}
