//! `scan`: the body program called once per step on slices addressed by pointer offset.

use super::program::Program;
use super::{pack, WorkPool};
use crate::error::CodegenError;
use smallvec::SmallVec;

/// A compiled `scan`.
pub(crate) struct ScanStep {
    length: usize,
    reverse: bool,
    num_consts: usize,
    num_carry: usize,
    body: Program,
    /// Bytes of one slice of each scanned operand, and of each stacked result.
    x_slice: Vec<usize>,
    y_slice: Vec<usize>,
    carry_bytes: Vec<usize>,
    /// Offsets in the work area of the two carry buffer sets (the body's arena comes first).
    carry_offsets: [Vec<usize>; 2],
    pool: WorkPool,
}

fn bytes(t: &gradjit_ir::TensorType) -> usize {
    t.numel() * t.dtype.size_of()
}

impl ScanStep {
    pub fn new(length: usize, reverse: bool, num_consts: usize, num_carry: usize, body: Program) -> ScanStep {
        let x_slice = body.param_types()[num_consts + num_carry..].iter().map(bytes).collect();
        let outs: Vec<usize> = body.output_types().map(bytes).collect();
        let (carry_bytes, y_slice) = (outs[..num_carry].to_vec(), outs[num_carry..].to_vec());
        let arena = body.arena_bytes();
        let (offsets, top) = pack(std::iter::once(arena).chain(carry_bytes.iter().copied()).chain(carry_bytes.clone()));
        let carry_offsets = [offsets[1..=num_carry].to_vec(), offsets[num_carry + 1..].to_vec()];
        ScanStep {
            length,
            reverse,
            num_consts,
            num_carry,
            body,
            x_slice,
            y_slice,
            carry_bytes,
            carry_offsets,
            pool: WorkPool::new(top),
        }
    }

    pub fn body(&self) -> &Program {
        &self.body
    }

    /// # Safety
    /// As [`super::ControlStep::run`].
    pub unsafe fn run(&self, ins: &[*const u8], outs: &[*mut u8]) -> Result<(), CodegenError> {
        let (nc, nk) = (self.num_consts, self.num_carry);
        let (consts, rest) = ins.split_at(nc);
        let (init, xs) = rest.split_at(nk);
        let (carry_out, ys) = outs.split_at(nk);
        if self.length == 0 {
            for ((&src, &dst), &n) in init.iter().zip(carry_out).zip(&self.carry_bytes) {
                std::ptr::copy_nonoverlapping(src, dst, n);
            }
            return Ok(());
        }
        let body = &self.body;
        let mut work = self.pool.take(|arena| vec![body.frame(arena)]);
        let base = work.arena.ptr();
        let frame = &mut work.frames[0];
        for (i, &c) in consts.iter().enumerate() {
            body.set_param(frame, i, c);
        }
        let mut carry: SmallVec<[*const u8; 8]> = init.iter().copied().collect();
        for step in 0..self.length {
            let i = if self.reverse { self.length - 1 - step } else { step };
            let last = step + 1 == self.length;
            for (j, c) in carry.iter_mut().enumerate() {
                body.set_param(frame, nc + j, *c);
                // The last step writes the result; the others alternate between the two carry sets.
                let next = if last { carry_out[j] } else { base.add(self.carry_offsets[step % 2][j]) };
                body.set_output(frame, j, next);
                *c = next;
            }
            for (k, (&x, &n)) in xs.iter().zip(&self.x_slice).enumerate() {
                body.set_param(frame, nc + nk + k, x.add(i * n));
            }
            for (k, (&y, &n)) in ys.iter().zip(&self.y_slice).enumerate() {
                body.set_output(frame, nk + k, y.add(i * n));
            }
            body.run(frame)?;
        }
        self.pool.give(work);
        Ok(())
    }
}
