//! Why a differentiation transformation refused its function, options or arguments.
//!
//! The messages keep the wording of BrainPy and JAX (users search for it) but name the user's
//! own numbers: argument indices as passed to `argnums`, never internally shifted ones, and
//! variables by name. Each error is wrapped in [`Error::Grad`](crate::Error::Grad) with the
//! source line of the call that failed.

use super::argnums::Argnums;
use gradjit_ir::{DType, Shape};

/// A reason a differentiation transformation cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GradError {
    /// The loss is an array of a shape other than `()` (`(1,)` included, as in JAX).
    #[error(
        "Gradient only defined for scalar-output functions. Output had shape: {shape}. Reduce the output to \
         shape () first, e.g. with `.sum()` or `.mean()`"
    )]
    NonScalarOutput {
        /// The shape of the loss.
        shape: Shape,
    },

    /// The loss is a structure (a tuple, list, dict), not one array.
    #[error(
        "Gradient only defined for scalar-output functions. Output was {structure}. To return auxiliary data \
         with the loss, set `has_aux(true)` and return `(loss, aux)`"
    )]
    StructuredOutput {
        /// The output's structure with the type of each array, in Python's notation: `(f32[], f32[3])`.
        structure: String,
    },

    /// `has_aux` is set but the function did not return a `(loss, aux)` pair.
    #[error(
        "When has_aux=true, the differentiated function must return a (loss, aux) pair (a tuple or list of two), \
         but it returned {structure}. Return the auxiliary data alongside the loss, e.g. `(loss, aux)`"
    )]
    NotAPair {
        /// What it returned, as in [`GradError::StructuredOutput`].
        structure: String,
    },

    /// The loss is an integer or boolean.
    #[error(
        "{transform} requires real-valued outputs (output dtype that is floating-point), but got {dtype}. For \
         differentiation of functions with integer outputs, use `vjp` directly"
    )]
    IntegerOutput {
        /// `grad`, `value_and_grad`, ...
        transform: &'static str,
        /// The loss's dtype.
        dtype: DType,
    },

    /// The loss is complex and `holomorphic` is not set.
    #[error(
        "{transform} requires real-valued outputs (output dtype that is floating-point), but got {dtype}. For \
         holomorphic differentiation, pass `holomorphic(true)`. For differentiation of non-holomorphic functions \
         involving complex outputs, use `vjp` directly"
    )]
    ComplexOutput {
        /// `grad`, `value_and_grad`, ...
        transform: &'static str,
        /// The loss's dtype.
        dtype: DType,
    },

    /// `holomorphic` is set but the loss is real.
    #[error("{transform} with holomorphic=true requires outputs with complex dtype, but got {dtype}")]
    HolomorphicRealOutput {
        /// `grad`, `value_and_grad`, ...
        transform: &'static str,
        /// The loss's dtype.
        dtype: DType,
    },

    /// An integer or boolean input is differentiated without `allow_int`.
    #[error(
        "{transform} requires real- or complex-valued inputs (input dtype that is floating-point or complex), but \
         {input} has dtype {dtype}. If you want to use boolean- or integer-valued inputs, use `vjp` or set \
         `allow_int(true)`"
    )]
    IntegerInput {
        /// `grad`, `value_and_grad`, ...
        transform: &'static str,
        /// Which input: `argument 1`, `argument 0 at ['w']`, ``grad var `Example0.x` ``.
        input: String,
        /// Its dtype.
        dtype: DType,
    },

    /// `holomorphic` is set but a differentiated input is real.
    #[error("{transform} with holomorphic=true requires inputs with complex dtype, but {input} has dtype {dtype}")]
    HolomorphicRealInput {
        /// `grad`, `value_and_grad`, ...
        transform: &'static str,
        /// Which input (see [`GradError::IntegerInput`]).
        input: String,
        /// Its dtype.
        dtype: DType,
    },

    /// A Jacobian or Hessian of an input that is not floating-point or complex.
    #[error(
        "{transform} requires real- or complex-valued inputs (input dtype that is floating-point or complex), but \
         {input} has dtype {dtype}. Convert it with `astype`, or use `vjp`/`jvp`"
    )]
    NonDifferentiableInput {
        /// `jacrev`, `jacfwd`, `hessian`.
        transform: &'static str,
        /// Which input (see [`GradError::IntegerInput`]).
        input: String,
        /// Its dtype.
        dtype: DType,
    },

    /// `argnums` names an argument the function does not have.
    #[error(
        "differentiating with respect to argnums={argnums} requires at least {needed} positional argument{} to be \
         passed by the caller, but got only {given} positional argument{}",
        plural(*needed), plural(*given)
    )]
    ArgnumOutOfRange {
        /// The argnums as the user gave them.
        argnums: Argnums,
        /// The number of arguments the largest argnum needs.
        needed: usize,
        /// The number of arguments passed.
        given: usize,
    },

    /// `argnums` holds a negative number.
    #[error(
        "argnums {argnum} is negative. Gradient transforms do not support negative argnums; use the non-negative \
         index of the positional argument instead"
    )]
    NegativeArgnum {
        /// The negative entry.
        argnum: i64,
    },

    /// `argnums` lists one argument twice.
    #[error("argnums={argnums} lists argument {argnum} more than once; each argument can be differentiated once")]
    DuplicateArgnum {
        /// The argnums as the user gave them.
        argnums: Argnums,
        /// The repeated entry.
        argnum: i64,
    },

    /// `argnums` is empty and there are no `grad_vars`: nothing to differentiate.
    #[error(
        "argnums=[] selects no argument and there are no grad_vars: there is nothing to differentiate. Give at \
         least one argument index, or variables with `grad_vars`"
    )]
    EmptyArgnums,

    /// `reduce_axes` names an axis that no enclosing `vmap` binds.
    #[error(
        "reduce_axes={axes:?} names axis '{axis}', which no enclosing vmap binds: {scope}. reduce_axes sums \
         gradients over the lanes of a vmap with that axis_name"
    )]
    ReduceAxes {
        /// The axes given.
        axes: Vec<String>,
        /// The first one not in scope.
        axis: String,
        /// The axis names in scope, in words.
        scope: String,
    },

    /// A tangent or cotangent passed to `jvp`/`vjp` does not match its primal.
    #[error("{transform}: {mismatch}")]
    TangentMismatch {
        /// `jvp` or `vjp`.
        transform: &'static str,
        /// Which (co)tangent, its type, the type it must have, and why:
        /// `the tangent of argument 0 has type f32[3], but it must have type f32[2] (...)`.
        mismatch: String,
    },
}

/// `"s"` unless `n` is 1.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
