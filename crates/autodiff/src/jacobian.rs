//! Compositions: Jacobians, Hessians, Hessian-vector products and output selection.
//!
//! Every transform maps IR to IR, so compositions are plain function composition:
//! `hessian = jacfwd ∘ jacrev`, and `grad` of `grad` is `grad(select_outputs(grad(f), ..))`.
//!
//! Jacobians are built from the linearization of `f` (see [`crate::partial_eval`]): the primal
//! part runs once, and the linear part (for [`jacfwd`]) or its transpose (for [`jacrev`]) is
//! `call`ed once per basis vector of the input (resp. output) space, the one-hot basis vectors
//! being the rows of an identity matrix built from two `iota`s. The columns (rows) are then
//! stacked. The IR grows linearly with the number of elements, with one shared body: fine for
//! the small inputs Jacobians and Hessians are used on. A batching transform (`vmap`) would
//! replace the calls with one batched evaluation.

use crate::builder::{Builder, Mode};
use crate::error::AdError;
use crate::jvp::{jvp_function, jvp_into};
use crate::partial_eval::partial_eval;
use crate::reverse::wrt_mask;
use crate::transpose::transpose_function;
use gradjit_ir::{CompareOp, DType, Function, Prim, Shape, TensorType, Value};
use smallvec::smallvec;
use std::sync::Arc;

/// Checks `wrt` for a Jacobian: valid, distinct, inexact parameters.
fn check_inputs(f: &Function, wrt: &[usize]) -> Result<Vec<bool>, AdError> {
    let mask = wrt_mask(f, wrt)?;
    for &i in wrt {
        let ty = f.ty(f.params[i]);
        if !ty.dtype.is_inexact() {
            return Err(AdError::NonDifferentiableInput { index: i, ty: ty.clone() });
        }
    }
    Ok(mask)
}

/// A function with `f`'s parameters, into which a transform emits its outputs.
fn with_params_of(f: &Function) -> (Function, Vec<Value>) {
    let mut g = Function::new();
    let xs = f.params.iter().map(|&p| g.add_param(f.ty(p).clone())).collect();
    (g, xs)
}

/// The one-hot basis vectors of the space of arrays of type `ty`, in row-major order.
fn basis(b: &mut Builder, ty: &TensorType) -> Result<Vec<Value>, AdError> {
    let n = ty.numel();
    if n == 1 {
        return Ok(vec![b.splat(1.0, ty)?]);
    }
    let square = Shape::new(&[n, n]);
    let rows = b.emit1(Prim::Iota { dtype: DType::I32, shape: square.clone(), axis: 0 }, &[])?;
    let cols = b.emit1(Prim::Iota { dtype: DType::I32, shape: square, axis: 1 }, &[])?;
    let diagonal = b.compare(CompareOp::Eq, rows, cols)?;
    let eye = b.convert(diagonal, ty.dtype)?;
    (0..n)
        .map(|k| {
            let row = b.slice(eye, smallvec![k, 0], smallvec![k + 1, n], smallvec![1, 1])?;
            b.reshape(row, &ty.shape)
        })
        .collect()
}

/// Stacks `parts` (each of shape `part`) into an array of shape `lead ++ part` when `leading`,
/// or `part ++ lead` otherwise, the parts laid out in row-major order over `lead`.
fn stack(b: &mut Builder, parts: &[Value], part: &TensorType, lead: &Shape, leading: bool) -> Result<Value, AdError> {
    let dims: Vec<usize> = if leading {
        lead.dims().iter().chain(part.dims()).copied().collect()
    } else {
        part.dims().iter().chain(lead.dims()).copied().collect()
    };
    let out = TensorType::new(part.dtype, dims);
    if parts.is_empty() || out.numel() == 0 {
        return b.zeros(&out);
    }
    let axis = if leading { 0 } else { part.rank() };
    let mut one: Vec<usize> = part.dims().to_vec();
    one.insert(axis, 1);
    let expanded = parts.iter().map(|&p| b.reshape(p, &Shape::new(&one))).collect::<Result<Vec<_>, _>>()?;
    let joined = if expanded.len() == 1 { expanded[0] } else { b.emit1(Prim::Concatenate { axis }, &expanded)? };
    b.reshape(joined, &out.shape)
}

/// The tangent type of `ty`.
fn tangent_ty(ty: &TensorType) -> TensorType {
    ty.with_dtype(ty.dtype.tangent())
}

/// Forward-mode Jacobian.
///
/// The result takes `f`'s parameters and returns, for each output `i` of `f` and each parameter
/// `j` in `wrt` (outputs outermost), `∂out_i/∂x_j` of shape `out_i.shape ++ x_j.shape`.
pub fn jacfwd(f: &Function, wrt: &[usize]) -> Result<Function, AdError> {
    check_inputs(f, wrt)?;
    let (mut g, xs) = with_params_of(f);
    let mut b = Builder::new(&mut g);
    let n_out = f.outputs.len();
    let mut jac: Vec<Vec<Value>> = vec![Vec::new(); n_out];
    for &j in wrt {
        let mut only_j = vec![false; f.params.len()];
        only_j[j] = true;
        let (jf, nonzero) = jvp_function(f, &only_j, false, Mode::Forward)?;
        let mut linear = vec![false; f.params.len()];
        linear.push(true);
        let split = partial_eval(&jf, &linear)?;
        let pouts = b.inline(&split.primal, &xs)?;
        let (nonlinear_outs, residuals) = pouts.split_at(pouts.len() - split.num_residuals);
        let body = Arc::new(crate::finish(split.linear));
        let in_ty = f.ty(f.params[j]).clone();
        // columns[k][q]: the q-th output of jf (past the primal ones) for basis vector k.
        let mut columns: Vec<Vec<Value>> = Vec::new();
        for e in basis(&mut b, &in_ty)? {
            let args: Vec<Value> = residuals.iter().copied().chain([e]).collect();
            let louts = b.emit(Prim::Call { body: body.clone() }, &args)?;
            let (mut nl, mut l) = (nonlinear_outs.iter(), louts.iter());
            let outs: Vec<Value> = split
                .output_is_linear
                .iter()
                .filter_map(|&is_lin| if is_lin { l.next() } else { nl.next() })
                .copied()
                .collect();
            columns.push(outs[n_out..].to_vec());
        }
        let mut q = 0;
        for (i, &nz) in nonzero.iter().enumerate() {
            let out_ty = tangent_ty(f.ty(f.outputs[i]));
            let parts: Vec<Value> = if nz { columns.iter().map(|c| c[q]).collect() } else { Vec::new() };
            q += usize::from(nz);
            jac[i].push(stack(&mut b, &parts, &out_ty, &in_ty.shape, false)?);
        }
    }
    g.outputs = jac.into_iter().flatten().collect();
    Ok(crate::finish(g))
}

/// Reverse-mode Jacobian: the same result as [`jacfwd`], computed one output element at a time.
pub fn jacrev(f: &Function, wrt: &[usize]) -> Result<Function, AdError> {
    let mask = check_inputs(f, wrt)?;
    let (mut g, xs) = with_params_of(f);
    let mut b = Builder::new(&mut g);
    let (jf, nonzero) = jvp_function(f, &mask, false, Mode::Linearize)?;
    let n_params = f.params.len();
    let linear: Vec<bool> = std::iter::repeat_n(false, n_params).chain(std::iter::repeat_n(true, wrt.len())).collect();
    let split = partial_eval(&jf, &linear)?;
    let pouts = b.inline(&split.primal, &xs)?;
    let residuals = &pouts[pouts.len() - split.num_residuals..];
    let res_linear: Vec<bool> =
        std::iter::repeat_n(false, split.num_residuals).chain(std::iter::repeat_n(true, wrt.len())).collect();
    // The pullback returns cotangents in parameter order; `wrt` may list them in another.
    let slot: Vec<usize> = wrt.iter().map(|&p| mask[..p].iter().filter(|&&m| m).count()).collect();
    let linear_outputs: Vec<usize> =
        split.output_is_linear.iter().enumerate().filter(|&(_, &l)| l).map(|(q, _)| q).collect();
    let mut outputs = Vec::new();
    let mut q = f.outputs.len();
    for (i, &nz) in nonzero.iter().enumerate() {
        let out_ty = tangent_ty(f.ty(f.outputs[i]));
        // Rows of the Jacobian of output i, one per element, each holding one cotangent per wrt.
        let mut rows: Vec<Vec<Value>> = Vec::new();
        if nz {
            let li = linear_outputs.iter().position(|&lq| lq == q);
            q += 1;
            if let Some(li) = li {
                let mut ct_outputs = vec![false; split.linear.outputs.len()];
                ct_outputs[li] = true;
                let body = Arc::new(crate::finish(transpose_function(&split.linear, &res_linear, &ct_outputs)?));
                for e in basis(&mut b, &out_ty)? {
                    let args: Vec<Value> = residuals.iter().copied().chain([e]).collect();
                    rows.push(b.emit(Prim::Call { body: body.clone() }, &args)?.into_vec());
                }
            }
        }
        for (&p, &s) in wrt.iter().zip(&slot) {
            let in_ty = tangent_ty(f.ty(f.params[p]));
            let parts: Vec<Value> = rows.iter().map(|r| r[s]).collect();
            outputs.push(stack(&mut b, &parts, &in_ty, &out_ty.shape, true)?);
        }
    }
    g.outputs = outputs;
    Ok(crate::finish(g))
}

/// The Hessian: `jacfwd(jacrev(f, wrt), wrt)`. For a scalar output and one parameter of shape
/// `s`, the single output has shape `s ++ s`.
pub fn hessian(f: &Function, wrt: &[usize]) -> Result<Function, AdError> {
    jacfwd(&jacrev(f, wrt)?, wrt)
}

/// Hessian-vector product of the loss (output 0), forward-over-reverse (the JVP of the
/// gradient, as JAX recommends: one forward sweep over the reverse-mode program, with no
/// second transposition).
///
/// The result takes `f`'s parameters, then one vector per parameter in `wrt` (of its tangent
/// type), and returns `H·v` restricted to the parameters in `wrt`, in that order.
pub fn hvp(f: &Function, wrt: &[usize]) -> Result<Function, AdError> {
    let g = crate::reverse::grad(f, wrt)?;
    let (mut h, xs) = with_params_of(f);
    let mut tangents = vec![None; f.params.len()];
    for &j in wrt {
        let v = h.add_param(tangent_ty(f.ty(f.params[j])));
        tangents[j] = Some(v);
    }
    let mut b = Builder::new(&mut h);
    let (_, touts) = jvp_into(&mut b, &g, &xs, &tangents)?;
    let n_out = f.outputs.len();
    let mut outputs = Vec::with_capacity(wrt.len());
    for (k, t) in touts.into_iter().enumerate().skip(n_out) {
        outputs.push(b.instantiate(t, &tangent_ty(g.ty(g.outputs[k])))?);
    }
    h.outputs = outputs;
    Ok(crate::finish(h))
}

/// `f` with only the outputs listed in `outputs`, in that order (for example to differentiate a
/// gradient: `grad(&select_outputs(&grad(f, &[0])?, &[1])?, &[0])`).
pub fn select_outputs(f: &Function, outputs: &[usize]) -> Result<Function, AdError> {
    let mut g = f.clone();
    g.outputs = outputs
        .iter()
        .map(|&i| f.outputs.get(i).copied().ok_or(AdError::BadOutput { index: i, num_outputs: f.outputs.len() }))
        .collect::<Result<_, _>>()?;
    Ok(crate::finish(g))
}
