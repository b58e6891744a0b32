//! The shape and dtype rule of every primitive: given operand types, the result types or a
//! [`ShapeError`] that names the operation, the operand types and what is wrong.
//!
//! Tracing calls this for every equation it records, and the verifier calls it again to
//! re-derive every type in a function. The rules of the primitives that carry sub-functions
//! (`call`, `scan`, `while`, `cond`, the custom derivatives) are in `shape_rules/control.rs`.

use crate::dtype::{DType, Shape, TensorType};
use crate::error::ShapeError;
use crate::prim::{Axes, Literal, Prim};
use smallvec::{smallvec, SmallVec};

mod control;
pub use control::stack;

/// Result types of one equation.
pub type OutTypes = SmallVec<[TensorType; 1]>;

fn types_list(ins: &[&TensorType]) -> String {
    ins.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

/// Infers the result types of `prim` applied to operands of types `ins`.
pub fn infer(prim: &Prim, ins: &[&TensorType]) -> Result<OutTypes, ShapeError> {
    let name = prim.name();
    let err = |msg: String| Err(ShapeError::new(name, msg));
    let arity = |n: usize| -> Result<(), ShapeError> {
        if ins.len() == n {
            Ok(())
        } else {
            Err(ShapeError::new(name, format!("expects {n} operand(s), got {} ({})", ins.len(), types_list(ins))))
        }
    };
    let one = |t: TensorType| -> Result<OutTypes, ShapeError> { Ok(smallvec![t]) };

    match prim {
        Prim::Unary(op) => {
            arity(1)?;
            let x = ins[0];
            if !op.accepts(x.dtype) {
                return err(format!("does not accept dtype {} (operand {x})", x.dtype));
            }
            one(x.with_dtype(op.result_dtype(x.dtype)))
        }
        Prim::Binary(op) => {
            arity(2)?;
            same_type(name, ins[0], ins[1])?;
            if !op.accepts(ins[0].dtype) {
                return err(format!("does not accept dtype {} (operands {}, {})", ins[0].dtype, ins[0], ins[1]));
            }
            one(ins[0].with_dtype(op.result_dtype(ins[0].dtype)))
        }
        Prim::Compare(op) => {
            arity(2)?;
            same_type(name, ins[0], ins[1])?;
            if !op.accepts(ins[0].dtype) {
                return err(format!("does not accept dtype {}", ins[0].dtype));
            }
            one(ins[0].with_dtype(DType::Bool))
        }
        Prim::IntegerPow { .. } => {
            arity(1)?;
            if !ins[0].dtype.is_numeric() {
                return err(format!("does not accept dtype {}", ins[0].dtype));
            }
            one(ins[0].clone())
        }
        Prim::Select => {
            arity(3)?;
            let (p, a, b) = (ins[0], ins[1], ins[2]);
            if p.dtype != DType::Bool {
                return err(format!("predicate must be bool, got {p}"));
            }
            same_type(name, a, b)?;
            if p.shape != a.shape {
                return err(format!("predicate shape {} differs from operand shape {}", p.shape, a.shape));
            }
            one(a.clone())
        }
        Prim::BroadcastInDim { shape, dims } => {
            arity(1)?;
            let x = ins[0];
            if dims.len() != x.rank() {
                return err(format!(
                    "broadcast_dimensions {dims:?} must have one entry per operand dimension, operand is {x}"
                ));
            }
            for (i, &d) in dims.iter().enumerate() {
                if d >= shape.rank() {
                    return err(format!("dimension {d} out of range for target shape {shape}"));
                }
                if i > 0 && dims[i - 1] >= d {
                    return err(format!("broadcast_dimensions {dims:?} must be strictly increasing"));
                }
                let (s, t) = (x.dims()[i], shape.dims()[d]);
                if s != 1 && s != t {
                    return err(format!(
                        "cannot broadcast {x} to shape {shape}: dimension {i} has size {s}, target {t}"
                    ));
                }
            }
            one(TensorType::new(x.dtype, shape.clone()))
        }
        Prim::Reshape { shape } => {
            arity(1)?;
            if shape.numel() != ins[0].numel() {
                return err(format!("cannot reshape {} ({} elements) to {shape}", ins[0], ins[0].numel()));
            }
            one(TensorType::new(ins[0].dtype, shape.clone()))
        }
        Prim::Transpose { perm } => {
            arity(1)?;
            let x = ins[0];
            let mut seen = vec![false; x.rank()];
            if perm.len() != x.rank() || perm.iter().any(|&p| p >= x.rank() || std::mem::replace(&mut seen[p], true)) {
                return err(format!("permutation {perm:?} is not a permutation of the dimensions of {x}"));
            }
            one(TensorType::new(x.dtype, perm.iter().map(|&p| x.dims()[p]).collect::<Vec<_>>()))
        }
        Prim::Slice { start, limit, stride } => {
            arity(1)?;
            let x = ins[0];
            if start.len() != x.rank() || limit.len() != x.rank() || stride.len() != x.rank() {
                return err(format!("start, limit and stride need one entry per dimension of {x}"));
            }
            let mut dims = Vec::with_capacity(x.rank());
            for i in 0..x.rank() {
                let (s, l, st) = (start[i], limit[i], stride[i]);
                if st == 0 || s > l || l > x.dims()[i] {
                    return err(format!(
                        "slice [{s}:{l}:{st}] out of range for dimension {i} of size {} in {x}",
                        x.dims()[i]
                    ));
                }
                dims.push((l - s).div_ceil(st));
            }
            one(TensorType::new(x.dtype, dims))
        }
        Prim::Pad { low, high, interior, value } => {
            arity(1)?;
            let x = ins[0];
            if low.len() != x.rank() || high.len() != x.rank() || interior.len() != x.rank() {
                return err(format!("low, high and interior need one entry per dimension of {x}"));
            }
            if value.dtype() != x.dtype {
                return err(format!("padding value {value} has dtype {}, operand is {x}", value.dtype()));
            }
            let dims: Vec<usize> = (0..x.rank())
                .map(|i| {
                    let n = x.dims()[i];
                    low[i] + high[i] + n + n.saturating_sub(1) * interior[i]
                })
                .collect();
            one(TensorType::new(x.dtype, dims))
        }
        Prim::Concatenate { axis } => {
            if ins.is_empty() {
                return err("needs at least one operand".into());
            }
            let first = ins[0];
            if *axis >= first.rank() {
                return err(format!("axis {axis} out of range for {first}"));
            }
            let mut dims = first.dims().to_vec();
            for t in &ins[1..] {
                let compatible = t.dtype == first.dtype
                    && t.rank() == first.rank()
                    && (0..t.rank()).all(|i| i == *axis || t.dims()[i] == first.dims()[i]);
                if !compatible {
                    return err(format!("operands {} do not agree outside axis {axis}", types_list(ins)));
                }
                dims[*axis] += t.dims()[*axis];
            }
            one(TensorType::new(first.dtype, dims))
        }
        Prim::Rev { axes } => {
            arity(1)?;
            check_axes(name, axes, ins[0], false)?;
            one(ins[0].clone())
        }
        Prim::Gather { axis } => {
            arity(2)?;
            let (x, idx) = (ins[0], ins[1]);
            if *axis >= x.rank() {
                return err(format!("axis {axis} out of range for {x}"));
            }
            if !idx.dtype.is_int() {
                return err(format!("indices must be integers, got {idx}"));
            }
            if x.dims()[*axis] == 0 && idx.numel() > 0 {
                return err(format!("cannot index into empty axis {axis} of {x}"));
            }
            one(TensorType::new(x.dtype, gather_dims(x, idx, *axis)))
        }
        Prim::ScatterAdd { axis } => {
            arity(3)?;
            let (x, idx, upd) = (ins[0], ins[1], ins[2]);
            if *axis >= x.rank() {
                return err(format!("axis {axis} out of range for {x}"));
            }
            if !idx.dtype.is_int() {
                return err(format!("indices must be integers, got {idx}"));
            }
            let want = TensorType::new(x.dtype, gather_dims(x, idx, *axis));
            if *upd != want {
                return err(format!("updates must be {want} for operand {x} and indices {idx}, got {upd}"));
            }
            one(x.clone())
        }
        Prim::DynamicSlice { sizes } => {
            let Some((x, idx)) = ins.split_first() else { return err("needs an operand".into()) };
            check_indices(name, x, idx)?;
            if sizes.len() != x.rank() || sizes.iter().zip(x.dims()).any(|(s, d)| s > d) {
                return err(format!("slice sizes {sizes:?} do not fit in {x}"));
            }
            one(TensorType::new(x.dtype, sizes.to_vec()))
        }
        Prim::DynamicUpdateSlice => {
            if ins.len() < 2 {
                return err(format!("expects an operand and an update, got {}", types_list(ins)));
            }
            let (x, upd) = (ins[0], ins[1]);
            check_indices(name, x, &ins[2..])?;
            if upd.dtype != x.dtype || upd.rank() != x.rank() || upd.dims().iter().zip(x.dims()).any(|(u, d)| u > d) {
                return err(format!("update {upd} does not fit in {x}"));
            }
            one(x.clone())
        }
        Prim::Reduce { op, axes } => {
            arity(1)?;
            let x = ins[0];
            check_axes(name, axes, x, true)?;
            let ok = match op {
                crate::prim::ReduceOp::Sum | crate::prim::ReduceOp::Prod => x.dtype.is_numeric(),
                _ => x.dtype.is_float() || x.dtype.is_int() || x.dtype == DType::Bool,
            };
            if !ok {
                return err(format!("does not accept dtype {}", x.dtype));
            }
            let dims: Vec<usize> = (0..x.rank()).filter(|i| !axes.contains(i)).map(|i| x.dims()[i]).collect();
            one(TensorType::new(x.dtype, dims))
        }
        Prim::Arg { axis, index_dtype, .. } => {
            arity(1)?;
            let x = ins[0];
            if *axis >= x.rank() {
                return err(format!("axis {axis} out of range for {x}"));
            }
            if x.dims()[*axis] == 0 {
                return err(format!("axis {axis} of {x} is empty"));
            }
            if !index_dtype.is_int() || !(x.dtype.is_float() || x.dtype.is_int()) {
                return err(format!("needs a real operand and an integer index dtype, got {x} and {index_dtype}"));
            }
            let dims: Vec<usize> = (0..x.rank()).filter(|&i| i != *axis).map(|i| x.dims()[i]).collect();
            one(TensorType::new(*index_dtype, dims))
        }
        Prim::DotGeneral(d) => {
            arity(2)?;
            let (l, r) = (ins[0], ins[1]);
            if l.dtype != r.dtype || !l.dtype.is_numeric() {
                return err(format!("operands must share a numeric dtype, got {l} and {r}"));
            }
            // Contracting and batch dimensions pair up by position, so their order is free.
            check_axes(name, &d.lhs_contract, l, false)?;
            check_axes(name, &d.lhs_batch, l, false)?;
            check_axes(name, &d.rhs_contract, r, false)?;
            check_axes(name, &d.rhs_batch, r, false)?;
            if d.lhs_contract.len() != d.rhs_contract.len() || d.lhs_batch.len() != d.rhs_batch.len() {
                return err(format!("contracting/batch dimension counts differ: {d:?}"));
            }
            let mismatch = |la: &Axes, ra: &Axes| {
                la.iter().zip(ra).find(|(&a, &b)| l.dims()[a] != r.dims()[b]).map(|(&a, &b)| (a, b))
            };
            if let Some((a, b)) = mismatch(&d.lhs_contract, &d.rhs_contract) {
                return err(format!(
                    "contracting dimension {a} of {l} (size {}) does not match dimension {b} of {r} (size {})",
                    l.dims()[a],
                    r.dims()[b]
                ));
            }
            if let Some((a, b)) = mismatch(&d.lhs_batch, &d.rhs_batch) {
                return err(format!("batch dimension {a} of {l} does not match dimension {b} of {r}"));
            }
            if d.lhs_contract.iter().any(|a| d.lhs_batch.contains(a))
                || d.rhs_contract.iter().any(|a| d.rhs_batch.contains(a))
            {
                return err("a dimension cannot be both batch and contracting".into());
            }
            one(TensorType::new(l.dtype, dot_dims(l, r, d)))
        }
        Prim::ConvertElementType { dtype } => {
            arity(1)?;
            if ins[0].dtype == DType::Float0 || *dtype == DType::Float0 {
                return err(format!("cannot convert {} to {dtype}", ins[0]));
            }
            one(ins[0].with_dtype(*dtype))
        }
        Prim::Iota { dtype, shape, axis } => {
            arity(0)?;
            if *axis >= shape.rank() || !dtype.is_numeric() {
                return err(format!("axis {axis} out of range for shape {shape} or bad dtype {dtype}"));
            }
            one(TensorType::new(*dtype, shape.clone()))
        }
        Prim::Constant(lit) => {
            arity(0)?;
            if let Literal::Dense(a) = lit {
                if a.numel() != a.shape().numel() {
                    return err("malformed dense literal".into());
                }
            }
            one(lit.ty())
        }
        Prim::StopGradient => {
            arity(1)?;
            one(ins[0].clone())
        }
        Prim::RandomBits { shape, dtype } => {
            arity(1)?;
            if *ins[0] != TensorType::scalar(DType::I64) {
                return err(format!("key must be i64[], got {}", ins[0]));
            }
            if !dtype.is_int() {
                return err(format!("bits dtype must be i32 or i64, got {dtype}"));
            }
            one(TensorType::new(*dtype, shape.clone()))
        }
        Prim::Call { body } => control::call(body, ins).map_err(|m| ShapeError::new(name, m)),
        Prim::Scan { length, num_consts, num_carry, body, .. } => {
            control::scan(*length, *num_consts, *num_carry, body, ins).map_err(|m| ShapeError::new(name, m))
        }
        Prim::While { cond_consts, body_consts, cond, body } => {
            control::while_loop(*cond_consts, *body_consts, cond, body, ins).map_err(|m| ShapeError::new(name, m))
        }
        Prim::Cond { branches } => control::cond(branches, ins).map_err(|m| ShapeError::new(name, m)),
        Prim::CustomJvp { body, jvp } => control::custom_jvp(body, jvp, ins).map_err(|m| ShapeError::new(name, m)),
        Prim::CustomVjp { body, fwd, bwd } => {
            control::custom_vjp(body, fwd, bwd, ins).map_err(|m| ShapeError::new(name, m))
        }
        Prim::CustomLin { num_res, bwd } => {
            control::custom_lin(*num_res, bwd, ins).map_err(|m| ShapeError::new(name, m))
        }
        Prim::Collective { op, axis_name } => {
            arity(1)?;
            let x = ins[0];
            if !crate::prim::is_axis_name(axis_name) {
                return err(format!("axis name `{axis_name}` is not an identifier"));
            }
            let ok = match op {
                crate::prim::CollectiveOp::Psum | crate::prim::CollectiveOp::Pmean => x.dtype.is_numeric(),
                _ => x.dtype.is_float() || x.dtype.is_int(),
            };
            if !ok {
                return err(format!("does not accept dtype {}", x.dtype));
            }
            one(x.clone())
        }
    }
}

fn same_type(name: &str, a: &TensorType, b: &TensorType) -> Result<(), ShapeError> {
    if a == b {
        Ok(())
    } else if a.dtype != b.dtype {
        Err(ShapeError::new(name, format!("operand dtypes differ: {a} and {b}")))
    } else {
        Err(ShapeError::new(name, format!("operand shapes differ: {} and {} ({a} and {b})", a.shape, b.shape)))
    }
}

/// Axes must be in range and distinct (and sorted, when `sorted`).
fn check_axes(name: &str, axes: &Axes, x: &TensorType, sorted: bool) -> Result<(), ShapeError> {
    for (i, &a) in axes.iter().enumerate() {
        if a >= x.rank() {
            return Err(ShapeError::new(name, format!("axis {a} out of range for {x} (rank {})", x.rank())));
        }
        if axes[..i].contains(&a) || (sorted && i > 0 && axes[i - 1] > a) {
            return Err(ShapeError::new(
                name,
                format!("axes {axes:?} must be distinct{}", if sorted { " and sorted" } else { "" }),
            ));
        }
    }
    Ok(())
}

fn check_indices(name: &str, x: &TensorType, idx: &[&TensorType]) -> Result<(), ShapeError> {
    if idx.len() != x.rank() || idx.iter().any(|t| t.rank() != 0 || !t.dtype.is_int()) {
        return Err(ShapeError::new(
            name,
            format!("needs {} scalar integer start indices for {x}, got ({})", x.rank(), types_list(idx)),
        ));
    }
    Ok(())
}

/// Output dims of `gather`/`scatter_add` updates: `x[..axis] + idx + x[axis+1..]`.
pub fn gather_dims(x: &TensorType, idx: &TensorType, axis: usize) -> Vec<usize> {
    let mut dims = x.dims()[..axis].to_vec();
    dims.extend_from_slice(idx.dims());
    dims.extend_from_slice(&x.dims()[axis + 1..]);
    dims
}

/// Output dims of `dot_general`: batch, lhs free, rhs free.
pub fn dot_dims(l: &TensorType, r: &TensorType, d: &crate::prim::DotDims) -> Vec<usize> {
    let mut dims: Vec<usize> = d.lhs_batch.iter().map(|&a| l.dims()[a]).collect();
    dims.extend((0..l.rank()).filter(|a| !d.lhs_contract.contains(a) && !d.lhs_batch.contains(a)).map(|a| l.dims()[a]));
    dims.extend((0..r.rank()).filter(|a| !d.rhs_contract.contains(a) && !d.rhs_batch.contains(a)).map(|a| r.dims()[a]));
    dims
}

/// The shape `x` broadcasts to with `y` under numpy rules, if any (used by tracing).
pub fn numpy_broadcast(x: &Shape, y: &Shape) -> Option<Shape> {
    let n = x.rank().max(y.rank());
    let dim = |s: &Shape, i: usize| if i + s.rank() < n { 1 } else { s.dims()[i + s.rank() - n] };
    (0..n)
        .map(|i| match (dim(x, i), dim(y, i)) {
            (a, b) if a == b => Some(a),
            (1, b) => Some(b),
            (a, 1) => Some(a),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(Shape::from)
}
