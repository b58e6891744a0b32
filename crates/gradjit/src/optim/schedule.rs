//! Learning-rate schedules: values of the step count, as data.
//!
//! A [`Schedule`] is evaluated two ways that agree: on the host ([`Schedule::value_at`], for
//! printing and tests) and as tensor operations on the optimiser's step counter
//! ([`Schedule::eval`]), so that a jitted train step compiles the schedule with the update and
//! never bakes in the step it was traced at. The formulas are optax's (`constant_schedule`,
//! `linear_schedule`, `exponential_decay`, `cosine_decay_schedule`, and warm-up as
//! `join_schedules([linear_schedule(..), s], [steps])`); as in optax, the step of the first update
//! is 0. Values are computed in f64 and rounded to each parameter's dtype where they are used.

use crate::tensor::Tensor;
use gradjit_ir::DType;
use std::f64::consts::PI;
use std::fmt;

/// A learning rate as a function of the step count (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// The same value at every step.
    Constant(f64),
    /// From `init` to `end` linearly over `steps` steps starting at step `begin`, then `end`
    /// (optax's `linear_schedule`).
    Linear { init: f64, end: f64, steps: u64, begin: u64 },
    /// `init · rate^((t - begin) / steps)` after step `begin` (`init` before it), the exponent
    /// floored with `staircase`, and bounded by `end` if given (optax's `exponential_decay`).
    ExponentialDecay { init: f64, steps: u64, rate: f64, begin: u64, staircase: bool, end: Option<f64> },
    /// `init · ((1 - alpha) · ½(1 + cos(π · min(t, steps) / steps)) + alpha)` (optax's
    /// `cosine_decay_schedule`).
    CosineDecay { init: f64, steps: u64, alpha: f64 },
    /// A linear ramp from `start` to the first value of `then` over `steps` steps, then `then`
    /// (counted from the end of the warm-up).
    Warmup { start: f64, steps: u64, then: Box<Schedule> },
}

impl Schedule {
    /// A constant learning rate.
    pub fn constant(value: f64) -> Schedule {
        Schedule::Constant(value)
    }

    /// From `init` to `end` linearly over `steps` steps.
    pub fn linear(init: f64, end: f64, steps: u64) -> Schedule {
        Schedule::Linear { init, end, steps, begin: 0 }
    }

    /// `init · rate^(t / steps)`: multiplied by `rate` every `steps` steps, smoothly.
    pub fn exponential_decay(init: f64, steps: u64, rate: f64) -> Schedule {
        Schedule::ExponentialDecay { init, steps, rate, begin: 0, staircase: false, end: None }
    }

    /// From `init` down to `alpha · init` along half a cosine over `steps` steps, then constant.
    pub fn cosine_decay(init: f64, steps: u64, alpha: f64) -> Schedule {
        Schedule::CosineDecay { init, steps, alpha }
    }

    /// This schedule after a linear warm-up from `start` over `steps` steps (optax's
    /// `warmup_cosine_decay_schedule` is `Schedule::cosine_decay(peak, decay_steps - warmup,
    /// end / peak).with_warmup(init, warmup)`).
    pub fn with_warmup(self, start: f64, steps: u64) -> Schedule {
        Schedule::Warmup { start, steps, then: Box::new(self) }
    }

    /// The value at step `t` (0 for the first update), computed on the host.
    pub fn value_at(&self, t: u64) -> f64 {
        let t = t as f64;
        match *self {
            Schedule::Constant(v) => v,
            Schedule::Linear { init, end, steps, begin } => {
                if steps == 0 {
                    return init;
                }
                let n = (t - begin as f64).clamp(0.0, steps as f64);
                (init - end) * (1.0 - n / steps as f64) + end
            }
            Schedule::ExponentialDecay { init, steps, rate, begin, staircase, end } => {
                if steps == 0 || rate == 0.0 {
                    return init;
                }
                let n = t - begin as f64;
                let p = if staircase { (n / steps as f64).floor() } else { n / steps as f64 };
                let v = if n <= 0.0 { init } else { init * rate.powf(p) };
                match end {
                    Some(e) if rate < 1.0 => v.max(e),
                    Some(e) => v.min(e),
                    None => v,
                }
            }
            Schedule::CosineDecay { init, steps, alpha } => {
                let n = t.min(steps as f64);
                init * ((1.0 - alpha) * (0.5 * (1.0 + (PI * n / steps as f64).cos())) + alpha)
            }
            Schedule::Warmup { start, steps, ref then } => {
                if t < steps as f64 {
                    Schedule::linear(start, then.value_at(0), steps).value_at(t as u64)
                } else {
                    then.value_at(t as u64 - steps)
                }
            }
        }
    }

    /// The value at the step `t`, a rank-0 f64 tensor (concrete or traced), with tensor
    /// operations: the same formulas as [`Schedule::value_at`].
    #[track_caller]
    pub fn eval(&self, t: &Tensor) -> Tensor {
        let t = t.astype(DType::F64);
        match *self {
            Schedule::Constant(v) => Tensor::scalar(v),
            Schedule::Linear { init, end, steps, begin } => {
                if steps == 0 {
                    return Tensor::scalar(init);
                }
                let n = (t - begin as f64).clip(0.0, steps as f64);
                (1.0 - n / steps as f64) * (init - end) + end
            }
            Schedule::ExponentialDecay { init, steps, rate, begin, staircase, end } => {
                if steps == 0 || rate == 0.0 {
                    return Tensor::scalar(init);
                }
                let n = t - begin as f64;
                let p = &n / steps as f64;
                let p = if staircase { p.floor() } else { p };
                let decayed = Tensor::scalar(rate).pow(p) * init;
                let v = n.le(0.0).select(init, &decayed);
                match end {
                    Some(e) if rate < 1.0 => v.maximum(e),
                    Some(e) => v.minimum(e),
                    None => v,
                }
            }
            Schedule::CosineDecay { init, steps, alpha } => {
                let n = t.minimum(steps as f64);
                let cosine = ((n * PI / steps as f64).cos() + 1.0) * 0.5;
                (cosine * (1.0 - alpha) + alpha) * init
            }
            Schedule::Warmup { start, steps, ref then } => {
                let ramp = Schedule::linear(start, then.value_at(0), steps).eval(&t);
                let after = then.eval(&(&t - steps as f64));
                t.lt(steps as f64).select(&ramp, &after)
            }
        }
    }
}

impl From<f64> for Schedule {
    /// A constant learning rate.
    fn from(v: f64) -> Schedule {
        Schedule::Constant(v)
    }
}

impl From<f32> for Schedule {
    /// A constant learning rate.
    fn from(v: f32) -> Schedule {
        Schedule::Constant(v as f64)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Constant(v) => write!(f, "{v}"),
            Schedule::Linear { init, end, steps, begin } => {
                write!(f, "linear({init} -> {end} over {steps} from {begin})")
            }
            Schedule::ExponentialDecay { init, steps, rate, .. } => {
                write!(f, "exponential_decay({init}, x{rate} every {steps})")
            }
            Schedule::CosineDecay { init, steps, alpha } => {
                write!(f, "cosine_decay({init} over {steps}, alpha {alpha})")
            }
            Schedule::Warmup { start, steps, then } => write!(f, "warmup({start} over {steps}) then {then}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedules() -> Vec<Schedule> {
        vec![
            Schedule::constant(0.1),
            Schedule::linear(1.0, 0.1, 10),
            Schedule::exponential_decay(1.0, 4, 0.5),
            Schedule::ExponentialDecay { init: 1.0, steps: 3, rate: 0.5, begin: 2, staircase: true, end: Some(0.2) },
            Schedule::cosine_decay(2.0, 8, 0.1),
            Schedule::cosine_decay(1.0, 10, 0.0).with_warmup(0.0, 5),
        ]
    }

    #[test]
    fn host_and_tensor_evaluations_agree() {
        for s in schedules() {
            for t in 0..24u64 {
                let host = s.value_at(t);
                let tensor = s.eval(&Tensor::scalar(t as i32)).item().unwrap();
                assert!((host - tensor).abs() <= 1e-15 * host.abs().max(1.0), "{s} at {t}: {host} vs {tensor}");
            }
        }
    }

    #[test]
    fn values_by_hand() {
        assert_eq!(Schedule::linear(1.0, 0.0, 4).value_at(1), 0.75);
        assert_eq!(Schedule::linear(1.0, 0.0, 4).value_at(9), 0.0);
        assert_eq!(Schedule::exponential_decay(1.0, 2, 0.25).value_at(4), 0.0625);
        let stairs =
            Schedule::ExponentialDecay { init: 1.0, steps: 3, rate: 0.5, begin: 2, staircase: true, end: Some(0.2) };
        let values: Vec<f64> = (0..12).map(|t| stairs.value_at(t)).collect();
        assert_eq!(values, [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]);
        let cosine = Schedule::cosine_decay(2.0, 8, 0.1);
        assert_eq!(cosine.value_at(0), 2.0);
        assert!((cosine.value_at(4) - 2.0 * (0.9 * 0.5 + 0.1)).abs() < 1e-15);
        assert!((cosine.value_at(100) - 0.2).abs() < 1e-15);
        let warm = Schedule::constant(0.4).with_warmup(0.0, 4);
        for (t, want) in [0.0, 0.1, 0.2, 0.3, 0.4, 0.4].into_iter().enumerate() {
            assert!((warm.value_at(t as u64) - want).abs() < 1e-15, "warm-up at {t}");
        }
    }
}
