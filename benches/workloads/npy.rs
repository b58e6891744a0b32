//! Writes f32 arrays as `.npy` files (format 1.0) for the gradient agreement check, which numpy
//! reads on the JAX side.

use gradjit::Array;
use std::io::Write;
use std::path::Path;

/// The `.npy` bytes of a C-ordered little-endian f32 array.
pub fn encode_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Writes `a` (converted to f32) to `path`.
pub fn save(path: &Path, a: &Array) -> std::io::Result<()> {
    let data: Vec<f32> = a.to_f64_vec().into_iter().map(|x| x as f32).collect();
    std::fs::File::create(path)?.write_all(&encode_f32(a.shape(), &data))
}
