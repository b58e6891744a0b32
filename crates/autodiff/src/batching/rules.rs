//! The batching rule of every primitive without sub-functions (an exhaustive `match`: a new
//! primitive does not compile until it has a rule). Operands arrive as [`BVal`]s, batched ones
//! with the mapped axis in front; every rule returns its results the same way.

use super::{batched_shape, control, move_axis, BVal, Cx};
use crate::builder::Builder;
use crate::error::AdError;
use gradjit_ir::{Axes, BinaryOp, CollectiveOp, CompareOp, DotDims, Literal, Prim, ReduceOp, Scalar, Shape, Value};
use smallvec::smallvec;

/// Every axis in `axes` moved one dimension in (past the leading batch axis).
fn shift(axes: &Axes) -> Axes {
    axes.iter().map(|&a| a + 1).collect()
}

/// `[0] ++ shift(axes)`: the batch axis, then `axes` shifted past it.
fn with_batch(axes: &Axes) -> Axes {
    let mut out: Axes = smallvec![0];
    out.extend(axes.iter().map(|&a| a + 1));
    out
}

/// The equations computing `prim` on batched operands `ins`.
pub(crate) fn batch_eqn(cx: &Cx, b: &mut Builder, prim: &Prim, ins: &[BVal]) -> Result<Vec<BVal>, AdError> {
    // Sub-functions may hold collectives over this axis even when no operand is batched.
    if !prim.bodies().is_empty() {
        return control::batch_control(cx, b, prim, ins);
    }
    if let Prim::Collective { op, axis_name } = prim {
        if cx.axis_name == Some(&**axis_name) {
            return Ok(vec![BVal::new(collective(cx, b, *op, ins[0])?, false)]);
        }
    }
    if !ins.iter().any(|x| x.batched) {
        let vals: Vec<_> = ins.iter().map(|x| x.v).collect();
        return Ok(b.emit(prim.clone(), &vals)?.into_iter().map(|v| BVal::new(v, false)).collect());
    }
    let one = |v| Ok(vec![BVal::new(v, true)]);
    let all = |b: &mut Builder| ins.iter().map(|&x| cx.materialize(b, x)).collect::<Result<Vec<_>, _>>();
    let x = ins[0];
    match prim {
        // Elementwise: operands of equal shape, so unbatched ones are broadcast.
        Prim::Unary(_)
        | Prim::Binary(_)
        | Prim::Compare(_)
        | Prim::IntegerPow { .. }
        | Prim::Select
        | Prim::ConvertElementType { .. }
        | Prim::StopGradient
        | Prim::Collective { .. } => {
            let vals = all(b)?;
            one(b.emit1(prim.clone(), &vals)?)
        }
        Prim::BroadcastInDim { shape, dims } => {
            let shape = batched_shape(cx.size, shape);
            one(b.broadcast_in_dim(x.v, &shape, with_batch(dims))?)
        }
        Prim::Reshape { shape } => one(b.emit1(Prim::Reshape { shape: batched_shape(cx.size, shape) }, &[x.v])?),
        Prim::Transpose { perm } => one(b.emit1(Prim::Transpose { perm: with_batch(perm) }, &[x.v])?),
        Prim::Slice { start, limit, stride } => {
            let prepend = |axes: &Axes, first: usize| {
                let mut out: Axes = smallvec![first];
                out.extend_from_slice(axes);
                out
            };
            let p =
                Prim::Slice { start: prepend(start, 0), limit: prepend(limit, cx.size), stride: prepend(stride, 1) };
            one(b.emit1(p, &[x.v])?)
        }
        Prim::Pad { low, high, interior, value } => {
            let z = |axes: &Axes| {
                let mut out: Axes = smallvec![0];
                out.extend_from_slice(axes);
                out
            };
            let p = Prim::Pad { low: z(low), high: z(high), interior: z(interior), value: *value };
            one(b.emit1(p, &[x.v])?)
        }
        Prim::Concatenate { axis } => {
            let vals = all(b)?;
            one(b.emit1(Prim::Concatenate { axis: axis + 1 }, &vals)?)
        }
        Prim::Rev { axes } => one(b.emit1(Prim::Rev { axes: shift(axes) }, &[x.v])?),
        Prim::Reduce { op, axes } => one(b.emit1(Prim::Reduce { op: *op, axes: shift(axes) }, &[x.v])?),
        Prim::Arg { op, axis, index_dtype } => {
            one(b.emit1(Prim::Arg { op: *op, axis: axis + 1, index_dtype: *index_dtype }, &[x.v])?)
        }
        Prim::Gather { axis } => match (x.batched, ins[1].batched) {
            (true, false) => one(b.emit1(Prim::Gather { axis: axis + 1 }, &[x.v, ins[1].v])?),
            // The indices' dimensions replace `axis`, so the batch axis lands there.
            (false, true) => {
                let g = b.emit1(prim.clone(), &[x.v, ins[1].v])?;
                one(move_axis(b, g, *axis, 0)?)
            }
            _ => one(gather_per_lane(cx, b, *axis, x.v, ins[1].v)?),
        },
        Prim::ScatterAdd { axis } if ins[1].batched => {
            let (xv, upd) = (cx.materialize(b, x)?, cx.materialize(b, ins[2])?);
            one(scatter_add_per_lane(cx, b, *axis, xv, ins[1].v, upd)?)
        }
        Prim::ScatterAdd { axis } => {
            let (xv, upd) = (cx.materialize(b, x)?, cx.materialize(b, ins[2])?);
            one(b.emit1(Prim::ScatterAdd { axis: axis + 1 }, &[xv, ins[1].v, upd])?)
        }
        // Unbatched start indices: the batch axis is one more dimension sliced from 0 whole.
        Prim::DynamicSlice { sizes } if !ins[1..].iter().any(|i| i.batched) => {
            let zero = b.emit1(Prim::Constant(Literal::Splat(Scalar::I32(0), [].into())), &[])?;
            let mut vals = vec![x.v, zero];
            vals.extend(ins[1..].iter().map(|i| i.v));
            let mut sizes2: Axes = smallvec![cx.size];
            sizes2.extend_from_slice(sizes);
            one(b.emit1(Prim::DynamicSlice { sizes: sizes2 }, &vals)?)
        }
        Prim::DynamicUpdateSlice if !ins[2..].iter().any(|i| i.batched) => {
            let (xv, upd) = (cx.materialize(b, x)?, cx.materialize(b, ins[1])?);
            let zero = b.emit1(Prim::Constant(Literal::Splat(Scalar::I32(0), [].into())), &[])?;
            let mut vals = vec![xv, upd, zero];
            vals.extend(ins[2..].iter().map(|i| i.v));
            one(b.emit1(Prim::DynamicUpdateSlice, &vals)?)
        }
        Prim::DynamicSlice { sizes } => {
            let xv = cx.materialize(b, x)?;
            one(dynamic_slice_per_lane(cx, b, sizes, xv, &ins[1..])?)
        }
        Prim::DynamicUpdateSlice => {
            let (xv, upd) = (cx.materialize(b, x)?, cx.materialize(b, ins[1])?);
            one(dynamic_update_slice_per_lane(cx, b, xv, upd, &ins[2..])?)
        }
        // Per-lane keys: run the primitive lane by lane.
        Prim::RandomBits { .. } => control::map_lanes(cx, b, prim, ins),
        Prim::DotGeneral(d) => one(dot_general(b, d, ins[0], ins[1])?),
        // No operands: the same on every lane (only reached here for exhaustiveness).
        Prim::Iota { .. } | Prim::Constant(_) => Ok(vec![BVal::new(b.emit1(prim.clone(), &[])?, false)]),
        Prim::Call { .. }
        | Prim::Scan { .. }
        | Prim::While { .. }
        | Prim::Cond { .. }
        | Prim::CustomJvp { .. }
        | Prim::CustomVjp { .. }
        | Prim::CustomLin { .. } => control::batch_control(cx, b, prim, ins),
    }
}

/// `x` (batched, `[n, pre.., A, post..]` with `A` at `axis + 1`) with the batch axis and `axis`
/// merged into one axis of `n·A` in front, and per-lane indices `idx` (`[n, ..]`) clamped into
/// `0..A` (as `gather`/`scatter_add` clamp them) and offset by `lane·A` into it: one `gather` or
/// `scatter_add` along axis 0 then serves every lane. Returns the merged operand and indices.
fn merge_lanes(cx: &Cx, b: &mut Builder, axis: usize, x: Value, idx: Value) -> Result<(Value, Value), AdError> {
    let xt = b.ty(x);
    let a = xt.dims()[axis + 1];
    let front = move_axis(b, x, axis + 1, 1)?;
    let mut merged: Vec<usize> = vec![cx.size * a];
    merged.extend(xt.dims().iter().enumerate().filter(|&(d, _)| d != 0 && d != axis + 1).map(|(_, &n)| n));
    let flat = b.reshape(front, &Shape::from(merged))?;
    let it = b.ty(idx);
    let zero = b.full_like(0.0, idx)?;
    let last = b.full_like(a.saturating_sub(1) as f64, idx)?;
    let clamped = b.binary(BinaryOp::Max, idx, zero)?;
    let clamped = b.binary(BinaryOp::Min, clamped, last)?;
    let lane = b.emit1(Prim::Iota { dtype: it.dtype, shape: it.shape.clone(), axis: 0 }, &[])?;
    let offset = b.scale(lane, a as f64)?;
    Ok((flat, b.add(clamped, offset)?))
}

/// `gather` with per-lane operands and indices: one gather from the lanes laid end to end.
fn gather_per_lane(cx: &Cx, b: &mut Builder, axis: usize, x: Value, idx: Value) -> Result<Value, AdError> {
    let (flat, idx) = merge_lanes(cx, b, axis, x, idx)?;
    // `[n, is.., pre.., post..]` to `[n, pre.., is.., post..]`.
    let (ni, rank) = (b.ty(idx).rank() - 1, b.ty(flat).rank() - 1 + b.ty(idx).rank());
    let g = b.emit1(Prim::Gather { axis: 0 }, &[flat, idx])?;
    let mut perm: Axes = smallvec![0];
    perm.extend(1 + ni..1 + ni + axis);
    perm.extend(1..1 + ni);
    perm.extend(1 + ni + axis..rank);
    b.transpose(g, perm)
}

/// `scatter_add` with per-lane indices: one scatter into the lanes laid end to end.
fn scatter_add_per_lane(
    cx: &Cx,
    b: &mut Builder,
    axis: usize,
    x: Value,
    idx: Value,
    upd: Value,
) -> Result<Value, AdError> {
    let xt = b.ty(x);
    let (flat, idx) = merge_lanes(cx, b, axis, x, idx)?;
    // The updates `[n, pre.., is.., post..]` to `[n, is.., pre.., post..]`.
    let (ni, rank) = (b.ty(idx).rank() - 1, b.ty(upd).rank());
    let mut perm: Axes = smallvec![0];
    perm.extend(1 + axis..1 + axis + ni);
    perm.extend(1..1 + axis);
    perm.extend(1 + axis + ni..rank);
    let upd = b.transpose(upd, perm)?;
    let s = b.emit1(Prim::ScatterAdd { axis: 0 }, &[flat, idx, upd])?;
    // Back to `[n, A, pre.., post..]`, then `A` to its place.
    let mut dims = vec![cx.size, xt.dims()[axis + 1]];
    dims.extend(xt.dims().iter().enumerate().filter(|&(d, _)| d != 0 && d != axis + 1).map(|(_, &n)| n));
    let s = b.reshape(s, &Shape::from(dims))?;
    move_axis(b, s, 1, axis + 1)
}

/// `dynamic_slice` with per-lane start indices: one per-lane gather per dimension, of the
/// positions `start + 0..size` (starts clamped as `dynamic_slice` clamps them, so the block fits).
fn dynamic_slice_per_lane(cx: &Cx, b: &mut Builder, sizes: &Axes, x: Value, starts: &[BVal]) -> Result<Value, AdError> {
    let mut y = x;
    for (d, (&size, start)) in sizes.iter().zip(starts).enumerate() {
        let dim = b.ty(y).dims()[d + 1];
        let start = cx.materialize(b, *start)?;
        let it = b.ty(start).dtype;
        let zero = b.full_like(0.0, start)?;
        let hi = b.full_like((dim - size) as f64, start)?;
        let clamped = b.binary(BinaryOp::Max, start, zero)?;
        let clamped = b.binary(BinaryOp::Min, clamped, hi)?;
        let block = Shape::from(vec![cx.size, size]);
        let starts = b.broadcast_in_dim(clamped, &block, smallvec![0])?;
        let offsets = b.emit1(Prim::Iota { dtype: it, shape: block, axis: 1 }, &[])?;
        let idx = b.add(starts, offsets)?;
        y = gather_per_lane(cx, b, d, y, idx)?;
    }
    Ok(y)
}

/// A per-lane start clamped into `0..=dim - size` (as the dynamic slices clamp it), broadcast
/// along `shape` (`[n, ..]`, the start's lane on dimension 0).
fn lane_start(cx: &Cx, b: &mut Builder, start: BVal, dim: usize, size: usize, shape: &Shape) -> Result<Value, AdError> {
    let start = cx.materialize(b, start)?;
    let zero = b.full_like(0.0, start)?;
    let hi = b.full_like((dim - size) as f64, start)?;
    let clamped = b.binary(BinaryOp::Max, start, zero)?;
    let clamped = b.binary(BinaryOp::Min, clamped, hi)?;
    b.broadcast_in_dim(clamped, shape, smallvec![0])
}

/// `dynamic_update_slice` with per-lane starts: the update moved into place by one per-lane
/// gather per dimension (position `p` reads `upd[p - start]`), then selected where `p` lies in
/// each lane's block.
fn dynamic_update_slice_per_lane(
    cx: &Cx,
    b: &mut Builder,
    x: Value,
    upd: Value,
    starts: &[BVal],
) -> Result<Value, AdError> {
    let (xt, ut) = (b.ty(x), b.ty(upd));
    let mut moved = upd;
    let mut inside: Option<Value> = None;
    for (d, &start) in starts.iter().enumerate() {
        let (dim, size) = (xt.dims()[d + 1], ut.dims()[d + 1]);
        let it = b.ty(start.v).dtype;
        // Along this dimension: `[n, dim]` positions and where each reads the update from.
        let line = Shape::from(vec![cx.size, dim]);
        let s = lane_start(cx, b, start, dim, size, &line)?;
        let p = b.emit1(Prim::Iota { dtype: it, shape: line.clone(), axis: 1 }, &[])?;
        let from = b.sub(p, s)?;
        let zero = b.full_like(0.0, from)?;
        let last = b.full_like(size.saturating_sub(1) as f64, from)?;
        let clamped = b.binary(BinaryOp::Max, from, zero)?;
        let clamped = b.binary(BinaryOp::Min, clamped, last)?;
        moved = gather_per_lane(cx, b, d, moved, clamped)?;
        // `0 ≤ p - start < size`, broadcast over the other dimensions.
        let ge = b.compare(CompareOp::Ge, from, zero)?;
        let size_k = b.full_like(size as f64, from)?;
        let lt = b.compare(CompareOp::Lt, from, size_k)?;
        let ok = b.binary(BinaryOp::And, ge, lt)?;
        let ok = b.broadcast_in_dim(ok, &xt.shape, smallvec![0, d + 1])?;
        inside = Some(match inside {
            None => ok,
            Some(m) => b.binary(BinaryOp::And, m, ok)?,
        });
    }
    match inside {
        Some(mask) => b.select(mask, moved, x),
        // No start indices: a rank-0 value, which the update replaces.
        None => Ok(moved),
    }
}

/// `dot_general` with the batch axis as one more batch dimension when both operands have it,
/// or as a free dimension of the one that does, moved back to the front.
fn dot_general(b: &mut Builder, d: &DotDims, l: BVal, r: BVal) -> Result<Value, AdError> {
    let lhs_rank = b.ty(l.v).rank();
    let side = |axes: &Axes, batched: bool| if batched { shift(axes) } else { axes.clone() };
    let mut dims = DotDims {
        lhs_contract: side(&d.lhs_contract, l.batched),
        rhs_contract: side(&d.rhs_contract, r.batched),
        lhs_batch: side(&d.lhs_batch, l.batched),
        rhs_batch: side(&d.rhs_batch, r.batched),
    };
    if l.batched && r.batched {
        dims.lhs_batch.insert(0, 0);
        dims.rhs_batch.insert(0, 0);
        return b.dot_general(l.v, r.v, dims);
    }
    let nb = d.lhs_batch.len();
    // The result is batch dims, lhs free dims, rhs free dims; the batch axis is the first free
    // dimension of its operand.
    let at = if l.batched { nb } else { nb + lhs_rank - d.lhs_contract.len() - d.lhs_batch.len() };
    let y = b.dot_general(l.v, r.v, dims)?;
    move_axis(b, y, at, 0)
}

/// A collective over the mapped axis: a reduction over the batch axis (or, for an unbatched
/// operand, its value on every lane combined).
fn collective(cx: &Cx, b: &mut Builder, op: CollectiveOp, x: BVal) -> Result<Value, AdError> {
    let n = cx.size as f64;
    if !x.batched {
        return match op {
            CollectiveOp::Psum => b.scale(x.v, n),
            CollectiveOp::Pmean | CollectiveOp::Pmax | CollectiveOp::Pmin => Ok(x.v),
        };
    }
    let axes: Axes = smallvec![0];
    match op {
        CollectiveOp::Psum => b.reduce_sum(x.v, axes),
        CollectiveOp::Pmean => {
            let s = b.reduce_sum(x.v, axes)?;
            let k = b.full_like(n, s)?;
            b.div(s, k)
        }
        CollectiveOp::Pmax => b.reduce(ReduceOp::Max, x.v, axes),
        CollectiveOp::Pmin => b.reduce(ReduceOp::Min, x.v, axes),
    }
}
