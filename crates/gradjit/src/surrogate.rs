//! Spike functions with surrogate gradients, as `brainpy.math.surrogate`.
//!
//! A spiking neuron fires when its membrane potential crosses a threshold: forwards, a spike is
//! the Heaviside step `H(x) = 1 if x >= 0 else 0` of the distance `x` to the threshold. Its
//! derivative is zero almost everywhere, so gradients cannot flow through it. Surrogate-gradient
//! learning keeps the step forwards and uses the derivative of a smooth approximation backwards.
//! Each [`Surrogate`] is one such derivative, with BrainPy's parameters and defaults; the spike
//! is a [`custom_jvp`] function, so it works in forward and reverse mode,
//! eagerly, under `grad` and `jit`, and inside loops.
//!
//! ```
//! use gradjit::{grad, surrogate, Tensor};
//! let x = Tensor::from(vec![-1.0f32, 0.0, 0.5]);
//! assert_eq!(surrogate::sigmoid(&x, 4.0).to_vec::<f32>()?, vec![0.0, 1.0, 1.0]);
//! // d/dx of the spike is sigmoid(4x)' = 4 σ(4x)(1 - σ(4x)): 1 at x = 0.
//! let g = grad(|x: Tensor| surrogate::sigmoid(&x, 4.0).sum()).call(&x)?;
//! let g = g.arg_grad(0).unwrap().to_vec::<f32>()?;
//! assert!((g[1] - 1.0).abs() < 1e-6);
//! # Ok::<(), gradjit::Error>(())
//! ```

use crate::control::custom_jvp;
use crate::tensor::Tensor;
use crate::trace::poison1;
use std::f64::consts::PI;

/// A surrogate derivative of the Heaviside step: the derivative of a smooth approximation of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Surrogate {
    /// `g'(x) = α σ(αx) (1 - σ(αx))`, the derivative of `σ(αx)` (BrainPy's default `α = 4`).
    Sigmoid { alpha: f64 },
    /// `g'(x) = α / (2 (1 + (π/2 α x)²))`, the derivative of `arctan(π/2 α x)/π + 1/2` (`α = 1`).
    Arctan { alpha: f64 },
    /// `g'(x) = max(α - α²|x|, 0)`: a triangle of height `α` and half-width `1/α`, the derivative of
    /// a piecewise quadratic (`α = 1`).
    PiecewiseQuadratic { alpha: f64 },
    /// `g'(x) = 1/w` where `|x| <= w`, else `c`: piecewise linear with leaky tails (`c = 0.01`, `w = 1`).
    PiecewiseLeakyRelu { c: f64, w: f64 },
    /// `g'(x) = max(α (width - |x|), 0)`: the piecewise-linear triangle of Neftci et al. (`α = 0.3`,
    /// `width = 1`).
    ReluGrad { alpha: f64, width: f64 },
    /// `g'(x) = α N(x; 0, σ²)`, a scaled Gaussian density (`σ = 0.5`, `α = 0.5`). BrainPy's
    /// implementation computes `exp(-x²σ²/2)` where its documentation (and this) says `exp(-x²/2σ²)`.
    GaussianGrad { sigma: f64, alpha: f64 },
}

impl Surrogate {
    /// The spike `H(x)` (in `x`'s dtype), differentiated with this surrogate.
    #[track_caller]
    pub fn spike(self, x: &Tensor) -> Tensor {
        let f = custom_jvp(|x: Tensor| heaviside(&x), move |x: Tensor, t: Tensor| (heaviside(&x), t * self.grad(&x)));
        f.call(x).unwrap_or_else(poison1)
    }

    /// The surrogate derivative `g'(x)` itself.
    pub fn grad(self, x: &Tensor) -> Tensor {
        match self {
            Surrogate::Sigmoid { alpha } => {
                let s = (x * alpha).sigmoid();
                &s * (1.0 - &s) * alpha
            }
            Surrogate::Arctan { alpha } => {
                let u = x * (PI / 2.0 * alpha);
                (&u * &u + 1.0).reciprocal() * (alpha / 2.0)
            }
            Surrogate::PiecewiseQuadratic { alpha } => (x.abs() * (-alpha * alpha) + alpha).relu(),
            Surrogate::PiecewiseLeakyRelu { c, w } => {
                let inside = x.abs().le(w);
                crate::select(&inside, x.ones_like() * (1.0 / w), x.ones_like() * c)
            }
            Surrogate::ReluGrad { alpha, width } => ((-x.abs() + width) * alpha).relu(),
            Surrogate::GaussianGrad { sigma, alpha } => {
                let density = (x * x * (-0.5 / (sigma * sigma))).exp() * (1.0 / ((2.0 * PI).sqrt() * sigma));
                density * alpha
            }
        }
    }
}

/// `1` where `x >= 0`, else `0`, in `x`'s dtype.
fn heaviside(x: &Tensor) -> Tensor {
    x.ge(0.0).astype(x.dtype())
}

/// A spike with the sigmoid surrogate (`brainpy.math.surrogate.sigmoid`, default `alpha = 4`).
#[track_caller]
pub fn sigmoid(x: &Tensor, alpha: f64) -> Tensor {
    Surrogate::Sigmoid { alpha }.spike(x)
}

/// A spike with the arctan surrogate (`brainpy.math.surrogate.arctan`, default `alpha = 1`).
#[track_caller]
pub fn arctan(x: &Tensor, alpha: f64) -> Tensor {
    Surrogate::Arctan { alpha }.spike(x)
}

/// A spike with the piecewise quadratic surrogate (`piecewise_quadratic`, default `alpha = 1`).
#[track_caller]
pub fn piecewise_quadratic(x: &Tensor, alpha: f64) -> Tensor {
    Surrogate::PiecewiseQuadratic { alpha }.spike(x)
}

/// A spike with the piecewise linear, leaky surrogate (`piecewise_leaky_relu`, defaults
/// `c = 0.01`, `w = 1`).
#[track_caller]
pub fn piecewise_leaky_relu(x: &Tensor, c: f64, w: f64) -> Tensor {
    Surrogate::PiecewiseLeakyRelu { c, w }.spike(x)
}

/// A spike with the piecewise linear triangle surrogate (`relu_grad`, defaults `alpha = 0.3`,
/// `width = 1`).
#[track_caller]
pub fn relu_grad(x: &Tensor, alpha: f64, width: f64) -> Tensor {
    Surrogate::ReluGrad { alpha, width }.spike(x)
}

/// A spike with the Gaussian surrogate (`gaussian_grad`, defaults `sigma = 0.5`, `alpha = 0.5`).
#[track_caller]
pub fn gaussian_grad(x: &Tensor, sigma: f64, alpha: f64) -> Tensor {
    Surrogate::GaussianGrad { sigma, alpha }.spike(x)
}
