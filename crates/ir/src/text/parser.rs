//! The parser: text in the grammar of `docs/ir-format.md` to a [`Function`].
//!
//! It is a recursive-descent parser over the tokens of [`super::lexer`]. Names are resolved as
//! they are read (each function is its own namespace), literals and padding values are read in
//! the dtype their context gives them (the constant's binder, the padded operand), and every
//! equation's result types are re-derived with [`shape_rules::infer`]: a written type that
//! disagrees is an error at its binder, so a parsed function is always well typed.
//!
//! No input makes the parser panic: integers are bounded so that shape arithmetic cannot
//! overflow, and nesting depth is bounded so that recursion cannot exhaust the stack.

use super::error::{ParseError, Pos};
use super::lexer::{lex, Tok, Token};
use crate::array::{HostArray, Scalar};
use crate::dtype::{DType, Shape, TensorType};
use crate::function::{Function, Loc, Value};
use crate::prim::{Axes, DotDims, Literal, Prim, PrimKind};
use crate::shape_rules;
use std::collections::HashMap;
use std::sync::Arc;

/// Largest dimension, axis or tuple entry accepted: shape rules may add and multiply a few of
/// them, which must not overflow.
const MAX_INT: usize = i32::MAX as usize;
/// Largest number of elements of a type.
const MAX_ELEMENTS: usize = 1 << 48;
/// Deepest nesting of functions in parameters.
const MAX_DEPTH: usize = 64;

/// Parses one function written in the text format.
pub fn parse_function(src: &str) -> Result<Function, ParseError> {
    let mut p = Parser { src, toks: lex(src)?, at: 0, depth: 0 };
    let f = p.function()?;
    match p.peek() {
        Tok::Eof => Ok(f),
        _ => Err(p.unexpected("end of input")),
    }
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    at: usize,
    depth: usize,
}

/// A `name:type` binder.
struct Binder {
    name: String,
    pos: Pos,
    ty: TensorType,
}

/// A parameter value before it is read in the context of its primitive.
enum ParamValue {
    Word(String),
    Tuple(Vec<(String, Pos)>),
    Dense(Vec<(String, Pos)>),
    Function(Function),
    /// `({ lambda ; ... }, ...)`
    Functions(Vec<Function>),
}

struct Param {
    key: String,
    key_pos: Pos,
    value: ParamValue,
    pos: Pos,
}

impl<'s> Parser<'s> {
    // ---- tokens ----

    fn peek(&self) -> &Tok {
        &self.token(self.at).tok
    }
    fn peek2(&self) -> &Tok {
        &self.token(self.at + 1).tok
    }
    fn pos(&self) -> Pos {
        self.token(self.at).pos
    }
    /// Token `i`, or the final `Eof` past the end.
    fn token(&self, i: usize) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[i.min(last)]
    }
    fn bump(&mut self) -> Token {
        let t = self.token(self.at).clone();
        if t.tok != Tok::Eof {
            self.at += 1;
        }
        t
    }
    fn is_punct(&self, c: char) -> bool {
        *self.peek() == Tok::Punct(c)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Word(x) if x == w)
    }

    fn err(&self, pos: Pos, message: impl Into<String>) -> ParseError {
        ParseError::new(self.src, pos, message)
    }
    /// "expected X, found Y" at the current token.
    fn unexpected(&self, expected: &str) -> ParseError {
        let found = match self.peek() {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Eof => "end of input".to_string(),
        };
        self.err(self.pos(), format!("expected {expected}, found {found}"))
    }

    fn expect_punct(&mut self, c: char) -> Result<Pos, ParseError> {
        if self.is_punct(c) {
            Ok(self.bump().pos)
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }
    fn expect_keyword(&mut self, w: &str) -> Result<(), ParseError> {
        if self.is_word(w) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{w}`")))
        }
    }
    /// Any word, with what it should have been for the error.
    fn word(&mut self, what: &str) -> Result<(String, Pos), ParseError> {
        match self.peek() {
            Tok::Word(_) => {
                let t = self.bump();
                let Tok::Word(w) = t.tok else { unreachable!("peeked a word") };
                Ok((w, t.pos))
            }
            _ => Err(self.unexpected(what)),
        }
    }
    fn name(&mut self) -> Result<(String, Pos), ParseError> {
        match self.peek() {
            Tok::Word(w) if is_name(w) => self.word("a name"),
            _ => Err(self.unexpected("a value name")),
        }
    }
    fn int(&mut self, what: &str) -> Result<usize, ParseError> {
        let (w, pos) = self.word(what)?;
        self.read_int(&w, pos, what)
    }
    fn read_int(&self, w: &str, pos: Pos, what: &str) -> Result<usize, ParseError> {
        match w.parse::<usize>() {
            Ok(n) if n <= MAX_INT => Ok(n),
            Ok(_) => Err(self.err(pos, format!("{what} `{w}` is too large (at most {MAX_INT})"))),
            Err(_) => Err(self.err(pos, format!("expected {what}, found `{w}`"))),
        }
    }

    // ---- structure ----

    /// `{ lambda ; binders . let eqns in (outputs) }`
    fn function(&mut self) -> Result<Function, ParseError> {
        if self.depth == MAX_DEPTH {
            return Err(self.err(self.pos(), format!("functions nested more than {MAX_DEPTH} deep")));
        }
        self.depth += 1;
        self.expect_punct('{')?;
        self.expect_keyword("lambda")?;
        self.expect_punct(';')?;
        let mut f = Function::new();
        let mut scope = Scope::default();
        while !self.is_punct('.') {
            let b = self.binder()?;
            let v = f.add_param(b.ty.clone());
            scope.define(self, &b, v)?;
        }
        self.bump();
        self.expect_keyword("let")?;
        while !(self.is_word("in") && *self.peek2() == Tok::Punct('(')) {
            if !matches!(self.peek(), Tok::Word(_) | Tok::Punct('=')) {
                return Err(self.unexpected("an equation or `in`"));
            }
            self.eqn(&mut f, &mut scope)?;
        }
        self.bump();
        self.expect_punct('(')?;
        while !self.is_punct(')') {
            let (name, pos) = self.name()?;
            f.outputs.push(scope.get(self, &name, pos)?);
            if !self.is_punct(')') {
                self.expect_punct(',')?;
            }
        }
        self.bump();
        self.expect_punct('}')?;
        self.depth -= 1;
        Ok(f)
    }

    /// `name:dtype[d0,d1,...]`
    fn binder(&mut self) -> Result<Binder, ParseError> {
        let (name, pos) = self.name()?;
        self.expect_punct(':')?;
        let ty = self.ty()?;
        Ok(Binder { name, pos, ty })
    }

    fn ty(&mut self) -> Result<TensorType, ParseError> {
        let (d, pos) = self.word("a dtype")?;
        let dtype = DType::from_name(&d).ok_or_else(|| self.err(pos, format!("unknown dtype `{d}`")))?;
        self.expect_punct('[')?;
        let mut dims = Vec::new();
        while !self.is_punct(']') {
            dims.push(self.int("a dimension")?);
            if !self.is_punct(']') {
                self.expect_punct(',')?;
                if self.is_punct(']') {
                    return Err(self.unexpected("a dimension"));
                }
            }
        }
        self.bump();
        let shape = self.checked_shape(dims, pos)?;
        Ok(TensorType::new(dtype, shape))
    }

    fn checked_shape(&self, dims: Vec<usize>, pos: Pos) -> Result<Shape, ParseError> {
        let numel = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d).filter(|&n| n <= MAX_ELEMENTS));
        match numel {
            Some(_) => Ok(Shape::from(dims)),
            None => Err(self.err(pos, format!("shape {dims:?} has more than 2^48 elements"))),
        }
    }

    /// `binders = prim[params] inputs loc(...)`
    fn eqn(&mut self, f: &mut Function, scope: &mut Scope) -> Result<(), ParseError> {
        let mut binders = Vec::new();
        while !self.is_punct('=') {
            if !binders.is_empty() && *self.peek2() != Tok::Punct(':') {
                return Err(self.unexpected("`=` or another binder"));
            }
            binders.push(self.binder()?);
        }
        let eq_pos = self.bump().pos;
        let (prim_name, prim_pos) = self.word("a primitive")?;
        let kind = PrimKind::from_name(&prim_name)
            .ok_or_else(|| self.err(prim_pos, format!("unknown primitive `{prim_name}`")))?;
        let params = if self.is_punct('[') { self.params()? } else { Vec::new() };
        let mut inputs = Vec::new();
        while let Tok::Word(w) = self.peek() {
            // A name followed by `:` starts the next equation; `in (` and `loc (` are keywords.
            let next = self.peek2();
            if *next == Tok::Punct(':') || (*next == Tok::Punct('(') && (w == "in" || w == "loc")) {
                break;
            }
            let (name, pos) = self.name()?;
            inputs.push(scope.get(self, &name, pos)?);
        }
        let loc = if self.is_word("loc") { Some(self.loc()?) } else { None };

        let in_tys: Vec<&TensorType> = inputs.iter().map(|&v| f.ty(v)).collect();
        let at = PrimSite { kind, pos: prim_pos };
        let prim = Args::new(self, at, params).build(&binders, &in_tys)?;
        let out_tys = shape_rules::infer(&prim, &in_tys).map_err(|e| self.err(prim_pos, e.to_string()))?;
        if out_tys.len() != binders.len() {
            let pos = binders.first().map_or(eq_pos, |b| b.pos);
            return Err(self.err(
                pos,
                format!("`{prim_name}` has {} result(s), but {} binder(s) are written", out_tys.len(), binders.len()),
            ));
        }
        for (b, t) in binders.iter().zip(&out_tys) {
            if b.ty != *t {
                return Err(self.err(b.pos, format!("`{}` is written as {} but `{prim_name}` gives {t}", b.name, b.ty)));
            }
        }
        let outs = f.push_typed(prim, &inputs, out_tys, loc);
        for (b, &v) in binders.iter().zip(&outs) {
            scope.define(self, b, v)?;
        }
        Ok(())
    }

    /// `[key=value ...]`
    fn params(&mut self) -> Result<Vec<Param>, ParseError> {
        self.bump();
        let mut params: Vec<Param> = Vec::new();
        while !self.is_punct(']') {
            let (key, key_pos) = self.word("a parameter name")?;
            if params.iter().any(|p| p.key == key) {
                return Err(self.err(key_pos, format!("parameter `{key}` is given twice")));
            }
            self.expect_punct('=')?;
            let pos = self.pos();
            let value = match self.peek() {
                Tok::Punct('(') if *self.peek2() == Tok::Punct('{') => ParamValue::Functions(self.functions()?),
                Tok::Punct('(') => ParamValue::Tuple(self.list(')', true)?),
                Tok::Punct('[') => ParamValue::Dense(self.list(']', false)?),
                Tok::Punct('{') => ParamValue::Function(self.function()?),
                _ => ParamValue::Word(self.word("a parameter value")?.0),
            };
            params.push(Param { key, key_pos, value, pos });
        }
        self.bump();
        Ok(params)
    }

    /// `({ lambda ; ... }, { lambda ; ... })`, with an optional trailing comma.
    fn functions(&mut self) -> Result<Vec<Function>, ParseError> {
        self.bump();
        let mut fs = Vec::new();
        while !self.is_punct(')') {
            fs.push(self.function()?);
            if !self.is_punct(')') {
                self.expect_punct(',')?;
            }
        }
        self.bump();
        Ok(fs)
    }

    /// `(w, w, ...)` (comma-separated, optional trailing comma) or `[w w ...]`.
    fn list(&mut self, close: char, commas: bool) -> Result<Vec<(String, Pos)>, ParseError> {
        self.bump();
        let mut items = Vec::new();
        while !self.is_punct(close) {
            items.push(self.word("a value")?);
            if commas && !self.is_punct(close) {
                self.expect_punct(',')?;
            }
        }
        self.bump();
        Ok(items)
    }

    /// `loc("file":line:col)`
    fn loc(&mut self) -> Result<Loc, ParseError> {
        self.bump();
        self.expect_punct('(')?;
        let file = match self.peek() {
            Tok::Str(s) => Arc::<str>::from(s.as_str()),
            _ => return Err(self.unexpected("a quoted file name")),
        };
        self.bump();
        self.expect_punct(':')?;
        let line = self.loc_number("a line number")?;
        self.expect_punct(':')?;
        let col = self.loc_number("a column number")?;
        self.expect_punct(')')?;
        Ok(Loc { file, line, col })
    }
    fn loc_number(&mut self, what: &str) -> Result<u32, ParseError> {
        let (w, pos) = self.word(what)?;
        w.parse().map_err(|_| self.err(pos, format!("expected {what}, found `{w}`")))
    }
}

fn is_name(w: &str) -> bool {
    let mut cs = w.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The names of one function.
#[derive(Default)]
struct Scope(HashMap<String, Value>);

impl Scope {
    fn define(&mut self, p: &Parser<'_>, b: &Binder, v: Value) -> Result<(), ParseError> {
        if self.0.insert(b.name.clone(), v).is_some() {
            return Err(p.err(b.pos, format!("`{}` is already defined", b.name)));
        }
        Ok(())
    }
    fn get(&self, p: &Parser<'_>, name: &str, pos: Pos) -> Result<Value, ParseError> {
        self.0.get(name).copied().ok_or_else(|| p.err(pos, format!("unknown value `{name}`")))
    }
}

/// Which primitive an equation applies, and where its name is written.
#[derive(Clone, Copy)]
struct PrimSite {
    kind: PrimKind,
    pos: Pos,
}

/// The parameters of one equation, taken one by one as its primitive is built; any left over
/// are unknown keys.
struct Args<'p, 's> {
    p: &'p Parser<'s>,
    at: PrimSite,
    params: Vec<Option<Param>>,
}

impl<'p, 's> Args<'p, 's> {
    fn new(p: &'p Parser<'s>, at: PrimSite, params: Vec<Param>) -> Args<'p, 's> {
        Args { p, at, params: params.into_iter().map(Some).collect() }
    }

    fn take(&mut self, key: &str) -> Result<(ParamValue, Pos), ParseError> {
        let slot = self.params.iter_mut().find(|p| p.as_ref().is_some_and(|p| p.key == key));
        match slot.and_then(Option::take) {
            Some(p) => Ok((p.value, p.pos)),
            None => Err(self.p.err(self.at.pos, format!("`{}` needs parameter `{key}`", self.at.kind.name()))),
        }
    }

    fn word(&mut self, key: &str, what: &str) -> Result<(String, Pos), ParseError> {
        match self.take(key)? {
            (ParamValue::Word(w), pos) => Ok((w, pos)),
            (_, pos) => Err(self.p.err(pos, format!("`{key}` must be {what}"))),
        }
    }
    fn tuple(&mut self, key: &str) -> Result<Axes, ParseError> {
        match self.take(key)? {
            (ParamValue::Tuple(items), _) => {
                items.iter().map(|(w, pos)| self.p.read_int(w, *pos, "a non-negative integer")).collect()
            }
            (_, pos) => Err(self.p.err(pos, format!("`{key}` must be a tuple such as `(0, 1)`"))),
        }
    }
    fn shape(&mut self, key: &str) -> Result<Shape, ParseError> {
        let pos = self.params.iter().flatten().find(|p| p.key == key).map_or(self.at.pos, |p| p.pos);
        let dims = self.tuple(key)?;
        self.p.checked_shape(dims.to_vec(), pos)
    }
    fn index(&mut self, key: &str) -> Result<usize, ParseError> {
        let (w, pos) = self.word(key, "a non-negative integer")?;
        self.p.read_int(&w, pos, "a non-negative integer")
    }
    fn bool(&mut self, key: &str) -> Result<bool, ParseError> {
        match self.word(key, "`true` or `false`")? {
            (w, _) if w == "true" => Ok(true),
            (w, _) if w == "false" => Ok(false),
            (w, pos) => Err(self.p.err(pos, format!("`{key}` must be `true` or `false`, found `{w}`"))),
        }
    }
    fn function(&mut self, key: &str) -> Result<Arc<Function>, ParseError> {
        match self.take(key)? {
            (ParamValue::Function(f), _) => Ok(Arc::new(f)),
            (_, pos) => Err(self.p.err(pos, format!("`{key}` must be a function `{{ lambda ; ... }}`"))),
        }
    }
    fn dtype(&mut self, key: &str) -> Result<DType, ParseError> {
        let (w, pos) = self.word(key, "a dtype")?;
        DType::from_name(&w).ok_or_else(|| self.p.err(pos, format!("unknown dtype `{w}`")))
    }
    fn scalar(&mut self, key: &str, dtype: DType) -> Result<Scalar, ParseError> {
        let (w, pos) = self.word(key, &format!("a {dtype} scalar"))?;
        self.p.read_scalar(&w, pos, dtype)
    }

    /// The primitive, built from its parameters; binder and operand types give literals their
    /// dtype and shape.
    fn build(mut self, binders: &[Binder], ins: &[&TensorType]) -> Result<Prim, ParseError> {
        use PrimKind as K;
        let prim = match self.at.kind {
            K::Unary(op) => Prim::Unary(op),
            K::Binary(op) => Prim::Binary(op),
            K::Compare(op) => Prim::Compare(op),
            K::Select => Prim::Select,
            K::StopGradient => Prim::StopGradient,
            K::DynamicUpdateSlice => Prim::DynamicUpdateSlice,
            K::IntegerPow => {
                let (w, pos) = self.word("y", "an integer")?;
                let y = w.parse().map_err(|_| self.p.err(pos, format!("expected an i32 exponent, found `{w}`")))?;
                Prim::IntegerPow { y }
            }
            K::BroadcastInDim => {
                Prim::BroadcastInDim { shape: self.shape("shape")?, dims: self.tuple("broadcast_dimensions")? }
            }
            K::Reshape => Prim::Reshape { shape: self.shape("shape")? },
            K::Transpose => Prim::Transpose { perm: self.tuple("permutation")? },
            K::Slice => {
                Prim::Slice { start: self.tuple("start")?, limit: self.tuple("limit")?, stride: self.tuple("stride")? }
            }
            K::Pad => {
                let (low, high, interior) = (self.tuple("low")?, self.tuple("high")?, self.tuple("interior")?);
                let Some(x) = ins.first() else {
                    return Err(self.p.err(self.at.pos, "`pad` needs an operand, whose dtype its `value` has"));
                };
                Prim::Pad { low, high, interior, value: self.scalar("value", x.dtype)? }
            }
            K::Concatenate => Prim::Concatenate { axis: self.index("axis")? },
            K::Rev => Prim::Rev { axes: self.tuple("axes")? },
            K::Gather => Prim::Gather { axis: self.index("axis")? },
            K::ScatterAdd => Prim::ScatterAdd { axis: self.index("axis")? },
            K::DynamicSlice => Prim::DynamicSlice { sizes: self.tuple("sizes")? },
            K::Reduce(op) => Prim::Reduce { op, axes: self.tuple("axes")? },
            K::Arg(op) => Prim::Arg { op, axis: self.index("axis")?, index_dtype: self.dtype("index_dtype")? },
            K::DotGeneral => Prim::DotGeneral(DotDims {
                lhs_contract: self.tuple("lhs_contract")?,
                rhs_contract: self.tuple("rhs_contract")?,
                lhs_batch: self.tuple("lhs_batch")?,
                rhs_batch: self.tuple("rhs_batch")?,
            }),
            K::ConvertElementType => Prim::ConvertElementType { dtype: self.dtype("new_dtype")? },
            K::Iota => {
                Prim::Iota { dtype: self.dtype("dtype")?, shape: self.shape("shape")?, axis: self.index("axis")? }
            }
            K::Constant => Prim::Constant(self.literal(binders)?),
            K::RandomBits => Prim::RandomBits { shape: self.shape("shape")?, dtype: self.dtype("dtype")? },
            K::Call => Prim::Call { body: self.function("body")? },
            K::Scan => Prim::Scan {
                length: self.index("length")?,
                reverse: self.bool("reverse")?,
                num_consts: self.index("num_consts")?,
                num_carry: self.index("num_carry")?,
                body: self.function("body")?,
            },
            K::While => Prim::While {
                cond_consts: self.index("cond_consts")?,
                body_consts: self.index("body_consts")?,
                cond: self.function("cond")?,
                body: self.function("body")?,
            },
            K::Cond => match self.take("branches")? {
                (ParamValue::Functions(fs), _) => Prim::Cond { branches: fs.into_iter().map(Arc::new).collect() },
                (_, pos) => {
                    return Err(self.p.err(pos, "`branches` must be a tuple of functions `({ lambda ; ... },)`"))
                }
            },
            K::CustomJvp => Prim::CustomJvp { body: self.function("body")?, jvp: self.function("jvp")? },
            K::CustomVjp => {
                Prim::CustomVjp { body: self.function("body")?, fwd: self.function("fwd")?, bwd: self.function("bwd")? }
            }
            K::CustomLin => Prim::CustomLin { num_res: self.index("num_res")?, bwd: self.function("bwd")? },
            K::Collective(op) => {
                let (w, pos) = self.word("axis_name", "an axis name")?;
                if !crate::prim::is_axis_name(&w) {
                    return Err(self.p.err(pos, format!("axis name `{w}` is not an identifier")));
                }
                Prim::Collective { op, axis_name: w.into() }
            }
        };
        if let Some(extra) = self.params.iter().flatten().next() {
            let msg = format!("`{}` has no parameter `{}`", self.at.kind.name(), extra.key);
            return Err(self.p.err(extra.key_pos, msg));
        }
        Ok(prim)
    }

    /// `value=s` (every element `s`) or `value=[s s ...]` (row-major), typed by the binder.
    fn literal(&mut self, binders: &[Binder]) -> Result<Literal, ParseError> {
        let [b] = binders else {
            return Err(self.p.err(self.at.pos, "`constant` needs exactly one binder, whose type its value has"));
        };
        let ty = &b.ty;
        match self.take("value")? {
            (ParamValue::Word(w), pos) => Ok(Literal::Splat(self.p.read_scalar(&w, pos, ty.dtype)?, ty.shape.clone())),
            (ParamValue::Dense(items), pos) => {
                if items.len() != ty.numel() {
                    return Err(self
                        .p
                        .err(pos, format!("{} element(s) written, {ty} has {}", items.len(), ty.numel())));
                }
                let mut a = HostArray::zeros(ty.dtype, ty.shape.clone());
                for (i, (w, pos)) in items.iter().enumerate() {
                    a.set(i, self.p.read_scalar(w, *pos, ty.dtype)?);
                }
                Ok(Literal::Dense(Arc::new(a)))
            }
            (_, pos) => Err(self.p.err(pos, "`value` must be a scalar or a list `[s s ...]`")),
        }
    }
}

impl Parser<'_> {
    fn read_scalar(&self, w: &str, pos: Pos, dtype: DType) -> Result<Scalar, ParseError> {
        let ok = match dtype {
            // `Scalar::parse` reads any text as float0's only value; the printer writes `0`.
            DType::Float0 => (w == "0").then_some(Scalar::Float0),
            // A real number is a complex one with a zero imaginary part.
            d if d.is_complex() => Scalar::parse(w, d).or_else(|| Some(Scalar::parse(w, d.real())?.cast(d))),
            d => Scalar::parse(w, d),
        };
        ok.ok_or_else(|| self.err(pos, format!("`{w}` is not a {dtype} value")))
    }
}
