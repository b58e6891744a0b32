//! Running every `grad` case both ways: with the interpreter (`grad(f).call`) and compiled
//! (`jit(grad(f)).call`), checking that the two agree.
//!
//! [`grad`] and [`value_and_grad`] here have the builder API of `gradjit`'s, so the tests of
//! `grad_*.rs` read the same under jit; each call runs both ways, checks that the results have
//! the same structure, dtypes and shapes and values within a few ulp (or that both fail with
//! the same error), and returns the compiled result. One `Jit` is kept across calls, so that
//! its cache is exercised as the tests call with new arguments.

#![allow(dead_code)] // Each test binary uses a part.

use gradjit::{
    jit, Argnums, ArgsFor, Array, DType, Error, Grad, GradResult, IntoVarTree, Jit, Result, TraceFn, Tree, Var,
};
use num_complex::{Complex32, Complex64};

/// Ulps two float results may differ by: the compiled kernels sum in SIMD order and use the
/// polynomial transcendentals of docs/transcendentals.md (the seed's `tanh` differs by up to 4).
pub const ULPS: u64 = 4;

/// `gradjit::grad`, run both ways (see the module docs).
pub struct Both<F, P> {
    f: F,
    value_and_grad: bool,
    argnums: Option<Argnums>,
    grad_vars: Option<Tree<Var>>,
    has_aux: bool,
    return_value: bool,
    allow_int: bool,
    holomorphic: bool,
    reduce_axes: Vec<&'static str>,
    jitted: Jit<Grad<F, P>, P>,
}

pub fn grad<P, F: TraceFn<P> + Clone>(f: F) -> Both<F, P> {
    Both {
        jitted: jit(gradjit::grad(f.clone())),
        f,
        value_and_grad: false,
        argnums: None,
        grad_vars: None,
        has_aux: false,
        return_value: false,
        allow_int: false,
        holomorphic: false,
        reduce_axes: Vec::new(),
    }
}

pub fn value_and_grad<P, F: TraceFn<P> + Clone>(f: F) -> Both<F, P> {
    Both { value_and_grad: true, ..grad(f) }.rejit()
}

impl<F: TraceFn<P> + Clone, P> Both<F, P> {
    /// `gradjit::grad` with these options.
    pub fn interpreted(&self) -> Grad<F, P> {
        let f = self.f.clone();
        let mut g = if self.value_and_grad { gradjit::value_and_grad(f) } else { gradjit::grad(f) };
        if let Some(a) = &self.argnums {
            g = g.argnums(a.clone());
        }
        if let Some(v) = &self.grad_vars {
            g = g.grad_vars(v.clone());
        }
        let g = g.has_aux(self.has_aux).return_value(self.return_value).allow_int(self.allow_int);
        g.holomorphic(self.holomorphic).reduce_axes(&self.reduce_axes)
    }

    fn rejit(mut self) -> Self {
        self.jitted = jit(self.interpreted());
        self
    }

    pub fn argnums(mut self, a: impl Into<Argnums>) -> Self {
        self.argnums = Some(a.into());
        self.rejit()
    }
    pub fn grad_vars(mut self, v: impl IntoVarTree) -> Self {
        self.grad_vars = Some(v.into_var_tree());
        self.rejit()
    }
    pub fn has_aux(mut self, on: bool) -> Self {
        self.has_aux = on;
        self.rejit()
    }
    pub fn return_value(mut self, on: bool) -> Self {
        self.return_value = on;
        self.rejit()
    }
    pub fn allow_int(mut self, on: bool) -> Self {
        self.allow_int = on;
        self.rejit()
    }
    pub fn holomorphic(mut self, on: bool) -> Self {
        self.holomorphic = on;
        self.rejit()
    }
    pub fn reduce_axes(mut self, axes: &[&'static str]) -> Self {
        self.reduce_axes = axes.to_vec();
        self.rejit()
    }
    /// Accepted and ignored, as by `gradjit::grad`.
    pub fn dyn_vars(self, vars: impl IntoVarTree) -> Self {
        drop(vars.into_var_tree());
        self
    }

    /// The jitted gradient.
    pub fn jitted(&self) -> &Jit<Grad<F, P>, P> {
        &self.jitted
    }

    /// The gradients at `args`, computed both ways; the compiled result (or error).
    #[track_caller]
    pub fn call(&self, args: impl ArgsFor<P> + Clone) -> Result<GradResult> {
        let interpreted = self.interpreted().call(args.clone());
        let compiled = self.jitted.call(args);
        match (&interpreted, &compiled) {
            (Ok(i), Ok(c)) => assert_same_result(c, i),
            (Err(i), Err(c)) => assert_same_error(c, i),
            _ => panic!("interpreted: {interpreted:?}\ncompiled: {compiled:?}"),
        }
        compiled
    }
}

/// Panics unless `a` and `b` have the same structure and metadata and leaves within [`ULPS`].
pub fn assert_same_result(a: &GradResult, b: &GradResult) {
    let (ta, tb) = (a.tree(), b.tree());
    assert_eq!(ta.structure(), tb.structure());
    assert_same_tree(&ta, &tb);
    assert_same(a.value(), b.value());
    assert_eq!(a.aux().map(Tree::structure), b.aux().map(Tree::structure));
    assert_eq!(a.var_grads().map(Tree::structure), b.var_grads().map(Tree::structure));
    assert_eq!(a.arg_grads().map(Tree::structure), b.arg_grads().map(Tree::structure));
}

/// Panics unless the trees have the same structure and leaves within [`ULPS`].
pub fn assert_same_tree(a: &Tree<Array>, b: &Tree<Array>) {
    assert_eq!(a.structure(), b.structure());
    a.leaves().into_iter().zip(b.leaves()).for_each(|(a, b)| assert_same(a, b));
}

/// The same error, but for where it was noticed: the variant, and a `GradError` exactly.
pub fn assert_same_error(a: &Error, b: &Error) {
    match (a, b) {
        (Error::Grad { error: x, .. }, Error::Grad { error: y, .. }) => assert_eq!(x, y),
        _ => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b), "{a} vs {b}"),
    }
}

/// Panics unless `a` and `b` have the same dtype and shape and elements within [`ULPS`] (exactly
/// equal for integers and booleans; NaNs equal).
pub fn assert_same(a: &Array, b: &Array) {
    assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()), "{a:?} vs {b:?}");
    let (ha, hb) = (a.as_host(), b.as_host());
    let close = match a.dtype() {
        DType::F32 => pairs::<f32>(a, b).all(|(x, y)| f32_close(x, y)),
        DType::F64 => pairs::<f64>(a, b).all(|(x, y)| f64_close(x, y)),
        DType::C64 => pairs::<Complex32>(a, b).all(|(x, y)| f32_close(x.re, y.re) && f32_close(x.im, y.im)),
        DType::C128 => pairs::<Complex64>(a, b).all(|(x, y)| f64_close(x.re, y.re) && f64_close(x.im, y.im)),
        _ => ha.bit_eq(hb),
    };
    assert!(close, "not within {ULPS} ulp:\n{a:?}\n{b:?}");
}

fn pairs<'a, T: gradjit::Element>(a: &'a Array, b: &'a Array) -> impl Iterator<Item = (T, T)> + 'a {
    let (a, b) = (a.as_host().as_slice::<T>().unwrap(), b.as_host().as_slice::<T>().unwrap());
    a.iter().copied().zip(b.iter().copied())
}

/// Distance in representable values between two floats of the same sign convention.
fn ulp_distance(x: i64, y: i64) -> u64 {
    x.abs_diff(y)
}

/// Maps float bits to a monotone integer line (so that -0.0 and 0.0 are neighbours).
fn ordered32(x: f32) -> i64 {
    let b = x.to_bits() as i32;
    (if b < 0 { i32::MIN.wrapping_sub(b) } else { b }) as i64
}
fn ordered64(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    if b < 0 {
        i64::MIN.wrapping_sub(b)
    } else {
        b
    }
}

/// Within [`ULPS`], or both NaN.
fn f32_close(x: f32, y: f32) -> bool {
    (x.is_nan() && y.is_nan()) || ulp_distance(ordered32(x), ordered32(y)) <= ULPS
}
fn f64_close(x: f64, y: f64) -> bool {
    (x.is_nan() && y.is_nan()) || ulp_distance(ordered64(x), ordered64(y)) <= ULPS
}

/// Runs `$body` twice: with `$wrap` the identity (a transformation of a plain function), then with
/// `$wrap` = `gradjit::jit` (of a jitted function, which the transformation traces through), so one
/// test checks the Jacobians, `jvp`, `vjp` and the caches both ways.
#[macro_export]
macro_rules! plain_and_jitted {
    ($wrap:ident => $body:block) => {{
        {
            fn $wrap<T>(f: T) -> T {
                f
            }
            $body
        }
        {
            use gradjit::jit as $wrap;
            $body
        }
    }};
}
