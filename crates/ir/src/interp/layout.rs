//! Row-major index arithmetic and dtype-agnostic element moves.
//!
//! Data-movement primitives (broadcast, transpose, slice, gather, ...) never look at element
//! values, so they move raw bytes of `dtype.size_of()` each and work for every dtype at once,
//! including `float0` (zero bytes per element).

use crate::array::HostArray;
use crate::dtype::TensorType;

/// Calls `f` with every multi-index of `dims` in row-major order: once (with `[]`) for rank 0,
/// never if any dimension is 0.
pub(super) fn for_each_index(dims: &[usize], mut f: impl FnMut(&[usize])) {
    if dims.contains(&0) {
        return;
    }
    let mut idx = vec![0; dims.len()];
    loop {
        f(&idx);
        // Odometer step: bump the last axis, carrying into the ones before it.
        let mut axis = dims.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            idx[axis] += 1;
            if idx[axis] < dims[axis] {
                break;
            }
            idx[axis] = 0;
        }
    }
}

/// The flat offset of multi-index `idx` given row-major `strides`.
pub(super) fn offset(idx: &[usize], strides: &[usize]) -> usize {
    idx.iter().zip(strides).map(|(i, s)| i * s).sum()
}

/// Copies element `src_i` of `src` over element `dst_i` of `dst` (same dtype).
pub(super) fn copy_element(dst: &mut HostArray, dst_i: usize, src: &HostArray, src_i: usize) {
    let n = src.dtype().size_of();
    dst.bytes_mut()[dst_i * n..(dst_i + 1) * n].copy_from_slice(&src.bytes()[src_i * n..(src_i + 1) * n]);
}

/// A new array of type `ty` whose element at each multi-index `idx` is element `source(idx)` of `x`.
pub(super) fn pick(x: &HostArray, ty: &TensorType, mut source: impl FnMut(&[usize]) -> usize) -> HostArray {
    let mut out = HostArray::zeros(ty.dtype, ty.shape.clone());
    let mut dst = 0;
    for_each_index(ty.dims(), |idx| {
        copy_element(&mut out, dst, x, source(idx));
        dst += 1;
    });
    out
}

/// Writes every element of `src` into `dst`: element `idx` of `src` goes to flat index `target(idx)`.
pub(super) fn put(dst: &mut HostArray, src: &HostArray, mut target: impl FnMut(&[usize]) -> usize) {
    let mut i = 0;
    for_each_index(src.dims(), |idx| {
        copy_element(dst, target(idx), src, i);
        i += 1;
    });
}

/// The values of an integer index array as `i64` (`None` for other dtypes).
pub(super) fn index_values(a: &HostArray) -> Option<Vec<i64>> {
    if let Some(v) = a.as_slice::<i32>() {
        return Some(v.iter().map(|&i| i as i64).collect());
    }
    a.as_slice::<i64>().map(<[i64]>::to_vec)
}

/// `i` clamped into `0..=max` (the rule for out-of-range gather and dynamic-slice indices).
pub(super) fn clamp_index(i: i64, max: usize) -> usize {
    i.clamp(0, max as i64) as usize
}
