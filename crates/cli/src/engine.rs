//! Where functions run: natively through Cranelift, or in the reference interpreter.

use crate::error::CliError;
use gradjit_ir::{interp, Function, HostArray};

/// An executor of functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The reference interpreter (`gradjit_ir::interp`): slow, and the oracle.
    Interpreter,
    /// Native code compiled by `gradjit-codegen`.
    Native,
}

impl Engine {
    /// The engine that `--interpret` selects.
    pub fn from_flag(interpret: bool) -> Engine {
        if interpret {
            Engine::Interpreter
        } else {
            Engine::Native
        }
    }

    /// Runs `f` on `args`.
    pub fn run(self, f: &Function, args: &[HostArray]) -> Result<Vec<HostArray>, CliError> {
        match self {
            Engine::Interpreter => interp::run(f, args).map_err(|e| CliError::compute(format!("interpreter: {e}"))),
            Engine::Native => {
                Err(CliError::compute("compiled execution is not available: codegen not built yet (use --interpret)"))
            }
        }
    }
}
