//! The process-wide pool behind every [`HostArray`](super::HostArray)'s storage.
//!
//! Compiled functions return fresh arrays on every call. Allocating them from the system costs a
//! `posix_memalign` for small arrays and, for large ones, an `mmap` whose pages fault in (and are zeroed
//! by the kernel) on first touch, then an `munmap` when the array drops: at 10⁷ elements that is most
//! of a call. So an array's allocation is not freed when its last handle drops: it returns here, and the
//! next array of the same *size class* takes it, warm and already mapped.
//!
//! - **Size classes**: 64 bytes, then four classes per power of two (`5/4, 6/4, 7/4, 8/4 · 2^e`), so an
//!   allocation wastes at most a quarter of its size and arrays of nearby sizes share blocks.
//! - **Bounded**: at most [`limit`] bytes wait in the pool (256 MiB unless `GRADJIT_POOL_BYTES` or
//!   [`set_limit`] says otherwise); a block that would exceed it goes back to the system.
//! - **Thread-safe**: one short mutex per class; blocks move freely between threads. Blocks of at most
//!   [`LOCAL_MAX_BYTES`] also have a small per-thread cache in front (no lock, for the few small outputs
//!   of a cached call: a dispatch costs well under a microsecond), of at most [`LOCAL_BLOCKS`] blocks a
//!   class, given back to the shared pool when the thread ends.
//! - **Safe by ownership**: a block is in the pool only after the array owning it dropped, so memory the
//!   caller still holds is never handed out again.
//!
//! [`stats`] counts hits, misses and releases, so tests and benchmarks can observe reuse.

use super::ALIGN;
use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

/// Blocks of the smallest class; every block is aligned to [`ALIGN`].
const MIN_CLASS: usize = ALIGN;
/// Sub-classes per power of two.
const SUBCLASSES: usize = 4;
/// Classes cover blocks up to 2^MAX_LOG2 bytes; larger ones are never pooled.
const MAX_LOG2: usize = 40;
const CLASSES: usize = 1 + (MAX_LOG2 - MIN_CLASS.trailing_zeros() as usize) * SUBCLASSES;
const DEFAULT_LIMIT: usize = 256 << 20;
/// Blocks up to this size are cached per thread too.
pub const LOCAL_MAX_BYTES: usize = 4096;
/// Blocks a thread caches per class.
pub const LOCAL_BLOCKS: usize = 8;
const LOCAL_CLASSES: usize = 1 + (LOCAL_MAX_BYTES.trailing_zeros() - MIN_CLASS.trailing_zeros()) as usize * SUBCLASSES;

/// One thread's small blocks, as addresses; `len[c]` of `blocks[c]` are free.
struct LocalCache {
    blocks: [[usize; LOCAL_BLOCKS]; LOCAL_CLASSES],
    len: [usize; LOCAL_CLASSES],
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        for class in 0..LOCAL_CLASSES {
            for &addr in &self.blocks[class][..self.len[class]] {
                let ptr = NonNull::new(addr as *mut u8).expect("cached blocks are not null");
                // SAFETY: cached blocks came from `allocate` with their class's capacity and are unused.
                unsafe { release_shared(ptr, class_capacity(class)) };
            }
        }
    }
}

thread_local! {
    static LOCAL: std::cell::RefCell<LocalCache> = const {
        std::cell::RefCell::new(LocalCache { blocks: [[0; LOCAL_BLOCKS]; LOCAL_CLASSES], len: [0; LOCAL_CLASSES] })
    };
}

/// A block of `class` from this thread's cache.
fn take_local(class: usize) -> Option<usize> {
    LOCAL
        .try_with(|l| {
            let mut l = l.try_borrow_mut().ok()?;
            let n = l.len[class].checked_sub(1)?;
            l.len[class] = n;
            Some(l.blocks[class][n])
        })
        .ok()
        .flatten()
}

/// Keeps a block of `class` in this thread's cache if there is room.
fn give_local(class: usize, addr: usize) -> bool {
    LOCAL
        .try_with(|l| {
            let Ok(mut l) = l.try_borrow_mut() else { return false };
            let n = l.len[class];
            if n == LOCAL_BLOCKS {
                return false;
            }
            l.blocks[class][n] = addr;
            l.len[class] = n + 1;
            true
        })
        .unwrap_or(false)
}

/// Free blocks of each class, as addresses (a raw pointer is not `Send`).
static FREE: [Mutex<Vec<usize>>; CLASSES] = [const { Mutex::new(Vec::new()) }; CLASSES];
static POOLED: AtomicUsize = AtomicUsize::new(0);
static LIMIT: OnceLock<AtomicUsize> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);
static RELEASED: AtomicU64 = AtomicU64::new(0);

fn limit_cell() -> &'static AtomicUsize {
    LIMIT.get_or_init(|| {
        let env = std::env::var("GRADJIT_POOL_BYTES").ok().and_then(|s| s.trim().parse().ok());
        AtomicUsize::new(env.unwrap_or(DEFAULT_LIMIT))
    })
}

/// The most bytes the pool keeps for reuse.
pub fn limit() -> usize {
    limit_cell().load(Relaxed)
}

/// Sets the most bytes the pool keeps (0 disables pooling) and releases what is beyond it.
pub fn set_limit(bytes: usize) {
    limit_cell().store(bytes, Relaxed);
    if POOLED.load(Relaxed) > bytes {
        trim();
    }
}

/// Returns every block of the shared pool (and of this thread's cache) to the system.
pub fn trim() {
    let _ = LOCAL.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            for class in 0..LOCAL_CLASSES {
                for i in 0..std::mem::take(&mut l.len[class]) {
                    RELEASED.fetch_add(1, Relaxed);
                    // SAFETY: cached blocks came from `allocate` with this capacity and are unused.
                    unsafe { dealloc(l.blocks[class][i] as *mut u8, class_capacity(class)) };
                }
            }
        }
    });
    for (class, free) in FREE.iter().enumerate() {
        let blocks = std::mem::take(&mut *free.lock().unwrap_or_else(|e| e.into_inner()));
        let cap = class_capacity(class);
        for addr in blocks {
            POOLED.fetch_sub(cap, Relaxed);
            RELEASED.fetch_add(1, Relaxed);
            // SAFETY: pooled blocks were allocated by `allocate` with this capacity and are owned by nobody.
            unsafe { dealloc(addr as *mut u8, cap) };
        }
    }
}

/// Counters of the pool since the process started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Allocations served by a pooled block.
    pub hits: u64,
    /// Allocations that went to the system.
    pub misses: u64,
    /// Blocks given back to the system (over the limit, too large, or trimmed).
    pub released: u64,
    /// Bytes waiting in the shared pool now (the per-thread caches of small blocks aside).
    pub pooled_bytes: usize,
    pub limit: usize,
}

pub fn stats() -> PoolStats {
    PoolStats {
        hits: HITS.load(Relaxed),
        misses: MISSES.load(Relaxed),
        released: RELEASED.load(Relaxed),
        pooled_bytes: POOLED.load(Relaxed),
        limit: limit(),
    }
}

/// The class of a block for `len > 0` bytes, if it is small enough to pool.
fn class_of(len: usize) -> Option<usize> {
    if len <= MIN_CLASS {
        return Some(0);
    }
    // 2^e < len <= 2^(e+1); the classes of that octave are the multiples (SUBCLASSES+1..=2·SUBCLASSES)·q
    // of q = 2^e / SUBCLASSES.
    let e = (usize::BITS - 1 - (len - 1).leading_zeros()) as usize;
    if e >= MAX_LOG2 {
        return None;
    }
    let q = (1usize << e) / SUBCLASSES;
    let sub = len.div_ceil(q) - SUBCLASSES - 1; // 0..SUBCLASSES
    Some(1 + (e - MIN_CLASS.trailing_zeros() as usize) * SUBCLASSES + sub)
}

fn class_capacity(class: usize) -> usize {
    if class == 0 {
        return MIN_CLASS;
    }
    let (octave, sub) = ((class - 1) / SUBCLASSES, (class - 1) % SUBCLASSES);
    let e = octave + MIN_CLASS.trailing_zeros() as usize;
    let q = (1usize << e) / SUBCLASSES;
    q * (SUBCLASSES + 1 + sub)
}

/// The bytes actually allocated for an array of `len > 0` bytes.
pub(super) fn capacity(len: usize) -> usize {
    class_of(len).map_or(len, class_capacity)
}

fn layout(cap: usize) -> Layout {
    Layout::from_size_align(cap, ALIGN).expect("array too large")
}

unsafe fn dealloc(ptr: *mut u8, cap: usize) {
    alloc::dealloc(ptr, layout(cap))
}

/// A block of `cap = capacity(len)` bytes (for `len > 0`): a pooled one if there is one (its bytes are
/// whatever its last array left), else a fresh one, zeroed if `zeroed`. Returns the block and whether its
/// bytes are known to be zero.
pub(super) fn allocate(cap: usize, zeroed: bool) -> (NonNull<u8>, bool) {
    if let Some(class) = class_of(cap) {
        if class < LOCAL_CLASSES {
            if let Some(addr) = take_local(class) {
                HITS.fetch_add(1, Relaxed);
                return (NonNull::new(addr as *mut u8).expect("cached blocks are not null"), false);
            }
        }
        let pooled = FREE[class].lock().ok().and_then(|mut f| f.pop());
        if let Some(addr) = pooled {
            POOLED.fetch_sub(cap, Relaxed);
            HITS.fetch_add(1, Relaxed);
            return (NonNull::new(addr as *mut u8).expect("pooled blocks are not null"), false);
        }
    }
    MISSES.fetch_add(1, Relaxed);
    let layout = layout(cap);
    // SAFETY: `cap > 0`. The system zeroes fresh pages itself, so `alloc_zeroed` costs nothing extra for
    // large blocks.
    let raw = unsafe {
        if zeroed {
            alloc::alloc_zeroed(layout)
        } else {
            alloc::alloc(layout)
        }
    };
    (NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout)), zeroed)
}

/// Takes back a block of `cap` bytes from `allocate` that nobody uses any more.
///
/// # Safety
/// `ptr` must come from [`allocate`] with this `cap`, and must not be used afterwards.
pub(super) unsafe fn release(ptr: NonNull<u8>, cap: usize) {
    if let Some(class) = class_of(cap) {
        if class < LOCAL_CLASSES && limit() > 0 && give_local(class, ptr.as_ptr() as usize) {
            return;
        }
    }
    release_shared(ptr, cap)
}

/// [`release`] into the shared pool (or the system).
unsafe fn release_shared(ptr: NonNull<u8>, cap: usize) {
    if let Some(class) = class_of(cap) {
        let limit = limit();
        // Reserve the bytes first so that concurrent releases cannot overshoot the limit.
        let reserved = POOLED.fetch_update(Relaxed, Relaxed, |p| (p + cap <= limit).then_some(p + cap)).is_ok();
        if reserved {
            if let Ok(mut f) = FREE[class].lock() {
                f.push(ptr.as_ptr() as usize);
                return;
            }
            POOLED.fetch_sub(cap, Relaxed);
        }
    }
    RELEASED.fetch_add(1, Relaxed);
    dealloc(ptr.as_ptr(), cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_size_with_at_most_a_quarter_wasted() {
        let mut last_cap = 0;
        for len in (1..5000).chain([1 << 20, (1 << 20) + 1, 3 << 29, (1 << 40) - 1]) {
            let class = class_of(len).expect("pooled size");
            let cap = class_capacity(class);
            assert!(cap >= len, "len {len} class {class} cap {cap}");
            assert_eq!(class_of(cap), Some(class), "a block's capacity is in its own class (len {len})");
            assert!(len <= MIN_CLASS || cap * 4 <= len * 5 + 64, "len {len} cap {cap}");
            if len < 5000 {
                assert!(cap >= last_cap, "classes grow with the size");
                last_cap = cap;
            }
        }
        assert_eq!(class_of(1 << 41), None);
        assert_eq!(class_capacity(CLASSES - 1), 1 << 40);
        assert_eq!(class_of(LOCAL_MAX_BYTES), Some(LOCAL_CLASSES - 1));
    }

    /// Small blocks come back to the thread that released them, last in first out, without the shared
    /// pool (whose other users are other threads).
    #[test]
    fn small_blocks_are_reused_by_their_thread() {
        let cap = capacity(24);
        let (a, _) = allocate(cap, false);
        let (b, _) = allocate(cap, false);
        assert_ne!(a, b);
        // SAFETY: both came from `allocate` with `cap` and are not used again.
        unsafe {
            release(a, cap);
            release(b, cap);
        }
        let hits = stats().hits;
        assert_eq!(allocate(cap, false).0, b);
        assert_eq!(allocate(cap, true).0, a);
        assert!(stats().hits >= hits + 2);
        // SAFETY: as above.
        unsafe {
            release(a, cap);
            release(b, cap);
        }
    }
}
