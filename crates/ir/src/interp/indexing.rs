//! Indexing primitives: `gather`, `scatter_add`, `dynamic_slice`, `dynamic_update_slice`.
//!
//! Indices are data, so they can be out of range; they are clamped, never trusted:
//! - `gather`/`scatter_add` clamp each index into `0..n` of the indexed axis (JAX's default
//!   `clip` mode for `take`, and its transpose).
//! - `dynamic_slice`/`dynamic_update_slice` clamp each start index into `0..=dim - size`, so
//!   the whole block fits (XLA's rule).

use super::layout::{clamp_index, for_each_index, index_values, offset, pick, put};
use super::num::Ring;
use crate::array::HostArray;
use crate::dtype::{DType, TensorType};
use num_complex::{Complex32, Complex64};

/// For an element of the `gather` output (or of `scatter_add` updates) at multi-index `o`,
/// the flat offset into `x` it reads (or writes): `o = pre ++ index position ++ post`.
struct AxisIndexer {
    axis: usize,
    idx_rank: usize,
    last: usize,
    x_strides: Vec<usize>,
    idx_strides: Vec<usize>,
    indices: Vec<i64>,
}

impl AxisIndexer {
    fn new(x: &HostArray, idx: &HostArray, axis: usize) -> Option<AxisIndexer> {
        Some(AxisIndexer {
            axis,
            idx_rank: idx.rank(),
            last: x.dims()[axis].saturating_sub(1),
            x_strides: x.shape().strides().to_vec(),
            idx_strides: idx.shape().strides().to_vec(),
            indices: index_values(idx)?,
        })
    }

    fn offset(&self, o: &[usize]) -> usize {
        let (a, r, xs) = (self.axis, self.idx_rank, &self.x_strides);
        let k = clamp_index(self.indices[offset(&o[a..a + r], &self.idx_strides)], self.last);
        offset(&o[..a], &xs[..a]) + k * xs[a] + offset(&o[a + r..], &xs[a + 1..])
    }
}

/// `take(x, idx, axis)`: output `pre ++ i ++ post` is `x[pre, clamp(idx[i]), post]`.
pub(super) fn gather(x: &HostArray, idx: &HostArray, ty: &TensorType, axis: usize) -> Option<HostArray> {
    let indexer = AxisIndexer::new(x, idx, axis)?;
    Some(pick(x, ty, |o| indexer.offset(o)))
}

/// `x` with each update `upd[pre, i, post]` added to `x[pre, clamp(idx[i]), post]`, in row-major
/// order of the updates (repeated indices accumulate).
pub(super) fn scatter_add(x: &HostArray, idx: &HostArray, upd: &HostArray, axis: usize) -> Option<HostArray> {
    if x.dims()[axis] == 0 {
        // No element to add to (and then `x` is empty).
        return Some(x.clone());
    }
    let indexer = AxisIndexer::new(x, idx, axis)?;
    match x.dtype() {
        DType::F32 => accumulate::<f32>(x, upd, &indexer),
        DType::F64 => accumulate::<f64>(x, upd, &indexer),
        DType::I32 => accumulate::<i32>(x, upd, &indexer),
        DType::I64 => accumulate::<i64>(x, upd, &indexer),
        DType::Bool => accumulate::<bool>(x, upd, &indexer),
        DType::C64 => accumulate::<Complex32>(x, upd, &indexer),
        DType::C128 => accumulate::<Complex64>(x, upd, &indexer),
        DType::Float0 => Some(x.clone()),
    }
}

fn accumulate<T: Ring>(x: &HostArray, upd: &HostArray, indexer: &AxisIndexer) -> Option<HostArray> {
    let mut out = x.clone();
    let (acc, us) = (out.as_mut_slice::<T>()?, upd.as_slice::<T>()?);
    let mut i = 0;
    for_each_index(upd.dims(), |u| {
        let t = indexer.offset(u);
        acc[t] = acc[t].add(us[i]);
        i += 1;
    });
    Some(out)
}

/// Each start index, clamped so that a block of `sizes` fits in `x`.
fn clamped_starts(x: &HostArray, starts: &[&HostArray], sizes: &[usize]) -> Option<Vec<usize>> {
    starts
        .iter()
        .zip(x.dims().iter().zip(sizes))
        .map(|(s, (&dim, &size))| Some(clamp_index(*index_values(s)?.first()?, dim.checked_sub(size)?)))
        .collect()
}

/// The block of `ty`'s shape starting at the (clamped) start indices.
pub(super) fn dynamic_slice(x: &HostArray, starts: &[&HostArray], ty: &TensorType) -> Option<HostArray> {
    let start = clamped_starts(x, starts, ty.dims())?;
    let strides = x.shape().strides();
    Some(pick(x, ty, |idx| (0..idx.len()).map(|i| (start[i] + idx[i]) * strides[i]).sum()))
}

/// `x` with `upd` written at the (clamped) start indices.
pub(super) fn dynamic_update_slice(x: &HostArray, upd: &HostArray, starts: &[&HostArray]) -> Option<HostArray> {
    let start = clamped_starts(x, starts, upd.dims())?;
    let strides = x.shape().strides();
    let mut out = x.clone();
    put(&mut out, upd, |idx| (0..idx.len()).map(|i| (start[i] + idx[i]) * strides[i]).sum());
    Some(out)
}
