//! `dot_general`: a batched tensor contraction, as in XLA.
//!
//! Output element `(b, i, j)` (batch, lhs free, rhs free multi-indices) is
//! `Σ_c lhs[b, i, c] · rhs[b, j, c]` over the contracting multi-index `c` in row-major order,
//! accumulated in the operands' dtype starting from 0 (integers wrap).

use super::layout::{for_each_index, offset};
use super::num::Ring;
use crate::array::HostArray;
use crate::dtype::{DType, TensorType};
use crate::prim::DotDims;
use num_complex::{Complex32, Complex64};

pub(super) fn dot_general(lhs: &HostArray, rhs: &HostArray, dims: &DotDims, ty: &TensorType) -> Option<HostArray> {
    match lhs.dtype() {
        DType::F32 => contract::<f32>(lhs, rhs, dims, ty),
        DType::F64 => contract::<f64>(lhs, rhs, dims, ty),
        DType::I32 => contract::<i32>(lhs, rhs, dims, ty),
        DType::I64 => contract::<i64>(lhs, rhs, dims, ty),
        DType::C64 => contract::<Complex32>(lhs, rhs, dims, ty),
        DType::C128 => contract::<Complex64>(lhs, rhs, dims, ty),
        DType::Bool | DType::Float0 => None,
    }
}

/// The axes of an operand of rank `rank` that are neither contracted nor batch, in order.
fn free_axes(rank: usize, contract: &[usize], batch: &[usize]) -> Vec<usize> {
    (0..rank).filter(|a| !contract.contains(a) && !batch.contains(a)).collect()
}

/// The strides of `strides` at `axes`, in that order.
fn strides_at(strides: &[usize], axes: &[usize]) -> Vec<usize> {
    axes.iter().map(|&a| strides[a]).collect()
}

fn contract<T: Ring>(lhs: &HostArray, rhs: &HostArray, d: &DotDims, ty: &TensorType) -> Option<HostArray> {
    let (ls, rs) = (lhs.as_slice::<T>()?, rhs.as_slice::<T>()?);
    let (l_strides, r_strides) = (lhs.shape().strides(), rhs.shape().strides());
    let l_free = free_axes(lhs.rank(), &d.lhs_contract, &d.lhs_batch);
    let r_free = free_axes(rhs.rank(), &d.rhs_contract, &d.rhs_batch);

    // Strides of each part of the output multi-index into each operand.
    let (l_batch, r_batch) = (strides_at(&l_strides, &d.lhs_batch), strides_at(&r_strides, &d.rhs_batch));
    let (l_free, r_free) = (strides_at(&l_strides, &l_free), strides_at(&r_strides, &r_free));
    let (l_contract, r_contract) = (strides_at(&l_strides, &d.lhs_contract), strides_at(&r_strides, &d.rhs_contract));
    let contract_dims: Vec<usize> = d.lhs_contract.iter().map(|&a| lhs.dims()[a]).collect();

    let mut out = HostArray::zeros(ty.dtype, ty.shape.clone());
    let acc = out.as_mut_slice::<T>()?;
    let mut o = 0;
    for_each_index(ty.dims(), |idx| {
        let (batch, rest) = idx.split_at(l_batch.len());
        let (i, j) = rest.split_at(l_free.len());
        let l_base = offset(batch, &l_batch) + offset(i, &l_free);
        let r_base = offset(batch, &r_batch) + offset(j, &r_free);
        let mut sum = T::ZERO;
        for_each_index(&contract_dims, |c| {
            sum = sum.add(ls[l_base + offset(c, &l_contract)].mul(rs[r_base + offset(c, &r_contract)]));
        });
        acc[o] = sum;
        o += 1;
    });
    Some(out)
}
