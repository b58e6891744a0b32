//! `random_bits`: counter-based random numbers from the Threefry-2x32 block cipher.
//!
//! Threefry-2x32 with 20 rounds is the generator of Random123 (Salmon et al., "Parallel random
//! numbers: as easy as 1, 2, 3", SC'11) and of `jax.random`'s default PRNG. It encrypts a
//! 64-bit counter under a 64-bit key, so element `i` of the output depends only on the key and
//! `i`: results are reproducible and independent of evaluation order.
//!
//! The `i64[]` key gives the key words `k0` = its high 32 bits, `k1` = its low 32 bits.
//! Element `i` (row-major) encrypts the counter words `(x0, x1) = (i >> 32, i mod 2^32)`.
//! An `i32` element is the first output word; an `i64` element is `out0 << 32 | out1`
//! (both reinterpreted as signed).

use crate::array::HostArray;
use crate::dtype::{DType, TensorType};

/// Rotation amounts of Threefry-2x32, round `r` uses `ROTATIONS[r % 8]` (Random123's `R_32x2`).
const ROTATIONS: [u32; 8] = [13, 15, 26, 6, 17, 29, 16, 24];
/// The key schedule's parity constant (Skein's `C240` for 32-bit words).
const PARITY: u32 = 0x1BD1_1BDA;
const ROUNDS: usize = 20;

/// Threefry-2x32-20: `counter` encrypted under `key`.
pub fn threefry2x32(key: [u32; 2], counter: [u32; 2]) -> [u32; 2] {
    let ks = [key[0], key[1], PARITY ^ key[0] ^ key[1]];
    let mut x = [counter[0].wrapping_add(ks[0]), counter[1].wrapping_add(ks[1])];
    for r in 0..ROUNDS {
        x[0] = x[0].wrapping_add(x[1]);
        x[1] = x[1].rotate_left(ROTATIONS[r % 8]) ^ x[0];
        // After every 4 rounds, inject key `s`: words rotated through the schedule, plus `s`.
        if r % 4 == 3 {
            let s = (r + 1) / 4;
            x[0] = x[0].wrapping_add(ks[s % 3]);
            x[1] = x[1].wrapping_add(ks[(s + 1) % 3]).wrapping_add(s as u32);
        }
    }
    x
}

/// The key words of an `i64` key: high word first.
fn key_words(key: i64) -> [u32; 2] {
    let k = key as u64;
    [(k >> 32) as u32, k as u32]
}

pub(super) fn random_bits(key: &HostArray, ty: &TensorType) -> Option<HostArray> {
    let key = key_words(*key.as_slice::<i64>()?.first()?);
    let block = |i: usize| {
        let i = i as u64;
        threefry2x32(key, [(i >> 32) as u32, i as u32])
    };
    let mut out = HostArray::zeros(ty.dtype, ty.shape.clone());
    match ty.dtype {
        DType::I32 => {
            for (i, o) in out.as_mut_slice::<i32>()?.iter_mut().enumerate() {
                *o = block(i)[0] as i32;
            }
        }
        DType::I64 => {
            for (i, o) in out.as_mut_slice::<i64>()?.iter_mut().enumerate() {
                let [hi, lo] = block(i);
                *o = ((u64::from(hi) << 32) | u64::from(lo)) as i64;
            }
        }
        _ => return None,
    }
    Some(out)
}
