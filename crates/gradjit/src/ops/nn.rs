//! Neural-network functions, composed from the primitives (so their derivatives come from the
//! primitives' rules): activations, `softmax`, `log_softmax`, `logsumexp`, `clip`, `one_hot`.
//!
//! The exponentials are shifted to stay finite: `logsumexp` and the softmaxes subtract the
//! maximum (through `stop_gradient`, which changes no value and no derivative, since the
//! result does not depend on the shift), and `softplus` is `max(x, 0) + log1p(exp(-|x|))`.

use super::{select, IntList, IntoOperand};
use crate::tensor::Tensor;
use gradjit_ir::DType;

impl Tensor {
    /// `max(x, 0)`.
    #[track_caller]
    pub fn relu(&self) -> Tensor {
        self.maximum(0)
    }

    /// `min(max(x, 0), 6)`.
    #[track_caller]
    pub fn relu6(&self) -> Tensor {
        self.clip(0, 6)
    }

    /// `x` where `x >= 0`, else `slope * x`.
    #[track_caller]
    pub fn leaky_relu(&self, slope: f64) -> Tensor {
        select(&self.ge(0), self, self * slope)
    }

    /// `x` where `x > 0`, else `alpha * (exp(x) - 1)`.
    #[track_caller]
    pub fn elu(&self, alpha: f64) -> Tensor {
        select(&self.gt(0), self, self.expm1() * alpha)
    }

    /// `x * sigmoid(x)` (also called swish).
    #[track_caller]
    pub fn silu(&self) -> Tensor {
        self * self.sigmoid()
    }

    /// The GELU activation, tanh approximation (JAX's default):
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    #[track_caller]
    pub fn gelu(&self) -> Tensor {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let inner = (self + self.powi(3) * 0.044715) * c;
        self * 0.5 * (inner.tanh() + 1.0)
    }

    /// The exact GELU: `x/2 · (1 + erf(x/√2))`.
    #[track_caller]
    pub fn gelu_exact(&self) -> Tensor {
        self * 0.5 * ((self * std::f64::consts::FRAC_1_SQRT_2).erf() + 1.0)
    }

    /// `log(1 + exp(x))`, without overflow.
    #[track_caller]
    pub fn softplus(&self) -> Tensor {
        self.relu() + (-self.abs()).exp().log1p()
    }

    /// `log(sigmoid(x))`, without overflow.
    #[track_caller]
    pub fn log_sigmoid(&self) -> Tensor {
        -(-self).softplus()
    }

    /// `exp(x) / sum(exp(x))` over `axes` (`-1` for the last axis).
    #[track_caller]
    pub fn softmax(&self, axes: impl IntList) -> Tensor {
        let axes = axes.into_ints();
        let shift = self.max_axes(axes.clone(), true).stop_gradient();
        let e = (self - shift).exp();
        &e / e.sum_axes(axes, true)
    }

    /// `log(softmax(x))` over `axes`, computed without forming the softmax.
    #[track_caller]
    pub fn log_softmax(&self, axes: impl IntList) -> Tensor {
        let axes = axes.into_ints();
        let shifted = self - self.max_axes(axes.clone(), true).stop_gradient();
        &shifted - shifted.exp().sum_axes(axes, true).log()
    }

    /// `log(sum(exp(x)))` over all elements, without overflow.
    #[track_caller]
    pub fn logsumexp(&self) -> Tensor {
        let all: Vec<i64> = (0..self.rank() as i64).collect();
        self.logsumexp_axes(all, false)
    }

    /// `log(sum(exp(x)))` over `axes`, without overflow; with `keepdims` they stay as
    /// dimensions of size 1.
    #[track_caller]
    pub fn logsumexp_axes(&self, axes: impl IntList, keepdims: bool) -> Tensor {
        let axes = axes.into_ints();
        let max = self.max_axes(axes.clone(), true).stop_gradient();
        // An infinite maximum (all -inf, or a +inf) would give inf - inf; shift by 0 instead.
        let shift = select(&max.is_finite(), &max, 0);
        let out = (self - &shift).exp().sum_axes(axes.clone(), true).log() + shift;
        if keepdims {
            out
        } else {
            out.squeeze_axes(axes)
        }
    }

    /// The elements limited to `lo..=hi`.
    #[track_caller]
    pub fn clip(&self, lo: impl IntoOperand, hi: impl IntoOperand) -> Tensor {
        self.maximum(lo).minimum(hi)
    }

    /// One-hot vectors of length `n` for integer class indices, as `dtype`: a new last axis
    /// holding 1 at each index and 0 elsewhere (all 0 for an index outside `0..n`).
    #[track_caller]
    pub fn one_hot(&self, n: usize, dtype: DType) -> Tensor {
        let classes = Tensor::arange(n, self.dtype());
        self.expand_dims(-1).equal(classes).astype(dtype)
    }
}
