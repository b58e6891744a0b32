//! `gradjit dump FILE`: prints every stage of the pipeline, each under a header.
//!
//! The stages, in order:
//!
//! | stage | what it shows |
//! |---|---|
//! | `traced` | the function as read (the canonical text of the file) |
//! | `grad` | the raw output of reverse-mode autodiff, before any clean-up (with `--argnums`, or alone with `--stage grad`, default argnums 0) |
//! | `simplified` | after the simplification pipeline (fold, algebraic, cse, dce) to a fixed point |
//! | `fused` | codegen's fusion plan: buffers, kernels and their loop nests, host steps |
//! | `clif`, `clif-opt` | Cranelift IR of each kernel before and after Cranelift's optimiser |
//! | `asm` | the machine code of each kernel |
//!
//! `--after PASS` shows the function after each run of one simplification pass (`all` for every
//! pass), as `--dump-after` does in compilers. Headers are IR comments (`# == …`), so the dump
//! of a single IR stage is itself a valid `.gj` file.
//!
//! FILE may also be a directory written through `GRADJIT_DUMP=<dir>` (or one compilation in it:
//! `<dir>/<stem>` or any of its `<stem>.<stage>.txt` files); its stored stages are printed.

use super::{differentiable_params, param_names};
use crate::dot;
use crate::dump_dir::{self, Compilation};
use crate::engine;
use crate::error::{CliError, EXIT_COMPUTE};
use crate::program::Program;
use crate::Outcome;
use gradjit_codegen::{CompileOptions, Dumps};
use gradjit_ir::passes::{self, PIPELINE};
use gradjit_ir::text::{print_function, PrintOptions};
use gradjit_ir::Function;
use std::path::{Path, PathBuf};

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

impl Stage {
    /// The command-line spelling.
    fn name(self) -> &'static str {
        match self {
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

    /// The stages codegen produces, with the text of each in `Dumps`.
    const NATIVE: [(Stage, StageText); 4] = [
        (Stage::Fused, |d| &d.fusion),
        (Stage::Clif, |d| &d.clif),
        (Stage::ClifOpt, |d| &d.clif_opt),
        (Stage::Asm, |d| &d.asm),
    ];
}

/// The text of one stage in codegen's dumps.
type StageText = fn(&Dumps) -> &str;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Each stage under a `# == stage` header
    Text,
    /// Graphviz (one IR stage): render with `dot -Tsvg`
    Dot,
}

/// Print the stages of a function: traced, grad, simplified, fused, clif, clif-opt, asm
#[derive(clap::Args)]
pub struct Args {
    /// IR text file (`-` for standard input), or a GRADJIT_DUMP directory (or one compilation in it)
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
    let (text, failure) = match args.file != "-" && dump_dir::is_dump_path(Path::new(&args.file)) {
        true => (dump_directory(&args)?, None),
        false => dump_program(&args)?,
    };
    let stdout = match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| CliError::io(path, e))?;
            String::new()
        }
        None => text,
    };
    match failure {
        None => Ok(Outcome::ok(stdout)),
        Some(e) => {
            eprintln!("error: {e}");
            Ok(Outcome { stdout, code: EXIT_COMPUTE })
        }
    }
}

/// The stages of an IR file, and the error that stopped the native stages of `--stage all`.
fn dump_program(args: &Args) -> Result<(String, Option<CliError>), CliError> {
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
    // `--after` alone shows only the passes; `--format dot` draws one stage, traced by default.
    let only_after = args.stage.is_none() && after.is_some();
    let stage = args.stage.unwrap_or(match args.format {
        Format::Dot => Stage::Traced,
        Format::Text => Stage::All,
    });
    let want = |s: Stage| !only_after && (stage == Stage::All || stage == s);
    let print = |f: &Function| print_function(f, PrintOptions { locs: args.source_locations });

    let mut sections = Vec::new();
    // The IR stages, for `--format dot`: (stage, function).
    let mut graphs: Vec<(Stage, Function)> = Vec::new();
    let traced = &program.function;
    if want(Stage::Traced) {
        sections.push(Section { header: format!("traced: {} ({})", program.path, count(traced)), body: print(traced) });
        graphs.push((Stage::Traced, traced.clone()));
    }
    let differentiate = args.argnums.is_some() || stage == Stage::Grad;
    let input = if differentiate {
        let wrt = differentiable_params(&program, args.argnums.as_deref(), || vec![0])?;
        let raw = gradjit_autodiff::grad_unsimplified(traced, &wrt).map_err(CliError::compute)?;
        if want(Stage::Grad) {
            let header = format!("grad with respect to {} ({})", param_names(&program, &wrt), count(&raw));
            sections.push(Section { header, body: print(&raw) });
            graphs.push((Stage::Grad, raw.clone()));
        }
        raw
    } else {
        traced.clone()
    };

    let mut failure = None;
    if only_after || !matches!(stage, Stage::Traced | Stage::Grad) {
        let simplified = simplify_showing(&input, after.as_ref(), &print, &mut sections);
        if want(Stage::Simplified) {
            sections.push(Section { header: format!("simplified ({})", count(&simplified)), body: print(&simplified) });
            graphs.push((Stage::Simplified, simplified.clone()));
        }
        let native: Vec<_> = Stage::NATIVE.iter().filter(|(s, _)| want(*s)).collect();
        if !native.is_empty() {
            match engine::compile(&simplified, &CompileOptions { dumps: true, ..CompileOptions::default() }) {
                Ok(exe) => {
                    for (s, text) in native {
                        sections.push(Section { header: s.name().to_string(), body: text(exe.dumps()).to_string() });
                    }
                }
                // With `--stage all`, the IR stages are still worth printing.
                Err(e) if stage == Stage::All => failure = Some(e),
                Err(e) => return Err(e),
            }
        }
    }

    let text = match args.format {
        Format::Text => render(&sections),
        Format::Dot => match graphs.as_slice() {
            [(s, f)] => {
                let outputs: Vec<String> = match differentiate && *s != Stage::Traced {
                    false => program.output_names.clone(),
                    true => (0..f.outputs.len()).map(|i| format!("out{i}")).collect(),
                };
                dot::graph(f, &format!("{} ({})", program.path, s.name()), &program.param_names, &outputs)
            }
            _ => {
                return Err(CliError::usage("--format dot draws one IR stage: pass --stage traced, grad or simplified"))
            }
        },
    };
    Ok((text, failure))
}

/// Simplifies `f`, adding a section after each run of the pass `after` names (`Some(None)`: every pass).
fn simplify_showing(
    f: &Function,
    after: Option<&Option<String>>,
    print: &dyn Fn(&Function) -> String,
    sections: &mut Vec<Section>,
) -> Function {
    let mut round = 0;
    let mut previous = f.clone();
    passes::simplify_observed(f, &mut |name, g| {
        if name == PIPELINE[0].0 {
            round += 1;
        }
        if after.is_some_and(|wanted| wanted.as_deref().is_none_or(|w| w == name)) {
            let (detail, body) = match *g == previous {
                true => ("unchanged".to_string(), String::new()),
                false => (count(g), print(g)),
            };
            sections.push(Section { header: format!("after {name} (round {round}): {detail}"), body });
        }
        previous = g.clone();
    })
}

/// The stored stages of the compilations in a `GRADJIT_DUMP` directory.
fn dump_directory(args: &Args) -> Result<String, CliError> {
    if args.argnums.is_some() || args.after.is_some() || args.format == Format::Dot || args.source_locations {
        return Err(CliError::usage(format!(
            "{} holds stored dumps, printed as they are; --argnums, --after, --format dot and \
             --source-locations re-run the pipeline, so pass the compilation's <stem>.ir.txt instead",
            args.file
        )));
    }
    let stage = args.stage.unwrap_or(Stage::All);
    if stage == Stage::Grad {
        return Err(CliError::usage(
            "a dump directory holds the compiled function as given (the traced stage), not a separate grad stage",
        ));
    }
    let compilations = dump_dir::find(Path::new(&args.file))?;
    let mut sections = Vec::new();
    for c in &compilations {
        for (file_stage, stage_name) in dump_dir::STAGES {
            if (stage == Stage::All || stage.name() == stage_name) && c.stages.contains(&file_stage) {
                sections.push(stored_section(c, file_stage, stage_name)?);
            }
        }
    }
    Ok(render(&sections))
}

fn stored_section(c: &Compilation, file_stage: &str, stage_name: &str) -> Result<Section, CliError> {
    let body = c.read(file_stage)?;
    Ok(Section { header: format!("{stage_name}: {}", c.path(file_stage).display()), body: body.trim_end().to_string() })
}

/// Sections under `# == header` lines, separated by blank lines.
fn render(sections: &[Section]) -> String {
    sections
        .iter()
        .map(|s| match s.body.is_empty() {
            true => format!("# == {}\n", s.header),
            false => format!("# == {}\n{}\n", s.header, s.body.trim_end()),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `10 equations`.
fn count(f: &Function) -> String {
    match f.eqns.len() {
        1 => "1 equation".to_string(),
        n => format!("{n} equations"),
    }
}
