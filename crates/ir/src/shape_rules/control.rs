//! Shape rules of the primitives that carry sub-functions: the operand types must match the
//! signatures of the bodies, which in turn give the result types.
//!
//! Each rule first checks that every body names only its own values (a malformed body must give
//! an error here, not a panic), then compares types list against list, naming the first operand,
//! parameter or output that disagrees.

use super::{types_list, OutTypes};
use crate::dtype::{DType, TensorType};
use crate::function::Function;

/// A rule's failure: the message of a [`ShapeError`](crate::ShapeError) of the primitive.
type Check = Result<(), String>;

/// Every parameter and output of `f` is one of its values.
pub(super) fn well_formed(f: &Function, what: &str) -> Check {
    if f.params.iter().chain(&f.outputs).all(|v| v.index() < f.num_values()) {
        Ok(())
    } else {
        Err(format!("the {what} refers to values it does not define"))
    }
}

fn list(tys: &[TensorType]) -> String {
    tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

/// `got` equals `want`, element by element; `what` names the two lists in the message.
fn same_types(got: &[&TensorType], want: &[TensorType], what: &str) -> Check {
    if got.len() == want.len() && got.iter().zip(want).all(|(a, b)| *a == b) {
        Ok(())
    } else {
        Err(format!("{what}: ({}) against ({})", types_list(got), list(want)))
    }
}

fn refs(tys: &[TensorType]) -> Vec<&TensorType> {
    tys.iter().collect()
}

fn tangents(tys: &[&TensorType]) -> Vec<TensorType> {
    tys.iter().map(|t| t.with_dtype(t.dtype.tangent())).collect()
}

/// `call`: the operands are the body's parameters; the results are its outputs.
pub(super) fn call(body: &Function, ins: &[&TensorType]) -> Result<OutTypes, String> {
    well_formed(body, "body")?;
    same_types(ins, &body.param_types(), "operands do not match the body's parameters")?;
    Ok(body.output_types().into_iter().collect())
}

/// `scan`: operands `consts carry xs`, body `(consts, carry, x slices) -> (carry, y slices)`.
pub(super) fn scan(
    length: usize,
    num_consts: usize,
    num_carry: usize,
    body: &Function,
    ins: &[&TensorType],
) -> Result<OutTypes, String> {
    well_formed(body, "body")?;
    let params = body.param_types();
    let outs = body.output_types();
    let fixed = num_consts.checked_add(num_carry).filter(|&n| n <= ins.len());
    let Some(fixed) = fixed else {
        return Err(format!("{num_consts} const(s) and {num_carry} carry value(s) but only {} operand(s)", ins.len()));
    };
    if params.len() != ins.len() {
        return Err(format!(
            "{} operand(s) for a body of {} parameter(s) ({})",
            ins.len(),
            params.len(),
            list(&params)
        ));
    }
    if outs.len() < num_carry {
        return Err(format!("the body returns {} value(s), fewer than its {num_carry} carry value(s)", outs.len()));
    }
    same_types(&ins[..num_consts], &params[..num_consts], "consts do not match the body's parameters")?;
    let carry = &ins[num_consts..fixed];
    same_types(carry, &params[num_consts..fixed], "the initial carry does not match the body's carry parameters")?;
    same_types(carry, &outs[..num_carry], "the initial carry does not match the carry the body returns")?;
    for (k, (x, slice)) in ins[fixed..].iter().zip(&params[fixed..]).enumerate() {
        let stacked = stack(length, slice);
        if **x != stacked {
            return Err(format!(
                "scanned operand {k} is {x}, but a body taking {slice} slices over {length} steps needs {stacked}"
            ));
        }
    }
    let mut results: OutTypes = outs[..num_carry].iter().cloned().collect();
    results.extend(outs[num_carry..].iter().map(|y| stack(length, y)));
    Ok(results)
}

/// `t` with a leading axis of `length`.
pub fn stack(length: usize, t: &TensorType) -> TensorType {
    let mut dims = vec![length];
    dims.extend_from_slice(t.dims());
    TensorType::new(t.dtype, dims)
}

/// `while`: operands `cond_consts body_consts carry`, `cond(cond_consts, carry) -> bool[]`,
/// `body(body_consts, carry) -> carry`.
pub(super) fn while_loop(
    cond_consts: usize,
    body_consts: usize,
    cond: &Function,
    body: &Function,
    ins: &[&TensorType],
) -> Result<OutTypes, String> {
    well_formed(cond, "condition")?;
    well_formed(body, "body")?;
    let fixed = cond_consts.checked_add(body_consts).filter(|&n| n <= ins.len());
    let Some(fixed) = fixed else {
        return Err(format!("{cond_consts} + {body_consts} const(s) but only {} operand(s)", ins.len()));
    };
    let carry = &ins[fixed..];
    let cond_ins: Vec<&TensorType> = ins[..cond_consts].iter().chain(carry).copied().collect();
    same_types(&cond_ins, &cond.param_types(), "the condition's consts and carry do not match its parameters")?;
    same_types(
        &refs(&cond.output_types()),
        &[TensorType::scalar(DType::Bool)],
        "the condition must return one bool[]",
    )?;
    same_types(&ins[cond_consts..], &body.param_types(), "the body's consts and carry do not match its parameters")?;
    same_types(carry, &body.output_types(), "the carry does not match what the body returns")?;
    Ok(carry.iter().map(|&t| t.clone()).collect())
}

/// `cond`: operands `index operands`, every branch a function of the operands with the outputs
/// of branch 0.
pub(super) fn cond(branches: &[std::sync::Arc<Function>], ins: &[&TensorType]) -> Result<OutTypes, String> {
    let Some(first) = branches.first() else { return Err("needs at least one branch".into()) };
    let Some((index, operands)) = ins.split_first() else { return Err("needs an index operand".into()) };
    if index.rank() != 0 || !(index.dtype.is_int() || index.dtype == DType::Bool) {
        return Err(format!("the index must be a scalar integer or bool, got {index}"));
    }
    for (k, b) in branches.iter().enumerate() {
        well_formed(b, &format!("branch {k}"))?;
        same_types(operands, &b.param_types(), &format!("operands do not match the parameters of branch {k}"))?;
        if k > 0 {
            same_types(
                &refs(&b.output_types()),
                &first.output_types(),
                &format!("branch {k} returns other types than branch 0"),
            )?;
        }
    }
    Ok(first.output_types().into_iter().collect())
}

/// `custom_jvp_call`: `body(xs) -> ys` and `jvp(xs, tangents of xs) -> (ys, tangents of ys)`.
pub(super) fn custom_jvp(body: &Function, jvp: &Function, ins: &[&TensorType]) -> Result<OutTypes, String> {
    well_formed(jvp, "jvp rule")?;
    let outs = call(body, ins)?;
    let mut want_params: Vec<TensorType> = ins.iter().map(|&t| t.clone()).collect();
    want_params.extend(tangents(ins));
    same_types(
        &refs(&jvp.param_types()),
        &want_params,
        "the jvp rule's parameters must be the operands, then their tangents",
    )?;
    let out_refs: Vec<&TensorType> = outs.iter().collect();
    let mut want_outs: Vec<TensorType> = outs.to_vec();
    want_outs.extend(tangents(&out_refs));
    same_types(&refs(&jvp.output_types()), &want_outs, "the jvp rule must return the outputs, then their tangents")?;
    Ok(outs)
}

/// `custom_vjp_call`: `body(xs) -> ys`, `fwd(xs) -> (ys, residuals)`, `bwd(residuals,
/// cotangents of ys) -> cotangents of xs`.
pub(super) fn custom_vjp(
    body: &Function,
    fwd: &Function,
    bwd: &Function,
    ins: &[&TensorType],
) -> Result<OutTypes, String> {
    well_formed(fwd, "fwd rule")?;
    well_formed(bwd, "bwd rule")?;
    let outs = call(body, ins)?;
    same_types(ins, &fwd.param_types(), "operands do not match the fwd rule's parameters")?;
    let fwd_outs = fwd.output_types();
    if fwd_outs.len() < outs.len() {
        return Err(format!(
            "the fwd rule returns {} value(s), fewer than the {} output(s)",
            fwd_outs.len(),
            outs.len()
        ));
    }
    same_types(&refs(&fwd_outs[..outs.len()]), &outs, "the fwd rule must return the outputs first")?;
    let out_refs: Vec<&TensorType> = outs.iter().collect();
    let mut want_params = fwd_outs[outs.len()..].to_vec();
    want_params.extend(tangents(&out_refs));
    same_types(
        &refs(&bwd.param_types()),
        &want_params,
        "the bwd rule's parameters must be the residuals, then the output cotangents",
    )?;
    same_types(&refs(&bwd.output_types()), &tangents(ins), "the bwd rule must return one cotangent per operand")?;
    Ok(outs)
}

/// `custom_lin`: operands `residuals tangents`; the results are the cotangent parameters of `bwd`.
pub(super) fn custom_lin(num_res: usize, bwd: &Function, ins: &[&TensorType]) -> Result<OutTypes, String> {
    well_formed(bwd, "bwd rule")?;
    let params = bwd.param_types();
    if num_res > params.len() || num_res > ins.len() {
        return Err(format!(
            "{num_res} residual(s), but the bwd rule takes {} parameter(s) and there are {} operand(s)",
            params.len(),
            ins.len()
        ));
    }
    same_types(&ins[..num_res], &params[..num_res], "residuals do not match the bwd rule's parameters")?;
    same_types(&ins[num_res..], &bwd.output_types(), "tangents do not match what the bwd rule returns")?;
    Ok(params[num_res..].iter().cloned().collect())
}
