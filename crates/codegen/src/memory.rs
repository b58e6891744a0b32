//! Memory planning: where every buffer of a plan lives at run time.
//!
//! Function outputs are written straight into the `HostArray`s returned to the caller, whose storage comes
//! from the process-wide pool (`gradjit_ir::array::pool`): uninitialised, warm blocks that the arrays of
//! earlier calls gave back when the caller dropped them. Every other intermediate, and each kernel's
//! scratch (prologue slots, per-chunk reduction partials), gets an offset in one *arena*; buffers whose
//! live ranges (in steps) do not overlap share bytes (first fit). Arenas are pooled by the executable. So a
//! steady stream of calls reuses warm memory instead of faulting in fresh pages every time.

use crate::plan::{BufKind, KArg, Plan, Step};
use gradjit_ir::array::ALIGN;
use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::Mutex;

/// Where a buffer's bytes are during a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    Param(usize),
    Const,
    /// The output array of function output `i`.
    Output(usize),
    /// Offset in the arena.
    Arena(usize),
    /// Never touched (zero bytes).
    Empty,
}

/// The layout of the arena for one compiled function.
#[derive(Clone, Debug, Default)]
pub struct ArenaLayout {
    pub homes: Vec<Home>,
    /// Arena offset of each step's scratch (slots and partials).
    pub scratch: Vec<usize>,
    pub arena_bytes: usize,
}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// An interval allocator: first fit over blocks live in overlapping step ranges.
#[derive(Default)]
struct Allocator {
    blocks: Vec<(usize, usize, usize, usize)>, // (offset, bytes, first step, last step)
    top: usize,
}

impl Allocator {
    fn alloc(&mut self, bytes: usize, first: usize, last: usize) -> usize {
        let bytes = round_up(bytes.max(1));
        let mut live: Vec<(usize, usize)> =
            self.blocks.iter().filter(|b| b.2 <= last && first <= b.3).map(|b| (b.0, b.1)).collect();
        live.sort_unstable();
        let mut offset = 0;
        for (o, n) in live {
            if offset + bytes <= o {
                break;
            }
            offset = offset.max(o + n);
        }
        self.blocks.push((offset, bytes, first, last));
        self.top = self.top.max(offset + bytes);
        offset
    }
}

/// Plans the arena of `plan`; `scratch_bytes[s]` is the scratch step `s` needs.
pub fn layout(plan: &Plan, scratch_bytes: &[usize]) -> ArenaLayout {
    let n = plan.buffers.len();
    let mut homes = vec![Home::Empty; n];
    for (i, b) in plan.buffers.iter().enumerate() {
        match &b.kind {
            BufKind::Param(p) => homes[i] = Home::Param(*p),
            BufKind::Const(_) => homes[i] = Home::Const,
            BufKind::Temp => {}
        }
    }
    for (o, &(b, _)) in plan.outputs.iter().enumerate() {
        if homes[b] == Home::Empty && matches!(plan.buffers[b].kind, BufKind::Temp) {
            homes[b] = Home::Output(o);
        }
    }
    // Live range of each remaining buffer: first write to last read.
    let mut first = vec![usize::MAX; n];
    let mut last = vec![0usize; n];
    for (s, step) in plan.steps.iter().enumerate() {
        for b in step.writes().into_iter().chain(step.reads()) {
            first[b] = first[b].min(s);
            last[b] = last[b].max(s);
        }
        if let Step::Kernel(k) = step {
            for a in &k.args {
                if let KArg::Buf(b) = a {
                    first[*b] = first[*b].min(s);
                    last[*b] = last[*b].max(s);
                }
            }
        }
    }
    let mut alloc = Allocator::default();
    let mut scratch = vec![0; plan.steps.len()];
    for s in 0..plan.steps.len() {
        for b in 0..n {
            if homes[b] == Home::Empty && first[b] == s && plan.buffers[b].bytes() > 0 {
                homes[b] = Home::Arena(alloc.alloc(plan.buffers[b].bytes(), s, last[b]));
            }
        }
        if scratch_bytes[s] > 0 {
            scratch[s] = alloc.alloc(scratch_bytes[s], s, s);
        }
    }
    ArenaLayout { homes, scratch, arena_bytes: alloc.top }
}

/// A 64-byte-aligned block of memory.
pub struct Arena {
    ptr: NonNull<u8>,
    bytes: usize,
}

// SAFETY: an Arena uniquely owns its allocation.
unsafe impl Send for Arena {}

impl Arena {
    pub fn new(bytes: usize) -> Arena {
        if bytes == 0 {
            return Arena { ptr: NonNull::dangling(), bytes };
        }
        let layout = Layout::from_size_align(bytes, ALIGN).expect("arena size fits in isize");
        // SAFETY: non-zero size.
        let raw = unsafe { alloc::alloc(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        Arena { ptr, bytes }
    }
    pub fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        if self.bytes != 0 {
            let layout = Layout::from_size_align(self.bytes, ALIGN).expect("valid at allocation");
            // SAFETY: allocated in `new` with this layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), layout) }
        }
    }
}

/// Arenas kept between calls (one per concurrent caller at most).
pub struct Pool {
    bytes: usize,
    free: Mutex<Vec<Arena>>,
}

impl Pool {
    pub fn new(bytes: usize) -> Pool {
        Pool { bytes, free: Mutex::new(Vec::new()) }
    }
    pub fn take(&self) -> Arena {
        let pooled = self.free.lock().ok().and_then(|mut f| f.pop());
        pooled.unwrap_or_else(|| Arena::new(self.bytes))
    }
    pub fn give(&self, a: Arena) {
        if let Ok(mut f) = self.free.lock() {
            // Keep as many arenas as cores could use at once.
            if f.len() < 4 {
                f.push(a);
            }
        }
    }
}
