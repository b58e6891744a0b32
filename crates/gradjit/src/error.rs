//! The one error type of the crate.
//!
//! Tensor operations never fail in the user's code: a failing operation records its error
//! (first error wins) and returns a *poisoned* tensor, and the error surfaces as `Err` where a
//! result is read: when a transformation finishes (`make_ir`, `grad`, `jit`) or when an eager
//! tensor is converted to an array. Every error therefore carries the user's source location,
//! taken with `#[track_caller]` at the operation that failed, not at the place it was noticed.

use gradjit_ir::{Loc, ShapeError, TensorType};

/// Everything that can go wrong in gradjit.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// An operation applied to operands of the wrong shape or dtype, or with bad parameters.
    #[error("{op}: {message} (at {loc})")]
    Op {
        /// The operation as the user called it (`add`, `matmul`, `sum`, ...).
        op: String,
        /// What is wrong, naming the shapes and dtypes involved.
        message: String,
        /// Where the user applied the operation.
        loc: Loc,
    },

    /// A tensor of a finished trace was used: a traced value escaped its transformation
    /// (JAX's `UnexpectedTracerError`).
    #[error(
        "a traced tensor escaped its transformation: it was created at {created} and used at {used}, after the \
         transformation that traced it had finished. Traced tensors only live while their function runs: return \
         the value from the function, or write it to a `Var` with `set`, instead of keeping it elsewhere"
    )]
    EscapedTensor {
        /// Where the tensor was created (the operation that produced it).
        created: Loc,
        /// Where it was used after its trace ended.
        used: Loc,
    },

    /// The value of a traced tensor was asked for while tracing (JAX's `ConcretizationTypeError`).
    #[error(
        "the value of the traced tensor {ty} created at {created} is not known while tracing (asked for at {used}); \
         a traced function must compute with tensors, not read their values"
    )]
    Concretization {
        /// The type of the traced tensor.
        ty: TensorType,
        /// Where the tensor was created.
        created: Loc,
        /// Where its value was asked for.
        used: Loc,
    },

    /// A `Var` was given a value of another shape or dtype.
    #[error("cannot write {var} at {loc}: {message}")]
    VarWrite {
        /// The variable, by name (or `var#<id>` if it has none) and type.
        var: String,
        /// What is wrong (BrainPy's wording: `The shape of the original data is (3,), while we got (4,).`).
        message: String,
        /// Where the user wrote it.
        loc: Loc,
    },

    /// The arguments passed to a function do not match its parameters.
    #[error("{0}")]
    Argument(String),

    /// A pytree does not have the structure an operation needs (unflattening with the wrong
    /// number of leaves, zipping trees of different structures).
    #[error("{0}")]
    Structure(String),

    /// Two different variables were collected under one name (BrainPy's wording).
    #[error("Name \"{name}\" conflicts: same name for {new} and {old}.")]
    NameConflict {
        /// The name both variables would have.
        name: String,
        /// The variable met second.
        new: String,
        /// The variable met first.
        old: String,
    },

    /// A differentiation transformation (`grad`, `jacrev`, ...) cannot be applied as configured or
    /// to these arguments.
    #[error("{error} (at {loc})")]
    Grad {
        /// What is wrong.
        error: crate::grad::GradError,
        /// Where the transformed function was called.
        loc: Loc,
    },

    /// The reference interpreter could not evaluate an operation eagerly.
    #[error("{op}: cannot evaluate: {message} (at {loc})")]
    Eval {
        /// The primitive.
        op: String,
        /// The interpreter's message.
        message: String,
        /// Where the user applied the operation.
        loc: Loc,
    },

    /// A file could not be written or read, or does not hold what was asked of it (`npz`).
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// An operation error at `loc`.
    pub fn op(op: impl Into<String>, message: impl Into<String>, loc: Loc) -> Error {
        Error::Op { op: op.into(), message: message.into(), loc }
    }

    /// The source location the error points at, if it has one.
    pub fn loc(&self) -> Option<&Loc> {
        match self {
            Error::Op { loc, .. } | Error::VarWrite { loc, .. } | Error::Eval { loc, .. } => Some(loc),
            Error::Grad { loc, .. } => Some(loc),
            Error::EscapedTensor { used, .. } | Error::Concretization { used, .. } => Some(used),
            Error::Argument(_) | Error::Structure(_) | Error::NameConflict { .. } | Error::File { .. } => None,
        }
    }

    /// A shape-rule error of a primitive, located at `loc` (its own location, if it has one, wins).
    pub(crate) fn from_shape(e: ShapeError, loc: Loc) -> Error {
        Error::Op { op: e.op, message: e.message, loc: e.loc.unwrap_or(loc) }
    }
}

/// `Result` with gradjit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
