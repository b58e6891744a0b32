//! Products: `matmul` (numpy's `@`, with 1-d operands and broadcast batch dimensions), `dot`
//! (numpy's `dot`), `outer`, and the `dot_general` primitive itself.
//!
//! Each product is a single `dot_general`; batch dimensions are broadcast only when both
//! operands have them (a matrix times a batch of matrices contracts without copying the matrix,
//! then transposes the result).

use super::broadcast_in;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::trace::{bind1, caller, poison1, unify};
use gradjit_ir::shape_rules::numpy_broadcast;
use gradjit_ir::{Axes, DotDims, Loc, Prim, Shape};

fn dot_dims(lhs_contract: usize, rhs_contract: usize, batch: usize) -> DotDims {
    DotDims {
        lhs_contract: Axes::from_elem(lhs_contract, 1),
        rhs_contract: Axes::from_elem(rhs_contract, 1),
        lhs_batch: (0..batch).collect(),
        rhs_batch: (0..batch).collect(),
    }
}

fn matmul(a: &Tensor, b: &Tensor, loc: &Loc) -> Result<Tensor> {
    let (ta, tb) = (a.ty_or_err()?, b.ty_or_err()?);
    let (ra, rb) = (ta.rank(), tb.rank());
    let err = |m: String| Err(Error::op("matmul", m, loc.clone()));
    if ra == 0 || rb == 0 {
        return err(format!("operands must have at least one dimension, got {ta} and {tb}"));
    }
    let (ka, kb) = (ra - 1, if rb == 1 { 0 } else { rb - 2 });
    if ta.dims()[ka] != tb.dims()[kb] {
        return err(format!(
            "the contracted dimensions differ: {ta} @ {tb} (axis {ka} has size {}, axis {kb} has size {})",
            ta.dims()[ka],
            tb.dims()[kb]
        ));
    }
    let general = |x: &Tensor, y: &Tensor, d: DotDims| bind1(Prim::DotGeneral(d), &[x, y], loc);
    if ra <= 2 || rb == 1 || rb == 2 {
        // No batch dimension on one side: a plain contraction puts the free dimensions of `a`
        // first, then those of `b`; only a matrix times a batch needs the batch moved forward.
        let out = general(a, b, dot_dims(ka, kb, 0));
        if ra == 2 && rb > 2 {
            let nb = rb - 2;
            let perm: Axes = (1..=nb).chain([0, nb + 1]).collect();
            return Ok(bind1(Prim::Transpose { perm }, &[&out], loc));
        }
        return Ok(out);
    }
    let (ba, bb) = (Shape::new(&ta.dims()[..ra - 2]), Shape::new(&tb.dims()[..rb - 2]));
    let Some(batch) = numpy_broadcast(&ba, &bb) else {
        return err(format!("the batch dimensions {ba} and {bb} of {ta} and {tb} could not be broadcast together"));
    };
    let with_batch = |t: &Tensor, last: &[usize]| {
        let mut dims = batch.dims().to_vec();
        dims.extend_from_slice(last);
        broadcast_in(t, &Shape::from(dims), loc)
    };
    let v = unify(&[a, b], loc)?;
    let a = with_batch(&v[0], &ta.dims()[ra - 2..]);
    let b = with_batch(&v[1], &tb.dims()[rb - 2..]);
    let nb = batch.rank();
    Ok(general(&a, &b, dot_dims(nb + 1, nb, nb)))
}

fn dot(a: &Tensor, b: &Tensor, loc: &Loc) -> Result<Tensor> {
    let (ta, tb) = (a.ty_or_err()?, b.ty_or_err()?);
    let (ra, rb) = (ta.rank(), tb.rank());
    if ra == 0 || rb == 0 {
        return Ok(super::elementwise::binary(
            gradjit_ir::BinaryOp::Mul,
            super::Operand::Tensor(a.clone()),
            super::Operand::Tensor(b.clone()),
            loc,
        ));
    }
    let (ka, kb) = (ra - 1, if rb == 1 { 0 } else { rb - 2 });
    if ta.dims()[ka] != tb.dims()[kb] {
        return Err(Error::op(
            "dot",
            format!(
                "the contracted dimensions differ: {ta} · {tb} (axis {ka} has size {}, axis {kb} has size {})",
                ta.dims()[ka],
                tb.dims()[kb]
            ),
            loc.clone(),
        ));
    }
    Ok(bind1(Prim::DotGeneral(dot_dims(ka, kb, 0)), &[a, b], loc))
}

impl Tensor {
    /// The matrix product `self @ other`, as numpy's `matmul`: a 1-d operand is a vector (its
    /// dimension is removed from the result), leading dimensions are batches, broadcast together.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        matmul(self, other, &caller()).unwrap_or_else(poison1)
    }

    /// numpy's `dot`: the sum over the last axis of `self` and the second-to-last of `other`
    /// (its only axis if 1-d); a product with a scalar multiplies.
    #[track_caller]
    pub fn dot(&self, other: &Tensor) -> Tensor {
        dot(self, other, &caller()).unwrap_or_else(poison1)
    }

    /// The outer product of the flattened tensors: `out[i, j] = self[i] * other[j]`.
    #[track_caller]
    pub fn outer(&self, other: &Tensor) -> Tensor {
        self.reshape([-1, 1]) * other.reshape([1, -1])
    }

    /// The `dot_general` primitive: contraction and batch dimensions given explicitly; the
    /// result has the batch dimensions, then the free ones of `self`, then those of `other`.
    #[track_caller]
    pub fn dot_general(&self, other: &Tensor, dims: DotDims) -> Tensor {
        bind1(Prim::DotGeneral(dims), &[self, other], &caller())
    }
}
