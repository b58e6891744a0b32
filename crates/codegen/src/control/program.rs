//! A compiled sub-function (a loop body, a `while` condition, a `cond` branch) run on raw buffers.
//!
//! A [`Program`] is the same pipeline as a top-level executable (inline, plan, lower, lay out the
//! arena) without the per-call bookkeeping: the caller binds parameters and outputs to pointers in a
//! [`Frame`] and runs it as often as it likes. A frame is made once per call of the enclosing
//! control step; binding a parameter or an output is one pointer store, so a loop step costs the
//! kernel calls and nothing else (no allocation, no copy of slices, no lookup).
//!
//! Outputs whose buffer the plan homes in the output itself (`Home::Output`) are written in place by
//! the kernel or host step that computes them; the rest (an output that is a parameter, a constant,
//! or the same value as an earlier output) are copied after the steps run.

use super::ControlStep;
use crate::error::CodegenError;
use crate::memory::{ArenaLayout, Home};
use crate::plan::{BufId, BufKind, Plan, Step};
use crate::runtime::KernelRun;
use crate::{inline, lower, shape_ops, CompileOptions};
use cranelift_codegen::isa::OwnedTargetIsa;
use gradjit_ir::{Function, TensorType};
use smallvec::SmallVec;
use std::fmt::Write;

/// Where one output of a program goes.
struct OutputBinding {
    buf: BufId,
    bytes: usize,
    /// The plan writes the output straight into the caller's memory.
    in_place: bool,
}

/// A sub-function compiled into native kernels and host steps.
pub(crate) struct Program {
    plan: Plan,
    kernels: Vec<Option<KernelRun>>,
    /// Control flow nested in this program, compiled the same way.
    controls: Vec<Option<ControlStep>>,
    layout: ArenaLayout,
    param_bufs: Vec<BufId>,
    outputs: Vec<OutputBinding>,
    threads: Option<usize>,
    /// The CLIF and machine code of the kernels (empty unless dumps were requested).
    clif: lower::ClifDumps,
    // Last: the code the kernels point into.
    _code: lower::JitCode,
}

/// The pointers of one run of a program: every buffer, each output's destination, and the argument
/// table kernels are called with (reused, so that running allocates nothing).
pub(crate) struct Frame {
    ptrs: Vec<*mut u8>,
    dests: Vec<*mut u8>,
    table: Vec<*mut u8>,
    arena: *mut u8,
}

// SAFETY: a frame is a table of pointers into memory owned by whoever runs it; it is only used by
// one thread at a time (it lives in a pooled work area taken for one call).
unsafe impl Send for Frame {}

impl Program {
    /// Compiles `f` (already simplified by the caller, when simplification is wanted).
    pub fn compile(f: &Function, isa: &OwnedTargetIsa, opts: &CompileOptions) -> Result<Program, CodegenError> {
        let g = inline::inline_calls(f);
        let g = super::rewrite::prepare(&g);
        let g = super::rewrite::outer_products_as_broadcasts(&g);
        let crate::Built { plan, kernels, controls, layout, clif, code } = crate::build(&g, isa, opts)?;
        let mut param_bufs = vec![usize::MAX; plan.params.len()];
        for (b, buf) in plan.buffers.iter().enumerate() {
            if let BufKind::Param(p) = buf.kind {
                param_bufs[p] = b;
            }
        }
        let outputs = plan
            .outputs
            .iter()
            .enumerate()
            .map(|(i, (b, ty))| OutputBinding {
                buf: *b,
                bytes: ty.numel() * ty.dtype.size_of(),
                in_place: layout.homes[*b] == Home::Output(i),
            })
            .collect();
        Ok(Program { plan, kernels, controls, layout, param_bufs, outputs, threads: opts.threads, clif, _code: code })
    }

    /// Bytes of arena one frame of this program needs.
    pub fn arena_bytes(&self) -> usize {
        self.layout.arena_bytes
    }

    pub fn param_types(&self) -> &[TensorType] {
        &self.plan.params
    }

    pub fn output_types(&self) -> impl Iterator<Item = &TensorType> {
        self.plan.outputs.iter().map(|(_, t)| t)
    }

    /// A frame over `arena` (at least [`Program::arena_bytes`] long, 64-byte aligned), with constants
    /// and intermediates bound; parameters and outputs are bound by the caller before each run.
    pub fn frame(&self, arena: *mut u8) -> Frame {
        let dangling = gradjit_ir::array::ALIGN as *mut u8;
        let ptrs = self
            .plan
            .buffers
            .iter()
            .enumerate()
            .map(|(b, buf)| match (self.layout.homes[b], &buf.kind) {
                (Home::Const, BufKind::Const(a)) => a.as_ptr() as *mut u8,
                // SAFETY: the layout keeps every arena offset inside `arena_bytes`.
                (Home::Arena(off), _) => unsafe { arena.add(off) },
                _ => dangling,
            })
            .collect();
        let table = Vec::with_capacity(self.plan.kernels().map(|k| k.args.len()).max().unwrap_or(0));
        Frame { ptrs, dests: vec![dangling; self.outputs.len()], table, arena }
    }

    /// Binds parameter `i` to `ptr` (read-only, of the parameter's type).
    #[inline]
    pub fn set_param(&self, frame: &mut Frame, i: usize, ptr: *const u8) {
        frame.ptrs[self.param_bufs[i]] = ptr as *mut u8;
    }

    /// Binds output `i` to `ptr` (writable, of the output's type, not overlapping any parameter).
    #[inline]
    pub fn set_output(&self, frame: &mut Frame, i: usize, ptr: *mut u8) {
        let o = &self.outputs[i];
        if o.in_place {
            frame.ptrs[o.buf] = ptr;
        }
        frame.dests[i] = ptr;
    }

    /// Runs every step, then copies the outputs that were not written in place.
    ///
    /// # Safety
    /// Every parameter and output of `frame` must be bound to memory valid for its type, outputs
    /// disjoint from parameters and from each other; the frame's arena must be alive.
    pub unsafe fn run(&self, frame: &mut Frame) -> Result<(), CodegenError> {
        let Frame { ptrs, dests, table, arena } = frame;
        for (s, step) in self.plan.steps.iter().enumerate() {
            match step {
                Step::Kernel(_) => {
                    let k = self.kernels[s].as_ref().expect("every kernel step is compiled");
                    k.run_with_table(ptrs, arena.add(self.layout.scratch[s]), self.threads, table);
                }
                Step::Host { eqn, prim, inputs, outputs, types } => {
                    if let Some(c) = &self.controls[s] {
                        let ins: SmallVec<[*const u8; 8]> = inputs.iter().map(|&b| ptrs[b] as *const u8).collect();
                        let outs: SmallVec<[*mut u8; 8]> = outputs.iter().map(|&b| ptrs[b]).collect();
                        c.run(&ins, &outs)?;
                        continue;
                    }
                    let ins: SmallVec<[shape_ops::In; 4]> =
                        inputs.iter().zip(types).map(|(&b, ty)| shape_ops::In { ptr: ptrs[b], ty }).collect();
                    let out_types = &types[inputs.len()..];
                    let outs: SmallVec<[shape_ops::Out; 2]> =
                        outputs.iter().zip(out_types).map(|(&b, ty)| shape_ops::Out { ptr: ptrs[b], ty }).collect();
                    shape_ops::run(prim, *eqn, &ins, &outs)?;
                }
            }
        }
        for (o, &dest) in self.outputs.iter().zip(dests.iter()) {
            if !o.in_place && o.bytes > 0 {
                // `copy`, not `copy_nonoverlapping`: a body may return a parameter bound to its own output.
                std::ptr::copy(ptrs[o.buf], dest, o.bytes);
            }
        }
        Ok(())
    }

    /// Appends the CLIF and machine code of this program's kernels and of the control flow nested in it,
    /// each section headed by `name`.
    pub fn append_clif(&self, out: &mut lower::ClifDumps, name: &str) {
        let section = |to: &mut String, text: &str| {
            let _ = writeln!(to, "; ==== {name}\n{text}");
        };
        section(&mut out.clif, &self.clif.clif);
        section(&mut out.clif_opt, &self.clif.clif_opt);
        section(&mut out.asm, &self.clif.asm);
        for (s, c) in self.controls.iter().enumerate() {
            if let Some(c) = c {
                c.append_clif(out, &format!("{name} step {s}"));
            }
        }
    }

    /// The fusion plan of this program and of the control flow nested in it, indented by `depth`.
    pub fn describe(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        for line in self.plan.to_string().lines() {
            let _ = writeln!(out, "{pad}{line}");
        }
        for (s, c) in self.controls.iter().enumerate() {
            if let Some(c) = c {
                let _ = writeln!(out, "{pad}step {s}:");
                c.describe(out, depth + 1);
            }
        }
    }
}
