//! Where functions run: natively through Cranelift, or in the reference interpreter.

use crate::error::CliError;
use gradjit_codegen::{CompileOptions, Executable};
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

    pub fn name(self) -> &'static str {
        match self {
            Engine::Interpreter => "interpreter",
            Engine::Native => "compiled",
        }
    }

    /// Runs `f` on `args`.
    pub fn run(self, f: &Function, args: &[HostArray]) -> Result<Vec<HostArray>, CliError> {
        match self {
            Engine::Interpreter => interp::run(f, args).map_err(|e| CliError::compute(format!("interpreter: {e}"))),
            Engine::Native => run_compiled(&compile(f, &CompileOptions::default())?, args),
        }
    }
}

/// Compiles `f` with the process-wide compiler (and its cache).
pub fn compile(f: &Function, opts: &CompileOptions) -> Result<Executable, CliError> {
    gradjit_codegen::compile(f, opts).map_err(|e| CliError::compute(format!("cannot compile: {e}")))
}

/// Runs a compiled function.
pub fn run_compiled(exe: &Executable, args: &[HostArray]) -> Result<Vec<HostArray>, CliError> {
    let refs: Vec<&HostArray> = args.iter().collect();
    exe.run(&refs).map_err(|e| CliError::compute(format!("compiled code: {e}")))
}
