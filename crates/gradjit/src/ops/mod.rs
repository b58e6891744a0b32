//! Tensor operations, one file per family: [`elementwise`] (operators, unary and binary
//! functions, comparisons, casts), [`reduce`] (sums, extrema, means), [`shape`] (reshaping,
//! slicing, indexing, joining), [`linalg`] (products) and [`nn`] (activations, softmax and
//! friends, written as compositions of the others).
//!
//! Every public operation is `#[track_caller]`, so the equations it records and the errors it
//! reports carry the user's source line. Composite operations are written in terms of the
//! public ones, so they inherit that location and read like the user code they replace
//! (closures would lose it: `#[track_caller]` does not reach into them).
//!
//! Conventions follow numpy: broadcasting, negative axes, `keepdims`, python slice rules.
//! Rust scalars combined with a tensor are *weakly typed*, as in JAX: they take the tensor's
//! dtype (`&x * 2.0` is f32 for an f32 `x`), but a float scalar does not silently turn an
//! integer tensor into floats. Tensors of different dtypes are not promoted: convert one with
//! [`Tensor::astype`].

pub mod elementwise;
pub mod linalg;
pub mod nn;
pub mod reduce;
pub mod shape;

pub use elementwise::{select, IntoOperand, Operand};
pub use shape::{concatenate, stack, SliceArg};

use crate::array::Array;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{bind1, unify};
use gradjit_ir::{Axes, Loc, Prim, Shape, TensorType};

/// An integer usable as an axis, an index or a dimension (`-1` counts from the end).
pub trait Dim: Copy {
    /// The value as an `i64`.
    fn to_i64(self) -> i64;
}

macro_rules! dim_ints {
    ($($t:ty),*) => {$(
        impl Dim for $t {
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    )*};
}
dim_ints!(i32, i64, isize, usize, u32);

/// One or several integers (axes or dimensions): `1`, `-1`, `[0, 2]`, `&[2, -1][..]`, `vec![3, 4]`.
pub trait IntList {
    /// The integers, in order.
    fn into_ints(self) -> Vec<i64>;
}

impl<D: Dim> IntList for D {
    fn into_ints(self) -> Vec<i64> {
        vec![self.to_i64()]
    }
}
impl<D: Dim, const N: usize> IntList for [D; N] {
    fn into_ints(self) -> Vec<i64> {
        self.iter().map(|d| d.to_i64()).collect()
    }
}
impl<D: Dim> IntList for &[D] {
    fn into_ints(self) -> Vec<i64> {
        self.iter().map(|d| d.to_i64()).collect()
    }
}
impl<D: Dim> IntList for Vec<D> {
    fn into_ints(self) -> Vec<i64> {
        self.iter().map(|d| d.to_i64()).collect()
    }
}

/// `axis` in `0..rank`, counting negative values from the end.
pub(crate) fn normalize_axis(op: &str, axis: i64, ty: &TensorType, loc: &Loc) -> Result<usize> {
    normalize_axis_in(op, axis, ty.rank(), ty, loc)
}

/// `axis` in `0..bound` (negative from the end); `bound` is `rank + 1` where an axis may be
/// inserted.
pub(crate) fn normalize_axis_in(op: &str, axis: i64, bound: usize, ty: &TensorType, loc: &Loc) -> Result<usize> {
    let n = bound as i64;
    let a = if axis < 0 { axis + n } else { axis };
    if (0..n).contains(&a) {
        Ok(a as usize)
    } else {
        Err(Error::op(op, format!("axis {axis} is out of bounds for {ty} (valid axes: {}..{})", -n, n), loc.clone()))
    }
}

/// Distinct axes, sorted, each normalised.
pub(crate) fn normalize_axes(op: &str, axes: &[i64], ty: &TensorType, loc: &Loc) -> Result<Axes> {
    let mut out = Axes::new();
    for &a in axes {
        let n = normalize_axis(op, a, ty, loc)?;
        if out.contains(&n) {
            return Err(Error::op(op, format!("repeated axis {a} in {axes:?} for {ty}"), loc.clone()));
        }
        out.push(n);
    }
    out.sort_unstable();
    Ok(out)
}

/// `x` broadcast to `shape` by numpy's rules (trailing dimensions aligned), recorded as one
/// `broadcast_in_dim`; `x` itself if it already has that shape.
pub(crate) fn broadcast_in(x: &Tensor, shape: &Shape, loc: &Loc) -> Tensor {
    if x.shape() == shape.dims() {
        return x.clone();
    }
    let offset = shape.rank().saturating_sub(x.rank());
    let dims: Axes = (offset..offset + x.rank()).collect();
    bind1(Prim::BroadcastInDim { shape: shape.clone(), dims }, &[x], loc)
}

/// The operands broadcast to their common numpy shape.
pub(crate) fn broadcast_all(op: &str, xs: &[&Tensor], loc: &Loc) -> Result<Vec<Tensor>> {
    let mut shape = Shape::scalar();
    for x in xs {
        let ty = x.ty_or_err()?;
        shape = gradjit_ir::shape_rules::numpy_broadcast(&shape, &ty.shape).ok_or_else(|| {
            let shapes: Vec<String> = xs.iter().map(|x| Shape::new(x.shape()).to_string()).collect();
            Error::op(
                op,
                format!("operands could not be broadcast together with shapes {}", shapes.join(" and ")),
                loc.clone(),
            )
        })?;
    }
    if xs.iter().all(|x| x.shape() == shape.dims()) {
        return Ok(xs.iter().map(|&x| x.clone()).collect());
    }
    let xs = unify(xs, loc)?;
    Ok(xs.iter().map(|x| broadcast_in(x, &shape, loc)).collect())
}

/// A concrete tensor from host data.
pub(crate) fn concrete(a: gradjit_ir::HostArray) -> Tensor {
    Tensor::from(Array::from_host(a))
}
