//! Transpose rules: for each primitive that is linear in some operands, the cotangents of
//! those operands given the cotangents of its outputs.
//!
//! Operands are [`Operand::Primal`] (a known value, available in the transposed function) or
//! [`Operand::Linear`] (an unknown of the linear map, of which only the type is known; JAX's
//! `UndefinedPrimal`). A rule returns one cotangent per operand: `None` for primal operands and
//! for zero cotangents. Cotangents pair with values by `<a, b> = Re Σ a·b` (no conjugation), as
//! in JAX, so `mul` by a primal transposes to `mul` by the same primal even for complex numbers.
//!
//! `broadcast_in_dim` is the one place where cotangents of broadcast operands are summed back
//! to the operand's shape: elementwise primitives take equal shapes, so nothing else broadcasts.

use crate::builder::Builder;
use crate::control;
use crate::error::AdError;
use gradjit_ir::{Axes, BinaryOp, CollectiveOp, DotDims, Prim, ReduceOp, Scalar, Shape, TensorType, UnaryOp, Value};
use smallvec::{smallvec, SmallVec};

/// An operand of a linear equation being transposed.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    /// A value that does not depend on the linear inputs.
    Primal(Value),
    /// A value that does; only its type is known.
    Linear(TensorType),
}

impl Operand {
    pub fn is_linear(&self) -> bool {
        matches!(self, Operand::Linear(_))
    }
    pub fn primal(&self) -> Option<Value> {
        match self {
            Operand::Primal(v) => Some(*v),
            Operand::Linear(_) => None,
        }
    }
    pub fn ty(&self, b: &Builder) -> TensorType {
        match self {
            Operand::Primal(v) => b.ty(*v),
            Operand::Linear(t) => t.clone(),
        }
    }
}

/// Cotangents of the operands (`None` = zero or primal).
pub(crate) type Cotangents = SmallVec<[Option<Value>; 3]>;

fn not_linear(b: &Builder, prim: &Prim, x: &[Operand]) -> AdError {
    let operands = x
        .iter()
        .map(|o| match o {
            Operand::Primal(v) => format!("{} primal", b.ty(*v)),
            Operand::Linear(t) => format!("{t} linear"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    AdError::NotLinear { prim: prim.name().to_string(), operands }
}

/// The cotangents of `prim`'s operands `x` given the cotangents `ct` of its outputs.
pub(crate) fn transpose(
    b: &mut Builder,
    prim: &Prim,
    x: &[Operand],
    ct: &[Option<Value>],
) -> Result<Cotangents, AdError> {
    match prim {
        Prim::Call { body } => return control::call::transpose(b, body, x, ct),
        Prim::Scan { length, reverse, num_consts, num_carry, body } => {
            let s = control::scan::Params::new(*length, *reverse, *num_consts, *num_carry, body);
            return control::scan::transpose(b, s, x, ct);
        }
        Prim::Cond { branches } => return control::cond::transpose(b, branches, x, ct),
        Prim::CustomLin { num_res, bwd } => return control::custom::custom_lin_transpose(b, *num_res, bwd, x, ct),
        Prim::While { .. } => return Err(AdError::WhileLoopReverse),
        _ => {}
    }
    let n = x.len();
    let Some(&Some(c)) = ct.first() else { return Ok(smallvec![None; n]) };
    // The cotangent `c` for every linear operand of a primitive that passes it through.
    let each_linear = |f: &mut dyn FnMut(usize) -> Option<Value>| (0..n).map(f).collect::<Cotangents>();
    let lin = |i: usize| x[i].is_linear();
    Ok(match prim {
        Prim::Unary(op) => smallvec![Some(match op {
            UnaryOp::Neg | UnaryOp::Conj => b.unary(*op, c)?,
            // <real(z), c> = Re(z·c) for real c; <imag(z), c> = Re(z·(-ic)).
            UnaryOp::Real => {
                let zero = b.full_like(0.0, c)?;
                b.complex(c, zero)?
            }
            UnaryOp::Imag => {
                let zero = b.full_like(0.0, c)?;
                let n = b.neg(c)?;
                b.complex(zero, n)?
            }
            _ => return Err(not_linear(b, prim, x)),
        })],
        Prim::Binary(op) => match (op, &x[0], &x[1]) {
            (BinaryOp::Add, _, _) => each_linear(&mut |i| lin(i).then_some(c)),
            (BinaryOp::Sub, _, _) => {
                let c1 = if lin(1) { Some(b.neg(c)?) } else { None };
                smallvec![lin(0).then_some(c), c1]
            }
            (BinaryOp::Mul, Operand::Linear(_), Operand::Primal(p)) => smallvec![Some(b.mul(c, *p)?), None],
            (BinaryOp::Mul, Operand::Primal(p), Operand::Linear(_)) => smallvec![None, Some(b.mul(*p, c)?)],
            (BinaryOp::Div, Operand::Linear(_), Operand::Primal(p)) => smallvec![Some(b.div(c, *p)?), None],
            // <complex(a, b), c> = a·Re(c) - b·Im(c)
            (BinaryOp::Complex, _, _) => {
                let re = if lin(0) { Some(b.real(c)?) } else { None };
                let im = if lin(1) {
                    let i = b.imag(c)?;
                    Some(b.neg(i)?)
                } else {
                    None
                };
                smallvec![re, im]
            }
            _ => return Err(not_linear(b, prim, x)),
        },
        Prim::IntegerPow { y: 1 } => smallvec![Some(c)],
        Prim::Select => {
            let Some(pred) = x[0].primal() else { return Err(not_linear(b, prim, x)) };
            let zero = b.full_like(0.0, c)?;
            let on_true = if lin(1) { Some(b.select(pred, c, zero)?) } else { None };
            let on_false = if lin(2) { Some(b.select(pred, zero, c)?) } else { None };
            smallvec![None, on_true, on_false]
        }
        Prim::BroadcastInDim { shape, dims } => smallvec![Some(unbroadcast(b, c, &x[0].ty(b), shape, dims)?)],
        Prim::Reshape { .. } => smallvec![Some(b.reshape(c, &x[0].ty(b).shape)?)],
        Prim::Transpose { perm } => smallvec![Some(b.transpose(c, inverse(perm))?)],
        Prim::Slice { start, limit: _, stride } => smallvec![Some(unslice(b, c, &x[0].ty(b), start, stride)?)],
        Prim::Pad { low, interior, value, .. } if is_zero(value) => {
            smallvec![Some(unpad(b, c, &x[0].ty(b), low, interior)?)]
        }
        Prim::Concatenate { axis } => {
            let mut offset = 0;
            let mut out = Cotangents::new();
            for o in x {
                let ty = o.ty(b);
                let size = ty.dims()[*axis];
                out.push(if o.is_linear() { Some(slice_along(b, c, *axis, offset, offset + size)?) } else { None });
                offset += size;
            }
            out
        }
        Prim::Rev { .. } => smallvec![Some(b.emit1(prim.clone(), &[c])?)],
        // gather(x, i) → scatter_add(0, i, c)
        Prim::Gather { axis } => match (&x[0], &x[1]) {
            (Operand::Linear(xt), Operand::Primal(idx)) => {
                let zeros = b.zeros(xt)?;
                smallvec![Some(b.emit1(Prim::ScatterAdd { axis: *axis }, &[zeros, *idx, c])?), None]
            }
            _ => return Err(not_linear(b, prim, x)),
        },
        // scatter_add(x, i, u): x gets c, u gets gather(c, i)
        Prim::ScatterAdd { axis } => {
            let Some(idx) = x[1].primal() else { return Err(not_linear(b, prim, x)) };
            let upd = if lin(2) { Some(b.emit1(Prim::Gather { axis: *axis }, &[c, idx])?) } else { None };
            smallvec![lin(0).then_some(c), None, upd]
        }
        // dynamic_slice(x, i..) → dynamic_update_slice(0, c, i..)
        Prim::DynamicSlice { .. } if x[1..].iter().all(|o| !o.is_linear()) => {
            let zeros = b.zeros(&x[0].ty(b))?;
            let mut ins: SmallVec<[Value; 3]> = smallvec![zeros, c];
            ins.extend(x[1..].iter().filter_map(Operand::primal));
            let mut out: Cotangents = smallvec![Some(b.emit1(Prim::DynamicUpdateSlice, &ins)?)];
            out.extend(x[1..].iter().map(|_| None));
            out
        }
        // dynamic_update_slice(x, u, i..): x gets c with the block zeroed, u gets the block of c.
        Prim::DynamicUpdateSlice if x[2..].iter().all(|o| !o.is_linear()) => {
            let idx: SmallVec<[Value; 3]> = x[2..].iter().filter_map(Operand::primal).collect();
            let upd_ty = x[1].ty(b);
            let cx = if lin(0) {
                let zeros = b.zeros(&upd_ty)?;
                let mut ins: SmallVec<[Value; 3]> = smallvec![c, zeros];
                ins.extend_from_slice(&idx);
                Some(b.emit1(Prim::DynamicUpdateSlice, &ins)?)
            } else {
                None
            };
            let cu = if lin(1) {
                let mut ins: SmallVec<[Value; 3]> = smallvec![c];
                ins.extend_from_slice(&idx);
                Some(b.emit1(Prim::DynamicSlice { sizes: upd_ty.dims().iter().copied().collect() }, &ins)?)
            } else {
                None
            };
            let mut out: Cotangents = smallvec![cx, cu];
            out.extend(idx.iter().map(|_| None));
            out
        }
        Prim::Reduce { op: ReduceOp::Sum, axes } => smallvec![Some(b.unreduce(c, &x[0].ty(b).shape, axes)?)],
        Prim::DotGeneral(d) => match (&x[0], &x[1]) {
            (Operand::Linear(lt), Operand::Primal(r)) => smallvec![Some(dot_lhs(b, c, lt, *r, d)?), None],
            (Operand::Primal(l), Operand::Linear(_)) => smallvec![None, Some(dot_rhs(b, c, *l, d)?)],
            _ => return Err(not_linear(b, prim, x)),
        },
        Prim::ConvertElementType { .. } => {
            let dtype = x[0].ty(b).dtype;
            smallvec![if dtype.is_inexact() { Some(b.convert(c, dtype)?) } else { None }]
        }
        // JAX's convention: the transpose of psum is psum (of pmean, pmean): every lane's
        // cotangent flows to every lane's operand.
        Prim::Collective { op: CollectiveOp::Psum | CollectiveOp::Pmean, .. } => {
            smallvec![Some(b.emit1(prim.clone(), &[c])?)]
        }
        // The derivative of stop_gradient is zero, so the linear map it stands for is zero.
        Prim::StopGradient => smallvec![None],
        Prim::Compare(_)
        | Prim::IntegerPow { .. }
        | Prim::Pad { .. }
        | Prim::DynamicSlice { .. }
        | Prim::DynamicUpdateSlice
        | Prim::Reduce { .. }
        | Prim::Arg { .. }
        | Prim::Iota { .. }
        | Prim::Constant(_)
        | Prim::RandomBits { .. }
        | Prim::CustomJvp { .. }
        | Prim::CustomVjp { .. }
        | Prim::Collective { .. } => return Err(not_linear(b, prim, x)),
        // Transposed above.
        Prim::Call { .. } | Prim::Scan { .. } | Prim::While { .. } | Prim::Cond { .. } | Prim::CustomLin { .. } => {
            return Err(not_linear(b, prim, x))
        }
    })
}

fn is_zero(s: &Scalar) -> bool {
    let z = s.to_c128();
    z.re == 0.0 && z.im == 0.0
}

/// The inverse of a permutation.
fn inverse(perm: &[usize]) -> Axes {
    let mut inv: Axes = smallvec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

/// Transpose of `broadcast_in_dim`: sum over the dimensions the broadcast created or expanded
/// from size 1, then reshape to the operand's shape (restoring its size-1 dimensions).
fn unbroadcast(b: &mut Builder, c: Value, x: &TensorType, shape: &Shape, dims: &Axes) -> Result<Value, AdError> {
    let summed: Axes = (0..shape.rank())
        .filter(|&d| match dims.iter().position(|&o| o == d) {
            None => true,
            Some(i) => x.dims()[i] == 1 && shape.dims()[d] != 1,
        })
        .collect();
    let s = b.reduce_sum(c, summed)?;
    b.reshape(s, &x.shape)
}

/// Transpose of `slice`: pad the cotangent back into the operand's shape with zeros.
fn unslice(b: &mut Builder, c: Value, x: &TensorType, start: &Axes, stride: &Axes) -> Result<Value, AdError> {
    let out = b.ty(c);
    let (mut low, mut high, mut interior) = (Axes::new(), Axes::new(), Axes::new());
    for (i, (&n, &m)) in x.dims().iter().zip(out.dims()).enumerate() {
        if m == 0 {
            low.push(n);
            high.push(0);
            interior.push(0);
        } else {
            let last = start[i] + (m - 1) * stride[i];
            low.push(start[i]);
            high.push(n - last - 1);
            interior.push(stride[i] - 1);
        }
    }
    let value = Scalar::from_f64(0.0, out.dtype);
    b.emit1(Prim::Pad { low, high, interior, value }, &[c])
}

/// Transpose of `pad` (with a zero value): the strided slice of the cotangent where the operand went.
fn unpad(b: &mut Builder, c: Value, x: &TensorType, low: &Axes, interior: &Axes) -> Result<Value, AdError> {
    let (mut start, mut limit, mut stride) = (Axes::new(), Axes::new(), Axes::new());
    for (i, &n) in x.dims().iter().enumerate() {
        let step = interior[i] + 1;
        start.push(low[i]);
        limit.push(if n == 0 { low[i] } else { low[i] + (n - 1) * step + 1 });
        stride.push(step);
    }
    b.slice(c, start, limit, stride)
}

/// `c[.., from:to, ..]` along `axis`.
fn slice_along(b: &mut Builder, c: Value, axis: usize, from: usize, to: usize) -> Result<Value, AdError> {
    let dims = b.ty(c).dims().to_vec();
    let start = (0..dims.len()).map(|d| if d == axis { from } else { 0 }).collect();
    let limit = (0..dims.len()).map(|d| if d == axis { to } else { dims[d] }).collect();
    b.slice(c, start, limit, smallvec![1; dims.len()])
}

/// Axes of a `dot_general` operand of rank `rank` that are neither contracted nor batch axes.
fn free_axes(rank: usize, contract: &Axes, batch: &Axes) -> Axes {
    (0..rank).filter(|a| !contract.contains(a) && !batch.contains(a)).collect()
}

/// The axes `to[m]` paired with `from[m]`, ordered by `from[m]`.
fn partners_in_order(from: &Axes, to: &Axes) -> Axes {
    let mut pairs: Vec<(usize, usize)> = from.iter().copied().zip(to.iter().copied()).collect();
    pairs.sort_unstable();
    pairs.into_iter().map(|(_, t)| t).collect()
}

/// Cotangent of the lhs of `dot_general(lhs, rhs)`: contract the cotangent's rhs-free axes
/// with rhs, then permute the result (batch, lhs free, lhs contracted) into lhs's axis order.
fn dot_lhs(b: &mut Builder, c: Value, lhs: &TensorType, rhs: Value, d: &DotDims) -> Result<Value, AdError> {
    let rhs_rank = b.ty(rhs).rank();
    let nb = d.lhs_batch.len();
    let lf = free_axes(lhs.rank(), &d.lhs_contract, &d.lhs_batch);
    let rf = free_axes(rhs_rank, &d.rhs_contract, &d.rhs_batch);
    let ct_rhs_free: Axes = (nb + lf.len()..nb + lf.len() + rf.len()).collect();
    let dims = DotDims {
        lhs_contract: ct_rhs_free,
        rhs_contract: rf,
        lhs_batch: (0..nb).collect(),
        rhs_batch: d.rhs_batch.clone(),
    };
    let r = b.dot_general(c, rhs, dims)?;
    // The result's axes are lhs's batch axes, its free axes, then its contracted axes in the
    // order of their rhs partners.
    let mut source: Axes = d.lhs_batch.clone();
    source.extend(lf);
    source.extend(partners_in_order(&d.rhs_contract, &d.lhs_contract));
    b.transpose(r, inverse(&source))
}

/// Cotangent of the rhs of `dot_general(lhs, rhs)`: contract lhs's free axes with the
/// cotangent's, lhs first so that the result (batch, rhs contracted, rhs free) is usually
/// already in rhs's axis order (for a matrix product, `xᵀ·c` needs no transpose).
fn dot_rhs(b: &mut Builder, c: Value, lhs: Value, d: &DotDims) -> Result<Value, AdError> {
    let lhs_rank = b.ty(lhs).rank();
    let nb = d.lhs_batch.len();
    let lf = free_axes(lhs_rank, &d.lhs_contract, &d.lhs_batch);
    let rf_count = b.ty(c).rank() - nb - lf.len();
    let rf = free_axes(rf_count + d.rhs_contract.len() + nb, &d.rhs_contract, &d.rhs_batch);
    let ct_lhs_free: Axes = (nb..nb + lf.len()).collect();
    let dims = DotDims {
        lhs_contract: lf,
        rhs_contract: ct_lhs_free,
        lhs_batch: d.lhs_batch.clone(),
        rhs_batch: (0..nb).collect(),
    };
    let r = b.dot_general(lhs, c, dims)?;
    // The result's axes: rhs's batch axes, the partners of lhs's contracted axes in lhs's
    // order, then rhs's free axes.
    let mut source: Axes = d.rhs_batch.clone();
    source.extend(partners_in_order(&d.lhs_contract, &d.rhs_contract));
    source.extend(rf);
    b.transpose(r, inverse(&source))
}
