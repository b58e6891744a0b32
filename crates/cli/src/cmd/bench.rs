//! `gradjit bench FILE`: compile time, steady-state time per call and throughput.

use super::InputArgs;
use crate::error::CliError;
use crate::Outcome;

/// Time compilation and steady-state calls of a function
#[derive(clap::Args)]
pub struct Args {
    /// IR text file (`-` for standard input)
    pub file: String,
    #[command(flatten)]
    pub inputs: InputArgs,
}

pub fn run(_args: Args) -> Result<Outcome, CliError> {
    Err(CliError::compute("bench is not available: codegen not built yet"))
}
