//! The `gradjit` command line: look inside gradjit's pipeline, in the spirit of
//! `jax.make_jaxpr`, XLA's dump flags and Cranelift's `clif-util`.
//!
//! It works on functions written in the IR text format (`*.gj`, see `docs/ir-format.md`):
//!
//! - `gradjit dump FILE` prints each stage: traced, grad, simplified, and the native stages;
//! - `gradjit run FILE --input x=…` runs the function and prints its outputs like numpy;
//! - `gradjit grad FILE --argnums 0,1` prints gradients;
//! - `gradjit check FILE` compares autodiff with central finite differences in f64 and the
//!   compiled function with the interpreter;
//! - `gradjit bench FILE` times compilation and calls.
//!
//! Each subcommand is a module of [`cmd`]; exit codes are listed in [`error`]. Nothing the user
//! types makes the binary panic; if a bug does, the panic hook says it is a bug and the exit
//! code is 70.

mod cmd;
mod dot;
mod dump_dir;
mod engine;
mod error;
mod inputs;
mod npy;
mod program;
mod promote;
mod report;
mod rng;

use clap::{Parser, Subcommand};
use error::{CliError, EXIT_INTERNAL};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gradjit",
    version,
    about = "Dump, run, differentiate, check and time gradjit IR functions",
    after_help = "Functions are IR text files (*.gj; `-` reads standard input). Exit codes: 0 success, \
                  1 check failed, 2 bad usage or malformed input, 3 cannot differentiate/compile/evaluate, \
                  70 internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Dump(cmd::dump::Args),
    Run(cmd::run::Args),
    Grad(cmd::grad::Args),
    Check(cmd::check::Args),
    Bench(cmd::bench::Args),
}

/// What a successful command prints and how it exits.
pub struct Outcome {
    pub stdout: String,
    pub code: u8,
}

impl Outcome {
    pub fn ok(stdout: String) -> Outcome {
        Outcome { stdout, code: 0 }
    }
}

fn dispatch(command: Command) -> Result<Outcome, CliError> {
    match command {
        Command::Dump(args) => cmd::dump::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Grad(args) => cmd::grad::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Bench(args) => cmd::bench::run(args),
    }
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "gradjit: internal error: {info}\n\
             This is a bug in gradjit, not in your input; please report it with the command that caused it."
        );
    }));
    let cli = Cli::parse();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli.command))) {
        Ok(Ok(outcome)) => match std::io::stdout().lock().write_all(outcome.stdout.as_bytes()) {
            // A closed pipe (`gradjit dump f.gj | head`) is not an error worth reporting.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                let e = CliError::io("<stdout>", e);
                eprintln!("error: {e}");
                e.exit_code()
            }
            _ => ExitCode::from(outcome.code),
        },
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
        Err(_) => ExitCode::from(EXIT_INTERNAL),
    }
}
