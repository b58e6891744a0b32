//! Every primitive's derivative rules, checked numerically in f64.
//!
//! [`spec`] gives each [`PrimKind`] a test specification (an exhaustive `match`, so a new
//! primitive does not compile until it has one): functions applying the primitive to
//! parameters of several shapes, including size-1 dimensions and operands broadcast with
//! `broadcast_in_dim`, each parameter with the domain its values are drawn from. On random
//! inputs, tangents `t` and cotangents `c` (seeds from proptest):
//!
//! - the dot-product test: `<t, vjp(c)> = <jvp(t), c>`, which checks the transpose rules
//!   against the JVP rules;
//! - central differences: `<jvp(t), c> ≈ <(f(x + εt) - f(x - εt)) / 2ε, c>`, which checks
//!   the JVP rules against the primitive itself (as the reference interpreter computes it);
//! - the primal outputs of `jvp` and `vjp` equal `f`'s.
//!
//! Primitives with a zero derivative (comparisons, rounding, integer operations, ...) are
//! checked to give exactly zero tangents and cotangents.

mod common;
mod lanes;

use common::{axpy, pair, parse, run, sample, Domain, Rng};
use gradjit_autodiff::{jvp, vjp};
use gradjit_ir::{BinaryOp, DType, Function, HostArray, Prim, PrimKind, ReduceOp, Shape, TensorType, UnaryOp};
use proptest::prelude::*;
use std::sync::OnceLock;
use Domain::*;

/// A function to differentiate and where its inputs come from.
#[derive(Clone)]
struct Case {
    label: String,
    f: Function,
    domains: Vec<Domain>,
    /// Relative tolerance of the finite-difference comparison.
    tol: f64,
}

impl Case {
    fn new(label: impl Into<String>, f: Function, domains: &[Domain]) -> Case {
        assert_eq!(f.params.len(), domains.len(), "one domain per parameter");
        Case { label: label.into(), f, domains: domains.to_vec(), tol: 1e-6 }
    }
    fn text(label: impl Into<String>, text: &str, domains: &[Domain]) -> Case {
        Case::new(label, parse(text), domains)
    }
}

/// How a primitive kind is tested.
enum Spec {
    /// Differentiable: dot-product and finite-difference tests.
    Differentiable(Vec<Case>),
    /// Zero derivative: tangents and cotangents are exactly zero.
    Zero(Vec<Case>),
    /// Forward mode only (finite differences); reverse mode is the error containing the text
    /// (`while` loops).
    ForwardOnly(Vec<Case>, &'static str),
    /// Reverse mode only (finite differences); forward mode is the error containing the text
    /// (`custom_vjp_call`).
    ReverseOnly(Vec<Case>, &'static str),
    /// Linear but not evaluable: transposing the case with respect to its parameters after the
    /// first must give the function that follows (`custom_lin`).
    Transposed(Vec<(Case, Function)>),
    /// Collectives over the axis `i`, which only a `vmap` binds: the case, its JVP and its VJP
    /// are checked as above after `vmap` over every parameter with `axis_name = i` (a collective's
    /// derivative rules must commute with batching).
    Mapped(Vec<Case>),
}
use Spec::{Differentiable as D, ForwardOnly, Mapped, ReverseOnly, Transposed, Zero as Z};

fn ty(dtype: DType, dims: &[usize]) -> TensorType {
    TensorType::new(dtype, dims)
}

fn push(f: &mut Function, prim: Prim, ins: &[gradjit_ir::Value]) -> gradjit_ir::Value {
    f.push1(prim, ins, None).expect("well-typed test function")
}

/// `broadcast_in_dim` of `x` to `shape`, keeping `x`'s dimensions at `dims`.
fn broadcast(f: &mut Function, x: gradjit_ir::Value, shape: &[usize], dims: &[usize]) -> gradjit_ir::Value {
    push(f, Prim::BroadcastInDim { shape: Shape::new(shape), dims: dims.iter().copied().collect() }, &[x])
}

/// `prim` on parameters of several shapes, and on a `(3, 1)` parameter broadcast to `(3, 4)`.
fn elementwise(name: &str, prim: Prim, dtype: DType, domains: &[Domain]) -> Vec<Case> {
    let mut cases = Vec::new();
    for shape in [&[][..], &[3], &[2, 1, 3]] {
        let mut f = Function::new();
        let xs: Vec<_> = domains.iter().map(|_| f.add_param(ty(dtype, shape))).collect();
        let y = push(&mut f, prim.clone(), &xs);
        f.outputs.push(y);
        cases.push(Case::new(format!("{name} {}", Shape::new(shape)), f, domains));
    }
    let mut f = Function::new();
    let xs: Vec<_> = domains.iter().map(|_| f.add_param(ty(dtype, &[3, 1]))).collect();
    let bs: Vec<_> = xs.iter().map(|&x| broadcast(&mut f, x, &[3, 4], &[0, 1])).collect();
    let y = push(&mut f, prim, &bs);
    f.outputs.push(y);
    cases.push(Case::new(format!("{name} of broadcast (3, 1) -> (3, 4)"), f, domains));
    cases
}

fn unary(op: UnaryOp, dtype: DType, domain: Domain) -> Vec<Case> {
    elementwise(&format!("{} {dtype}", op.name()), Prim::Unary(op), dtype, &[domain])
}

/// A binary `prim`, plus its second operand broadcast from a scalar, from `(2, 1)` and from `(3,)`.
fn binary(name: &str, prim: Prim, dtype: DType, a: Domain, b: Domain) -> Vec<Case> {
    let mut cases = elementwise(&format!("{name} {dtype}"), prim.clone(), dtype, &[a, b]);
    for (shape, dims) in [(&[][..], &[][..]), (&[2, 1], &[0, 1]), (&[3], &[1])] {
        let mut f = Function::new();
        let x = f.add_param(ty(dtype, &[2, 3]));
        let y = f.add_param(ty(dtype, shape));
        let yb = broadcast(&mut f, y, &[2, 3], dims);
        let z = push(&mut f, prim.clone(), &[x, yb]);
        f.outputs.push(z);
        cases.push(Case::new(format!("{name} {dtype} with {} broadcast to (2, 3)", Shape::new(shape)), f, &[a, b]));
    }
    cases
}

fn bin(op: BinaryOp, a: Domain, b: Domain) -> Vec<Case> {
    binary(op.name(), Prim::Binary(op), DType::F64, a, b)
}

/// The test specification of every primitive kind.
fn spec(kind: PrimKind) -> Spec {
    use DType::{C128, F64, I32};
    match kind {
        PrimKind::Unary(op) => {
            use UnaryOp::*;
            match op {
                Neg | Exp | Expm1 | Sin | Cos | Tanh | Logistic => {
                    D([unary(op, F64, Any), unary(op, C128, Unit)].concat())
                }
                Erf => D(unary(op, F64, Any)),
                Abs => D([unary(op, F64, NonZero), unary(op, C128, NonZero)].concat()),
                Log | Sqrt | Rsqrt => D([unary(op, F64, Positive), unary(op, C128, Positive)].concat()),
                Log1p | Tan => D([unary(op, F64, Unit), unary(op, C128, Unit)].concat()),
                Real | Imag | Conj => D(unary(op, C128, Any)),
                Sign | Floor | Ceil | Round | IsFinite => Z(unary(op, F64, Any)),
                Not => Z(unary(op, I32, Index(100))),
            }
        }
        PrimKind::Binary(op) => {
            use BinaryOp::*;
            let complex = |a, b| binary(op.name(), Prim::Binary(op), C128, a, b);
            match op {
                Add | Sub | Mul => D([bin(op, Any, Any), complex(Any, Any)].concat()),
                Div => D([bin(op, Any, NonZero), complex(Any, NonZero)].concat()),
                Pow => D([bin(op, Positive, Any), complex(Positive, Unit)].concat()),
                Max | Min => D(bin(op, Any, Any)),
                Rem => D(bin(op, Any, NonZero)),
                Atan2 => D(bin(op, NonZero, NonZero)),
                Complex => D(bin(op, Any, Any)),
                And | Or | ShiftRightLogical => {
                    Z(binary(op.name(), Prim::Binary(op), I32, Index(1000), Index(8)))
                }
            }
        }
        PrimKind::Compare(op) => Z(binary(op.name(), Prim::Compare(op), F64, Any, Any)),
        PrimKind::IntegerPow => D([-2, 0, 1, 2, 3]
            .into_iter()
            .flat_map(|y| elementwise(&format!("integer_pow y={y}"), Prim::IntegerPow { y }, F64, &[NonZero]))
            .collect()),
        PrimKind::Select => D(vec![
            Case::text(
                "select",
                "{ lambda ; a:bool[2,3] b:f64[2,3] c:f64[2,3]. let d:f64[2,3] = select a b c in (d,) }",
                &[Bool, Any, Any],
            ),
            Case::text(
                "select with a computed predicate and a broadcast branch",
                "{ lambda ; a:f64[4] b:f64[]. let
                    c:f64[4] = broadcast_in_dim[shape=(4,) broadcast_dimensions=()] b
                    d:bool[4] = lt a c
                    e:f64[4] = sin a
                    f:f64[4] = select d e c
                  in (f,) }",
                &[Any, Any],
            ),
        ]),
        PrimKind::BroadcastInDim => D(vec![
            Case::text(
                "broadcast (3,) -> (2, 3)",
                "{ lambda ; a:f64[3]. let b:f64[2,3] = broadcast_in_dim[shape=(2, 3) broadcast_dimensions=(1,)] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "broadcast (3, 1) -> (2, 3, 4)",
                "{ lambda ; a:f64[3,1]. let b:f64[2,3,4] = broadcast_in_dim[shape=(2, 3, 4) broadcast_dimensions=(1, 2)] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "broadcast () -> (2, 2)",
                "{ lambda ; a:f64[]. let b:f64[2,2] = broadcast_in_dim[shape=(2, 2) broadcast_dimensions=()] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "broadcast (1, 1) -> (1, 5) keeping a size-1 dimension",
                "{ lambda ; a:f64[1,1]. let b:f64[1,5] = broadcast_in_dim[shape=(1, 5) broadcast_dimensions=(0, 1)] a in (b,) }",
                &[Any],
            ),
        ]),
        PrimKind::Reshape => D(vec![
            Case::text("reshape", "{ lambda ; a:f64[2,3]. let b:f64[3,2] = reshape[shape=(3, 2)] a in (b,) }", &[Any]),
            Case::text(
                "reshape adding size-1 dimensions",
                "{ lambda ; a:f64[6]. let b:f64[1,6,1] = reshape[shape=(1, 6, 1)] a in (b,) }",
                &[Any],
            ),
        ]),
        PrimKind::Transpose => D(vec![Case::text(
            "transpose",
            "{ lambda ; a:f64[2,3,4]. let b:f64[4,2,3] = transpose[permutation=(2, 0, 1)] a in (b,) }",
            &[Any],
        )]),
        PrimKind::Slice => D(vec![
            Case::text(
                "strided slice",
                "{ lambda ; a:f64[6]. let b:f64[3] = slice[start=(1,) limit=(6,) stride=(2,)] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "slice of a matrix",
                "{ lambda ; a:f64[4,3]. let b:f64[2,2] = slice[start=(1, 0) limit=(3, 3) stride=(1, 2)] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "empty slice",
                "{ lambda ; a:f64[4]. let b:f64[0] = slice[start=(2,) limit=(2,) stride=(1,)] a in (b,) }",
                &[Any],
            ),
        ]),
        PrimKind::Pad => D(vec![
            Case::text(
                "pad with interior padding and a non-zero value",
                "{ lambda ; a:f64[3]. let b:f64[8] = pad[low=(1,) high=(2,) interior=(1,) value=0.5] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "pad of a matrix",
                "{ lambda ; a:f64[2,2]. let b:f64[3,3] = pad[low=(0, 1) high=(1, 0) interior=(0, 0) value=0.0] a in (b,) }",
                &[Any],
            ),
        ]),
        PrimKind::Concatenate => D(vec![
            Case::text(
                "concatenate",
                "{ lambda ; a:f64[2] b:f64[3]. let c:f64[5] = concatenate[axis=0] a b in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "concatenate with a constant operand",
                "{ lambda ; a:f64[2,1] b:f64[2,2]. let
                    c:f64[2,1] = constant[value=1.5]
                    d:f64[2,4] = concatenate[axis=1] a c b
                  in (d,) }",
                &[Any, Any],
            ),
        ]),
        PrimKind::Rev => D(vec![
            Case::text("rev", "{ lambda ; a:f64[4]. let b:f64[4] = rev[axes=(0,)] a in (b,) }", &[Any]),
            Case::text("rev of a matrix", "{ lambda ; a:f64[2,3]. let b:f64[2,3] = rev[axes=(0, 1)] a in (b,) }", &[Any]),
        ]),
        PrimKind::Gather => D(vec![
            Case::text(
                "gather with repeated indices",
                "{ lambda ; a:f64[5] b:i32[4]. let c:f64[4] = gather[axis=0] a b in (c,) }",
                &[Any, Index(3)],
            ),
            Case::text(
                "gather along axis 1 with 2-d indices",
                "{ lambda ; a:f64[3,4] b:i32[2,2]. let c:f64[3,2,2] = gather[axis=1] a b in (c,) }",
                &[Any, Index(4)],
            ),
        ]),
        PrimKind::ScatterAdd => D(vec![Case::text(
            "scatter_add",
            "{ lambda ; a:f64[5] b:i32[3] c:f64[3]. let d:f64[5] = scatter_add[axis=0] a b c in (d,) }",
            &[Any, Index(5), Any],
        )]),
        PrimKind::DynamicSlice => D(vec![Case::text(
            "dynamic_slice",
            "{ lambda ; a:f64[6,2] b:i32[] c:i32[]. let d:f64[3,2] = dynamic_slice[sizes=(3, 2)] a b c in (d,) }",
            &[Any, Index(6), Index(2)],
        )]),
        PrimKind::DynamicUpdateSlice => D(vec![Case::text(
            "dynamic_update_slice",
            "{ lambda ; a:f64[6] b:f64[2] c:i64[]. let d:f64[6] = dynamic_update_slice a b c in (d,) }",
            &[Any, Any, Index(6)],
        )]),
        PrimKind::Reduce(op) => {
            let name = op.name();
            let mut cases = vec![
                Case::text(
                    format!("{name} over axis 1"),
                    &format!("{{ lambda ; a:f64[2,3]. let b:f64[2] = {name}[axes=(1,)] a in (b,) }}"),
                    &[Any],
                ),
                Case::text(
                    format!("{name} over all axes"),
                    &format!("{{ lambda ; a:f64[2,1,3]. let b:f64[] = {name}[axes=(0, 1, 2)] a in (b,) }}"),
                    &[Any],
                ),
            ];
            if op == ReduceOp::Prod {
                cases.push(Case::text(
                    "reduce_prod through a zero",
                    "{ lambda ; a:f64[4]. let b:f64[] = reduce_prod[axes=(0,)] a in (b,) }",
                    &[WithZero],
                ));
                cases.push(Case::text(
                    "reduce_prod through two zeros",
                    "{ lambda ; a:f64[3]. let
                        b:f64[2] = constant[value=0.0]
                        c:f64[5] = concatenate[axis=0] a b
                        d:f64[] = reduce_prod[axes=(0,)] c
                      in (d,) }",
                    &[WithZero],
                ));
            }
            D(cases)
        }
        PrimKind::Arg(op) => Z(vec![Case::text(
            op.name(),
            &format!("{{ lambda ; a:f64[2,3]. let b:i32[2] = {}[axis=1 index_dtype=i32] a in (b,) }}", op.name()),
            &[Any],
        )]),
        PrimKind::DotGeneral => D(vec![
            Case::text(
                "matmul",
                "{ lambda ; a:f64[2,3] b:f64[3,4]. let
                    c:f64[2,4] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b
                  in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "batched matmul",
                "{ lambda ; a:f64[2,2,3] b:f64[2,3,1]. let
                    c:f64[2,2,1] = dot_general[lhs_contract=(2,) rhs_contract=(1,) lhs_batch=(0,) rhs_batch=(0,)] a b
                  in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "contracting leading lhs and trailing rhs axes",
                "{ lambda ; a:f64[3,2] b:f64[4,3]. let
                    c:f64[2,4] = dot_general[lhs_contract=(0,) rhs_contract=(1,) lhs_batch=() rhs_batch=()] a b
                  in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "batch axes in the middle and two contracted axes",
                "{ lambda ; a:f64[2,3,4,2] b:f64[4,3,2,5]. let
                    c:f64[3,2,5] = dot_general[lhs_contract=(2, 3) rhs_contract=(0, 2) lhs_batch=(1,) rhs_batch=(1,)] a b
                  in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "inner product",
                "{ lambda ; a:f64[3] b:f64[3]. let
                    c:f64[] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b
                  in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "outer product",
                "{ lambda ; a:f64[2] b:f64[3]. let
                    c:f64[2,3] = dot_general[lhs_contract=() rhs_contract=() lhs_batch=() rhs_batch=()] a b
                  in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "complex matmul",
                "{ lambda ; a:c128[2,3] b:c128[3]. let
                    c:c128[2] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b
                  in (c,) }",
                &[Any, Any],
            ),
        ]),
        PrimKind::ConvertElementType => D(vec![
            Case::text(
                "convert f64 to c128",
                "{ lambda ; a:f64[3]. let b:c128[3] = convert_element_type[new_dtype=c128] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "convert c128 to f64",
                "{ lambda ; a:c128[3]. let b:f64[3] = convert_element_type[new_dtype=f64] a in (b,) }",
                &[Any],
            ),
            Case::text(
                "convert i32 to f64 times a float",
                "{ lambda ; a:i32[3] b:f64[3]. let
                    c:f64[3] = convert_element_type[new_dtype=f64] a
                    d:f64[3] = mul c b
                  in (d,) }",
                &[Index(10), Any],
            ),
        ]),
        PrimKind::Iota => D(vec![Case::text(
            "times an iota",
            "{ lambda ; a:f64[2,3]. let
                b:f64[2,3] = iota[dtype=f64 shape=(2, 3) axis=1]
                c:f64[2,3] = mul a b
              in (c,) }",
            &[Any],
        )]),
        PrimKind::Constant => D(vec![Case::text(
            "times splat and dense constants",
            "{ lambda ; a:f64[3]. let
                b:f64[3] = constant[value=2.5]
                c:f64[3] = constant[value=[1.0 -2.0 0.5]]
                d:f64[3] = mul a b
                e:f64[3] = add d c
                f:f64[3] = mul e c
              in (f,) }",
            &[Any],
        )]),
        PrimKind::StopGradient => Z(vec![Case::text(
            "stop_gradient",
            "{ lambda ; a:f64[3]. let b:f64[3] = stop_gradient a in (b,) }",
            &[Any],
        )]),
        PrimKind::RandomBits => D(vec![Case::text(
            "times random bits",
            "{ lambda ; a:f64[4] b:i64[]. let
                c:i32[4] = random_bits[shape=(4,) dtype=i32] b
                d:f64[4] = convert_element_type[new_dtype=f64] c
                e:f64[4] = mul a d
              in (e,) }",
            &[Any, Index(1000)],
        )]),
        PrimKind::Call => D(vec![
            Case::text(
                "call with two outputs",
                "{ lambda ; a:f64[3] b:f64[3]. let
                    c:f64[3] d:f64[3] = call[body={ lambda ; a:f64[3] b:f64[3]. let
                        c:f64[3] = mul a b
                        d:f64[3] = sin c
                      in (d, c) }] a b
                    e:f64[3] = mul c d
                  in (e,) }",
                &[Any, Any],
            ),
            Case::text(
                "call with an integer operand and a nested call",
                "{ lambda ; a:f64[3] b:i32[3]. let
                    c:f64[3] = call[body={ lambda ; a:f64[3] b:i32[3]. let
                        c:f64[3] = convert_element_type[new_dtype=f64] b
                        d:f64[3] = call[body={ lambda ; a:f64[3]. let b:f64[3] = exp a in (b,) }] a
                        e:f64[3] = mul c d
                      in (e,) }] a b
                  in (c,) }",
                &[Any, Index(5)],
            ),
            Case::text(
                "call whose output does not depend on the differentiated operand",
                "{ lambda ; a:f64[3] b:f64[3]. let
                    c:f64[3] d:f64[3] = call[body={ lambda ; a:f64[3] b:f64[3]. let
                        c:f64[3] = cos b
                      in (a, c) }] a b
                    e:f64[3] = mul c d
                  in (e, d) }",
                &[Any, Any],
            ),
        ]),
        PrimKind::Scan
        | PrimKind::While
        | PrimKind::Cond
        | PrimKind::CustomJvp
        | PrimKind::CustomVjp
        | PrimKind::CustomLin => control_spec(kind),
        PrimKind::Collective(op) => {
            let prim = Prim::Collective { op, axis_name: "i".into() };
            let mut f = Function::new();
            let x = f.add_param(ty(F64, &[2]));
            let y = push(&mut f, prim.clone(), &[x]);
            let z = push(&mut f, Prim::Binary(BinaryOp::Mul), &[x, y]);
            f.outputs = vec![y, z];
            Mapped(vec![
                Case::new(format!("{} f64[2] and x·{}(x)", op.name(), op.name()), f, &[Any]),
                Case::text(
                    format!("{} of an unbatched exp", op.name()),
                    &format!(
                        "{{ lambda ; a:f64[3] b:f64[3]. let c:f64[3] = exp b  d:f64[3] = {}[axis_name=i] c \
                         e:f64[3] = add a d in (e,) }}",
                        op.name()
                    ),
                    &[Any, Any],
                ),
            ])
        }
    }
}

/// The primitives with sub-functions: loops, branches and custom derivatives.
fn control_spec(kind: PrimKind) -> Spec {
    match kind {
        PrimKind::Scan => D(vec![
            Case::text(
                "scan of h' = tanh(w·h + x), ys = h'·h",
                "{ lambda ; a:f64[3] b:f64[3] c:f64[4,3]. let
                    d:f64[3] e:f64[4,3] = scan[length=4 reverse=false num_consts=1 num_carry=1 body={ lambda ; a:f64[3] b:f64[3] c:f64[3]. let
                        d:f64[3] = mul a b
                        e:f64[3] = add d c
                        f:f64[3] = tanh e
                        g:f64[3] = mul f b
                      in (f, g) }] a b c
                  in (d, e) }",
                &[Any, Any, Any],
            ),
            Case::text(
                "reversed scan with an integer counter carry and a scalar const",
                "{ lambda ; a:f64[] b:f64[2] c:f64[5,2]. let
                    d:i32[] = constant[value=0]
                    e:i32[] f:f64[2] g:f64[5,2] = scan[length=5 reverse=true num_consts=1 num_carry=2 body={ lambda ; a:f64[] b:i32[] c:f64[2] d:f64[2]. let
                        e:i32[] = constant[value=1]
                        f:i32[] = add b e
                        g:f64[] = convert_element_type[new_dtype=f64] b
                        h:f64[2] = broadcast_in_dim[shape=(2,) broadcast_dimensions=()] g
                        i:f64[2] = mul d h
                        j:f64[2] = broadcast_in_dim[shape=(2,) broadcast_dimensions=()] a
                        k:f64[2] = mul c j
                        l:f64[2] = add k i
                        m:f64[2] = sin l
                      in (f, l, m) }] a d b c
                  in (f, g) }",
                &[Unit, Any, Any],
            ),
            Case::text(
                "scan whose carry starts as a constant and gets a tangent from the const",
                "{ lambda ; a:f64[3] b:f64[6,3]. let
                    c:f64[3] = constant[value=0.0]
                    d:f64[3] = scan[length=6 reverse=false num_consts=1 num_carry=1 body={ lambda ; a:f64[3] b:f64[3] c:f64[3]. let
                        d:f64[3] = mul a c
                        e:f64[3] = cos b
                        f:f64[3] = add e d
                      in (f,) }] a c b
                  in (d,) }",
                &[Any, Any],
            ),
            Case::text(
                "scan of a matrix recurrence h' = tanh(W h + x)",
                "{ lambda ; a:f64[3,3] b:f64[3] c:f64[4,3]. let
                    d:f64[3] e:f64[4,3] = scan[length=4 reverse=false num_consts=1 num_carry=1 body={ lambda ; a:f64[3,3] b:f64[3] c:f64[3]. let
                        d:f64[3] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b
                        e:f64[3] = add d c
                        f:f64[3] = tanh e
                      in (f, f) }] a b c
                    f:f64[] = reduce_sum[axes=(0, 1)] e
                  in (d, f) }",
                &[Unit, Any, Any],
            ),
            Case::text(
                "scan nested in a scan",
                "{ lambda ; a:f64[2] b:f64[3,2,2]. let
                    c:f64[2] = scan[length=3 reverse=false num_consts=0 num_carry=1 body={ lambda ; a:f64[2] b:f64[2,2]. let
                        c:f64[2] = scan[length=2 reverse=true num_consts=0 num_carry=1 body={ lambda ; a:f64[2] b:f64[2]. let
                            c:f64[2] = mul a b
                            d:f64[2] = sin c
                          in (d,) }] a b
                      in (c,) }] a b
                  in (c,) }",
                &[Any, Any],
            ),
            Case::text(
                "scan with a cond in its body, on an integer slice",
                "{ lambda ; a:f64[2] b:i32[4] c:f64[4,2]. let
                    d:f64[2] = scan[length=4 reverse=false num_consts=0 num_carry=1 body={ lambda ; a:f64[2] b:i32[] c:f64[2]. let
                        d:f64[2] = cond[branches=({ lambda ; a:f64[2] b:f64[2]. let c:f64[2] = mul a b in (c,) }, { lambda ; a:f64[2] b:f64[2]. let
                            c:f64[2] = sin a
                            d:f64[2] = add c b
                          in (d,) })] b a c
                      in (d,) }] a b c
                  in (d,) }",
                &[Any, Index(2), Any],
            ),
        ]),
        PrimKind::Cond => D(vec![
            Case::text(
                "switch of three branches with different residuals, index clamped",
                "{ lambda ; a:i32[] b:f64[3] c:f64[3]. let
                    d:f64[3] e:f64[3] = cond[branches=({ lambda ; a:f64[3] b:f64[3]. let
                        c:f64[3] = sin a
                        d:f64[3] = mul c b
                      in (d, a) }, { lambda ; a:f64[3] b:f64[3]. let
                        c:f64[3] = mul a a
                      in (c, b) }, { lambda ; a:f64[3] b:f64[3]. let
                        c:f64[3] = exp b
                        d:f64[3] = constant[value=1.0]
                      in (c, d) })] a b c
                  in (d, e) }",
                &[Index(4), Any, Any],
            ),
            Case::text(
                "cond on a bool computed from the operand",
                "{ lambda ; a:f64[2] b:f64[2]. let
                    c:f64[] = reduce_sum[axes=(0,)] a
                    d:f64[] = constant[value=0.0]
                    e:bool[] = gt c d
                    f:f64[2] = cond[branches=({ lambda ; a:f64[2] b:f64[2]. let c:f64[2] = div a b in (c,) }, { lambda ; a:f64[2] b:f64[2]. let
                        c:f64[2] = tanh a
                      in (c,) })] e a b
                  in (f,) }",
                &[Any, NonZero],
            ),
        ]),
        PrimKind::While => ForwardOnly(
            vec![Case::text(
                "while i < n: x = sin(w·x)",
                "{ lambda ; a:i32[] b:f64[2] c:f64[2]. let
                    d:i32[] = constant[value=0]
                    e:i32[] f:f64[2] = while[cond_consts=1 body_consts=1 cond={ lambda ; a:i32[] b:i32[] c:f64[2]. let
                        d:bool[] = lt b a
                      in (d,) } body={ lambda ; a:f64[2] b:i32[] c:f64[2]. let
                        d:i32[] = constant[value=1]
                        e:i32[] = add b d
                        f:f64[2] = mul c a
                        g:f64[2] = sin f
                      in (e, g) }] a c d b
                  in (f,) }",
                &[Index(4), Any, Any],
            )],
            "reverse-mode differentiation does not work for while_loop",
        ),
        PrimKind::CustomJvp => D(vec![Case::text(
            "custom_jvp of sin with its true derivative",
            "{ lambda ; a:f64[3]. let
                b:f64[3] = custom_jvp_call[body={ lambda ; a:f64[3]. let b:f64[3] = sin a in (b,) } jvp={ lambda ; a:f64[3] b:f64[3]. let
                    c:f64[3] = sin a
                    d:f64[3] = cos a
                    e:f64[3] = mul b d
                  in (c, e) }] a
                c:f64[3] = mul b a
              in (c,) }",
            &[Any],
        )]),
        PrimKind::CustomVjp => ReverseOnly(
            vec![Case::text(
                "custom_vjp of sin(a·b) with its true derivative and residuals",
                "{ lambda ; a:f64[3] b:f64[3]. let
                    c:f64[3] = custom_vjp_call[body={ lambda ; a:f64[3] b:f64[3]. let
                        c:f64[3] = mul a b
                        d:f64[3] = sin c
                      in (d,) } fwd={ lambda ; a:f64[3] b:f64[3]. let
                        c:f64[3] = mul a b
                        d:f64[3] = sin c
                        e:f64[3] = cos c
                      in (d, e, a, b) } bwd={ lambda ; e:f64[3] a:f64[3] b:f64[3] g:f64[3]. let
                        h:f64[3] = mul g e
                        i:f64[3] = mul h b
                        j:f64[3] = mul h a
                      in (i, j) }] a b
                    d:f64[3] = mul c a
                  in (d,) }",
                &[Any, Any],
            )],
            "forward-mode differentiation (jvp, jacfwd, hessians) does not work through a custom_vjp function",
        ),
        PrimKind::CustomLin => Transposed(vec![(
            Case::text(
                "custom_lin with residual r and bwd(r, g) = g·r",
                "{ lambda ; a:f64[3] b:f64[3]. let
                    c:f64[3] = custom_lin[num_res=1 bwd={ lambda ; a:f64[3] b:f64[3]. let c:f64[3] = mul b a in (c,) }] a b
                  in (c,) }",
                &[Any, Any],
            ),
            parse("{ lambda ; a:f64[3] b:f64[3]. let c:f64[3] = mul b a in (c,) }"),
        )]),
        _ => unreachable!("not a primitive with sub-functions"),
    }
}

/// A case with its derivative functions, built once.
struct Prepared {
    case: Case,
    /// `None` for a primitive with a reverse-mode rule only.
    jvp: Option<Function>,
    /// `None` for a primitive with a forward-mode rule only.
    vjp: Option<Function>,
    /// The differentiable (inexact) parameters.
    wrt: Vec<usize>,
    zero: bool,
    /// The function as specified (the case's function before a `vmap`, for `Mapped` specs).
    source: Function,
}

/// A linear primitive that cannot be evaluated, and the transpose it must have.
struct TransposeCase {
    case: Case,
    want: Function,
}

fn transposed_cases() -> Vec<TransposeCase> {
    PrimKind::all()
        .into_iter()
        .flat_map(|k| match spec(k) {
            Transposed(cases) => cases.into_iter().map(|(case, want)| TransposeCase { case, want }).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The derivative `what` of a case: its function, or `None` when the mode has no rule and the
/// attempt failed with the `expected` error. Anything else fails the test.
fn derived(
    result: Result<Function, gradjit_autodiff::AdError>,
    expected: Option<&str>,
    what: &str,
    case: &Case,
) -> Option<Function> {
    match (result, expected) {
        (Ok(g), None) => Some(g),
        (Err(e), Some(text)) if e.to_string().contains(text) => None,
        (Ok(_), Some(text)) => panic!("{what} of `{}` should fail with `{text}`", case.label),
        (Err(e), _) => panic!("{what} of `{}`: {e}\n{}", case.label, case.f),
    }
}

fn prepared() -> &'static [Prepared] {
    static CASES: OnceLock<Vec<Prepared>> = OnceLock::new();
    CASES.get_or_init(|| {
        let mut out = Vec::new();
        for kind in PrimKind::all() {
            let (zero, forward, reverse, cases, mapped) = match spec(kind) {
                Mapped(cases) => (false, None, None, cases, true),
                D(cases) => (false, None, None, cases, false),
                Z(cases) => (true, None, None, cases, false),
                ForwardOnly(cases, e) => (false, None, Some(e), cases, false),
                ReverseOnly(cases, e) => (false, Some(e), None, cases, false),
                Transposed(_) => continue,
            };
            assert!(!cases.is_empty(), "no test case for {}", kind.name());
            for case in cases {
                assert!(
                    case.f.eqns.iter().any(|e| e.prim.kind() == kind),
                    "case `{}` does not use {}",
                    case.label,
                    kind.name()
                );
                let wrt: Vec<usize> =
                    (0..case.f.params.len()).filter(|&i| case.f.ty(case.f.params[i]).dtype.is_inexact()).collect();
                let jvp = derived(jvp(&case.f), forward, "jvp", &case);
                let vjp = derived(vjp(&case.f, &wrt), reverse, "vjp", &case);
                let source = case.f.clone();
                if mapped {
                    let map = |g: &Function| {
                        let (ins, outs) = (vec![Some(0); g.params.len()], vec![Some(0); g.outputs.len()]);
                        gradjit_autodiff::vmap(g, &ins, &outs, Some("i"), 3)
                            .unwrap_or_else(|e| panic!("vmap of `{}`: {e}\n{g}", case.label))
                    };
                    let (f, jvp, vjp) = (map(&case.f), jvp.as_ref().map(map), vjp.as_ref().map(map));
                    out.push(Prepared { case: Case { f, ..case }, jvp, vjp, wrt, zero, source });
                    continue;
                }
                out.push(Prepared { case, jvp, vjp, wrt, zero, source });
            }
        }
        out
    })
}

fn tangent_ty(t: &TensorType) -> TensorType {
    t.with_dtype(t.dtype.tangent())
}

/// Runs every check of one case on the inputs drawn from `seed`.
fn check(p: &Prepared, seed: u64) {
    let f = &p.case.f;
    let label = &p.case.label;
    let mut rng = Rng::new(seed);
    let xs: Vec<HostArray> =
        f.params.iter().zip(&p.case.domains).map(|(&v, &d)| sample(&mut rng, f.ty(v), d)).collect();
    let ts: Vec<HostArray> = f.params.iter().map(|&v| sample(&mut rng, &tangent_ty(f.ty(v)), Any)).collect();
    let cts: Vec<HostArray> = f.outputs.iter().map(|&v| sample(&mut rng, &tangent_ty(f.ty(v)), Any)).collect();
    let n_out = f.outputs.len();

    let ys = run(f, &xs);
    let jvp_out = p.jvp.as_ref().map(|g| run(g, &[xs.clone(), ts.clone()].concat()));
    let vjp_out = p.vjp.as_ref().map(|g| run(g, &[xs.clone(), cts.clone()].concat()));
    for (o, y) in ys.iter().enumerate() {
        assert!(jvp_out.as_ref().is_none_or(|out| out[o].bit_eq(y)), "{label}: jvp changed primal output {o}");
        assert!(vjp_out.as_ref().is_none_or(|out| out[o].bit_eq(y)), "{label}: vjp changed primal output {o}");
    }
    let ty = jvp_out.as_ref().map(|out| &out[n_out..]);
    let grads = vjp_out.as_ref().map(|out| &out[n_out..]);

    if p.zero {
        let all_zero = |a: &HostArray| a.scalars().all(|s| s.to_c128().norm() == 0.0);
        assert!(ty.into_iter().flatten().all(all_zero), "{label}: non-zero tangent of a zero-derivative primitive");
        assert!(
            grads.into_iter().flatten().all(all_zero),
            "{label}: non-zero cotangent of a zero-derivative primitive"
        );
        return;
    }

    // <jvp(t), c> and <t, vjp(c)>, as far as each mode exists.
    let forward: Option<f64> = ty.map(|ty| ty.iter().zip(&cts).map(|(a, b)| pair(a, b)).sum());
    let backward: Option<f64> = grads.map(|grads| p.wrt.iter().zip(grads).map(|(&i, g)| pair(&ts[i], g)).sum());
    if let (Some(forward), Some(backward)) = (forward, backward) {
        let scale = 1.0 + forward.abs() + backward.abs();
        assert!(
            (forward - backward).abs() <= 1e-10 * scale,
            "{label}: dot-product test failed: <jvp(t), c> = {forward}, <t, vjp(c)> = {backward}\n{}\n{}",
            p.jvp.as_ref().unwrap(),
            p.vjp.as_ref().unwrap()
        );
    }
    let (derivative, mode) = match (forward, backward) {
        (Some(d), _) => (d, "JVP"),
        (None, Some(d)) => (d, "VJP"),
        (None, None) => unreachable!("every case has a rule in some mode"),
    };
    let forward = derivative;

    // Central differences along t.
    let eps = 1e-6;
    let shifted = |s: f64| -> Vec<HostArray> {
        let args: Vec<HostArray> =
            xs.iter().zip(&ts).map(|(x, t)| if x.dtype().is_inexact() { axpy(x, s, t) } else { x.clone() }).collect();
        run(f, &args)
    };
    let (plus, minus) = (shifted(eps), shifted(-eps));
    let mut fd = 0.0;
    for ((p_o, m_o), c) in plus.iter().zip(&minus).zip(&cts) {
        if p_o.dtype().is_inexact() {
            fd += (pair(p_o, c) - pair(m_o, c)) / (2.0 * eps);
        }
    }
    let tol = p.case.tol;
    let derived = p.jvp.as_ref().or(p.vjp.as_ref()).expect("a derivative");
    assert!(
        (forward - fd).abs() <= tol * (1.0 + forward.abs() + fd.abs()),
        "{label}: {mode} disagrees with central differences: {forward} against finite differences {fd}\n{derived}"
    );
}

/// Linear primitives that cannot be evaluated transpose to their stated transpose.
#[test]
fn unevaluable_linear_primitives_transpose_as_stated() {
    for TransposeCase { case, want } in transposed_cases() {
        let linear: Vec<bool> = (0..case.f.params.len()).map(|i| i > 0).collect();
        let t = gradjit_autodiff::transpose(&case.f, &linear)
            .unwrap_or_else(|e| panic!("transpose of `{}`: {e}\n{}", case.label, case.f));
        let mut rng = Rng::new(7);
        let args: Vec<HostArray> = t.params.iter().map(|&v| sample(&mut rng, t.ty(v), Any)).collect();
        let (got, expected) = (run(&t, &args), run(&want, &args));
        assert_eq!(got.len(), expected.len(), "{}", case.label);
        for (g, w) in got.iter().zip(&expected) {
            assert!(g.bit_eq(w), "{}: transpose gives {g:?}, expected {w:?}\n{t}", case.label);
        }
    }
}

#[test]
fn every_primitive_kind_has_a_spec() {
    // `spec` is an exhaustive match; this checks that every kind yields cases that use it.
    assert_eq!(prepared().iter().map(|p| p.case.f.eqns.len()).filter(|&n| n > 0).count(), prepared().len());
    let transposed = transposed_cases();
    let kinds: std::collections::BTreeSet<PrimKind> = prepared()
        .iter()
        .map(|p| &p.source)
        .chain(transposed.iter().map(|t| &t.case.f))
        .flat_map(|f| f.eqns.iter().map(|e| e.prim.kind()))
        .collect();
    for kind in PrimKind::all() {
        assert!(kinds.contains(&kind), "{} is not tested", kind.name());
    }
}

/// `vmap` of every case, and of its JVP and VJP, over random `in_axes` (mapped at the front,
/// at the back, or not at all) and `out_axes`, agrees with the function run lane by lane: the
/// batching rule of every primitive, including those the derivative rules emit.
fn check_batching(p: &Prepared, seed: u64) {
    let mut rng = Rng::new(seed);
    let f = &p.case.f;
    let n_params = f.params.len();
    let mut fns = vec![("f", f, p.case.domains.clone())];
    let extra = |n: usize| [p.case.domains.clone(), vec![Any; n]].concat();
    if let Some(j) = &p.jvp {
        fns.push(("jvp", j, extra(j.params.len() - n_params)));
    }
    if let Some(v) = &p.vjp {
        fns.push(("vjp", v, extra(v.params.len() - n_params)));
    }
    for (what, g, domains) in fns {
        let rank = |v| g.ty(v).rank();
        let in_axes: Vec<Option<usize>> = g
            .params
            .iter()
            .map(|&v| match rng.below(3) {
                0 => None,
                1 => Some(0),
                _ => Some(rank(v)),
            })
            .collect();
        let out_axes: Vec<Option<usize>> =
            g.outputs.iter().map(|&v| Some(if rng.below(2) == 0 { 0 } else { rank(v) })).collect();
        let shared: Vec<HostArray> =
            g.params.iter().zip(&domains).map(|(&v, &d)| sample(&mut rng, g.ty(v), d)).collect();
        let lanes: Vec<Vec<HostArray>> = (0..3)
            .map(|_| {
                g.params
                    .iter()
                    .zip(&domains)
                    .enumerate()
                    .map(
                        |(i, (&v, &d))| {
                            if in_axes[i].is_some() {
                                sample(&mut rng, g.ty(v), d)
                            } else {
                                shared[i].clone()
                            }
                        },
                    )
                    .collect()
            })
            .collect();
        let label = format!("{what} of `{}` with in_axes {in_axes:?}", p.case.label);
        lanes::check_lanes(g, &in_axes, &out_axes, None, &lanes, &label);
    }
}

proptest! {
    // Each seed draws fresh axes for every case; a few seeds cover the combinations.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn vmap_of_every_case_and_its_derivatives_matches_lane_by_lane(seed in any::<u64>()) {
        for p in prepared().iter().filter(|p| p.source == p.case.f) {
            check_batching(p, seed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn derivatives_match_finite_differences_and_transposes(seed in any::<u64>()) {
        for p in prepared() {
            check(p, seed);
        }
    }
}
