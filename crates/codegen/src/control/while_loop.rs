//! `while`: the condition program writes a flag; while it is set, the body program steps the carry.

use super::program::Program;
use super::{pack, WorkPool};
use crate::error::CodegenError;
use smallvec::SmallVec;

/// A compiled `while`.
pub(crate) struct WhileStep {
    cond_consts: usize,
    body_consts: usize,
    cond: Program,
    body: Program,
    carry_bytes: Vec<usize>,
    /// Offsets in the work area: the condition's arena, the body's arena, the flag, two carry sets.
    cond_arena: usize,
    body_arena: usize,
    flag: usize,
    carry_offsets: [Vec<usize>; 2],
    pool: WorkPool,
}

impl WhileStep {
    pub fn new(cond_consts: usize, body_consts: usize, cond: Program, body: Program) -> WhileStep {
        let carry_bytes: Vec<usize> = body.output_types().map(|t| t.numel() * t.dtype.size_of()).collect();
        let n = carry_bytes.len();
        let (offsets, top) = pack(
            [cond.arena_bytes(), body.arena_bytes(), 1]
                .into_iter()
                .chain(carry_bytes.iter().copied())
                .chain(carry_bytes.clone()),
        );
        WhileStep {
            cond_consts,
            body_consts,
            cond,
            body,
            carry_bytes,
            cond_arena: offsets[0],
            body_arena: offsets[1],
            flag: offsets[2],
            carry_offsets: [offsets[3..3 + n].to_vec(), offsets[3 + n..].to_vec()],
            pool: WorkPool::new(top),
        }
    }

    pub fn cond(&self) -> &Program {
        &self.cond
    }

    pub fn body(&self) -> &Program {
        &self.body
    }

    /// # Safety
    /// As [`super::ControlStep::run`].
    pub unsafe fn run(&self, ins: &[*const u8], outs: &[*mut u8]) -> Result<(), CodegenError> {
        let (cc, bc) = (self.cond_consts, self.body_consts);
        let (cond, body) = (&self.cond, &self.body);
        let mut work = self.pool.take(|a| vec![cond.frame(a.add(self.cond_arena)), body.frame(a.add(self.body_arena))]);
        let base = work.arena.ptr();
        let flag = base.add(self.flag);
        let [cf, bf] = &mut work.frames[..] else { unreachable!("a while has two frames") };
        for (i, &c) in ins[..cc].iter().enumerate() {
            cond.set_param(cf, i, c);
        }
        for (i, &c) in ins[cc..cc + bc].iter().enumerate() {
            body.set_param(bf, i, c);
        }
        cond.set_output(cf, 0, flag);
        let mut carry: SmallVec<[*const u8; 8]> = ins[cc + bc..].iter().copied().collect();
        let mut parity = 0;
        loop {
            for (j, &c) in carry.iter().enumerate() {
                cond.set_param(cf, cc + j, c);
            }
            cond.run(cf)?;
            if *flag == 0 {
                break;
            }
            for (j, c) in carry.iter_mut().enumerate() {
                body.set_param(bf, bc + j, *c);
                let next = base.add(self.carry_offsets[parity][j]);
                body.set_output(bf, j, next);
                *c = next;
            }
            body.run(bf)?;
            parity ^= 1;
        }
        for ((&src, &dst), &n) in carry.iter().zip(outs).zip(&self.carry_bytes) {
            std::ptr::copy_nonoverlapping(src, dst, n);
        }
        self.pool.give(work);
        Ok(())
    }
}
