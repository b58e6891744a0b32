//! `HostArray`: an owned, contiguous, row-major, 64-byte-aligned n-d array on the host.
//!
//! It is the one array type of every stage: IR constants, interpreter values, kernel
//! arguments and the user's `gradjit::Array` all hold it, so data never changes
//! representation between stages.

use crate::dtype::{DType, Shape, TensorType};
use num_complex::{Complex32, Complex64};
use std::fmt;
use std::ptr::NonNull;

pub mod pool;

/// Alignment of every array's data: one cache line, and enough for any SIMD load.
pub const ALIGN: usize = 64;

/// A Rust type stored as array elements.
///
/// # Safety
/// `DTYPE.size_of()` must equal `size_of::<Self>()`, and every bit pattern written by the
/// library for that dtype must be a valid `Self`.
pub unsafe trait Element: Copy + Send + Sync + PartialEq + fmt::Debug + 'static {
    const DTYPE: DType;
    fn to_scalar(self) -> Scalar;
}

macro_rules! element {
    ($t:ty, $d:ident) => {
        unsafe impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn to_scalar(self) -> Scalar {
                Scalar::$d(self)
            }
        }
    };
}
element!(f32, F32);
element!(f64, F64);
element!(i32, I32);
element!(i64, I64);
element!(bool, Bool);
element!(Complex32, C64);
element!(Complex64, C128);

/// One element of any dtype. Equality and hashing are bitwise (NaN equals itself, -0.0 differs
/// from 0.0), which is what constant folding, CSE and text round trips need.
#[derive(Clone, Copy, Debug)]
pub enum Scalar {
    F32(f32),
    F64(f64),
    I32(i32),
    I64(i64),
    Bool(bool),
    C64(Complex32),
    C128(Complex64),
    Float0,
}

impl PartialEq for Scalar {
    fn eq(&self, o: &Scalar) -> bool {
        use Scalar::*;
        match (*self, *o) {
            (F32(a), F32(b)) => a.to_bits() == b.to_bits(),
            (F64(a), F64(b)) => a.to_bits() == b.to_bits(),
            (I32(a), I32(b)) => a == b,
            (I64(a), I64(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (C64(a), C64(b)) => (a.re.to_bits(), a.im.to_bits()) == (b.re.to_bits(), b.im.to_bits()),
            (C128(a), C128(b)) => (a.re.to_bits(), a.im.to_bits()) == (b.re.to_bits(), b.im.to_bits()),
            (Float0, Float0) => true,
            _ => false,
        }
    }
}
impl Eq for Scalar {}

impl Scalar {
    pub fn dtype(self) -> DType {
        match self {
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::Bool(_) => DType::Bool,
            Scalar::C64(_) => DType::C64,
            Scalar::C128(_) => DType::C128,
            Scalar::Float0 => DType::Float0,
        }
    }

    /// The value `v` converted to `dtype` (as `convert_element_type` would).
    pub fn from_f64(v: f64, dtype: DType) -> Scalar {
        match dtype {
            DType::F32 => Scalar::F32(v as f32),
            DType::F64 => Scalar::F64(v),
            DType::I32 => Scalar::I32(v as i32),
            DType::I64 => Scalar::I64(v as i64),
            DType::Bool => Scalar::Bool(v != 0.0),
            DType::C64 => Scalar::C64(Complex32::new(v as f32, 0.0)),
            DType::C128 => Scalar::C128(Complex64::new(v, 0.0)),
            DType::Float0 => Scalar::Float0,
        }
    }

    /// The real part as f64 (bool is 0 or 1; float0 is 0).
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::F32(v) => v as f64,
            Scalar::F64(v) => v,
            Scalar::I32(v) => v as f64,
            Scalar::I64(v) => v as f64,
            Scalar::Bool(v) => v as u8 as f64,
            Scalar::C64(v) => v.re as f64,
            Scalar::C128(v) => v.re,
            Scalar::Float0 => 0.0,
        }
    }

    /// As a complex number in double precision.
    pub fn to_c128(self) -> Complex64 {
        match self {
            Scalar::C64(v) => Complex64::new(v.re as f64, v.im as f64),
            Scalar::C128(v) => v,
            s => Complex64::new(s.to_f64(), 0.0),
        }
    }

    /// Converts to another dtype with the rules of `convert_element_type`
    /// (float to int truncates toward zero and saturates; complex to real drops the imaginary part).
    pub fn cast(self, dtype: DType) -> Scalar {
        match (self, dtype) {
            // Unchanged, bit for bit (the f64 route below would round i64 beyond 2^53).
            (s, d) if s.dtype() == d => s,
            (Scalar::I64(v), DType::I32) => Scalar::I32(v as i32),
            (Scalar::I32(v), DType::I64) => Scalar::I64(v as i64),
            (Scalar::I64(v), DType::F64) => Scalar::F64(v as f64),
            (Scalar::I64(v), DType::F32) => Scalar::F32(v as f32),
            (Scalar::I64(v), DType::Bool) => Scalar::Bool(v != 0),
            (s, DType::C64) => {
                let c = s.to_c128();
                Scalar::C64(Complex32::new(c.re as f32, c.im as f32))
            }
            (s, DType::C128) => Scalar::C128(s.to_c128()),
            (s, DType::Bool) if s.dtype().is_complex() => Scalar::Bool(s.to_c128() != Complex64::new(0.0, 0.0)),
            (s, d) => Scalar::from_f64(s.to_f64(), d),
        }
    }

    /// Writes the value so that parsing it back with [`Scalar::parse`] gives the same bits
    /// (Rust's shortest round-tripping float formatting).
    pub fn write_text(self, out: &mut impl fmt::Write) -> fmt::Result {
        fn float(out: &mut impl fmt::Write, v: f64, s: String) -> fmt::Result {
            if v.is_nan() {
                // The sign of a NaN is kept (x86 makes `0/0` negative); its payload is not.
                out.write_str(if v.is_sign_negative() { "-nan" } else { "nan" })
            } else if v.is_infinite() {
                out.write_str(if v > 0.0 { "inf" } else { "-inf" })
            } else {
                out.write_str(&s)
            }
        }
        match self {
            Scalar::F32(v) => float(out, v as f64, format!("{v:?}")),
            Scalar::F64(v) => float(out, v, format!("{v:?}")),
            Scalar::I32(v) => write!(out, "{v}"),
            Scalar::I64(v) => write!(out, "{v}"),
            Scalar::Bool(v) => write!(out, "{v}"),
            Scalar::C64(v) => {
                float(out, v.re as f64, format!("{:?}", v.re))?;
                out.write_str(if v.im.is_sign_negative() { "" } else { "+" })?;
                float(out, v.im as f64, format!("{:?}", v.im))?;
                out.write_str("j")
            }
            Scalar::C128(v) => {
                float(out, v.re, format!("{:?}", v.re))?;
                out.write_str(if v.im.is_sign_negative() { "" } else { "+" })?;
                float(out, v.im, format!("{:?}", v.im))?;
                out.write_str("j")
            }
            Scalar::Float0 => out.write_str("0"),
        }
    }

    /// Parses one element of `dtype` as written by [`Scalar::write_text`].
    pub fn parse(s: &str, dtype: DType) -> Option<Scalar> {
        fn float(s: &str) -> Option<f64> {
            match s {
                "nan" => Some(f64::NAN),
                "inf" | "+inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                _ => s.parse::<f64>().ok(),
            }
        }
        fn float32(s: &str) -> Option<f32> {
            match s {
                "nan" => Some(f32::NAN),
                "inf" | "+inf" => Some(f32::INFINITY),
                "-inf" => Some(f32::NEG_INFINITY),
                _ => s.parse::<f32>().ok(),
            }
        }
        // Split `re±imj` at the sign that is not at the start nor after an exponent `e`.
        fn complex(s: &str) -> Option<(&str, &str)> {
            let body = s.strip_suffix('j')?;
            let bytes = body.as_bytes();
            let split =
                (1..bytes.len()).rev().find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && bytes[i - 1] != b'e')?;
            let im = &body[split..];
            Some((&body[..split], im.strip_prefix('+').unwrap_or(im)))
        }
        Some(match dtype {
            DType::F32 => Scalar::F32(float32(s)?),
            DType::F64 => Scalar::F64(float(s)?),
            DType::I32 => Scalar::I32(s.parse().ok()?),
            DType::I64 => Scalar::I64(s.parse().ok()?),
            DType::Bool => Scalar::Bool(s.parse().ok()?),
            DType::C64 => {
                let (re, im) = complex(s)?;
                Scalar::C64(Complex32::new(float32(re)?, float32(im)?))
            }
            DType::C128 => {
                let (re, im) = complex(s)?;
                Scalar::C128(Complex64::new(float(re)?, float(im)?))
            }
            DType::Float0 => Scalar::Float0,
        })
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

/// Owned aligned bytes, from the [`pool`].
struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    /// Bytes of the block (its pool size class); 0 for the empty buffer, which owns nothing.
    cap: usize,
}

// SAFETY: AlignedBuf uniquely owns its allocation, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// `len` bytes whose contents are unspecified (but initialised: see `uninit`).
    fn alloc(len: usize, zeroed: bool) -> AlignedBuf {
        if len == 0 {
            // A dangling but aligned pointer, as Vec does for empty allocations.
            let ptr = NonNull::new(ALIGN as *mut u8).expect("non-null");
            return AlignedBuf { ptr, len, cap: 0 };
        }
        let cap = pool::capacity(len);
        let (ptr, is_zero) = pool::allocate(cap, zeroed);
        if zeroed && !is_zero {
            // SAFETY: the block holds `cap >= len` bytes.
            unsafe { ptr.as_ptr().write_bytes(0, len) };
        }
        AlignedBuf { ptr, len, cap }
    }
    fn zeroed(len: usize) -> AlignedBuf {
        AlignedBuf::alloc(len, true)
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: ptr is valid for len bytes (or dangling with len 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and we hold &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.cap != 0 {
            // SAFETY: the block came from `pool::allocate` with this capacity and dies with `self`.
            unsafe { pool::release(self.ptr, self.cap) }
        }
    }
}

impl Clone for AlignedBuf {
    fn clone(&self) -> AlignedBuf {
        let b = AlignedBuf::alloc(self.len, false);
        // A fresh block is not initialised: copy before anyone reads it.
        // SAFETY: both hold `len` bytes and are distinct allocations.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), b.ptr.as_ptr(), self.len) };
        b
    }
}

/// An owned n-d array on the host: dtype, shape and contiguous row-major 64-byte-aligned data.
#[derive(Clone)]
pub struct HostArray {
    ty: TensorType,
    buf: AlignedBuf,
}

impl HostArray {
    /// An array of zeros (false, 0, 0.0).
    pub fn zeros(dtype: DType, shape: impl Into<Shape>) -> HostArray {
        let ty = TensorType::new(dtype, shape);
        let buf = AlignedBuf::zeroed(ty.numel() * dtype.size_of());
        HostArray { ty, buf }
    }

    /// An array whose elements the caller will write: its bytes are whatever its pooled block held
    /// (compiled functions write their outputs into these, so a call pays neither a memset nor page faults).
    ///
    /// # Safety
    /// Every element must be written before it is read (a fresh block's bytes are uninitialised, and any
    /// block's bytes may not be a valid `bool`).
    pub unsafe fn uninit(dtype: DType, shape: impl Into<Shape>) -> HostArray {
        let ty = TensorType::new(dtype, shape);
        let buf = AlignedBuf::alloc(ty.numel() * dtype.size_of(), false);
        HostArray { ty, buf }
    }

    /// An array whose every element is `value`.
    pub fn full(value: Scalar, shape: impl Into<Shape>) -> HostArray {
        let shape = shape.into();
        let dtype = value.dtype();
        // SAFETY: every element is written below.
        let mut a = unsafe { HostArray::uninit(dtype, shape) };
        fn fill<T: Element>(a: &mut HostArray, v: T) {
            a.as_mut_slice::<T>().expect("dtype").fill(v);
        }
        match value {
            Scalar::F32(v) => fill(&mut a, v),
            Scalar::F64(v) => fill(&mut a, v),
            Scalar::I32(v) => fill(&mut a, v),
            Scalar::I64(v) => fill(&mut a, v),
            Scalar::Bool(v) => fill(&mut a, v),
            Scalar::C64(v) => fill(&mut a, v),
            Scalar::C128(v) => fill(&mut a, v),
            Scalar::Float0 => {}
        }
        a
    }

    /// A rank-0 array.
    pub fn scalar(value: Scalar) -> HostArray {
        HostArray::full(value, Shape::scalar())
    }

    /// An array from row-major data; `None` if the length does not match the shape.
    pub fn from_vec<T: Element>(shape: impl Into<Shape>, data: Vec<T>) -> Option<HostArray> {
        HostArray::from_slice(shape, &data)
    }

    /// An array copied from row-major data; `None` if the length does not match the shape.
    pub fn from_slice<T: Element>(shape: impl Into<Shape>, data: &[T]) -> Option<HostArray> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return None;
        }
        // SAFETY: every element is written just below.
        let mut a = unsafe { HostArray::uninit(T::DTYPE, shape) };
        a.as_mut_slice::<T>().expect("dtype").copy_from_slice(data);
        Some(a)
    }

    /// An array with the same data and a new shape of the same size.
    pub fn reshaped(mut self, shape: impl Into<Shape>) -> Option<HostArray> {
        let shape = shape.into();
        (shape.numel() == self.numel()).then(|| {
            self.ty.shape = shape;
            self
        })
    }

    pub fn ty(&self) -> &TensorType {
        &self.ty
    }
    pub fn dtype(&self) -> DType {
        self.ty.dtype
    }
    pub fn shape(&self) -> &Shape {
        &self.ty.shape
    }
    pub fn dims(&self) -> &[usize] {
        self.ty.dims()
    }
    pub fn rank(&self) -> usize {
        self.ty.rank()
    }
    pub fn numel(&self) -> usize {
        self.ty.numel()
    }

    /// The data as a typed slice, if `T` is the array's element type.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        (T::DTYPE == self.dtype()).then(|| {
            // SAFETY: buffer is aligned to 64 and holds numel elements of T (Element contract).
            unsafe { std::slice::from_raw_parts(self.buf.ptr.as_ptr() as *const T, self.numel()) }
        })
    }

    /// The data as a mutable typed slice, if `T` is the array's element type.
    pub fn as_mut_slice<T: Element>(&mut self) -> Option<&mut [T]> {
        (T::DTYPE == self.dtype()).then(|| {
            // SAFETY: as in as_slice, with unique access.
            unsafe { std::slice::from_raw_parts_mut(self.buf.ptr.as_ptr() as *mut T, self.numel()) }
        })
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        self.buf.bytes()
    }
    /// The raw bytes, mutable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.buf.bytes_mut()
    }
    /// Pointer to the data (for kernels).
    pub fn as_ptr(&self) -> *const u8 {
        self.buf.ptr.as_ptr()
    }
    /// Mutable pointer to the data (for kernels).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.buf.ptr.as_ptr()
    }

    /// The data copied out as a Vec, if `T` is the element type.
    pub fn to_vec<T: Element>(&self) -> Option<Vec<T>> {
        self.as_slice::<T>().map(|s| s.to_vec())
    }

    /// Element `i` (row-major flat index) as a `Scalar`. Panics if out of range, like slice indexing.
    pub fn get(&self, i: usize) -> Scalar {
        match self.dtype() {
            DType::F32 => Scalar::F32(self.as_slice::<f32>().expect("dtype")[i]),
            DType::F64 => Scalar::F64(self.as_slice::<f64>().expect("dtype")[i]),
            DType::I32 => Scalar::I32(self.as_slice::<i32>().expect("dtype")[i]),
            DType::I64 => Scalar::I64(self.as_slice::<i64>().expect("dtype")[i]),
            DType::Bool => Scalar::Bool(self.as_slice::<bool>().expect("dtype")[i]),
            DType::C64 => Scalar::C64(self.as_slice::<Complex32>().expect("dtype")[i]),
            DType::C128 => Scalar::C128(self.as_slice::<Complex64>().expect("dtype")[i]),
            DType::Float0 => {
                assert!(i < self.numel(), "index {i} out of range");
                Scalar::Float0
            }
        }
    }

    /// Sets element `i`, converting `v` to the array's dtype.
    pub fn set(&mut self, i: usize, v: Scalar) {
        match v.cast(self.dtype()) {
            Scalar::F32(x) => self.as_mut_slice::<f32>().expect("dtype")[i] = x,
            Scalar::F64(x) => self.as_mut_slice::<f64>().expect("dtype")[i] = x,
            Scalar::I32(x) => self.as_mut_slice::<i32>().expect("dtype")[i] = x,
            Scalar::I64(x) => self.as_mut_slice::<i64>().expect("dtype")[i] = x,
            Scalar::Bool(x) => self.as_mut_slice::<bool>().expect("dtype")[i] = x,
            Scalar::C64(x) => self.as_mut_slice::<Complex32>().expect("dtype")[i] = x,
            Scalar::C128(x) => self.as_mut_slice::<Complex64>().expect("dtype")[i] = x,
            Scalar::Float0 => assert!(i < self.numel(), "index {i} out of range"),
        }
    }

    /// All elements as scalars, row-major.
    pub fn scalars(&self) -> impl Iterator<Item = Scalar> + '_ {
        (0..self.numel()).map(|i| self.get(i))
    }

    /// All elements converted to f64 (real part for complex).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.scalars().map(Scalar::to_f64).collect()
    }

    /// The array converted to another dtype.
    pub fn cast(&self, dtype: DType) -> HostArray {
        let mut out = HostArray::zeros(dtype, self.shape().clone());
        for i in 0..self.numel() {
            out.set(i, self.get(i));
        }
        out
    }

    /// If every element is the same, that element (`None` for empty arrays).
    pub fn splat_value(&self) -> Option<Scalar> {
        let first = (self.numel() > 0).then(|| self.get(0))?;
        self.scalars().all(|s| s == first).then_some(first)
    }

    /// True if dtypes, shapes and bits are equal.
    pub fn bit_eq(&self, other: &HostArray) -> bool {
        self.ty == other.ty && self.bytes() == other.bytes()
    }
}

impl PartialEq for HostArray {
    /// Bitwise equality (so NaN == NaN and 0.0 != -0.0): the notion CSE and round trips need.
    fn eq(&self, other: &HostArray) -> bool {
        self.bit_eq(other)
    }
}

impl std::hash::Hash for HostArray {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ty.hash(state);
        self.bytes().hash(state);
    }
}

impl fmt::Debug for HostArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostArray({} ", self.ty)?;
        fmt::Display::fmt(self, f)?;
        f.write_str(")")
    }
}

impl fmt::Display for HostArray {
    /// numpy-like: `[[1. 2.]\n [3. 4.]]`, summarised with `...` beyond 1000 elements.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::array_display::fmt_array(self, f)
    }
}
