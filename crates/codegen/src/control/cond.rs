//! `cond`/`switch`: the index picks one branch program, run from the operands straight into the results.

use super::program::Program;
use super::WorkPool;
use crate::error::CodegenError;
use gradjit_ir::DType;

/// A compiled `cond`.
pub(crate) struct CondStep {
    index_dtype: DType,
    branches: Vec<Program>,
    pool: WorkPool,
}

impl CondStep {
    pub fn new(index_dtype: DType, branches: Vec<Program>) -> CondStep {
        // Branches run one at a time: they share one arena.
        let bytes = branches.iter().map(Program::arena_bytes).max().unwrap_or(0);
        CondStep { index_dtype, branches, pool: WorkPool::new(bytes) }
    }

    pub fn branches(&self) -> &[Program] {
        &self.branches
    }

    /// The branch `index` selects: clamped into range, a bool counting as 0 or 1 (as
    /// `gradjit_ir::interp::branch_index`).
    unsafe fn branch(&self, index: *const u8) -> usize {
        let i = match self.index_dtype {
            DType::I32 => i64::from((index as *const i32).read_unaligned()),
            DType::I64 => (index as *const i64).read_unaligned(),
            _ => i64::from(*index != 0),
        };
        (i.max(0) as usize).min(self.branches.len().saturating_sub(1))
    }

    /// # Safety
    /// As [`super::ControlStep::run`].
    pub unsafe fn run(&self, ins: &[*const u8], outs: &[*mut u8]) -> Result<(), CodegenError> {
        let b = self.branch(ins[0]);
        let program = &self.branches[b];
        let branches = &self.branches;
        let mut work = self.pool.take(|a| branches.iter().map(|p| p.frame(a)).collect());
        let frame = &mut work.frames[b];
        for (i, &x) in ins[1..].iter().enumerate() {
            program.set_param(frame, i, x);
        }
        for (i, &o) in outs.iter().enumerate() {
            program.set_output(frame, i, o);
        }
        program.run(frame)?;
        self.pool.give(work);
        Ok(())
    }
}
