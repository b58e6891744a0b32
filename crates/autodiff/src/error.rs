//! The errors of the differentiation transforms.

use gradjit_ir::{ShapeError, TensorType};

/// Why a function could not be differentiated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdError {
    /// `grad` needs a loss of one element; output 0 has another shape.
    #[error("grad is only defined for scalar-output functions, but output 0 is {ty}")]
    NonScalarLoss { ty: TensorType },
    /// `grad` needs a real (or, holomorphically, complex) loss.
    #[error("grad needs a floating-point or complex loss, but output 0 is {ty}; use vjp for other outputs")]
    NonDifferentiableLoss { ty: TensorType },
    /// `grad` was given a function without outputs.
    #[error("grad needs a function with at least one output (the loss)")]
    NoLoss,
    /// A parameter index in `wrt` does not exist.
    #[error("cannot differentiate with respect to parameter {index}: the function has {num_params} parameter(s)")]
    BadArgnum { index: usize, num_params: usize },
    /// A parameter index appears twice in `wrt`.
    #[error("parameter {index} appears more than once in the differentiation indices")]
    DuplicateArgnum { index: usize },
    /// An output index given to `select_outputs` does not exist.
    #[error("output {index} does not exist: the function has {num_outputs} output(s)")]
    BadOutput { index: usize, num_outputs: usize },
    /// Jacobians need inexact inputs (an integer input has no tangent space to span).
    #[error("jacobians need floating-point or complex inputs, but parameter {index} is {ty}")]
    NonDifferentiableInput { index: usize, ty: TensorType },
    /// Transposition met a primitive that is not linear in its linear operands.
    #[error("cannot transpose `{prim}`: it is not linear in operand(s) ({operands})")]
    NotLinear { prim: String, operands: String },
    /// An output that should not depend on the linear inputs does.
    #[error("output {index} ({ty}) depends on the linear inputs, so it cannot be passed through a transpose")]
    LinearOutput { index: usize, ty: TensorType },
    /// Reverse mode met a `while` loop that carries derivatives (JAX's error for `while_loop`).
    #[error(
        "reverse-mode differentiation does not work for while_loop: its number of steps is known only once it has \
         run, so the steps to differentiate backwards cannot be saved. Use scan, or fori_loop with static bounds \
         (which becomes a scan); forward mode (jvp) does work"
    )]
    WhileLoopReverse,
    /// Forward mode met a `custom_vjp_call`, which has a reverse-mode rule only (as in JAX).
    #[error(
        "forward-mode differentiation (jvp, jacfwd, hessians) does not work through a custom_vjp function: its rule \
         only says how to pull cotangents back; give the function a custom_jvp rule instead"
    )]
    CustomVjpForward,
    /// The input function uses a value before defining it (the verifier rejects such functions).
    #[error("value #{value} is used before it is defined; verify the function before differentiating it")]
    Undefined { value: usize },
    /// `vmap` was given a list of axes (`in_axes` or `out_axes`) of the wrong length.
    #[error("vmap {what} has {got} entr(ies), but the function has {expected} {items}")]
    VmapAxesCount { what: &'static str, items: &'static str, expected: usize, got: usize },
    /// An `in_axes`/`out_axes` entry out of range for its value.
    #[error("vmap {what}[{index}] = {axis} is out of range for {ty}: the mapped axis goes at 0..={rank}")]
    VmapAxisRange { what: &'static str, index: usize, axis: usize, ty: TensorType, rank: usize },
    /// An output with `out_axes` `None` varies along the mapped axis.
    #[error(
        "vmap out_axes[{index}] is None, but output {index} depends on a mapped input, so it varies along the mapped \
         axis; give it an axis"
    )]
    VmapOutputMapped { index: usize },
    /// A primitive without a batching rule.
    #[error("vmap has no batching rule for `{prim}`")]
    NoBatchingRule { prim: String },
    /// A derivative rule built an ill-typed equation (a bug in a rule, reported with the shapes involved).
    #[error("while differentiating: {0}")]
    Shape(#[from] ShapeError),
}
