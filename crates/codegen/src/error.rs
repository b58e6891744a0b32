//! Errors of compilation and execution. Nothing in this crate panics on user input: every unsupported
//! case and every Cranelift failure comes back as a [`CodegenError`].

use gradjit_ir::{InterpError, TensorType, VerifyError};

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The function does not pass the IR verifier.
    #[error("the function does not verify: {0}")]
    Verify(Box<VerifyError>),
    #[error(transparent)]
    Isa(#[from] crate::isa::IsaError),
    /// Cranelift rejected a kernel; `message` is its `pretty_error` listing.
    #[error("Cranelift could not compile kernel `{kernel}`:\n{message}")]
    Cranelift { kernel: String, message: String },
    /// The JIT module failed to declare, define or link a function.
    #[error("JIT module error in `{kernel}`: {message}")]
    Module { kernel: String, message: String },
    /// A construct this backend does not compile.
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the function takes {expected} argument(s), got {actual}")]
    ArgumentCount { expected: usize, actual: usize },
    #[error("argument {index} has type {actual}, expected {expected}")]
    ArgumentType { index: usize, expected: TensorType, actual: TensorType },
    /// A step run by the reference interpreter failed.
    #[error("equation {eqn} ({prim}): {error}")]
    Interp { eqn: usize, prim: &'static str, error: Box<InterpError> },
    /// Writing the `GRADJIT_DUMP` files failed.
    #[error("cannot write dump files to {dir}: {error}")]
    Dump { dir: String, error: std::io::Error },
}

impl From<VerifyError> for CodegenError {
    fn from(e: VerifyError) -> Self {
        CodegenError::Verify(Box::new(e))
    }
}
