//! Native control flow: `scan`, `while` and `cond` run compiled sub-functions.
//!
//! Each sub-function (a scan body, a while condition and body, each branch of a `cond`) is compiled
//! once, when its enclosing function is, into a [`Program`]: the same inline → plan → lower → arena
//! pipeline as a top-level function, with its own JIT module. The step of the enclosing plan stays a
//! host step; instead of the interpreter, [`ControlStep::run`] drives the programs from Rust:
//!
//! - **scan** ([`scan`]): one frame per call; step `i` binds the body's slice parameters and stacked
//!   outputs to `xs + i·slice` and `ys + i·slice` (pointer offsets, no copies), and its carry to one
//!   of two buffers that swap every step (the first step reads `init`, the last writes the result).
//! - **while** ([`while_loop`]): the condition program writes one `bool` into the work area, then
//!   the body runs on swapped carry buffers, as for a scan.
//! - **cond** ([`cond`]): the index picks a branch program, run straight from the operands into the
//!   results.
//!
//! All memory a control step needs (the programs' arenas, carry buffers, the flag) is one block
//! planned at compile time and pooled ([`WorkPool`]), so a call allocates nothing once warm and a step
//! costs its kernel calls and a few pointer stores. `custom_jvp_call`/`custom_vjp_call` are not here:
//! inlining ([`crate::inline`]) replaces them by their primal body before planning, so they fuse.
//! Nested control flow is a host step of the body's plan, compiled the same way.

mod cond;
mod program;
pub(crate) mod rewrite;
mod scan;
mod while_loop;

use crate::error::CodegenError;
use crate::plan::{Plan, Step};
use crate::CompileOptions;
use cranelift_codegen::isa::OwnedTargetIsa;
use gradjit_ir::array::ALIGN;
use gradjit_ir::{Prim, TensorType};
use program::Program;
use std::fmt::Write;
use std::sync::Mutex;

/// A compiled control-flow step.
pub(crate) enum ControlStep {
    Scan(Box<scan::ScanStep>),
    While(Box<while_loop::WhileStep>),
    Cond(Box<cond::CondStep>),
}

impl ControlStep {
    /// Compiles the control-flow primitive `prim` (with operand and result types `types`), or `None`
    /// when `prim` is not control flow.
    pub fn compile(
        prim: &Prim,
        types: &[TensorType],
        isa: &OwnedTargetIsa,
        opts: &CompileOptions,
    ) -> Result<Option<ControlStep>, CodegenError> {
        Ok(Some(match prim {
            Prim::Scan { length, reverse, num_consts, num_carry, body } => ControlStep::Scan(Box::new(
                scan::ScanStep::new(*length, *reverse, *num_consts, *num_carry, Program::compile(body, isa, opts)?),
            )),
            Prim::While { cond_consts, body_consts, cond, body } => {
                ControlStep::While(Box::new(while_loop::WhileStep::new(
                    *cond_consts,
                    *body_consts,
                    Program::compile(cond, isa, opts)?,
                    Program::compile(body, isa, opts)?,
                )))
            }
            Prim::Cond { branches } => {
                let programs = branches.iter().map(|b| Program::compile(b, isa, opts)).collect::<Result<_, _>>()?;
                ControlStep::Cond(Box::new(cond::CondStep::new(types[0].dtype, programs)))
            }
            _ => return Ok(None),
        }))
    }

    /// Runs the step on operand pointers `ins` and result pointers `outs` (of the equation's types).
    ///
    /// # Safety
    /// Every pointer must be valid for its type; results must not overlap operands or each other.
    pub unsafe fn run(&self, ins: &[*const u8], outs: &[*mut u8]) -> Result<(), CodegenError> {
        match self {
            ControlStep::Scan(s) => s.run(ins, outs),
            ControlStep::While(w) => w.run(ins, outs),
            ControlStep::Cond(c) => c.run(ins, outs),
        }
    }

    /// The sub-programs with a name each (`scan body`, `while cond`, `cond branch 1`, ...).
    fn programs(&self) -> Vec<(String, &Program)> {
        match self {
            ControlStep::Scan(s) => vec![("scan body".into(), s.body())],
            ControlStep::While(w) => vec![("while cond".into(), w.cond()), ("while body".into(), w.body())],
            ControlStep::Cond(c) => {
                c.branches().iter().enumerate().map(|(i, b)| (format!("cond branch {i}"), b)).collect()
            }
        }
    }

    /// Appends the CLIF and machine code of the sub-programs, named after `prefix`.
    pub fn append_clif(&self, out: &mut crate::lower::ClifDumps, prefix: &str) {
        for (name, p) in self.programs() {
            p.append_clif(out, &format!("{prefix}: {name}"));
        }
    }

    /// The plans of the sub-programs, indented by `depth`.
    pub fn describe(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        for (name, p) in self.programs() {
            let _ = writeln!(out, "{pad}{name}:");
            p.describe(out, depth + 1);
        }
    }
}

/// Compiles the control flow of every host step of `plan` (`None` for other steps).
pub(crate) fn compile_controls(
    plan: &Plan,
    isa: &OwnedTargetIsa,
    opts: &CompileOptions,
) -> Result<Vec<Option<ControlStep>>, CodegenError> {
    plan.steps
        .iter()
        .map(|s| match s {
            Step::Host { prim, types, .. } => ControlStep::compile(prim, types, isa, opts),
            Step::Kernel(_) => Ok(None),
        })
        .collect()
}

/// The fusion plans of the sub-programs of `controls` (for the fusion dump), one section per step.
pub(crate) fn describe_controls(controls: &[Option<ControlStep>]) -> String {
    let mut out = String::new();
    for (s, c) in controls.iter().enumerate() {
        if let Some(c) = c {
            let _ = writeln!(out, "step {s}:");
            c.describe(&mut out, 1);
        }
    }
    out
}

/// The CLIF and machine code of the sub-programs of `controls` (for the dumps), one section per program.
pub(crate) fn clif_of_controls(controls: &[Option<ControlStep>]) -> crate::lower::ClifDumps {
    let mut out = crate::lower::ClifDumps::default();
    for (s, c) in controls.iter().enumerate() {
        if let Some(c) = c {
            c.append_clif(&mut out, &format!("step {s}"));
        }
    }
    out
}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// Lays out blocks of the given sizes one after another (64-byte aligned): their offsets and the total.
fn pack(sizes: impl IntoIterator<Item = usize>) -> (Vec<usize>, usize) {
    let mut top = 0;
    let offsets = sizes
        .into_iter()
        .map(|n| {
            let o = top;
            top += round_up(n);
            o
        })
        .collect();
    (offsets, top)
}

/// A control step's working memory for one call: one arena block and a frame per program.
struct Work {
    arena: crate::memory::Arena,
    frames: Vec<program::Frame>,
}

/// Work areas kept between calls (one per concurrent caller at most), so that a warm call allocates
/// nothing.
struct WorkPool {
    bytes: usize,
    free: Mutex<Vec<Work>>,
}

impl WorkPool {
    fn new(bytes: usize) -> WorkPool {
        WorkPool { bytes, free: Mutex::new(Vec::new()) }
    }

    /// A work area; `frames` makes the frames of a fresh one from its arena pointer.
    fn take(&self, frames: impl FnOnce(*mut u8) -> Vec<program::Frame>) -> Work {
        if let Some(w) = self.free.lock().ok().and_then(|mut f| f.pop()) {
            return w;
        }
        let arena = crate::memory::Arena::new(self.bytes);
        let frames = frames(arena.ptr());
        Work { arena, frames }
    }

    fn give(&self, w: Work) {
        if let Ok(mut f) = self.free.lock() {
            if f.len() < 4 {
                f.push(w);
            }
        }
    }
}
