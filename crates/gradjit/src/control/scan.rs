//! Loops of a known number of steps: [`scan`] (JAX's `lax.scan`), [`for_loop`] (BrainPy's
//! `for_loop`) and [`fori_loop`] (JAX's `lax.fori_loop`), all one `scan` primitive whose body
//! is traced once, whatever the number of steps.
//!
//! Variables the body reads and does not write are consts of the loop; variables it writes
//! are carried from step to step (a read sees the value the previous step wrote) and hold
//! their last value afterwards, as in BrainPy.

use super::body::{apply, describe, error, output_types, rebind, types, write_back, Closure};
use crate::error::{Error, Result};
use crate::make_ir::{trace, TracedFunction};
use crate::signature::{ArgsFor, Output, Param, TraceFn};
use crate::tensor::Tensor;
use crate::trace::caller;
use crate::tree::Tree;
use crate::var::Var;
use gradjit_ir::{BinaryOp, DType, Loc, Prim, Shape, TensorType, Value};

/// Options of a [`scan`] or [`for_loop`] (JAX's `length` and `reverse`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// The number of steps: needed when nothing is scanned, else it must agree with the
    /// leading axis of the scanned arrays.
    pub length: Option<usize>,
    /// Run from the last slice to the first; stacked outputs keep the slices' order.
    pub reverse: bool,
}

impl ScanOptions {
    /// Runs from the last slice to the first.
    pub fn reverse() -> ScanOptions {
        ScanOptions { reverse: true, length: None }
    }
    /// `length` steps (for a loop scanning nothing).
    pub fn length(n: usize) -> ScanOptions {
        ScanOptions { length: Some(n), reverse: false }
    }
}

/// Loops `f(carry, x) -> (carry, y)` over the slices `x` of `xs` along their leading axis, as
/// `jax.lax.scan`: returns the final carry and the `y`s stacked along a new leading axis.
///
/// `init` and `xs` are trees of arrays or tensors; `f` takes their structures (`xs` sliced) and
/// returns a pair whose carry has `init`'s structure and types.
///
/// ```
/// use gradjit::{scan, Array, Tensor};
/// // Cumulative sum: the carry is the running total, each y the total so far.
/// let xs = Array::from(vec![1.0f32, 2.0, 3.0, 4.0]);
/// let (total, partial) = scan(|c: Tensor, x: Tensor| { let s = &c + &x; (s.clone(), s) }, 0.0f32, &xs)?;
/// assert_eq!(total.item()?, 10.0);
/// assert_eq!(partial.to_vec::<f32>()?, vec![1.0, 3.0, 6.0, 10.0]);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn scan<P, F, I, X>(f: F, init: I, xs: X) -> Result<<F::Out as Output>::With<Tensor>>
where
    F: TraceFn<P>,
    (I, X): ArgsFor<P>,
{
    scan_with(f, init, xs, ScanOptions::default())
}

/// [`scan`] with options: a fixed `length` (for a loop scanning nothing) or `reverse` order.
#[track_caller]
pub fn scan_with<P, F, I, X>(f: F, init: I, xs: X, options: ScanOptions) -> Result<<F::Out as Output>::With<Tensor>>
where
    F: TraceFn<P>,
    (I, X): ArgsFor<P>,
{
    let loc = caller();
    let mut trees = (init, xs).into_trees();
    let (xs, init) = (trees.pop().unwrap_or(Tree::None), trees.pop().unwrap_or(Tree::None));
    let (init_ty, xs_ty) = (types(&init)?, types(&xs)?);
    let length = loop_length("scan", &xs_ty, options.length, &loc)?;
    let traced = trace(&f, &[init_ty.clone(), slices(&xs_ty)], &loc)?;
    let out = output_types(&traced)?;
    let (carry_ty, y_ty) = match out {
        Tree::Tuple(mut items) if items.len() == 2 => {
            let y = items.pop().unwrap_or(Tree::None);
            (items.pop().unwrap_or(Tree::None), y)
        }
        other => {
            let message = format!("the body must return a pair (carry, y), but it returns {}", describe(&other));
            return Err(error("scan", message, &loc));
        }
    };
    if carry_ty != init_ty {
        let message = format!(
            "the body returns a carry of types {} for an initial carry of types {}; they must be the same",
            describe(&carry_ty),
            describe(&init_ty)
        );
        return Err(error("scan", message, &loc));
    }
    let (carry, ys) = run_scan(&traced, init.into_leaves(), xs.into_leaves(), length, options.reverse, &loc)?;
    let out = Tree::Tuple(vec![init_ty.structure().unflatten(carry)?, y_ty.structure().unflatten(ys)?]);
    <F::Out as Output>::rebuild(out).ok_or_else(|| structure_error("scan"))
}

/// Applies `f` to each slice of `operands` along their leading axis and stacks the results, as
/// `brainpy.math.for_loop`. Variables `f` writes are carried from one step to the next.
///
/// ```
/// use gradjit::{for_loop, Array, Tensor, Var};
/// // A leaky integrator driven by an input sequence: the state lives in a Var.
/// let v = Var::new(Array::zeros([2]));
/// let inputs = Array::from([[1.0f32, 0.0], [1.0, 2.0], [0.0, 0.0]]);
/// let trace = for_loop(
///     |x: Tensor| {
///         let next = v.value() * 0.5 + x;
///         v.set(&next)?;
///         Ok::<_, gradjit::Error>(next)
///     },
///     &inputs,
/// )?;
/// assert_eq!(trace.to_vec::<f32>()?, vec![1.0, 0.0, 1.5, 2.0, 0.75, 1.0]);
/// assert_eq!(v.get().to_vec::<f32>().unwrap(), vec![0.75, 1.0]);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn for_loop<P, F: TraceFn<P>>(f: F, operands: impl ArgsFor<P>) -> Result<<F::Out as Output>::With<Tensor>> {
    for_loop_with(f, operands, ScanOptions::default())
}

/// [`for_loop`] with options (`reverse`, or a `length` when `f` takes no arguments).
#[track_caller]
pub fn for_loop_with<P, F: TraceFn<P>>(
    f: F,
    operands: impl ArgsFor<P>,
    options: ScanOptions,
) -> Result<<F::Out as Output>::With<Tensor>> {
    let loc = caller();
    let trees = operands.into_trees();
    let tys = trees.iter().map(types).collect::<Result<Vec<_>>>()?;
    let all = Tree::Tuple(tys.clone());
    let length = loop_length("for_loop", &all, options.length, &loc)?;
    let slice_tys: Vec<Tree<TensorType>> = tys.iter().map(slices).collect();
    let traced = trace(&f, &slice_tys, &loc)?;
    let out = output_types(&traced)?;
    let xs: Vec<Tensor> = trees.into_iter().flat_map(Tree::into_leaves).collect();
    let (_, ys) = run_scan(&traced, Vec::new(), xs, length, options.reverse, &loc)?;
    <F::Out as Output>::rebuild(out.structure().unflatten(ys)?).ok_or_else(|| structure_error("for_loop"))
}

/// `for i in lower..upper { val = body(i, val) }`, as `jax.lax.fori_loop` with static bounds:
/// a scan whose carry is the index (an `i32` scalar tensor) and `val`, so it differentiates in
/// both modes. Returns the final `val`.
///
/// ```
/// use gradjit::{fori_loop, Tensor};
/// // 1 + 2 + ... + 4, with the index converted to f32.
/// let total = fori_loop(1, 5, |i: Tensor, acc: Tensor| &acc + &i.astype(gradjit::DType::F32), 0.0f32)?;
/// assert_eq!(total.item()?, 10.0);
/// # Ok::<(), gradjit::Error>(())
/// ```
#[track_caller]
pub fn fori_loop<C, F>(
    lower: i32,
    upper: i32,
    body: F,
    init: impl ArgsFor<(C,)>,
) -> Result<<F::Out as Output>::With<Tensor>>
where
    C: Param,
    F: TraceFn<(Tensor, C)>,
{
    let loc = caller();
    let init = init.into_trees().pop().unwrap_or(Tree::None);
    let init_ty = types(&init)?;
    let index_ty = Tree::Leaf(TensorType::scalar(DType::I32));
    let mut traced = trace(&body, &[index_ty, init_ty.clone()], &loc)?;
    let out = output_types(&traced)?;
    if out != init_ty {
        let message = format!(
            "the body returns {} for a value of types {}; they must be the same",
            describe(&out),
            describe(&init_ty)
        );
        return Err(error("fori_loop", message, &loc));
    }
    count_steps(&mut traced, &loc)?;
    let steps = usize::try_from(i64::from(upper) - i64::from(lower)).unwrap_or(0);
    let mut carry = vec![Tensor::scalar(lower)];
    carry.extend(init.into_leaves());
    let (mut last, _) = run_scan(&traced, carry, Vec::new(), steps, false, &loc)?;
    let values = last.split_off(1);
    <F::Out as Output>::rebuild(init_ty.structure().unflatten(values)?).ok_or_else(|| structure_error("fori_loop"))
}

/// Makes the index parameter of a traced `fori_loop` body a carry: the body also returns
/// `index + 1`, first.
fn count_steps(t: &mut TracedFunction, loc: &Loc) -> Result<()> {
    let f = &mut t.function;
    let i = f.params[0];
    let shape_error = |e| Error::from_shape(e, loc.clone());
    let one = f.push1(Prim::splat(1.0, &TensorType::scalar(DType::I32)), &[], None).map_err(shape_error)?;
    let next = f.push1(Prim::Binary(BinaryOp::Add), &[i, one], None).map_err(shape_error)?;
    f.outputs.insert(0, next);
    t.out_tree = Tree::Tuple(vec![Tree::Leaf(()), t.out_tree.as_tree().clone()]).structure();
    Ok(())
}

/// Runs `t` as a scan body: its explicit parameters are the carry leaves (as many as `init`),
/// then the slices of `xs`; its explicit outputs the carry leaves, then the slices of the
/// stacked outputs. Returns the final carry and the stacked outputs, and writes back the
/// variables the body wrote.
pub(crate) fn run_scan(
    t: &TracedFunction,
    init: Vec<Tensor>,
    xs: Vec<Tensor>,
    length: usize,
    reverse: bool,
    loc: &Loc,
) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
    let nk = init.len();
    let mut closure = Closure::default();
    closure.add(t, true);
    let carried: Vec<Var> = t.var_outputs().to_vec();
    let r = rebind(t, &closure, &carried);
    let is_carried: Vec<bool> = closure.vars.iter().map(|v| carried.contains(v)).collect();
    let carried_at: Vec<usize> = carried.iter().filter_map(|v| closure.vars.iter().position(|w| w == v)).collect();

    // Parameters: consts (variables only read, captures), carries (explicit, written
    // variables), slices. Outputs: carries (explicit, written variables), stacked outputs.
    let (var_values, captures) = closure.operands(loc);
    let mut params: Vec<Value> = Vec::new();
    let mut operands: Vec<Tensor> = Vec::new();
    for (k, _) in is_carried.iter().enumerate().filter(|(_, &c)| !c) {
        params.push(r.var_params[k]);
        operands.push(var_values[k].clone());
    }
    params.extend_from_slice(&r.capture_params);
    operands.extend(captures);
    let num_consts = params.len();
    params.extend_from_slice(&r.explicit_params[..nk]);
    operands.extend(init);
    for &k in &carried_at {
        params.push(r.var_params[k]);
        operands.push(var_values[k].clone());
    }
    params.extend_from_slice(&r.explicit_params[nk..]);
    operands.extend(xs);
    let mut outputs: Vec<Value> = r.explicit_outputs[..nk].to_vec();
    outputs.extend_from_slice(&r.written_outputs);
    outputs.extend_from_slice(&r.explicit_outputs[nk..]);
    let explicit_ys = r.explicit_outputs.len() - nk;
    let body = r.finish(params, outputs);

    let num_carry = nk + carried.len();
    let prim = Prim::Scan { length, reverse, num_consts, num_carry, body: body.into() };
    let mut outs = apply(prim, &operands, loc)?;
    let ys = outs.split_off(num_carry);
    let finals = outs.split_off(nk);
    write_back(&carried, &finals, loc)?;
    debug_assert_eq!(ys.len(), explicit_ys);
    Ok((outs, ys))
}

/// The number of steps: the common leading dimension of the scanned arrays, checked against
/// `length` if given.
fn loop_length(op: &str, xs: &Tree<TensorType>, length: Option<usize>, loc: &Loc) -> Result<usize> {
    let mut found: Option<usize> = length;
    for t in xs.leaves() {
        let Some(&n) = t.dims().first() else {
            return Err(error(op, format!("cannot loop over the leading axis of the scalar {t}"), loc));
        };
        match found {
            Some(m) if m != n => {
                let message = match length {
                    Some(l) => format!("length {l} was given, but a scanned array is {t}"),
                    None => format!("the scanned arrays disagree on their leading axis: {}", describe(xs)),
                };
                return Err(error(op, message, loc));
            }
            _ => found = Some(n),
        }
    }
    found.ok_or_else(|| error(op, "nothing to loop over: give a length", loc))
}

/// The types of the slices of arrays of types `xs` along their leading axis.
fn slices(xs: &Tree<TensorType>) -> Tree<TensorType> {
    xs.map(|t| TensorType::new(t.dtype, Shape::new(t.dims().get(1..).unwrap_or(&[]))))
}

fn structure_error(op: &str) -> Error {
    Error::Structure(format!("{op}: the results do not fit the body's output type"))
}
