//! `gradjit grad FILE --argnums 0,1`: prints gradients, as `brainpy.math.grad` returns them.
//!
//! Output 0 is the loss (a floating-point scalar). As in BrainPy and JAX, a function with more
//! outputs needs `--has-aux`, which makes outputs 1.. auxiliary data. The gradients come first,
//! in `--argnums` order, then the loss with `--return-value`, then the auxiliary outputs with
//! `--has-aux`: BrainPy's `(grads, loss, aux)`.

use super::{differentiable_params, InputArgs};
use crate::engine::Engine;
use crate::error::CliError;
use crate::inputs::{arguments, Missing};
use crate::program::Program;
use crate::report::{self, Named};
use crate::Outcome;
use std::path::PathBuf;

/// Print the gradient of a function's loss (output 0) with respect to some parameters
#[derive(clap::Args)]
pub struct Args {
    /// IR text file (`-` for standard input)
    pub file: String,
    /// Parameters to differentiate, by name or position, comma-separated [default: 0]
    #[arg(long, value_name = "LIST")]
    pub argnums: Option<String>,
    /// Outputs 1.. are auxiliary data (printed, not differentiated)
    #[arg(long)]
    pub has_aux: bool,
    /// Also print the loss
    #[arg(long)]
    pub return_value: bool,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Run in the reference interpreter instead of compiling
    #[arg(long)]
    pub interpret: bool,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
    /// Also write each result to DIR/<name>.npy (gradients as grad_<param>.npy)
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<Outcome, CliError> {
    let program = Program::load(&args.file)?;
    let f = &program.function;
    let wrt = differentiable_params(&program, args.argnums.as_deref(), || vec![0])?;
    if wrt.is_empty() {
        return Err(CliError::usage(format!("{} has no parameters to differentiate", program.path)));
    }
    match (args.has_aux, f.outputs.len()) {
        (false, n) if n > 1 => {
            return Err(CliError::usage(format!(
                "{} returns {n} outputs; pass --has-aux to treat outputs 1.. as auxiliary data",
                program.path
            )))
        }
        (true, n) if n < 2 => {
            return Err(CliError::usage(format!(
                "--has-aux needs a function with auxiliary outputs after the loss, but {} returns {n}",
                program.path
            )))
        }
        _ => {}
    }
    let inputs = arguments(&program, &args.inputs.inputs, Missing::Error)?;
    let grad_fn = gradjit_autodiff::grad(f, &wrt).map_err(CliError::compute)?;
    let results = Engine::from_flag(args.interpret).run(&grad_fn, &inputs.values)?;

    let n_out = f.outputs.len();
    let grads: Vec<Named> = wrt
        .iter()
        .zip(&results[n_out..])
        .map(|(&p, a)| Named::new(format!("grad_{}", program.param_names[p]), a))
        .collect();
    let loss = args.return_value.then(|| Named::new(program.output_names[0].clone(), &results[0]));
    let aux: Vec<Named> = match args.has_aux {
        true => (1..n_out).map(|i| Named::new(program.output_names[i].clone(), &results[i])).collect(),
        false => Vec::new(),
    };

    let mut out = String::new();
    if args.json {
        out.push_str(&format!("{{\n  \"grads\": {}", report::json_list(&grads)));
        if let Some(l) = &loss {
            out.push_str(&format!(",\n  \"loss\": {}", report::json(l)));
        }
        if args.has_aux {
            out.push_str(&format!(",\n  \"aux\": {}", report::json_list(&aux)));
        }
        out.push_str("\n}\n");
    } else {
        for n in grads.iter().chain(&loss).chain(&aux) {
            out.push_str(&report::text(n));
            out.push('\n');
        }
    }
    if let Some(dir) = &args.save {
        let all: Vec<Named> = grads.into_iter().chain(loss).chain(aux).collect();
        for path in report::save_npy(dir, &all)? {
            eprintln!("wrote {path}");
        }
    }
    Ok(Outcome::ok(out))
}
