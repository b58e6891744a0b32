//! Reading and writing numpy's `.npy` files, so arrays move between gradjit and numpy.
//!
//! The format (numpy's `lib/format.py`) is a magic string `\x93NUMPY`, a version, a header
//! length, a header that is the text of a Python dict, then the raw elements:
//!
//! ```text
//! \x93NUMPY \x01 \x00  <u16 header length>  {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   \n
//! ```
//!
//! Files are written byte for byte as numpy 2 writes them: version 1.0, with spare room after
//! the dict for the first dimension to grow, padded with spaces so the data starts on a 64-byte
//! boundary. Versions 1.0, 2.0 and 3.0 are read (they differ only in the
//! width of the header length). The element types are those of gradjit (`<f4 <f8 <i4 <i8 |b1 <c8
//! <c16`), little- or big-endian; C order only. Fortran-order, object and structured arrays are
//! rejected with an error that says so rather than read wrongly.

use gradjit_ir::{DType, HostArray, Shape};
use std::fmt;

const MAGIC: &[u8] = b"\x93NUMPY";
/// The data of a written file starts at a multiple of this (numpy's `ARRAY_ALIGN`).
const ALIGN: usize = 64;
/// Spare header room numpy leaves for the first dimension (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Why a `.npy` file could not be read or an array could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

fn err<T>(message: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(message.into()))
}

/// numpy's type code (without byte order) of each dtype that has a `.npy` spelling.
const TYPE_CODES: [(DType, &str); 7] = [
    (DType::F32, "f4"),
    (DType::F64, "f8"),
    (DType::I32, "i4"),
    (DType::I64, "i8"),
    (DType::Bool, "b1"),
    (DType::C64, "c8"),
    (DType::C128, "c16"),
];

/// The bytes of a version 1.0 `.npy` file holding `a`.
pub fn to_bytes(a: &HostArray) -> Result<Vec<u8>, NpyError> {
    let Some(&(_, code)) = TYPE_CODES.iter().find(|(d, _)| *d == a.dtype()) else {
        return err(format!("a {} array has no .npy representation", a.dtype()));
    };
    let order = if a.dtype() == DType::Bool { '|' } else { '<' };
    let dims: Vec<String> = a.dims().iter().map(|d| d.to_string()).collect();
    let shape = match dims.as_slice() {
        [d] => format!("({d},)"),
        ds => format!("({})", ds.join(", ")),
    };
    let mut header = format!("{{'descr': '{order}{code}', 'fortran_order': False, 'shape': {shape}, }}");
    // numpy leaves room for the first dimension to grow to GROWTH_AXIS_MAX_DIGITS digits in place.
    if let Some(first) = dims.first() {
        header.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.len())));
    }
    // magic (6) + version (2) + length (2) + header + '\n' is a multiple of ALIGN.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(ALIGN) - unpadded));
    header.push('\n');
    let Ok(len) = u16::try_from(header.len()) else {
        return err(format!("the shape {} is too long for a version 1.0 .npy header", a.shape()));
    };
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + a.bytes().len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&le_bytes(a));
    Ok(out)
}

/// The array's elements as little-endian bytes.
fn le_bytes(a: &HostArray) -> Vec<u8> {
    let mut bytes = a.bytes().to_vec();
    if cfg!(target_endian = "big") {
        swap_elements(&mut bytes, a.dtype());
    }
    bytes
}

/// Reverses the bytes of every number in `data` (both halves of a complex number separately).
fn swap_elements(data: &mut [u8], dtype: DType) {
    let width = if dtype.is_complex() { dtype.size_of() / 2 } else { dtype.size_of() };
    if width > 1 {
        data.chunks_exact_mut(width).for_each(<[u8]>::reverse);
    }
}

/// Reads the array in the bytes of a `.npy` file.
pub fn from_bytes(bytes: &[u8]) -> Result<HostArray, NpyError> {
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        return err("not a .npy file (it does not start with \\x93NUMPY)");
    };
    let (header_len, rest) = match rest {
        [1, _, a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) as usize, rest),
        [2 | 3, _, a, b, c, d, rest @ ..] => (u32::from_le_bytes([*a, *b, *c, *d]) as usize, rest),
        [major, minor, ..] => return err(format!("unsupported .npy format version {major}.{minor}")),
        _ => return err("truncated .npy header"),
    };
    if rest.len() < header_len {
        return err("truncated .npy header");
    }
    let (header, data) = rest.split_at(header_len);
    let Ok(header) = std::str::from_utf8(header) else { return err("the .npy header is not text") };
    let header = Header::parse(header)?;

    let numel = header.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let nbytes = numel.and_then(|n| n.checked_mul(header.dtype.size_of()));
    let Some(nbytes) = nbytes.filter(|&n| n <= data.len()) else {
        return err(format!(
            "the file holds {} bytes of data, too few for shape {} of {}",
            data.len(),
            Shape::new(&header.shape),
            header.dtype
        ));
    };
    let mut raw = data[..nbytes].to_vec();
    if header.big_endian != cfg!(target_endian = "big") {
        swap_elements(&mut raw, header.dtype);
    }
    if header.dtype == DType::Bool {
        if let Some(b) = raw.iter().find(|&&b| b > 1) {
            return err(format!("invalid bool byte {b:#04x} in the data"));
        }
    }
    let mut a = HostArray::zeros(header.dtype, Shape::new(&header.shape));
    a.bytes_mut().copy_from_slice(&raw);
    Ok(a)
}

/// What the header dict says.
struct Header {
    dtype: DType,
    big_endian: bool,
    shape: Vec<usize>,
}

impl Header {
    fn parse(text: &str) -> Result<Header, NpyError> {
        let PyValue::Dict(entries) = PyParser { s: text.as_bytes(), at: 0 }.document()? else {
            return err("the .npy header is not a dict");
        };
        let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let descr = match get("descr") {
            Some(PyValue::Str(s)) => s.as_str(),
            Some(_) => return err("structured arrays (records) are not supported: save one plain array per file"),
            None => return err("the .npy header has no 'descr'"),
        };
        match get("fortran_order") {
            Some(PyValue::Bool(false)) => {}
            Some(PyValue::Bool(true)) => {
                return err("Fortran-order arrays are not supported: save with np.ascontiguousarray(a)")
            }
            _ => return err("the .npy header has no boolean 'fortran_order'"),
        }
        let shape = match get("shape") {
            Some(PyValue::Tuple(dims)) => dims
                .iter()
                .map(|d| match d {
                    PyValue::Int(n) => Ok(*n),
                    _ => err("the shape in the .npy header holds a non-integer"),
                })
                .collect::<Result<Vec<usize>, _>>()?,
            _ => return err("the .npy header has no 'shape' tuple"),
        };
        let (order, code) = descr.split_at(descr.chars().next().filter(|c| "<>|=".contains(*c)).map_or(0, |_| 1));
        if code.starts_with('O') {
            return err("object arrays are not supported: save a numeric array (e.g. a.astype(np.float32))");
        }
        let Some(&(dtype, _)) = TYPE_CODES.iter().find(|(_, c)| *c == code) else {
            return err(format!(
                "unsupported dtype '{descr}': gradjit reads float32, float64, int32, int64, bool, complex64 and complex128"
            ));
        };
        Ok(Header { dtype, big_endian: order == ">", shape })
    }
}

/// The Python literals a `.npy` header uses.
#[derive(Debug)]
enum PyValue {
    Str(String),
    Bool(bool),
    Int(usize),
    Tuple(Vec<PyValue>),
    /// A list (structured dtypes' `descr`); its items are parsed and dropped.
    List,
    Dict(Vec<(String, PyValue)>),
}

/// A recursive-descent reader of those literals.
struct PyParser<'s> {
    s: &'s [u8],
    at: usize,
}

impl PyParser<'_> {
    fn document(&mut self) -> Result<PyValue, NpyError> {
        let v = self.value(0)?;
        self.skip_space();
        match self.at == self.s.len() {
            true => Ok(v),
            false => err("unexpected text after the .npy header dict"),
        }
    }

    fn skip_space(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        let hit = self.s.get(self.at) == Some(&c);
        self.at += hit as usize;
        hit
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, NpyError> {
        if depth > 32 {
            return err("the .npy header nests too deeply");
        }
        self.skip_space();
        match self.s.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut entries = Vec::new();
                while !self.eat(b'}') {
                    let PyValue::Str(key) = self.value(depth + 1)? else { return err("a header key is not a string") };
                    if !self.eat(b':') {
                        return err("expected ':' in the .npy header");
                    }
                    entries.push((key, self.value(depth + 1)?));
                    if !self.eat(b',') && self.peek() != Some(b'}') {
                        return err("expected ',' or '}' in the .npy header");
                    }
                }
                Ok(PyValue::Dict(entries))
            }
            Some(&open @ (b'(' | b'[')) => {
                self.at += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value(depth + 1)?);
                    if !self.eat(b',') && self.peek() != Some(close) {
                        return err("expected ',' in a sequence of the .npy header");
                    }
                }
                Ok(if open == b'(' { PyValue::Tuple(items) } else { PyValue::List })
            }
            Some(&quote @ (b'\'' | b'"')) => {
                let start = self.at + 1;
                let Some(len) = self.s[start..].iter().position(|&c| c == quote) else {
                    return err("unterminated string in the .npy header");
                };
                self.at = start + len + 1;
                Ok(PyValue::Str(String::from_utf8_lossy(&self.s[start..start + len]).into_owned()))
            }
            _ => {
                let start = self.at;
                while self.s.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                    self.at += 1;
                }
                let word = String::from_utf8_lossy(&self.s[start..self.at]);
                match &*word {
                    "True" => Ok(PyValue::Bool(true)),
                    "False" => Ok(PyValue::Bool(false)),
                    w => match w.trim_end_matches('L').parse() {
                        Ok(n) => Ok(PyValue::Int(n)),
                        Err(_) if w.is_empty() => err("unexpected character in the .npy header"),
                        Err(_) => err(format!("unexpected `{w}` in the .npy header")),
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradjit_ir::Scalar;
    use num_complex::Complex32;

    /// A file as numpy 2 writes `np.arange(6, dtype=np.float32).reshape(2, 3)`.
    fn numpy_file(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let first = shape.trim_start_matches('(').split([',', ')']).next().unwrap();
        if !first.is_empty() {
            header.push_str(&" ".repeat(21 - first.len()));
        }
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn writes_what_numpy_writes() {
        let a = HostArray::from_vec([2, 3], (0..6).map(|i| i as f32).collect()).unwrap();
        let data: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        assert_eq!(to_bytes(&a).unwrap(), numpy_file("<f4", "(2, 3)", &data));
        let s = HostArray::scalar(Scalar::Bool(true));
        assert_eq!(to_bytes(&s).unwrap(), numpy_file("|b1", "()", &[1]));
        let v = HostArray::from_vec([1], vec![7i64]).unwrap();
        assert_eq!(to_bytes(&v).unwrap(), numpy_file("<i8", "(1,)", &7i64.to_le_bytes()));
        assert_eq!(to_bytes(&a).unwrap().len(), 128 + 6 * 4, "the data starts at byte 128, as numpy's");
    }

    #[test]
    fn every_dtype_round_trips() {
        let arrays = [
            HostArray::from_vec([3], vec![1.5f32, -0.0, f32::NAN]).unwrap(),
            HostArray::from_vec([2, 2], vec![1e300f64, -2.0, 3.0, 4.0]).unwrap(),
            HostArray::from_vec([2], vec![i32::MIN, 7]).unwrap(),
            HostArray::from_vec([0, 4], Vec::<i64>::new()).unwrap(),
            HostArray::from_vec([2], vec![true, false]).unwrap(),
            HostArray::from_vec([1], vec![Complex32::new(1.0, -2.0)]).unwrap(),
            HostArray::from_vec([], vec![num_complex::Complex64::new(0.5, 0.25)]).unwrap(),
        ];
        for a in arrays {
            let back = from_bytes(&to_bytes(&a).unwrap()).unwrap();
            assert!(back.bit_eq(&a), "{a:?} came back as {back:?}");
        }
    }

    #[test]
    fn reads_big_endian_and_version_2_and_other_header_spellings() {
        let data: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        let a = from_bytes(&numpy_file(">f8", "(2,)", &data)).unwrap();
        assert_eq!(a.to_vec::<f64>().unwrap(), vec![1.0, 2.0]);

        let header = "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<i4\"}\n";
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend_from_slice(&(header.len() as u32).to_le_bytes());
        v2.extend_from_slice(header.as_bytes());
        v2.extend_from_slice(&[5, 0, 0, 0, 6, 0, 0, 0]);
        assert_eq!(from_bytes(&v2).unwrap().to_vec::<i32>().unwrap(), vec![5, 6]);
    }

    #[test]
    fn rejects_what_it_cannot_read_faithfully() {
        let cases: [(Vec<u8>, &str); 7] = [
            (b"PK\x03\x04".to_vec(), "not a .npy file"),
            (numpy_file("<f4", "(2,)", &[0; 4]), "too few for shape (2,) of f32"),
            (numpy_file("|O", "(1,)", &[0; 8]), "object arrays are not supported"),
            (numpy_file("<f2", "(1,)", &[0; 2]), "unsupported dtype '<f2'"),
            (numpy_file("|b1", "(1,)", &[2]), "invalid bool byte 0x02"),
            (numpy_file_with("'<f4'", "0"), "no boolean 'fortran_order'"),
            (b"\x93NUMPY\x09\x00".to_vec(), "unsupported .npy format version 9.0"),
        ];
        for (bytes, message) in cases {
            let e = from_bytes(&bytes).unwrap_err();
            assert!(e.0.contains(message), "{e} does not say {message:?}");
        }
        let fortran = numpy_file_with("'<f4'", "True");
        assert!(from_bytes(&fortran).unwrap_err().0.contains("Fortran-order arrays are not supported"));
        let records = numpy_file_with("[('a', '<f4')]", "False");
        assert!(from_bytes(&records).unwrap_err().0.contains("structured arrays"));
        assert!(to_bytes(&HostArray::zeros(DType::Float0, [2])).is_err());
    }

    /// A file with the `descr` and `fortran_order` values written as given.
    fn numpy_file_with(descr: &str, fortran_order: &str) -> Vec<u8> {
        let header = format!("{{'descr': {descr}, 'fortran_order': {fortran_order}, 'shape': (1,), }}\n");
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&[0; 4]);
        out
    }

    #[test]
    fn never_panics_on_truncations_of_a_valid_file() {
        let full = to_bytes(&HostArray::from_vec([2, 2], vec![1i32, 2, 3, 4]).unwrap()).unwrap();
        for n in 0..full.len() {
            let _ = from_bytes(&full[..n]);
        }
    }
}
