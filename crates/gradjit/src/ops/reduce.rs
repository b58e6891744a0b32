//! Reductions: `sum`, `prod`, `max`, `min`, `mean`, `var`, `std`, `any`, `all` over all axes or
//! over some (`*_axes(axes, keepdims)`, negative axes counting from the end), and
//! `argmax`/`argmin` along one axis.
//!
//! `mean`, `var` and `std` of integer or bool tensors are computed in f32, as numpy and JAX
//! return floats for them; `sum` and `prod` of bool tensors count in i32.

use super::{normalize_axes, normalize_axis, IntList};
use crate::error::Result;
use crate::tensor::Tensor;
use crate::trace::{bind1, caller, poison1};
use gradjit_ir::{ArgOp, Axes, DType, Loc, Prim, ReduceOp, Shape};

/// `x` reduced with `op` over `axes` (all if `None`), keeping them as size-1 dimensions if
/// `keepdims`.
fn reduce(name: &str, op: ReduceOp, x: &Tensor, axes: Option<Vec<i64>>, keepdims: bool, loc: &Loc) -> Tensor {
    let run = || -> Result<Tensor> {
        let ty = x.ty_or_err()?;
        let axes: Axes = match axes {
            None => (0..ty.rank()).collect(),
            Some(a) => normalize_axes(name, &a, &ty, loc)?,
        };
        // As in numpy, a sum or product of booleans counts in integers.
        let x = match (op, ty.dtype) {
            (ReduceOp::Sum | ReduceOp::Prod, DType::Bool) => {
                bind1(Prim::ConvertElementType { dtype: DType::I32 }, &[x], loc)
            }
            _ => x.clone(),
        };
        if axes.is_empty() {
            return Ok(x);
        }
        let r = bind1(Prim::Reduce { op, axes: axes.clone() }, &[&x], loc);
        Ok(if keepdims { bind1(Prim::Reshape { shape: kept_shape(ty.dims(), &axes) }, &[&r], loc) } else { r })
    };
    run().unwrap_or_else(poison1)
}

/// `dims` with the `axes` set to 1.
fn kept_shape(dims: &[usize], axes: &[usize]) -> Shape {
    Shape::from(dims.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect::<Vec<_>>())
}

/// The number of elements a reduction over `axes` (all if `None`) combines.
fn reduced_count(x: &Tensor, axes: &Option<Vec<i64>>) -> usize {
    let dims = x.shape();
    let rank = dims.len() as i64;
    match axes {
        None => dims.iter().product(),
        Some(a) => {
            let mut seen: Vec<usize> = a.iter().map(|&i| (if i < 0 { i + rank } else { i }) as usize).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.iter().filter_map(|&i| dims.get(i)).product()
        }
    }
}

/// `x` itself if inexact, else converted to f32 (for means).
#[track_caller]
fn inexact(x: &Tensor) -> Tensor {
    if x.dtype().is_inexact() || x.error().is_some() {
        x.clone()
    } else {
        x.astype(DType::F32)
    }
}

macro_rules! reductions {
    ($($(#[$doc:meta])* $all:ident, $over:ident => $op:ident),* $(,)?) => {
        impl Tensor {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $all(&self) -> Tensor {
                    reduce(stringify!($all), ReduceOp::$op, self, None, false, &caller())
                }

                $(#[$doc])*
                ///
                /// Over `axes` only; with `keepdims` they stay as dimensions of size 1.
                #[track_caller]
                pub fn $over(&self, axes: impl IntList, keepdims: bool) -> Tensor {
                    reduce(stringify!($all), ReduceOp::$op, self, Some(axes.into_ints()), keepdims, &caller())
                }
            )*
        }
    };
}

reductions! {
    /// The sum of the elements.
    sum, sum_axes => Sum,
    /// The product of the elements.
    prod, prod_axes => Prod,
    /// The largest element (NaN if any is NaN).
    max, max_axes => Max,
    /// The smallest element (NaN if any is NaN).
    min, min_axes => Min,
}

impl Tensor {
    /// The mean of the elements.
    #[track_caller]
    pub fn mean(&self) -> Tensor {
        let n = self.numel();
        inexact(self).sum() / n as f64
    }

    /// The mean over `axes`; with `keepdims` they stay as dimensions of size 1.
    #[track_caller]
    pub fn mean_axes(&self, axes: impl IntList, keepdims: bool) -> Tensor {
        let axes = axes.into_ints();
        let n = reduced_count(self, &Some(axes.clone()));
        inexact(self).sum_axes(axes, keepdims) / n as f64
    }

    /// The variance of the elements (`mean(|x - mean(x)|²)`, no degrees-of-freedom correction).
    #[track_caller]
    pub fn var(&self) -> Tensor {
        let x = inexact(self);
        let d = &x - x.mean();
        squared_magnitude(&d).mean()
    }

    /// The variance over `axes`; with `keepdims` they stay as dimensions of size 1.
    #[track_caller]
    pub fn var_axes(&self, axes: impl IntList, keepdims: bool) -> Tensor {
        let axes = axes.into_ints();
        let x = inexact(self);
        let d = &x - x.mean_axes(axes.clone(), true);
        squared_magnitude(&d).mean_axes(axes, keepdims)
    }

    /// The standard deviation of the elements.
    #[track_caller]
    pub fn std(&self) -> Tensor {
        self.var().sqrt()
    }

    /// The standard deviation over `axes`; with `keepdims` they stay as dimensions of size 1.
    #[track_caller]
    pub fn std_axes(&self, axes: impl IntList, keepdims: bool) -> Tensor {
        self.var_axes(axes, keepdims).sqrt()
    }

    /// True if any element of a bool tensor is true.
    #[track_caller]
    pub fn any(&self) -> Tensor {
        reduce("any", ReduceOp::Max, self, None, false, &caller())
    }

    /// True if every element of a bool tensor is true.
    #[track_caller]
    pub fn all(&self) -> Tensor {
        reduce("all", ReduceOp::Min, self, None, false, &caller())
    }

    /// The index (i32) of the largest element along `axis` (the first one, if several).
    #[track_caller]
    pub fn argmax(&self, axis: impl super::Dim) -> Tensor {
        arg("argmax", ArgOp::ArgMax, self, axis.to_i64(), &caller())
    }

    /// The index (i32) of the smallest element along `axis` (the first one, if several).
    #[track_caller]
    pub fn argmin(&self, axis: impl super::Dim) -> Tensor {
        arg("argmin", ArgOp::ArgMin, self, axis.to_i64(), &caller())
    }
}

/// `|d|²`: `d²` for real tensors, `re² + im²` for complex ones.
#[track_caller]
fn squared_magnitude(d: &Tensor) -> Tensor {
    if d.dtype().is_complex() {
        d.real().square() + d.imag().square()
    } else {
        d.square()
    }
}

fn arg(name: &str, op: ArgOp, x: &Tensor, axis: i64, loc: &Loc) -> Tensor {
    let run = || -> Result<Tensor> {
        let ty = x.ty_or_err()?;
        let axis = normalize_axis(name, axis, &ty, loc)?;
        Ok(bind1(Prim::Arg { op, axis, index_dtype: DType::I32 }, &[x], loc))
    };
    run().unwrap_or_else(poison1)
}
