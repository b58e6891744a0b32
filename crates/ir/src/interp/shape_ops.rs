//! Shape primitives: `broadcast_in_dim`, `reshape`, `transpose`, `slice`, `pad`,
//! `concatenate`, `rev`.
//!
//! Each is written as "output element at multi-index `idx` comes from operand element
//! `source(idx)`" (or, for `pad` and `concatenate`, "operand element `idx` goes to `target(idx)`"),
//! which is the definition of the operation read off directly. `ty` is the result type the shape
//! rule inferred.

use super::layout::{offset, pick, put};
use crate::array::{HostArray, Scalar};
use crate::dtype::TensorType;

/// Operand dimension `i` becomes output dimension `dims[i]`; size-1 operand dimensions repeat.
pub(super) fn broadcast_in_dim(x: &HostArray, ty: &TensorType, dims: &[usize]) -> HostArray {
    let strides = x.shape().strides();
    pick(x, ty, |idx| (0..x.rank()).map(|i| if x.dims()[i] == 1 { 0 } else { idx[dims[i]] * strides[i] }).sum())
}

/// The same row-major elements in a new shape.
pub(super) fn reshape(x: &HostArray, ty: &TensorType) -> HostArray {
    let mut out = HostArray::zeros(ty.dtype, ty.shape.clone());
    out.bytes_mut().copy_from_slice(x.bytes());
    out
}

/// Output dimension `i` is operand dimension `perm[i]`.
pub(super) fn transpose(x: &HostArray, ty: &TensorType, perm: &[usize]) -> HostArray {
    let strides = x.shape().strides();
    pick(x, ty, |idx| idx.iter().zip(perm).map(|(&i, &p)| i * strides[p]).sum())
}

/// `x[start:limit:stride]` in each dimension (`limit` only sized the output).
pub(super) fn slice(x: &HostArray, ty: &TensorType, start: &[usize], stride: &[usize]) -> HostArray {
    let strides = x.shape().strides();
    pick(x, ty, |idx| (0..idx.len()).map(|i| (start[i] + idx[i] * stride[i]) * strides[i]).sum())
}

/// `x` reversed along `axes`.
pub(super) fn rev(x: &HostArray, ty: &TensorType, axes: &[usize]) -> HostArray {
    let strides = x.shape().strides();
    pick(x, ty, |idx| {
        let flipped = |i: usize| if axes.contains(&i) { x.dims()[i] - 1 - idx[i] } else { idx[i] };
        (0..idx.len()).map(|i| flipped(i) * strides[i]).sum()
    })
}

/// Operand element `idx` lands at `low + idx·(interior + 1)`; everything else is `value`.
pub(super) fn pad(x: &HostArray, ty: &TensorType, low: &[usize], interior: &[usize], value: Scalar) -> HostArray {
    let mut out = HostArray::full(value, ty.shape.clone());
    let out_strides = ty.shape.strides();
    put(&mut out, x, |idx| (0..idx.len()).map(|i| (low[i] + idx[i] * (interior[i] + 1)) * out_strides[i]).sum());
    out
}

/// The operands side by side along `axis`.
pub(super) fn concatenate(xs: &[&HostArray], ty: &TensorType, axis: usize) -> HostArray {
    let mut out = HostArray::zeros(ty.dtype, ty.shape.clone());
    let out_strides = ty.shape.strides();
    let mut base = 0;
    for x in xs {
        put(&mut out, x, |idx| offset(idx, &out_strides) + base * out_strides[axis]);
        base += x.dims()[axis];
    }
    out
}
