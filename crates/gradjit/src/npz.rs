//! Saving and loading variables as `.npz` files, numpy's archive of arrays (`np.load(path)`
//! reads them; `np.savez` writes files this module reads).
//!
//! ```
//! use gradjit::{npz, Array, TrainVar, VarCollection};
//! let w = TrainVar::new(Array::from(vec![1.0f32, 2.0]));
//! let mut vars = VarCollection::new();
//! vars.insert("w", &w)?;
//! let path = std::env::temp_dir().join(format!("gradjit-npz-doc-{}.npz", std::process::id()));
//! npz::save(&path, &vars)?;
//! w.assign(Array::zeros([2]))?;
//! npz::load(&path, &vars)?;
//! assert_eq!(w.get().to_vec::<f32>()?, [1.0, 2.0]);
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! A module's variables and an optimiser's state go in one file by building one collection:
//! `net.vars()` and, under a prefix, `opt.state()` (see [`crate::optim`]).
//!
//! **Nothing half-written, nothing half-loaded.** [`save`] writes the whole archive to a
//! temporary file in the destination's directory, syncs it and renames it over the destination,
//! so a crash or an error leaves either the old file or the new one. [`load`] reads and checks
//! every variable's entry (present, same dtype, same shape) before assigning any, and reports
//! every mismatch at once.
//!
//! **Format.** An `.npz` is a zip archive holding one `{name}.npy` file per array. The zip
//! layer is written here rather than taken from the `zip` crate: numpy's `savez` needs only
//! *stored* (uncompressed) entries with a CRC-32, which is a hundred lines, while the crate
//! brings compression codecs, their dependencies and a large API for what would be two calls.
//! Archives written by `np.savez_compressed` (deflated entries) are refused with a message
//! saying so. Entries over 4 GiB use zip64 fields, which the reader understands (Python writes
//! them) and the writer emits when needed. Arrays are written as `.npy` version 1.0 in C order
//! and little-endian; big-endian files are byte-swapped on reading, Fortran-ordered ones are
//! refused.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::module::VarCollection;
use gradjit_ir::{DType, HostArray};
use std::borrow::Borrow;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes the current value of every variable of `vars` to `path`, under its name (`np.load`
/// gives the arrays by the same names). Replaces `path` atomically.
pub fn save(path: impl AsRef<Path>, vars: &VarCollection) -> Result<()> {
    write(path, vars.iter().map(|(name, var)| (name, var.get())))
}

/// Assigns every variable of `vars` the array of its name in the `.npz` file at `path`, after
/// checking that each is there with the variable's dtype and shape (if one is not, no variable
/// changes). Arrays of the file that `vars` does not name are ignored.
pub fn load(path: impl AsRef<Path>, vars: &VarCollection) -> Result<()> {
    let path = path.as_ref();
    let arrays = read(path)?;
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(vars.len());
    for (name, var) in vars.iter() {
        match arrays.iter().find(|(n, _)| n == name) {
            None => problems.push(format!("`{name}` ({}) is not in the file", var.ty())),
            Some((_, a)) if a.ty() != &var.ty() => {
                problems.push(format!("`{name}` is {} in the file but {} in the program", a.ty(), var.ty()))
            }
            Some((_, a)) => values.push((var, a)),
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        let what = if n == 1 { "variable" } else { "variables" };
        return Err(file_error(path, format!("cannot load {n} {what}, none was changed: {}", problems.join("; "))));
    }
    for (var, a) in values {
        var.assign(a.clone())?;
    }
    Ok(())
}

/// Writes `arrays` to the `.npz` file at `path` (replaced atomically), each as `{name}.npy`.
pub fn write<S: AsRef<str>, A: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (S, A)>,
) -> Result<()> {
    let path = path.as_ref();
    let mut zip = ZipWriter::default();
    for (name, array) in arrays {
        let (name, array) = (name.as_ref(), array.borrow());
        let npy = to_npy(array.as_host()).map_err(|m| file_error(path, format!("cannot save `{name}`: {m}")))?;
        zip.add(&format!("{name}.npy"), &npy).map_err(|m| file_error(path, m))?;
    }
    let bytes = zip.finish().map_err(|m| file_error(path, m))?;
    write_atomically(path, &bytes).map_err(|e| file_error(path, format!("cannot write the file: {e}")))
}

/// The arrays of the `.npz` file at `path`, by name (`{name}.npy` in the archive), in the
/// archive's order.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<(String, Array)>> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| file_error(path, format!("cannot read the file: {e}")))?;
    let entries = zip_entries(&bytes).map_err(|m| file_error(path, format!("not a readable .npz file: {m}")))?;
    entries
        .into_iter()
        .map(|(name, data)| {
            let array = from_npy(data).map_err(|m| file_error(path, format!("entry `{name}`: {m}")))?;
            let name = name.strip_suffix(".npy").unwrap_or(&name).to_string();
            Ok((name, Array::from_host(array)))
        })
        .collect()
}

fn file_error(path: &Path, message: impl Into<String>) -> Error {
    Error::File { path: path.display().to_string(), message: message.into() }
}

/// Writes `bytes` to a fresh temporary file next to `path`, syncs it and renames it to `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.{}-{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

// ---- .npy ----

/// numpy's descr of each dtype (little-endian), and the dtype of each.
const DESCRS: [(&str, DType); 7] = [
    ("<f4", DType::F32),
    ("<f8", DType::F64),
    ("<i4", DType::I32),
    ("<i8", DType::I64),
    ("|b1", DType::Bool),
    ("<c8", DType::C64),
    ("<c16", DType::C128),
];

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// The `.npy` (version 1.0) encoding of `a`.
fn to_npy(a: &HostArray) -> std::result::Result<Vec<u8>, String> {
    let descr = DESCRS
        .iter()
        .find(|(_, d)| *d == a.dtype())
        .map(|(s, _)| *s)
        .ok_or_else(|| format!("{} arrays have no numpy equivalent", a.dtype()))?;
    let shape = match a.dims() {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic, version, length, header and newline: a multiple of 64 bytes, as numpy aligns it.
    let unpadded = NPY_MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let len = u16::try_from(header.len()).map_err(|_| "the array has too many dimensions".to_string())?;
    let mut out = Vec::with_capacity(NPY_MAGIC.len() + 4 + header.len() + a.bytes().len());
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(a.bytes());
    Ok(out)
}

/// The array of a `.npy` file.
fn from_npy(bytes: &[u8]) -> std::result::Result<HostArray, String> {
    let rest = bytes.strip_prefix(NPY_MAGIC).ok_or("not a .npy file (no magic string)")?;
    let (&[major, _minor], rest) = rest.split_first_chunk::<2>().ok_or("truncated .npy header")?;
    let (len, rest) = match major {
        1 => rest.split_first_chunk::<2>().map(|(l, r)| (u16::from_le_bytes(*l) as usize, r)),
        2 | 3 => rest.split_first_chunk::<4>().map(|(l, r)| (u32::from_le_bytes(*l) as usize, r)),
        v => return Err(format!(".npy format version {v} is not supported")),
    }
    .ok_or("truncated .npy header")?;
    let header = rest.get(..len).ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not text")?;
    let data = &rest[len..];
    let descr = header_value(header, "descr").ok_or("the .npy header has no 'descr'")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let big_endian = descr.starts_with('>');
    let little = descr.replacen('>', "<", 1).replacen('=', "<", 1);
    let dtype = DESCRS
        .iter()
        .find(|(s, _)| *s == little || (s.starts_with('|') && s[1..] == little[1..]))
        .map(|(_, d)| *d)
        .ok_or_else(|| format!("numpy dtype '{descr}' is not supported"))?;
    let shape = header_value(header, "shape").ok_or("the .npy header has no 'shape'")?;
    let dims = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape {shape}")))
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    let fortran = header_value(header, "fortran_order").ok_or("the .npy header has no 'fortran_order'")?;
    if fortran == "True" && dims.iter().filter(|&&d| d > 1).count() > 1 {
        return Err("Fortran-ordered arrays are not supported: save a C-ordered copy (np.ascontiguousarray)".into());
    }
    let mut array = HostArray::zeros(dtype, dims.as_slice());
    let size = array.bytes().len();
    if data.len() != size {
        return Err(format!("{} holds {} bytes of data, not {size}", array.ty(), data.len()));
    }
    if dtype == DType::Bool && data.iter().any(|&b| b > 1) {
        return Err("a bool array holds bytes other than 0 and 1".into());
    }
    array.bytes_mut().copy_from_slice(data);
    if big_endian {
        // A complex number swaps each of its two parts.
        let part = if dtype.is_complex() { dtype.size_of() / 2 } else { dtype.size_of() };
        array.bytes_mut().chunks_exact_mut(part).for_each(<[u8]>::reverse);
    }
    Ok(array)
}

/// The text of `key`'s value in a `.npy` header (a Python dict literal): `'<f4'`, `False`,
/// `(2, 3)`.
fn header_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let start = header.find(&format!("'{key}'")).or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[start + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

// ---- zip ----

/// CRC-32 (IEEE 802.3, zip's), one table lookup a byte.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8))
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const ZIP64_END_OF_CENTRAL: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EXTRA: u16 = 0x0001;
/// Names are UTF-8 (general purpose flag bit 11).
const UTF8_NAMES: u16 = 1 << 11;
/// 1980-01-01 00:00, the earliest DOS date: archives do not depend on when they were written.
const DOS_DATE: u16 = (1 << 5) | 1;

/// A zip archive of stored entries, built in memory.
#[derive(Default)]
struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u64,
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

impl ZipWriter {
    fn add(&mut self, name: &str, data: &[u8]) -> std::result::Result<(), String> {
        let name_len = u16::try_from(name.len()).map_err(|_| format!("the name `{name}` is too long"))?;
        let (crc, size, offset) = (crc32(data), data.len() as u64, self.out.len() as u64);
        // Sizes and offsets that do not fit 32 bits go in a zip64 extra field.
        let big = size >= u32::MAX as u64 || offset >= u32::MAX as u64;
        let version: u16 = if big { 45 } else { 20 };
        let clamp = |x: u64| if big { u32::MAX } else { x as u32 };
        let header = |v: &mut Vec<u8>| {
            put16(v, version);
            put16(v, UTF8_NAMES);
            put16(v, 0); // stored
            put16(v, 0);
            put16(v, DOS_DATE);
            put32(v, crc);
            put32(v, clamp(size));
            put32(v, clamp(size));
        };
        let out = &mut self.out;
        put32(out, LOCAL_HEADER);
        header(out);
        put16(out, name_len);
        put16(out, if big { 20 } else { 0 });
        out.extend_from_slice(name.as_bytes());
        if big {
            put16(out, ZIP64_EXTRA);
            put16(out, 16);
            put64(out, size);
            put64(out, size);
        }
        out.extend_from_slice(data);
        let c = &mut self.central;
        put32(c, CENTRAL_HEADER);
        put16(c, version);
        header(c);
        put16(c, name_len);
        put16(c, if big { 28 } else { 0 });
        put16(c, 0); // comment
        put16(c, 0); // disk
        put16(c, 0); // internal attributes
        put32(c, 0); // external attributes
        put32(c, clamp(offset));
        c.extend_from_slice(name.as_bytes());
        if big {
            put16(c, ZIP64_EXTRA);
            put16(c, 24);
            put64(c, size);
            put64(c, size);
            put64(c, offset);
        }
        self.entries += 1;
        Ok(())
    }

    fn finish(mut self) -> std::result::Result<Vec<u8>, String> {
        let (offset, size) = (self.out.len() as u64, self.central.len() as u64);
        self.out.append(&mut self.central);
        let big = self.entries >= u16::MAX as u64 || offset >= u32::MAX as u64 || size >= u32::MAX as u64;
        let out = &mut self.out;
        if big {
            let end64 = out.len() as u64;
            put32(out, ZIP64_END_OF_CENTRAL);
            put64(out, 44);
            put16(out, 45);
            put16(out, 45);
            put32(out, 0);
            put32(out, 0);
            put64(out, self.entries);
            put64(out, self.entries);
            put64(out, size);
            put64(out, offset);
            put32(out, ZIP64_LOCATOR);
            put32(out, 0);
            put64(out, end64);
            put32(out, 1);
        }
        put32(out, END_OF_CENTRAL);
        put16(out, 0);
        put16(out, 0);
        let entries = if big { u16::MAX } else { self.entries as u16 };
        put16(out, entries);
        put16(out, entries);
        put32(out, if big { u32::MAX } else { size as u32 });
        put32(out, if big { u32::MAX } else { offset as u32 });
        put16(out, 0);
        Ok(self.out)
    }
}

/// Little-endian reads that fail on truncated input.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn at(bytes: &'a [u8], offset: u64) -> std::result::Result<Reader<'a>, String> {
        usize::try_from(offset).ok().and_then(|o| bytes.get(o..)).map(Reader).ok_or_else(|| "truncated".into())
    }
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u16(&mut self) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("two bytes")))
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("four bytes")))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("eight bytes")))
    }
}

/// The entries of a zip archive: names and stored data, in central-directory order.
fn zip_entries(bytes: &[u8]) -> std::result::Result<Vec<(String, &[u8])>, String> {
    // The end record is the last thing in the file, followed by a comment of at most 64 KiB.
    let search = bytes.len().saturating_sub(22 + u16::MAX as usize);
    let end = (search..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..i + 4] == END_OF_CENTRAL.to_le_bytes())
        .ok_or("no end of central directory record")?;
    let mut r = Reader::at(bytes, end as u64 + 10)?;
    let (mut count, mut size, mut offset) = (r.u16()? as u64, r.u32()? as u64, r.u32()? as u64);
    if count == u16::MAX as u64 || size == u32::MAX as u64 || offset == u32::MAX as u64 {
        let locator = end.checked_sub(20).ok_or("truncated zip64 locator")?;
        let mut l = Reader::at(bytes, locator as u64)?;
        if l.u32()? != ZIP64_LOCATOR {
            return Err("no zip64 end of central directory locator".into());
        }
        l.u32()?;
        let mut e = Reader::at(bytes, l.u64()?)?;
        if e.u32()? != ZIP64_END_OF_CENTRAL {
            return Err("bad zip64 end of central directory record".into());
        }
        e.take(8 + 2 + 2 + 4 + 4 + 8)?;
        (count, size, offset) = (e.u64()?, e.u64()?, e.u64()?);
    }
    let mut c = Reader::at(bytes, offset)?;
    if (c.0.len() as u64) < size {
        return Err("truncated central directory".into());
    }
    let mut entries = Vec::new();
    for _ in 0..count {
        if c.u32()? != CENTRAL_HEADER {
            return Err("bad central directory entry".into());
        }
        c.take(4)?; // versions
        let _flags = c.u16()?;
        let method = c.u16()?;
        c.take(4)?; // time, date
        let crc = c.u32()?;
        let (mut csize, mut usize_) = (c.u32()? as u64, c.u32()? as u64);
        let (name_len, extra_len, comment_len) = (c.u16()? as usize, c.u16()? as usize, c.u16()? as usize);
        c.take(2 + 2 + 4)?; // disk, attributes
        let mut local = c.u32()? as u64;
        let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
        let mut extra = Reader(c.take(extra_len)?);
        c.take(comment_len)?;
        while extra.0.len() >= 4 {
            let (id, len) = (extra.u16()?, extra.u16()? as usize);
            let mut field = Reader(extra.take(len)?);
            if id == ZIP64_EXTRA {
                // Only the fields whose 32-bit value overflowed are present, in this order.
                if usize_ == u32::MAX as u64 {
                    usize_ = field.u64()?;
                }
                if csize == u32::MAX as u64 {
                    csize = field.u64()?;
                }
                if local == u32::MAX as u64 {
                    local = field.u64()?;
                }
            }
        }
        if method != 0 {
            return Err(format!(
                "entry `{name}` is compressed (np.savez_compressed): only stored entries (np.savez) are supported"
            ));
        }
        if csize != usize_ {
            return Err(format!("entry `{name}` is stored with different compressed and uncompressed sizes"));
        }
        let mut l = Reader::at(bytes, local)?;
        if l.u32()? != LOCAL_HEADER {
            return Err(format!("entry `{name}` has no local header"));
        }
        l.take(22)?;
        let (n, e) = (l.u16()? as usize, l.u16()? as usize);
        l.take(n + e)?;
        let data = l.take(usize::try_from(csize).map_err(|_| "entry too large")?)?;
        if crc32(data) != crc {
            return Err(format!("entry `{name}` is corrupt (its CRC-32 does not match)"));
        }
        entries.push((name, data));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_known_strings() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }

    #[test]
    fn npy_headers_are_aligned_and_parse_back() {
        for (dims, dtype) in [(vec![], DType::F32), (vec![3], DType::I64), (vec![2, 0, 4], DType::C128)] {
            let a = HostArray::zeros(dtype, dims.as_slice());
            let npy = to_npy(&a).unwrap();
            assert_eq!((npy.len() - a.bytes().len()) % 64, 0);
            assert!(from_npy(&npy).unwrap().bit_eq(&a));
        }
        let header = "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(header_value(header, "shape"), Some("(2,)"));
        assert_eq!(header_value(header, "descr"), Some("'>f8'"));
    }

    #[test]
    fn big_endian_arrays_are_swapped() {
        let header = "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n";
        let mut npy = NPY_MAGIC.to_vec();
        npy.extend_from_slice(&[1, 0]);
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        npy.extend_from_slice(&1.5f32.to_be_bytes());
        npy.extend_from_slice(&(-2.0f32).to_be_bytes());
        assert_eq!(from_npy(&npy).unwrap().to_vec::<f32>().unwrap(), [1.5, -2.0]);
    }

    #[test]
    fn zip_round_trips_and_detects_corruption() {
        let mut zip = ZipWriter::default();
        zip.add("a.npy", b"hello").unwrap();
        zip.add("b/c.npy", b"").unwrap();
        let mut bytes = zip.finish().unwrap();
        let entries = zip_entries(&bytes).unwrap();
        assert_eq!(entries, [("a.npy".to_string(), &b"hello"[..]), ("b/c.npy".to_string(), &b""[..])]);
        bytes[35] ^= 1; // a byte of "hello"
        assert!(zip_entries(&bytes).unwrap_err().contains("corrupt"));
        assert!(zip_entries(b"not a zip").unwrap_err().contains("end of central directory"));
    }
}
