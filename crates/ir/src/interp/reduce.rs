//! Reductions (`reduce_sum`, `reduce_prod`, `reduce_max`, `reduce_min`) and `argmax`/`argmin`.
//!
//! A reduction starts every output element at the identity of its operation and folds in the
//! operand's elements in row-major order, in the operand's dtype. So an empty reduction gives
//! the identity: 0, 1, `-inf`/`MIN`/`false` (max), `+inf`/`MAX`/`true` (min).

use super::elementwise::{float_max, float_min};
use super::layout::{for_each_index, offset};
use super::num::Ring;
use crate::array::{Element, HostArray, Scalar};
use crate::dtype::{DType, TensorType};
use crate::prim::{ArgOp, ReduceOp};
use num_complex::{Complex32, Complex64};

pub(super) fn reduce(op: ReduceOp, x: &HostArray, axes: &[usize], ty: &TensorType) -> Option<HostArray> {
    use DType::*;
    match (op, x.dtype()) {
        (ReduceOp::Sum | ReduceOp::Prod, F32) => ring::<f32>(op, x, axes, ty),
        (ReduceOp::Sum | ReduceOp::Prod, F64) => ring::<f64>(op, x, axes, ty),
        (ReduceOp::Sum | ReduceOp::Prod, I32) => ring::<i32>(op, x, axes, ty),
        (ReduceOp::Sum | ReduceOp::Prod, I64) => ring::<i64>(op, x, axes, ty),
        (ReduceOp::Sum | ReduceOp::Prod, C64) => ring::<Complex32>(op, x, axes, ty),
        (ReduceOp::Sum | ReduceOp::Prod, C128) => ring::<Complex64>(op, x, axes, ty),
        (ReduceOp::Max, F32) => fold(x, axes, ty, f32::NEG_INFINITY, float_max),
        (ReduceOp::Max, F64) => fold(x, axes, ty, f64::NEG_INFINITY, float_max),
        (ReduceOp::Min, F32) => fold(x, axes, ty, f32::INFINITY, float_min),
        (ReduceOp::Min, F64) => fold(x, axes, ty, f64::INFINITY, float_min),
        (ReduceOp::Max, I32) => fold(x, axes, ty, i32::MIN, Ord::max),
        (ReduceOp::Max, I64) => fold(x, axes, ty, i64::MIN, Ord::max),
        (ReduceOp::Min, I32) => fold(x, axes, ty, i32::MAX, Ord::min),
        (ReduceOp::Min, I64) => fold(x, axes, ty, i64::MAX, Ord::min),
        (ReduceOp::Max, Bool) => fold(x, axes, ty, false, |a, b| a | b),
        (ReduceOp::Min, Bool) => fold(x, axes, ty, true, |a, b| a & b),
        _ => None,
    }
}

fn ring<T: Ring>(op: ReduceOp, x: &HostArray, axes: &[usize], ty: &TensorType) -> Option<HostArray> {
    match op {
        ReduceOp::Sum => fold(x, axes, ty, T::ZERO, T::add),
        _ => fold(x, axes, ty, T::ONE, T::mul),
    }
}

/// Folds each element of `x` into the output element it reduces to, starting from `init`.
fn fold<T: Element>(
    x: &HostArray,
    axes: &[usize],
    ty: &TensorType,
    init: T,
    f: impl Fn(T, T) -> T,
) -> Option<HostArray> {
    let mut out = HostArray::zeros(T::DTYPE, ty.shape.clone());
    let acc = out.as_mut_slice::<T>()?;
    acc.fill(init);
    let xs = x.as_slice::<T>()?;
    // The output stride of each operand axis; 0 for reduced axes, which all land on one element.
    let out_strides = ty.shape.strides();
    let mut kept = out_strides.iter();
    let strides: Vec<usize> =
        (0..x.rank()).map(|i| if axes.contains(&i) { 0 } else { kept.next().copied().unwrap_or(0) }).collect();
    let mut i = 0;
    for_each_index(x.dims(), |idx| {
        let o = offset(idx, &strides);
        acc[o] = f(acc[o], xs[i]);
        i += 1;
    });
    Some(out)
}

/// The index of the first extreme element along `axis`; a NaN counts as more extreme than any
/// number (so the first NaN wins for both `argmax` and `argmin`, as in numpy and JAX).
pub(super) fn arg(op: ArgOp, x: &HostArray, axis: usize, ty: &TensorType) -> Option<HostArray> {
    match x.dtype() {
        DType::F32 => arg_typed::<f32>(op, x, axis, ty, |v| v.is_nan()),
        DType::F64 => arg_typed::<f64>(op, x, axis, ty, |v| v.is_nan()),
        DType::I32 => arg_typed::<i32>(op, x, axis, ty, |_| false),
        DType::I64 => arg_typed::<i64>(op, x, axis, ty, |_| false),
        _ => None,
    }
}

fn arg_typed<T: Element + PartialOrd>(
    op: ArgOp,
    x: &HostArray,
    axis: usize,
    ty: &TensorType,
    is_nan: fn(T) -> bool,
) -> Option<HostArray> {
    let xs = x.as_slice::<T>()?;
    if x.dims()[axis] == 0 {
        return None; // the shape rule rejects an empty axis: there is no extreme element
    }
    let strides = x.shape().strides();
    let outer: Vec<usize> = x.dims().iter().enumerate().filter(|&(i, _)| i != axis).map(|(_, &d)| d).collect();
    let outer_strides: Vec<usize> = strides.iter().enumerate().filter(|&(i, _)| i != axis).map(|(_, &s)| s).collect();
    let beats = |a: T, b: T| match op {
        ArgOp::ArgMax => a > b,
        ArgOp::ArgMin => a < b,
    };
    let mut out = HostArray::zeros(ty.dtype, ty.shape.clone());
    let mut o = 0;
    for_each_index(&outer, |idx| {
        let base = offset(idx, &outer_strides);
        let at = |k: usize| xs[base + k * strides[axis]];
        let mut best = 0;
        for k in 1..x.dims()[axis] {
            let (cand, cur) = (at(k), at(best));
            if !is_nan(cur) && (is_nan(cand) || beats(cand, cur)) {
                best = k;
            }
        }
        out.set(o, Scalar::I64(best as i64));
        o += 1;
    });
    Some(out)
}
