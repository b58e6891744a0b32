//! `gradjit run FILE --input x=… …`: runs a function and prints its outputs.

use super::InputArgs;
use crate::engine::Engine;
use crate::error::CliError;
use crate::inputs::{arguments, Missing};
use crate::program::Program;
use crate::report::{self, Named};
use crate::Outcome;
use std::path::PathBuf;

/// Run a function (compiled, or in the reference interpreter) and print its outputs like numpy
#[derive(clap::Args)]
pub struct Args {
    /// IR text file (`-` for standard input)
    pub file: String,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Run in the reference interpreter instead of compiling
    #[arg(long)]
    pub interpret: bool,
    /// Print the outputs as JSON
    #[arg(long)]
    pub json: bool,
    /// Also write each output to DIR/<name>.npy
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<Outcome, CliError> {
    let program = Program::load(&args.file)?;
    let inputs = arguments(&program, &args.inputs.inputs, Missing::Error)?;
    let outputs = Engine::from_flag(args.interpret).run(&program.function, &inputs.values)?;
    let named: Vec<Named> = program.output_names.iter().zip(&outputs).map(|(n, a)| Named::new(n.clone(), a)).collect();
    let mut out = String::new();
    if args.json {
        out.push_str(&format!("{{\n  \"outputs\": {}\n}}\n", report::json_list(&named)));
    } else {
        for n in &named {
            out.push_str(&report::text(n));
            out.push('\n');
        }
    }
    if let Some(dir) = &args.save {
        for path in report::save_npy(dir, &named)? {
            eprintln!("wrote {path}");
        }
    }
    Ok(Outcome::ok(out))
}
