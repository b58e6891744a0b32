//! `gradjit dump FILE`: prints every stage of the pipeline, each under a header.
//!
//! The stages, in order:
//!
//! | stage | what it shows |
//! |---|---|
//! | `traced` | the function as read (the canonical text of the file) |
//! | `grad` | the raw output of reverse-mode autodiff, before any clean-up (with `--argnums`, or alone with `--stage grad`, default argnums 0) |
//! | `simplified` | after the simplification pipeline (fold, algebraic, cse, dce) to a fixed point |
//! | `fused` | codegen's fusion plan: buffers, kernels and their loop nests |
//! | `clif`, `clif-opt` | Cranelift IR of each kernel before and after Cranelift's optimiser |
//! | `asm` | the machine code of each kernel |
//!
//! `--after PASS` shows the function after each run of one simplification pass (`all` for every
//! pass), as `--dump-after` does in compilers. Headers are IR comments (`# == …`), so the dump
//! of a single IR stage is itself a valid `.gj` file.

use super::{differentiable_params, param_names};
use crate::dot;
use crate::error::CliError;
use crate::program::Program;
use crate::Outcome;
use gradjit_ir::passes::{self, PIPELINE};
use gradjit_ir::text::{print_function, PrintOptions};
use gradjit_ir::Function;
use std::path::PathBuf;

/// A stage of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    Traced,
    Grad,
    Simplified,
    Fused,
    Clif,
    ClifOpt,
    Asm,
    All,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    /// Graphviz (one IR stage): render with `dot -Tsvg`
    Dot,
}

/// Print the stages of a function: traced, grad, simplified, fused, clif, clif-opt, asm
#[derive(clap::Args)]
pub struct Args {
    /// IR text file (`-` for standard input)
    pub file: String,
    /// Stage to print [default: all, or traced with --format dot]
    #[arg(long, value_enum)]
    pub stage: Option<Stage>,
    /// Differentiate with respect to these parameters (names or positions, comma-separated)
    /// before simplifying and compiling
    #[arg(long, value_name = "LIST")]
    pub argnums: Option<String>,
    /// Print the function after each run of this simplification pass (or `all`)
    #[arg(long, value_name = "PASS")]
    pub after: Option<String>,
    /// Append loc("file":line:col) to equations that carry a source location
    #[arg(long)]
    pub source_locations: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// One printed stage.
struct Section {
    header: String,
    body: String,
}

pub fn run(args: Args) -> Result<Outcome, CliError> {
    let program = Program::load(&args.file)?;
    let after = match args.after.as_deref() {
        None => None,
        Some("all") => Some(None),
        Some(name) if passes::pass(name).is_some() => Some(Some(name.to_string())),
        Some(name) => {
            let names: Vec<&str> = PIPELINE.iter().map(|(n, _)| *n).collect();
            return Err(CliError::usage(format!(
                "unknown pass `{name}`; the passes are {} (or all)",
                names.join(", ")
            )));
        }
    };
    let stage = args.stage.unwrap_or(match (args.format, &after) {
        (Format::Dot, _) => Stage::Traced,
        (Format::Text, Some(_)) if args.stage.is_none() => Stage::Simplified,
        _ => Stage::All,
    });
    let only_after = args.stage.is_none() && after.is_some();
    let want = |s: Stage| !only_after && (stage == Stage::All || stage == s);
    let print = |f: &Function| print_function(f, PrintOptions { locs: args.source_locations });

    let mut sections = Vec::new();
    let mut graphs: Vec<(&str, Function)> = Vec::new();
    let traced = &program.function;
    if want(Stage::Traced) {
        sections.push(Section { header: format!("traced: {} ({})", program.path, count(traced)), body: print(traced) });
        graphs.push(("traced", traced.clone()));
    }
    let differentiate = args.argnums.is_some() || stage == Stage::Grad;
    let input = if differentiate {
        let wrt = differentiable_params(&program, args.argnums.as_deref(), || vec![0])?;
        let raw = gradjit_autodiff::grad_unsimplified(traced, &wrt).map_err(CliError::compute)?;
        if want(Stage::Grad) {
            let header = format!("grad with respect to {} ({})", param_names(&program, &wrt), count(&raw));
            sections.push(Section { header, body: print(&raw) });
            graphs.push(("grad", raw.clone()));
        }
        raw
    } else {
        traced.clone()
    };

    let needs_simplified = only_after || !matches!(stage, Stage::Traced | Stage::Grad);
    if needs_simplified {
        let mut round = 0;
        let mut previous = input.clone();
        let simplified = passes::simplify_observed(&input, &mut |name, f| {
            if name == PIPELINE[0].0 {
                round += 1;
            }
            if let Some(wanted) = &after {
                if wanted.as_deref().is_none_or(|w| w == name) {
                    let (detail, body) = match *f == previous {
                        true => ("unchanged".to_string(), String::new()),
                        false => (count(f), print(f)),
                    };
                    sections.push(Section { header: format!("after {name} (round {round}): {detail}"), body });
                }
            }
            previous = f.clone();
        });
        if want(Stage::Simplified) {
            sections.push(Section { header: format!("simplified ({})", count(&simplified)), body: print(&simplified) });
            graphs.push(("simplified", simplified.clone()));
        }
        for native in [Stage::Fused, Stage::Clif, Stage::ClifOpt, Stage::Asm] {
            if stage == native {
                return Err(CliError::compute(format!(
                    "the {} stage is not available: codegen not built yet",
                    stage_name(native)
                )));
            }
        }
    }

    let text = match args.format {
        Format::Text => sections
            .iter()
            .map(|s| match s.body.is_empty() {
                true => format!("# == {}\n", s.header),
                false => format!("# == {}\n{}\n", s.header, s.body),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Dot => match graphs.as_slice() {
            [(name, f)] => {
                let outputs: Vec<String> = match *name {
                    "traced" => program.output_names.clone(),
                    _ => (0..f.outputs.len()).map(|i| format!("out{i}")).collect(),
                };
                dot::graph(f, &format!("{} ({name})", program.path), &program.param_names, &outputs)
            }
            _ => {
                return Err(CliError::usage("--format dot draws one IR stage: pass --stage traced, grad or simplified"))
            }
        },
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| CliError::io(path, e))?;
            Ok(Outcome::ok(String::new()))
        }
        None => Ok(Outcome::ok(text)),
    }
}

/// `10 equations`.
fn count(f: &Function) -> String {
    match f.eqns.len() {
        1 => "1 equation".to_string(),
        n => format!("{n} equations"),
    }
}

/// The command-line spelling of a stage.
fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Traced => "traced",
        Stage::Grad => "grad",
        Stage::Simplified => "simplified",
        Stage::Fused => "fused",
        Stage::Clif => "clif",
        Stage::ClifOpt => "clif-opt",
        Stage::Asm => "asm",
        Stage::All => "all",
    }
}
