//! One module per subcommand, and the arguments they share.

pub mod bench;
pub mod check;
pub mod dump;
pub mod grad;
pub mod run;

use crate::error::CliError;
use crate::inputs::InputSpec;
use crate::program::Program;

/// `--input NAME=VALUE`, repeated.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct InputArgs {
    /// A parameter's value: NAME=NUMBER, NAME=[nested, list], NAME=@file.npy or NAME=random[:SEED].
    /// NAME is the parameter as written in the file, its canonical name (a, b, ...) or its
    /// position (0, 1, ...). A single number fills the parameter's shape.
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<InputSpec>,
}

/// The parameters to differentiate: `--argnums` if given (names or positions), else `default`.
/// Every one must be floating-point or complex, as JAX requires without `allow_int`.
pub fn differentiable_params(
    program: &Program,
    argnums: Option<&str>,
    default: impl FnOnce() -> Vec<usize>,
) -> Result<Vec<usize>, CliError> {
    let wrt = match argnums {
        Some(list) => program.param_list(list)?,
        None => default(),
    };
    if let Some(&p) = wrt.iter().find(|&&p| !program.param_type(p).dtype.is_inexact()) {
        return Err(CliError::usage(format!(
            "cannot differentiate with respect to `{}`: only floating-point and complex parameters have gradients",
            program.describe_param(p)
        )));
    }
    Ok(wrt)
}

/// `x, z, v` for parameter positions.
pub fn param_names(program: &Program, params: &[usize]) -> String {
    params.iter().map(|&p| program.param_names[p].as_str()).collect::<Vec<_>>().join(", ")
}
