//! The reference interpreter: the oracle every other stage (autodiff, constant folding, the
//! Cranelift backend, eager mode) is tested against.
//!
//! [`apply`] evaluates one primitive on host arrays; [`run`] evaluates a [`Function`] equation
//! by equation. Both check types with [`shape_rules::infer`] first, and neither panics on any
//! input: a bad operand is an [`InterpError`], and every data-dependent corner case (integer
//! division by zero, out-of-range indices) has a defined result, listed below.
//!
//! Kernels are written for clarity, not speed: one plain loop per primitive, generic over the
//! element types of `num.rs`, with data movement done on raw bytes (`layout.rs`).
//!
//! # Semantics
//!
//! **Arithmetic is done in the operands' dtype.** f32 math uses Rust's `f32` methods (no
//! detour through f64, except `erf`); complex math is `num_complex`'s.
//!
//! | operation | rule |
//! |---|---|
//! | `add sub mul neg abs` on ints | wrapping (two's complement); `abs(MIN) = MIN` |
//! | `div` on ints | truncating; `x / 0 = -1`, `MIN / -1 = MIN` (XLA's choice) |
//! | `rem` | floats: C `fmod` (sign of the dividend); ints: truncating, `x % 0 = x`, `MIN % -1 = 0` |
//! | `pow` | floats: `powf`; complex: `exp(y ln x)`, `0^0 = 1`, `0^y = 0` if `re y > 0`; ints: by squaring, wrapping; a negative exponent gives `1/x^n` truncated: 0 unless `x = ±1` |
//! | `integer_pow[y]` | floats, complex: JAX's multiplication sequence (binary powering), `1/x^|y|` for `y < 0`, `x^0 = 1`; ints: as `pow` |
//! | `max min` | NaN if either operand is NaN (as `jax.lax.max`); `max(-0, +0) = +0`, `min(-0, +0) = -0` |
//! | `sign` | `-1, 0, 1`; floats keep the sign of zero and NaN; complex: `z/|z|`, `0` for `0` |
//! | `round` | half away from zero |
//! | `logistic` | `1/(1+exp(-x))`, as `exp(x)/(1+exp(x))` for `x < 0` (no overflow) |
//! | `erf` | fdlibm's algorithm in f64 (< 1 ulp); f32 by rounding the f64 result |
//! | `atan2(x, y)` | `atan(x/y)` with the quadrant of `(y, x)`: the first operand is the ordinate |
//! | `shift_right_logical` | on the unsigned bits; a shift of at least the bit width gives 0 |
//! | `expm1 log1p` on complex | cancellation-free formulas (see `elementwise.rs`) |
//! | comparisons | IEEE (NaN compares unequal to everything); `false < true`; complex: `eq`/`ne` only |
//! | `convert_element_type` | float → int truncates toward zero and saturates, NaN → 0 (Rust `as`); → bool is `x != 0`; complex → real drops the imaginary part; int → float rounds to nearest |
//! | `gather scatter_add` | indices clamped into `0..n` of the axis; `scatter_add` adds updates in row-major order, repeated indices accumulate; on `bool` it is `or` |
//! | `dynamic_slice dynamic_update_slice` | start indices clamped into `0..=dim-size` so the block fits |
//! | `reduce_*` | fold from the identity in row-major order: sum of nothing is 0, product 1, max `-inf`/`MIN`/`false`, min `+inf`/`MAX`/`true`; max/min propagate NaN |
//! | `argmax argmin` | first occurrence of the extreme; the first NaN counts as the extreme (numpy, JAX) |
//! | `dot_general` | sum over contracting indices in row-major order from 0, in the dtype |
//! | `random_bits` | Threefry-2x32-20 (see [`random`]) |
//! | `stop_gradient` | identity; `call`: runs the body |
//! | `scan` | runs the body `length` times, slicing `xs` and stacking `ys` along the leading axis (last to first when `reverse`) |
//! | `while` | runs the body while the condition holds (forever, if it always does) |
//! | `cond` | runs the branch the index selects, clamped into range (`false`, `true` are 0, 1) |
//! | `custom_jvp_call custom_vjp_call` | run the primal body; `custom_lin` is an error (it only exists to be transposed) |
//! | `psum pmean pmax pmin` | an error: their axis name is bound only by a `vmap`, which rewrites them |

mod control;
mod dot;
mod elementwise;
mod erf;
mod indexing;
mod layout;
mod num;
pub mod random;
mod reduce;
mod shape_ops;

pub use control::branch_index;
pub use erf::erf;

use crate::array::HostArray;
use crate::dtype::TensorType;
use crate::error::ShapeError;
use crate::function::Function;
use crate::prim::Prim;
use crate::shape_rules::{self, OutTypes};
use smallvec::{smallvec, SmallVec};

/// Why the interpreter could not evaluate a primitive or a function.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InterpError {
    /// Operands that do not fit the primitive's shape and dtype rule.
    #[error("type error: {0}")]
    Type(#[from] ShapeError),
    /// `run` was given the wrong number of arguments.
    #[error("the function takes {expected} argument(s), got {actual}")]
    ArgumentCount { expected: usize, actual: usize },
    /// `run` was given an argument of the wrong type.
    #[error("argument {index} has type {actual}, expected {expected}")]
    ArgumentType { index: usize, expected: TensorType, actual: TensorType },
    /// The function reads a value that no parameter or earlier equation defines (it does not verify).
    #[error("value %{value} is read before it is defined (run the verifier for details)")]
    Undefined { value: usize },
    /// An equation declares outputs other than what its primitive produces (it does not verify).
    #[error("the equation declares output type(s) ({declared}) but {prim} produces ({actual})")]
    OutputMismatch { prim: &'static str, declared: String, actual: String },
    /// A kernel that does not exist for these operand types even though the shape rule accepts
    /// them, or that disagrees with the shape rule: a bug in this crate.
    #[error("internal error: the interpreter has no {prim} kernel giving ({expected}) for operands ({operands})")]
    NoKernel { prim: &'static str, operands: String, expected: String },
    /// `custom_lin` was evaluated: it only exists to be transposed (see [`Prim::CustomLin`]).
    #[error(
        "custom_lin cannot be evaluated: it is the linearization of a custom_vjp function, which only reverse-mode \
         differentiation can use (forward mode through custom_vjp is not defined, as in JAX)"
    )]
    CustomLin,
    /// A collective (`psum` and kin) was evaluated outside any `vmap` binding its axis name.
    #[error("{prim} over unbound axis name '{axis_name}': collectives only have a meaning inside a vmap with that axis_name")]
    UnboundAxisName { prim: &'static str, axis_name: String },
    /// An error inside equation `index` of a function.
    #[error("equation {index} ({prim}): {error}")]
    InEquation { index: usize, prim: &'static str, error: Box<InterpError> },
}

/// `a, b, c` for a list of types.
fn type_list<'a>(tys: impl IntoIterator<Item = &'a TensorType>) -> String {
    tys.into_iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

/// Evaluates `prim` on `inputs`, after checking their types with the primitive's shape rule.
pub fn apply(prim: &Prim, inputs: &[&HostArray]) -> Result<SmallVec<[HostArray; 1]>, InterpError> {
    // The shape rule reads the bodies' signatures; make sure they name values of the bodies.
    for body in prim.bodies() {
        if let Some(v) = body.params.iter().chain(&body.outputs).find(|v| v.index() >= body.num_values()) {
            return Err(InterpError::Undefined { value: v.index() });
        }
    }
    let in_tys: SmallVec<[&TensorType; 3]> = inputs.iter().map(|a| a.ty()).collect();
    let out_tys = shape_rules::infer(prim, &in_tys)?;
    let no_kernel = || InterpError::NoKernel {
        prim: prim.name(),
        operands: type_list(in_tys.iter().copied()),
        expected: type_list(&out_tys),
    };
    let outs = eval(prim, inputs, &out_tys)?.ok_or_else(no_kernel)?;
    // A kernel must produce exactly what the shape rule promised: the rest of the compiler
    // trusts the rule, so a disagreement is reported, never returned as data.
    if outs.len() != out_tys.len() || outs.iter().zip(&out_tys).any(|(a, t)| a.ty() != t) {
        return Err(no_kernel());
    }
    Ok(outs)
}

/// Dispatches to the kernel of `prim`; `Ok(None)` when there is no kernel for these dtypes.
/// `out` holds the result types inferred by the shape rule.
fn eval(prim: &Prim, ins: &[&HostArray], out: &OutTypes) -> Result<Option<SmallVec<[HostArray; 1]>>, InterpError> {
    match prim {
        Prim::Call { body } | Prim::CustomJvp { body, .. } | Prim::CustomVjp { body, .. } => {
            return control::call(body, ins).map(Some)
        }
        Prim::Scan { length, reverse, num_consts, num_carry, body } => {
            return control::scan(*length, *reverse, *num_consts, *num_carry, body, ins, out).map(Some)
        }
        Prim::While { cond_consts, body_consts, cond, body } => {
            return control::while_loop(*cond_consts, *body_consts, cond, body, ins).map(Some)
        }
        Prim::Cond { branches } => return control::cond(branches, ins).map(Some),
        Prim::CustomLin { .. } => return Err(InterpError::CustomLin),
        Prim::Collective { axis_name, .. } => {
            return Err(InterpError::UnboundAxisName { prim: prim.name(), axis_name: axis_name.to_string() })
        }
        _ => {}
    }
    // Every other primitive has one result (and the shape rule has checked the operand count).
    let Some(ty) = out.first() else { return Ok(None) };
    let one = |a: Option<HostArray>| Ok(a.map(|a| smallvec![a]));
    match prim {
        Prim::Unary(op) => one(elementwise::unary(*op, ins[0])),
        Prim::Binary(op) => one(elementwise::binary(*op, ins[0], ins[1])),
        Prim::Compare(op) => one(elementwise::compare(*op, ins[0], ins[1])),
        Prim::IntegerPow { y } => one(elementwise::integer_pow(ins[0], *y)),
        Prim::Select => one(elementwise::select(ins[0], ins[1], ins[2])),
        Prim::ConvertElementType { dtype } => one(Some(elementwise::convert_element_type(ins[0], *dtype))),
        Prim::BroadcastInDim { dims, .. } => one(Some(shape_ops::broadcast_in_dim(ins[0], ty, dims))),
        Prim::Reshape { .. } => one(Some(shape_ops::reshape(ins[0], ty))),
        Prim::Transpose { perm } => one(Some(shape_ops::transpose(ins[0], ty, perm))),
        Prim::Slice { start, stride, .. } => one(Some(shape_ops::slice(ins[0], ty, start, stride))),
        Prim::Pad { low, interior, value, .. } => one(Some(shape_ops::pad(ins[0], ty, low, interior, *value))),
        Prim::Concatenate { axis } => one(Some(shape_ops::concatenate(ins, ty, *axis))),
        Prim::Rev { axes } => one(Some(shape_ops::rev(ins[0], ty, axes))),
        Prim::Gather { axis } => one(indexing::gather(ins[0], ins[1], ty, *axis)),
        Prim::ScatterAdd { axis } => one(indexing::scatter_add(ins[0], ins[1], ins[2], *axis)),
        Prim::DynamicSlice { .. } => one(indexing::dynamic_slice(ins[0], &ins[1..], ty)),
        Prim::DynamicUpdateSlice => one(indexing::dynamic_update_slice(ins[0], ins[1], &ins[2..])),
        Prim::Reduce { op, axes } => one(reduce::reduce(*op, ins[0], axes, ty)),
        Prim::Arg { op, axis, .. } => one(reduce::arg(*op, ins[0], *axis, ty)),
        Prim::DotGeneral(dims) => one(dot::dot_general(ins[0], ins[1], dims, ty)),
        Prim::Iota { axis, .. } => one(Some(iota(ty, *axis))),
        Prim::Constant(lit) => one(Some(lit.to_array())),
        Prim::StopGradient => one(Some(ins[0].clone())),
        Prim::RandomBits { .. } => one(random::random_bits(ins[0], ty)),
        // Evaluated above.
        Prim::Call { .. }
        | Prim::Scan { .. }
        | Prim::While { .. }
        | Prim::Cond { .. }
        | Prim::CustomJvp { .. }
        | Prim::CustomVjp { .. }
        | Prim::CustomLin { .. }
        | Prim::Collective { .. } => Ok(None),
    }
}

/// `0, 1, 2, …` along `axis`, converted to the dtype.
fn iota(ty: &TensorType, axis: usize) -> HostArray {
    let mut out = HostArray::zeros(ty.dtype, ty.shape.clone());
    let mut i = 0;
    layout::for_each_index(ty.dims(), |idx| {
        out.set(i, crate::array::Scalar::I64(idx[axis] as i64));
        i += 1;
    });
    out
}

/// Runs `f` on `args`: each equation in order, each value freed after its last use.
pub fn run(f: &Function, args: &[HostArray]) -> Result<Vec<HostArray>, InterpError> {
    if args.len() != f.params.len() {
        return Err(InterpError::ArgumentCount { expected: f.params.len(), actual: args.len() });
    }
    for (index, (arg, &p)) in args.iter().zip(&f.params).enumerate() {
        let expected = value_type(f, p)?;
        if arg.ty() != expected {
            return Err(InterpError::ArgumentType { index, expected: expected.clone(), actual: arg.ty().clone() });
        }
    }

    let free_after = free_points(f);
    let mut env: Vec<Option<HostArray>> = vec![None; f.num_values()];
    for (arg, &p) in args.iter().zip(&f.params) {
        env[p.index()] = Some(arg.clone());
    }
    for (index, eqn) in f.eqns.iter().enumerate() {
        let at_eqn =
            |error: InterpError| InterpError::InEquation { index, prim: eqn.prim.name(), error: Box::new(error) };
        let outs = {
            let inputs = eqn
                .inputs
                .iter()
                .map(|v| env.get(v.index()).and_then(Option::as_ref).ok_or(InterpError::Undefined { value: v.index() }))
                .collect::<Result<SmallVec<[&HostArray; 3]>, _>>()
                .map_err(at_eqn)?;
            apply(&eqn.prim, &inputs).map_err(at_eqn)?
        };
        check_declared(f, eqn.prim.name(), &eqn.outputs, &outs).map_err(at_eqn)?;
        for (&v, a) in eqn.outputs.iter().zip(outs) {
            env[v.index()] = Some(a);
        }
        for v in eqn.inputs.iter().chain(&eqn.outputs) {
            if free_after[v.index()] == Some(index) {
                env[v.index()] = None;
            }
        }
    }
    f.outputs
        .iter()
        .map(|v| env.get(v.index()).cloned().flatten().ok_or(InterpError::Undefined { value: v.index() }))
        .collect()
}

/// The type of value `v`, or an error if `v` is not a value of `f`.
fn value_type(f: &Function, v: crate::function::Value) -> Result<&TensorType, InterpError> {
    if v.index() < f.num_values() {
        Ok(f.ty(v))
    } else {
        Err(InterpError::Undefined { value: v.index() })
    }
}

/// For each value, the equation after which it is dead: its last reader, or its definition if
/// nothing reads it. `None` for function outputs (and parameters nothing reads), kept to the end.
fn free_points(f: &Function) -> Vec<Option<usize>> {
    let mut free_after = vec![None; f.num_values()];
    for (i, e) in f.eqns.iter().enumerate() {
        for v in e.outputs.iter().chain(&e.inputs) {
            if let Some(slot) = free_after.get_mut(v.index()) {
                *slot = Some(i);
            }
        }
    }
    for v in &f.outputs {
        if let Some(slot) = free_after.get_mut(v.index()) {
            *slot = None;
        }
    }
    free_after
}

/// Checks the arrays an equation produced against the types it declares.
fn check_declared(
    f: &Function,
    prim: &'static str,
    declared: &[crate::function::Value],
    outs: &[HostArray],
) -> Result<(), InterpError> {
    let declared_tys = declared.iter().map(|&v| value_type(f, v)).collect::<Result<Vec<_>, _>>()?;
    if declared_tys.len() != outs.len() || declared_tys.iter().zip(outs).any(|(&t, a)| t != a.ty()) {
        return Err(InterpError::OutputMismatch {
            prim,
            declared: type_list(declared_tys),
            actual: type_list(outs.iter().map(HostArray::ty)),
        });
    }
    Ok(())
}
