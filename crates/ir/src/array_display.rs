//! numpy-style printing of arrays: `Display` is numpy's `str(a)`, [`HostArray::repr`] its `repr(a)`.
//!
//! The rules are those of numpy's `arrayprint.py` under the default print options (precision 8,
//! line width 75, summary threshold 1000 elements, 3 edge items), `floatmode='maxprec'`:
//!
//! - One element format is chosen per array from all the elements shown, so that columns align:
//!   integers are right-aligned to the widest, floats are padded so their decimal points line up
//!   (`[ 0.5  10.25]`), `True` is padded to the width of `False`.
//! - A float prints the shortest digits that round-trip in its own precision (f32 `0.1` is `0.1`),
//!   at most `precision` decimals, with trailing zeros dropped but the point kept (`1.`).
//! - Floats switch to scientific notation when the largest magnitude is >= 1e8, the smallest
//!   nonzero one < 1e-4, or their ratio > 1000; all elements then share one mantissa precision and
//!   exponent width (`[1.0e-05 1.5e+00]`).
//! - Complex numbers print their real parts and their signed imaginary parts as two float columns.
//! - Lines wrap at 75 columns; an array of more than 1000 elements shows 3 items at each edge of
//!   every axis around `...`.
//! - The `str` of a rank-0 array is the `str` of its scalar (`1.0`, `1e-05`, `(1+2j)`), as in numpy.
//!
//! A formatter precision sets numpy's `precision` option: `format!("{:.3}", a)`.

use crate::array::{HostArray, Scalar};
use crate::dtype::DType;
use std::fmt;

/// numpy's print options that gradjit uses.
#[derive(Clone, Copy, Debug)]
struct Options {
    /// Maximum number of decimals of a float.
    precision: usize,
    /// Lines wrap beyond this many characters.
    linewidth: usize,
    /// Arrays with more elements than this are summarised.
    threshold: usize,
    /// Items shown at each edge of a summarised axis.
    edgeitems: usize,
}

const DEFAULTS: Options = Options { precision: 8, linewidth: 75, threshold: 1000, edgeitems: 3 };

impl Options {
    fn from_formatter(f: &fmt::Formatter<'_>) -> Options {
        Options { precision: f.precision().unwrap_or(DEFAULTS.precision), ..DEFAULTS }
    }
}

pub(crate) fn fmt_array(a: &HostArray, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if a.rank() == 0 && f.precision().is_none() {
        return f.write_str(&scalar_str(a.get(0)));
    }
    f.write_str(&array2string(a, Options::from_formatter(f), " ", 0, 0))
}

impl HostArray {
    /// numpy's `repr` with `class_name` in place of `array`, always naming the dtype (gradjit's
    /// default float type is f32, so no dtype goes without saying):
    /// `Array([1., 2.], dtype=float32)`, `Array([], shape=(0, 3), dtype=float32)`.
    pub fn repr(&self, class_name: &str) -> String {
        repr_with(self, class_name, DEFAULTS)
    }
}

fn repr_with(a: &HostArray, class_name: &str, opts: Options) -> String {
    let prefix = format!("{class_name}(");
    let body = array2string(a, opts, ", ", prefix.len(), ")".len());
    let mut extras = Vec::new();
    // As numpy >= 2.2: the shape is shown when the data does not show it.
    if (a.numel() == 0 && a.dims() != [0]) || a.numel() > opts.threshold {
        extras.push(format!("shape={}", a.shape()));
    }
    extras.push(format!("dtype={}", numpy_name(a.dtype())));
    let extras = extras.join(", ") + ")";
    let head = format!("{prefix}{body},");
    let last_line_len = head.len() - head.rfind('\n').map_or(0, |i| i + 1);
    let spacer = if last_line_len + extras.len() + 1 > opts.linewidth {
        format!("\n{}", " ".repeat(prefix.len()))
    } else {
        " ".into()
    };
    head + &spacer + &extras
}

/// The dtype names of numpy (and JAX, for `float0`).
fn numpy_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F64 => "float64",
        DType::I32 => "int32",
        DType::I64 => "int64",
        DType::Bool => "bool",
        DType::C64 => "complex64",
        DType::C128 => "complex128",
        DType::Float0 => "float0",
    }
}

/// numpy's `array2string`: `prefix_len` columns precede the first line (continuation lines are
/// indented to match) and `suffix_len` follow the last.
fn array2string(a: &HostArray, opts: Options, separator: &str, prefix_len: usize, suffix_len: usize) -> String {
    if a.numel() == 0 {
        return "[]".into();
    }
    let summarise = a.numel() > opts.threshold;
    let printer = Printer { a, opts, separator, summarise, strides: a.shape().strides().to_vec() };
    let mut shown = Vec::new();
    printer.gather_shown(0, 0, &mut shown);
    let format = ElementFormat::new(a.dtype(), &shown, a.rank() == 0, opts.precision);
    let hanging = " ".repeat(1 + prefix_len);
    printer.format_axis(&format, 0, 0, &hanging, opts.linewidth.saturating_sub(suffix_len))
}

/// numpy's `_formatArray`: nested brackets, wrapped rows, summarised axes.
struct Printer<'a> {
    a: &'a HostArray,
    opts: Options,
    separator: &'a str,
    summarise: bool,
    strides: Vec<usize>,
}

impl Printer<'_> {
    /// The indices shown along an axis of length `n`; `None` stands for the `...`.
    fn shown(&self, n: usize) -> Vec<Option<usize>> {
        let e = self.opts.edgeitems;
        if self.summarise && n > 2 * e {
            (0..e).map(Some).chain([None]).chain((n - e..n).map(Some)).collect()
        } else {
            (0..n).map(Some).collect()
        }
    }

    /// The elements that will be printed: the element format is chosen from these alone.
    fn gather_shown(&self, axis: usize, offset: usize, out: &mut Vec<Scalar>) {
        if axis == self.a.rank() {
            out.push(self.a.get(offset));
            return;
        }
        for i in self.shown(self.a.dims()[axis]).into_iter().flatten() {
            self.gather_shown(axis + 1, offset + i * self.strides[axis], out);
        }
    }

    fn format_axis(&self, format: &ElementFormat, axis: usize, offset: usize, hanging: &str, width: usize) -> String {
        let rank = self.a.rank();
        if axis == rank {
            return format.format(self.a.get(offset));
        }
        // Nested rows start one column further right, after their `[`, and end before a `]`.
        let next_hanging = format!("{hanging} ");
        let next_width = width.saturating_sub(1);
        let items: Vec<String> = self
            .shown(self.a.dims()[axis])
            .into_iter()
            .map(|i| match i {
                Some(i) => {
                    self.format_axis(format, axis + 1, offset + i * self.strides[axis], &next_hanging, next_width)
                }
                None => "...".to_string(),
            })
            .collect();
        let (last, init) = items.split_last().expect("a non-empty array has no zero-length axis");
        let mut s = String::new();
        if axis + 1 == rank {
            let elem_width = width.saturating_sub(self.separator.trim_end().len().max(1));
            let mut line = hanging.to_string();
            for word in init {
                extend_line(&mut s, &mut line, word, elem_width, hanging);
                line += self.separator;
            }
            extend_line(&mut s, &mut line, last, elem_width, hanging);
            s += &line;
        } else {
            let line_sep = self.separator.trim_end().to_string() + &"\n".repeat(rank - axis - 1);
            for nested in init {
                s += hanging;
                s += nested;
                s += &line_sep;
            }
            s += hanging;
            s += last;
        }
        format!("[{}]", &s[hanging.len()..])
    }
}

/// numpy's `_extendLine`: wraps before `word` if it would pass `width`, unless the line is empty.
fn extend_line(s: &mut String, line: &mut String, word: &str, width: usize, hanging: &str) {
    if line.len() + word.len() > width && line.len() > hanging.len() {
        *s += line.trim_end();
        s.push('\n');
        *line = hanging.to_string();
    }
    *line += word;
}

/// How every element of one array is written (numpy's `_get_format_function`).
enum ElementFormat {
    Real(FloatFormat),
    Complex {
        re: FloatFormat,
        im: FloatFormat,
    },
    Int {
        width: usize,
    },
    /// `True` is written ` True` inside arrays, to align with `False`.
    Bool {
        pad_true: bool,
    },
    Float0,
}

impl ElementFormat {
    fn new(dtype: DType, shown: &[Scalar], rank0: bool, precision: usize) -> ElementFormat {
        let parts = |part: fn(Scalar) -> Real| shown.iter().map(|&s| part(s)).collect::<Vec<_>>();
        match dtype {
            DType::F32 | DType::F64 => ElementFormat::Real(FloatFormat::new(&parts(re), precision, false)),
            DType::C64 | DType::C128 => ElementFormat::Complex {
                re: FloatFormat::new(&parts(re), precision, false),
                im: FloatFormat::new(&parts(im), precision, true),
            },
            DType::I32 | DType::I64 => {
                ElementFormat::Int { width: shown.iter().map(|s| s.to_string().len()).max().unwrap_or(0) }
            }
            DType::Bool => ElementFormat::Bool { pad_true: !rank0 },
            DType::Float0 => ElementFormat::Float0,
        }
    }

    fn format(&self, s: Scalar) -> String {
        match self {
            ElementFormat::Real(f) => f.format(re(s)),
            ElementFormat::Complex { re: fr, im: fi } => {
                let i = fi.format(im(s));
                let end = i.trim_end().len();
                format!("{}{}j{}", fr.format(re(s)), &i[..end], &i[end..])
            }
            ElementFormat::Int { width } => format!("{:>width$}", s.to_string()),
            ElementFormat::Bool { pad_true } => match s {
                Scalar::Bool(true) if *pad_true => " True".into(),
                Scalar::Bool(true) => "True".into(),
                _ => "False".into(),
            },
            ElementFormat::Float0 => "0".into(),
        }
    }
}

/// A real number in its own precision, so that digits are the shortest that round-trip *for that
/// precision* (f32 `0.1` prints `0.1`, not `0.10000000149011612`).
#[derive(Clone, Copy, Debug)]
enum Real {
    F32(f32),
    F64(f64),
}

/// The real part of an inexact scalar.
fn re(s: Scalar) -> Real {
    match s {
        Scalar::F32(v) => Real::F32(v),
        Scalar::C64(c) => Real::F32(c.re),
        Scalar::C128(c) => Real::F64(c.re),
        s => Real::F64(s.to_f64()),
    }
}

/// The imaginary part of an inexact scalar (0 for reals).
fn im(s: Scalar) -> Real {
    match s {
        Scalar::C64(c) => Real::F32(c.im),
        Scalar::C128(c) => Real::F64(c.im),
        Scalar::F32(_) => Real::F32(0.0),
        _ => Real::F64(0.0),
    }
}

impl Real {
    fn value(self) -> f64 {
        match self {
            Real::F32(v) => v as f64,
            Real::F64(v) => v,
        }
    }
    /// `a / b` rounded in this number's precision (numpy compares magnitudes in the array's dtype).
    fn ratio(self, a: f64, b: f64) -> f64 {
        match self {
            Real::F32(_) => (a as f32 / b as f32) as f64,
            Real::F64(_) => a / b,
        }
    }
    /// Shortest round-trip digits, positional: `0.1`, `-0`, `100000`.
    fn shortest(self) -> String {
        match self {
            Real::F32(v) => format!("{v}"),
            Real::F64(v) => format!("{v}"),
        }
    }
    /// Correctly rounded to `p` decimals.
    fn fixed(self, p: usize) -> String {
        match self {
            Real::F32(v) => format!("{v:.p$}"),
            Real::F64(v) => format!("{v:.p$}"),
        }
    }
    /// Shortest round-trip digits, scientific: `1.5e-7`, `1e0`.
    fn shortest_sci(self) -> String {
        match self {
            Real::F32(v) => format!("{v:e}"),
            Real::F64(v) => format!("{v:e}"),
        }
    }
    /// Scientific, correctly rounded to `p` mantissa decimals.
    fn sci(self, p: usize) -> String {
        match self {
            Real::F32(v) => format!("{v:.p$e}"),
            Real::F64(v) => format!("{v:.p$e}"),
        }
    }
}

fn signed(int: &str, plus: bool) -> String {
    if plus && !int.starts_with('-') {
        format!("+{int}")
    } else {
        int.to_string()
    }
}

/// Integer part (with sign) and decimals of the shortest round-trip digits of `x`, rounded to at
/// most `precision` decimals, trailing zeros dropped (numpy's `dragon4_positional`, `unique=True`).
fn positional(x: Real, precision: usize, plus: bool) -> (String, String) {
    let mut s = x.shortest();
    if s.split_once('.').is_some_and(|(_, frac)| frac.len() > precision) {
        s = x.fixed(precision);
    }
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    (signed(int, plus), frac.trim_end_matches('0').to_string())
}

/// Mantissa integer part (with sign), mantissa decimals and exponent of the shortest round-trip
/// digits of `x`, with at most `precision` decimals (numpy's `dragon4_scientific`, `unique=True`).
fn scientific(x: Real, precision: usize, plus: bool) -> (String, String, i32) {
    let mut s = x.shortest_sci();
    let too_long =
        |s: &str| s.split_once('e').and_then(|(m, _)| m.split_once('.')).is_some_and(|(_, f)| f.len() > precision);
    if too_long(&s) {
        s = x.sci(precision);
    }
    let (mantissa, exp) = s.split_once('e').expect("Rust's {:e} always writes an exponent");
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    (
        signed(int, plus),
        frac.trim_end_matches('0').to_string(),
        exp.parse().expect("Rust's {:e} exponent is an integer"),
    )
}

/// numpy's `FloatingFormat` in `maxprec` mode: one layout for all floats of an array.
#[derive(Debug)]
struct FloatFormat {
    /// Write a `+` before non-negative numbers (the imaginary parts of complex numbers).
    plus: bool,
    /// Decimals: the maximum in positional mode, the exact mantissa decimals in scientific mode.
    precision: usize,
    /// Width of the integer part, sign included.
    pad_left: usize,
    /// Width of the decimals (positional) or of everything after the point (scientific).
    pad_right: usize,
    /// Exponent digits, in scientific mode.
    exp_digits: Option<usize>,
}

impl FloatFormat {
    fn new(values: &[Real], precision: usize, plus: bool) -> FloatFormat {
        let finite: Vec<Real> = values.iter().copied().filter(|x| x.value().is_finite()).collect();
        let mags = finite.iter().map(|x| x.value().abs()).filter(|&m| m != 0.0);
        let (min, max) = mags.fold((f64::INFINITY, 0.0f64), |(lo, hi), m| (lo.min(m), hi.max(m)));
        let scientific_mode =
            finite.first().is_some_and(|x| max > 0.0 && (max >= 1e8 || min < 1e-4 || x.ratio(max, min) > 1000.0));

        let mut f = FloatFormat { plus, precision, pad_left: 0, pad_right: 0, exp_digits: None };
        if scientific_mode {
            let parts: Vec<_> = finite.iter().map(|&x| scientific(x, precision, plus)).collect();
            let exp_digits = parts.iter().map(|(_, _, e)| e.unsigned_abs().to_string().len().max(2)).max().unwrap_or(2);
            f.precision = parts.iter().map(|(_, frac, _)| frac.len()).max().unwrap_or(0);
            f.pad_left = parts.iter().map(|(int, _, _)| int.len()).max().unwrap_or(0);
            f.pad_right = exp_digits + 2 + f.precision;
            f.exp_digits = Some(exp_digits);
        } else if !finite.is_empty() {
            let parts: Vec<_> = finite.iter().map(|&x| positional(x, precision, plus)).collect();
            f.pad_left = parts.iter().map(|(int, _)| int.len()).max().unwrap_or(0);
            f.pad_right = parts.iter().map(|(_, frac)| frac.len()).max().unwrap_or(0);
        }
        if finite.len() != values.len() {
            // Make room for `nan`, `inf` and `-inf` (or `+inf`), right-aligned under the numbers.
            let neg_inf = plus || values.iter().any(|x| x.value() == f64::NEG_INFINITY);
            let room = |len: usize| len.saturating_sub(f.pad_right + 1);
            f.pad_left = f.pad_left.max(room(3)).max(room(3 + neg_inf as usize));
        }
        f
    }

    fn format(&self, x: Real) -> String {
        let v = x.value();
        if !v.is_finite() {
            let text = match (v.is_nan(), v < 0.0, self.plus) {
                (true, _, true) => "+nan",
                (true, _, false) => "nan",
                (false, true, _) => "-inf",
                (false, false, true) => "+inf",
                (false, false, false) => "inf",
            };
            return format!("{text:>width$}", width = self.pad_left + self.pad_right + 1);
        }
        let (pad_left, pad_right, precision) = (self.pad_left, self.pad_right, self.precision);
        match self.exp_digits {
            Some(digits) => {
                let (int, frac, e) = scientific(x, precision, self.plus);
                let sign = if e < 0 { '-' } else { '+' };
                format!("{int:>pad_left$}.{frac:0<precision$}e{sign}{:0>digits$}", e.unsigned_abs())
            }
            None => {
                let (int, frac) = positional(x, precision, self.plus);
                format!("{int:>pad_left$}.{frac:<pad_right$}")
            }
        }
    }
}

/// The `str` of a numpy scalar, as Python writes floats: `1.0`, `0.1`, `1e-05`, `1e+16`, `(1+2j)`.
fn scalar_str(s: Scalar) -> String {
    match s {
        Scalar::F32(_) | Scalar::F64(_) => python_float(re(s)),
        Scalar::C64(_) | Scalar::C128(_) => {
            // Python drops the `.0` of integral parts and the real part when it is +0.
            let part = |x: Real| {
                let t = python_float(x);
                t.strip_suffix(".0").map(str::to_string).unwrap_or(t)
            };
            let (r, i) = (re(s), im(s));
            if r.value() == 0.0 && !r.value().is_sign_negative() {
                format!("{}j", part(i))
            } else {
                let i_text = part(i);
                let sign = if i_text.starts_with('-') { "" } else { "+" };
                format!("({}{sign}{i_text}j)", part(r))
            }
        }
        Scalar::Bool(b) => if b { "True" } else { "False" }.into(),
        Scalar::Float0 => "0".into(),
        s => s.to_string(),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, positional from 1e-4 up to 1e16.
fn python_float(x: Real) -> String {
    let v = x.value();
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 || (1e-4..1e16).contains(&v.abs()) {
        let s = x.shortest();
        return if s.contains('.') { s } else { s + ".0" };
    }
    let (int, frac, e) = scientific(x, usize::MAX, false);
    let mantissa = if frac.is_empty() { int } else { format!("{int}.{frac}") };
    format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.unsigned_abs())
}

#[cfg(test)]
mod tests {
    //! Expected strings are numpy 2.x's output for the same arrays, written out by its rules.
    use super::*;
    use num_complex::Complex32;

    fn f32s(shape: &[usize], v: &[f32]) -> HostArray {
        HostArray::from_slice(shape, v).unwrap()
    }
    fn f64s(shape: &[usize], v: &[f64]) -> HostArray {
        HostArray::from_slice(shape, v).unwrap()
    }
    fn arange(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32).collect()
    }

    #[test]
    fn floats_align_their_decimal_points() {
        assert_eq!(f32s(&[2], &[1.0, 2.0]).to_string(), "[1. 2.]");
        assert_eq!(f32s(&[2], &[1.0, 2.5]).to_string(), "[1.  2.5]");
        assert_eq!(f32s(&[2], &[0.5, 10.25]).to_string(), "[ 0.5  10.25]");
        assert_eq!(f32s(&[3], &[-1.0, 2.0, 0.0]).to_string(), "[-1.  2.  0.]");
        assert_eq!(f32s(&[2], &[0.1, 0.2]).to_string(), "[0.1 0.2]");
        assert_eq!(f64s(&[2], &[1.0 / 3.0, 2.0 / 3.0]).to_string(), "[0.33333333 0.66666667]");
        assert_eq!(f32s(&[2], &[-0.0, 1.0]).to_string(), "[-0.  1.]");
    }

    #[test]
    fn floats_go_scientific_on_wide_ranges() {
        assert_eq!(f64s(&[2], &[1e-5, 1.5]).to_string(), "[1.0e-05 1.5e+00]");
        assert_eq!(f64s(&[1], &[1e-5]).to_string(), "[1.e-05]");
        assert_eq!(f32s(&[2], &[1e8, -2.0]).to_string(), "[ 1.e+08 -2.e+00]");
        assert_eq!(f64s(&[2], &[1.0, 1000.0]).to_string(), "[   1. 1000.]");
        assert_eq!(f64s(&[2], &[1.0, 1001.0]).to_string(), "[1.000e+00 1.001e+03]");
        assert_eq!(f64s(&[2], &[1e-100, 1.0]).to_string(), "[1.e-100 1.e+000]");
    }

    #[test]
    fn non_finite_floats_are_padded_like_numbers() {
        assert_eq!(f32s(&[3], &[f32::NAN, 1.0, f32::INFINITY]).to_string(), "[nan  1. inf]");
        assert_eq!(f32s(&[2], &[f32::NEG_INFINITY, 1.5]).to_string(), "[-inf  1.5]");
        assert_eq!(f32s(&[2], &[f32::NAN, f32::NAN]).to_string(), "[nan nan]");
    }

    #[test]
    fn ints_and_bools_are_right_aligned() {
        let ints = HostArray::from_slice([3], &[1i32, 22, -333]).unwrap();
        assert_eq!(ints.to_string(), "[   1   22 -333]");
        let bools = HostArray::from_slice([3], &[true, false, true]).unwrap();
        assert_eq!(bools.to_string(), "[ True False  True]");
        assert_eq!(bools.repr("array"), "array([ True, False,  True], dtype=bool)");
    }

    #[test]
    fn complex_numbers_print_two_float_columns() {
        let c = HostArray::from_slice([2], &[Complex32::new(1.0, 2.0), Complex32::new(3.5, -1.0)]).unwrap();
        assert_eq!(c.to_string(), "[1. +2.j 3.5-1.j]");
        assert_eq!(c.repr("array"), "array([1. +2.j, 3.5-1.j], dtype=complex64)");
        let c = HostArray::from_slice([2], &[Complex32::new(0.0, 0.5), Complex32::new(1.0, 1.0)]).unwrap();
        assert_eq!(c.to_string(), "[0.+0.5j 1.+1.j ]");
    }

    #[test]
    fn rank0_str_is_the_scalar_str() {
        assert_eq!(HostArray::scalar(Scalar::F32(1.0)).to_string(), "1.0");
        assert_eq!(HostArray::scalar(Scalar::F32(0.1)).to_string(), "0.1");
        assert_eq!(HostArray::scalar(Scalar::F64(1e-5)).to_string(), "1e-05");
        assert_eq!(HostArray::scalar(Scalar::F64(1.5e16)).to_string(), "1.5e+16");
        assert_eq!(HostArray::scalar(Scalar::I32(-7)).to_string(), "-7");
        assert_eq!(HostArray::scalar(Scalar::Bool(true)).to_string(), "True");
        assert_eq!(HostArray::scalar(Scalar::C64(Complex32::new(1.0, -2.5))).to_string(), "(1-2.5j)");
        assert_eq!(HostArray::scalar(Scalar::C64(Complex32::new(0.0, 2.0))).to_string(), "2j");
        assert_eq!(HostArray::scalar(Scalar::F32(1.0)).repr("array"), "array(1., dtype=float32)");
        assert_eq!(HostArray::scalar(Scalar::Bool(true)).repr("array"), "array(True, dtype=bool)");
    }

    #[test]
    fn nested_rows_and_blocks() {
        let a = f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(a.to_string(), "[[1. 2.]\n [3. 4.]]");
        assert_eq!(a.repr("Array"), "Array([[1., 2.],\n       [3., 4.]], dtype=float32)");
        let b = f32s(&[2, 1, 2], &arange(4));
        assert_eq!(b.to_string(), "[[[0. 1.]]\n\n [[2. 3.]]]");
        assert_eq!(b.repr("array"), "array([[[0., 1.]],\n\n       [[2., 3.]]], dtype=float32)");
    }

    #[test]
    fn long_rows_wrap_at_75_columns() {
        let a = f32s(&[30], &arange(30));
        assert_eq!(
            a.to_string(),
            "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n \
             18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]"
        );
        assert_eq!(
            a.repr("array"),
            "array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,\n       \
             13., 14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25.,\n       \
             26., 27., 28., 29.], dtype=float32)"
        );
    }

    #[test]
    fn large_arrays_are_summarised() {
        let ints = HostArray::from_vec([2000], (0..2000i64).collect()).unwrap();
        assert_eq!(ints.to_string(), "[   0    1    2 ... 1997 1998 1999]");
        assert_eq!(
            ints.cast(DType::I32).repr("array"),
            "array([   0,    1,    2, ..., 1997, 1998, 1999],\n      shape=(2000,), dtype=int32)"
        );
        // The element format sees only the shown elements: 0..2 and 1997..1999 span > 1000.
        let floats = f64s(&[2000], &(0..2000).map(f64::from).collect::<Vec<_>>());
        assert_eq!(floats.to_string(), "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
        assert_eq!(
            floats.cast(DType::F32).repr("array"),
            "array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,\n       \
             1.999e+03], shape=(2000,), dtype=float32)"
        );
        let m = HostArray::from_vec([50, 50], (0..2500i32).collect()).unwrap();
        assert_eq!(
            m.to_string(),
            "[[   0    1    2 ...   47   48   49]\n [  50   51   52 ...   97   98   99]\n \
             [ 100  101  102 ...  147  148  149]\n ...\n [2350 2351 2352 ... 2397 2398 2399]\n \
             [2400 2401 2402 ... 2447 2448 2449]\n [2450 2451 2452 ... 2497 2498 2499]]"
        );
    }

    #[test]
    fn empty_arrays() {
        let e = HostArray::zeros(DType::F32, [0]);
        assert_eq!(e.to_string(), "[]");
        assert_eq!(e.repr("Array"), "Array([], dtype=float32)");
        let e = HostArray::zeros(DType::F32, [0, 3]);
        assert_eq!(e.repr("Array"), "Array([], shape=(0, 3), dtype=float32)");
    }

    #[test]
    fn formatter_precision_is_numpy_precision() {
        let a = f64s(&[2], &[1.0 / 3.0, 2.5]);
        assert_eq!(format!("{a:.3}"), "[0.333 2.5  ]");
        assert_eq!(format!("{:.2}", HostArray::scalar(Scalar::F64(1.23456))), "1.23");
    }

    #[test]
    fn dtype_goes_to_a_new_line_when_the_last_line_is_full() {
        let v: Vec<f32> = (0..9).map(|i| 1.0 + i as f32 / 8.0).collect();
        assert_eq!(
            f32s(&[9], &v).repr("array"),
            "array([1.   , 1.125, 1.25 , 1.375, 1.5  , 1.625, 1.75 , 1.875, 2.   ],\n      dtype=float32)"
        );
        let v: Vec<f64> = (0..12).map(|i| 1.0 + i as f64 / 11.0).collect();
        assert_eq!(
            f64s(&[12], &v).to_string(),
            "[1.         1.09090909 1.18181818 1.27272727 1.36363636 1.45454545\n \
             1.54545455 1.63636364 1.72727273 1.81818182 1.90909091 2.        ]"
        );
    }

    #[test]
    fn mixed_special_values() {
        let a = f32s(&[2, 2], &[1e-9, 1.0, f32::NAN, -3.0]);
        assert_eq!(a.to_string(), "[[ 1.e-09  1.e+00]\n [    nan -3.e+00]]");
        let c = HostArray::from_slice([3], &[1.5f64, f64::NAN, f64::NEG_INFINITY]).unwrap().cast(DType::C128);
        assert_eq!(c.repr("array"), "array([ 1.5+0.j,  nan+0.j, -inf+0.j], dtype=complex128)");
        assert_eq!(HostArray::scalar(Scalar::F32(3.4e38)).to_string(), "3.4e+38");
        let c = Scalar::C128(num_complex::Complex64::new(-0.0, 1.0));
        assert_eq!(HostArray::scalar(c).to_string(), "(-0+1j)");
        let c = Scalar::C128(num_complex::Complex64::new(1e20, 1.0));
        assert_eq!(HostArray::scalar(c).to_string(), "(1e+20+1j)");
    }
}
