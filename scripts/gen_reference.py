#!/usr/bin/env python3
"""JAX reference values for gradjit's tests.

For every function in tests/reference/corpus/*.gj (gradjit IR text, docs/ir-format.md) this
script builds the same function out of jax.lax primitives, evaluates it on deterministic inputs
and writes tests/reference/golden/<name>.json with the inputs, the outputs and, for the inexact
(float or complex) parameters:

  - when output 0 is a real scalar: its gradient (jax.grad) and, when the inexact parameters
    are real and hold at most 12 elements, its Hessian (jax.hessian: forward over reverse;
    JAX's forward-mode Jacobian refuses complex inputs of a non-holomorphic function);
  - always: a vjp with one random cotangent per output, and a jvp with one random tangent per
    inexact parameter;
  - the options of `grad` that need machinery of their own (issue 8): when output 0 is a complex
    scalar and every inexact parameter is complex, its gradient with `holomorphic=True`; when
    output 0 is a real scalar and some parameter is an integer or bool, its gradient with respect
    to every parameter with `allow_int=True` (float0 for the integer and bool ones).

tests/jax_reference.rs compares gradjit's interpreter and autodiff against these files. Python
runs only here, never at test time: the golden files are committed.

Usage: python3 scripts/gen_reference.py [--check] [NAME ...]

The script creates the virtual environment .venv-ref/ (pinned by
scripts/requirements-reference.txt) on first use and re-executes itself inside it. Its output is
a pure function of the corpus and the pinned versions: running it twice changes nothing, and
--check exits non-zero if a golden file is stale.

Inputs come from numpy's PCG64 seeded by the CRC-32 of the file name. Each parameter's values
are drawn from `normal(0, 1)` (floats), `randint(0, 4)` (integers) or `bernoulli(0.5)` (bool)
unless the corpus file declares a domain:

    # domain a: uniform(0.5, 2.0)       # also normal(mu, sigma), randint(lo, hi_exclusive),
    # domain i, j: randint(0, 5)        # bernoulli(p), choice(v0, v1, ...), fixed(v) and,
    # domain z: fixed(1.0, 2.0)         # for complex parameters, fixed(re, im): every element v

Golden file layout (arrays are {"dtype", "shape", "data"} with flat row-major data; floats are
written exactly, by repr, with "nan"/"inf"/"-inf" as strings and complex numbers as [re, im];
`null` stands for the float0 tangent of an integer or bool value; an array of dtype "float0"
has an empty data list):

    {"corpus": "x.gj", "generator": {...}, "seed": n, "inputs": [...], "outputs": [...],
     "wrt": [indices of the inexact parameters],
     "grad": [one array per wrt], "hessian": [[block (i, j) of shape p_i.shape + p_j.shape]],
     "vjp": {"cotangents": [one per output], "grads": [one per wrt]},
     "jvp": {"tangents": [one per wrt], "outputs": [one per output]},
     "holomorphic_grad": [one array per wrt],
     "allow_int_grad": [one array per parameter, float0 for the integer and bool ones],
     "refused": [the quantities JAX refuses by design, if any: "grad", "hessian", "vjp", "jvp",
                 "holomorphic_grad", "allow_int_grad"]}

Control flow maps to jax.lax: scan to lax.scan, while to lax.while_loop, cond to lax.switch,
custom_jvp_call and custom_vjp_call to jax.custom_jvp and jax.custom_vjp functions.
"""

import json
import os
import re
import sys
import zlib
from pathlib import Path

from reference_venv import ensure_venv

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "reference" / "corpus"
GOLDEN = ROOT / "tests" / "reference" / "golden"

# Hessians are written only for functions of at most this many real input elements.
HESSIAN_MAX_ELEMENTS = 12

# What JAX says when it refuses a derivative by design: reverse mode through a while loop, and
# forward mode through a custom_vjp function. The golden file lists such quantities as refused,
# and gradjit must refuse them too.
REFUSALS = (
    "Reverse-mode differentiation does not work for lax.while_loop",
    "can't apply forward-mode autodiff (jvp) to a custom_vjp function",
)


# ---------------------------------------------------------------------------------------------
# The IR text format (docs/ir-format.md).
# ---------------------------------------------------------------------------------------------


class ParseError(Exception):
    pass


class Type:
    def __init__(self, dtype, shape):
        self.dtype, self.shape = dtype, tuple(shape)

    def __repr__(self):
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"


class Eqn:
    def __init__(self, outs, prim, params, ins, line):
        self.outs, self.prim, self.params, self.ins, self.line = outs, prim, params, ins, line


class Function:
    def __init__(self, params, eqns, outputs, types):
        self.params, self.eqns, self.outputs, self.types = params, eqns, outputs, types


PUNCT = set("{}()[],;:.=")
WORD_START = re.compile(r"[A-Za-z0-9_+\-]")
WORD_CHAR = re.compile(r"[A-Za-z0-9_+\-.]")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
DTYPES = ("f32", "f64", "i32", "i64", "bool", "c64", "c128", "float0")


def tokenize(text):
    """(kind, text, line) tokens; kind is the punctuation character, 'word' or 'string'."""
    toks, i, line = [], 0, 1
    while i < len(text):
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif c == '"':
            j = text.index('"', i + 1)
            toks.append(("string", text[i + 1 : j], line))
            i = j + 1
        elif c in PUNCT:
            toks.append((c, c, line))
            i += 1
        elif WORD_START.match(c):
            j = i + 1
            while j < len(text) and WORD_CHAR.match(text[j]):
                j += 1
            toks.append(("word", text[i:j], line))
            i = j
        else:
            raise ParseError(f"line {line}: unexpected character {c!r}")
    return toks


class Parser:
    def __init__(self, text):
        self.toks, self.pos = tokenize(text), 0

    def peek(self, k=0):
        i = self.pos + k
        return self.toks[i] if i < len(self.toks) else ("eof", "", self.toks[-1][2] if self.toks else 0)

    def next(self, kind=None, text=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (text and tok[1] != text):
            raise ParseError(f"line {tok[2]}: expected {text or kind}, found {tok[1] or tok[0]!r}")
        self.pos += 1
        return tok

    def at(self, kind, text=None, k=0):
        tok = self.peek(k)
        return tok[0] == kind and (text is None or tok[1] == text)

    def function(self):
        types, defined = {}, set()

        def define(name, ty, line):
            if not NAME.match(name):
                raise ParseError(f"line {line}: bad name {name!r}")
            if name in defined:
                raise ParseError(f"line {line}: {name} defined twice")
            defined.add(name)
            types[name] = ty

        def use(name, line):
            if name not in defined:
                raise ParseError(f"line {line}: {name} used before definition")
            return name

        self.next("{")
        self.next("word", "lambda")
        self.next(";")
        params = []
        while not self.at("."):
            name, ty, line = self.binder()
            define(name, ty, line)
            params.append(name)
        self.next(".")
        self.next("word", "let")
        eqns = []
        while not (self.at("word", "in") and self.at("(", k=1)):
            outs = []
            while self.at(":", k=1):
                outs.append(self.binder())
            eq = self.next("=")
            prim = self.next("word")[1]
            params_ = self.params() if self.at("[") else {}
            ins = []
            while self.at("word") and not self.at(":", k=1) and not self.at("(", k=1):
                ins.append(use(self.next("word")[1], eq[2]))
            if self.at("word", "loc") and self.at("(", k=1):
                self.loc()
            for name, ty, line in outs:
                define(name, ty, line)
            eqns.append(Eqn([o[0] for o in outs], prim, params_, ins, eq[2]))
        self.next("word", "in")
        self.next("(")
        outputs = []
        while not self.at(")"):
            tok = self.next("word")
            outputs.append(use(tok[1], tok[2]))
            if not self.at(")"):
                self.next(",")
        self.next(")")
        self.next("}")
        return Function(params, eqns, outputs, types)

    def binder(self):
        name, line = self.next("word")[1:]
        self.next(":")
        dtype = self.next("word")[1]
        if dtype not in DTYPES:
            raise ParseError(f"line {line}: unknown dtype {dtype}")
        self.next("[")
        dims = []
        while not self.at("]"):
            dims.append(int(self.next("word")[1]))
            if not self.at("]"):
                self.next(",")
        self.next("]")
        return name, Type(dtype, dims), line

    def params(self):
        self.next("[")
        out = {}
        while not self.at("]"):
            key = self.next("word")[1]
            self.next("=")
            out[key] = self.value()
        self.next("]")
        return out

    def value(self):
        if self.at("(") and self.at("{", k=1):
            # A tuple of functions: the branches of cond.
            self.next("(")
            fs = []
            while not self.at(")"):
                fs.append(self.function())
                if self.at(","):
                    self.next(",")
            self.next(")")
            return fs
        if self.at("("):
            self.next("(")
            items = []
            while not self.at(")"):
                items.append(int(self.next("word")[1]))
                if self.at(","):
                    self.next(",")
            self.next(")")
            return tuple(items)
        if self.at("["):
            self.next("[")
            items = []
            while not self.at("]"):
                items.append(self.next("word")[1])
            self.next("]")
            return items
        if self.at("{"):
            return self.function()
        return self.next("word")[1]

    def loc(self):
        self.next("word", "loc")
        self.next("(")
        self.next("string")
        self.next(":")
        self.next("word")
        self.next(":")
        self.next("word")
        self.next(")")


def parse_function(text):
    p = Parser(text)
    f = p.function()
    if not p.at("eof"):
        tok = p.peek()
        raise ParseError(f"line {tok[2]}: trailing text {tok[1]!r}")
    return f


# ---------------------------------------------------------------------------------------------
# Primitives: each IR primitive as jax.lax, with gradjit's semantics (crates/ir/src/prim.rs).
# ---------------------------------------------------------------------------------------------


def build_tables():
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import lax

    np_dtype = {
        "f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64,
        "bool": np.bool_, "c64": np.complex64, "c128": np.complex128,
    }

    def scalar(text, dtype):
        """One element of the text format as a numpy scalar of `dtype`."""
        if dtype == "bool":
            return np.bool_({"true": True, "false": False}[text])
        if dtype in ("i32", "i64"):
            return np_dtype[dtype](int(text))
        if dtype in ("c64", "c128"):
            return np_dtype[dtype](complex(text))
        return np_dtype[dtype](float(text))

    unary = {
        "neg": lax.neg, "abs": lax.abs, "sign": lax.sign, "exp": lax.exp, "expm1": lax.expm1,
        "log": lax.log, "log1p": lax.log1p, "sqrt": lax.sqrt, "rsqrt": lax.rsqrt, "tanh": lax.tanh,
        "logistic": lax.logistic, "sin": lax.sin, "cos": lax.cos, "tan": lax.tan, "erf": lax.erf,
        "floor": lax.floor, "ceil": lax.ceil,
        "round": lambda x: lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO),
        "is_finite": lax.is_finite, "not": lax.bitwise_not,
        "real": lax.real, "imag": lax.imag, "conj": lax.conj,
    }
    binary = {
        "add": lax.add, "sub": lax.sub, "mul": lax.mul, "div": lax.div, "pow": lax.pow,
        "max": lax.max, "min": lax.min, "rem": lax.rem, "atan2": lax.atan2,
        "and": lax.bitwise_and, "or": lax.bitwise_or, "shift_right_logical": lax.shift_right_logical,
        "complex": lax.complex,
        "eq": lax.eq, "ne": lax.ne, "lt": lax.lt, "le": lax.le, "gt": lax.gt, "ge": lax.ge,
    }

    def reduce(monoid, identity):
        # lax.reduce with a monoid and its identity binds reduce_sum/max/min/prod themselves.
        def run(p, ty, x):
            init = np.array(identity(np_dtype[ty.dtype]), dtype=np_dtype[ty.dtype])
            return lax.reduce(x, init, monoid, tuple(p["axes"]))
        return run

    def lowest(d):
        return -np.inf if np.issubdtype(d, np.floating) else (np.iinfo(d).min if d != np.bool_ else False)

    def highest(d):
        return np.inf if np.issubdtype(d, np.floating) else (np.iinfo(d).max if d != np.bool_ else True)

    def clamp_index(idx, n):
        # Clamped, not wrapped: a negative index reads element 0 (as for jnp.take's mode="clip").
        return jnp.clip(idx, 0, n - 1).astype(idx.dtype)

    def clamp_start(x, sizes, idx):
        # gradjit clamps a block's start into [0, dim - size]; lax would first wrap negative
        # starts numpy-style, so clamp here and hand lax indices already in range.
        return [jnp.clip(i, 0, d - s).astype(i.dtype) for i, d, s in zip(idx, x.shape, sizes)]

    def gather(p, ty, x, idx):
        axis = int(p["axis"])
        return jnp.take(x, clamp_index(idx, x.shape[axis]), axis=axis, mode="clip")

    def scatter_add(p, ty, x, idx, upd):
        axis = int(p["axis"])
        where = (slice(None),) * axis + (clamp_index(idx, x.shape[axis]),)
        return x.at[where].add(upd)

    def constant(p, ty):
        v = p["value"]
        if isinstance(v, list):
            data = np.array([scalar(s, ty.dtype) for s in v], dtype=np_dtype[ty.dtype])
            return jnp.asarray(data.reshape(ty.shape))
        return jnp.full(ty.shape, scalar(v, ty.dtype), dtype=np_dtype[ty.dtype])

    def random_bits(p, ty, key):
        raise NotImplementedError("random_bits is gradjit's own Threefry stream: JAX has no reference for it")

    # Control flow: the IR's sub-functions become Python functions evaluating them.
    def scan(p, ty, *ops):
        nc, nk = int(p["num_consts"]), int(p["num_carry"])
        consts, init, xs = ops[:nc], ops[nc:nc + nk], ops[nc + nk:]

        def step(carry, x):
            outs = evaluate(p["body"], (*consts, *carry, *x))
            return tuple(outs[:nk]), tuple(outs[nk:])

        carry, ys = lax.scan(step, tuple(init), tuple(xs), length=int(p["length"]), reverse=p["reverse"] == "true")
        return (*carry, *ys)

    def while_loop(p, ty, *ops):
        cc, bc = int(p["cond_consts"]), int(p["body_consts"])
        cond_consts, body_consts, init = ops[:cc], ops[cc:cc + bc], ops[cc + bc:]
        return tuple(lax.while_loop(
            lambda carry: evaluate(p["cond"], (*cond_consts, *carry))[0],
            lambda carry: tuple(evaluate(p["body"], (*body_consts, *carry))),
            tuple(init),
        ))

    def cond(p, ty, index, *ops):
        # lax.switch clamps the index into range, as gradjit does; a bool counts as 0 or 1.
        branches = [lambda *xs, b=b: tuple(evaluate(b, xs)) for b in p["branches"]]
        return lax.switch(lax.convert_element_type(index, np.int32), branches, *ops)

    def custom_jvp_call(p, ty, *ops):
        n = len(p["body"].outputs)

        @jax.custom_jvp
        def f(*xs):
            return tuple(evaluate(p["body"], xs))

        @f.defjvp
        def f_jvp(primals, tangents):
            outs = evaluate(p["jvp"], (*primals, *tangents))
            return tuple(outs[:n]), tuple(outs[n:])

        return f(*ops)

    def custom_vjp_call(p, ty, *ops):
        n = len(p["body"].outputs)

        @jax.custom_vjp
        def f(*xs):
            return tuple(evaluate(p["body"], xs))

        def f_fwd(*xs):
            outs = evaluate(p["fwd"], xs)
            return tuple(outs[:n]), tuple(outs[n:])

        def f_bwd(residuals, cotangents):
            return tuple(evaluate(p["bwd"], (*residuals, *cotangents)))

        f.defvjp(f_fwd, f_bwd)
        return f(*ops)

    # Each rule takes (params, result type, *operands) and returns the result.
    rules = {
        "integer_pow": lambda p, ty, x: lax.integer_pow(x, int(p["y"])),
        "select": lambda p, ty, c, t, f: lax.select(c, t, f),
        "broadcast_in_dim": lambda p, ty, x: lax.broadcast_in_dim(x, p["shape"], p["broadcast_dimensions"]),
        "reshape": lambda p, ty, x: lax.reshape(x, p["shape"]),
        "transpose": lambda p, ty, x: lax.transpose(x, p["permutation"]),
        "slice": lambda p, ty, x: lax.slice(x, p["start"], p["limit"], p["stride"]),
        "pad": lambda p, ty, x: lax.pad(
            x, scalar(p["value"], ty.dtype), list(zip(p["low"], p["high"], p["interior"]))
        ),
        "concatenate": lambda p, ty, *xs: lax.concatenate(xs, int(p["axis"])),
        "rev": lambda p, ty, x: lax.rev(x, p["axes"]),
        "gather": gather,
        "scatter_add": scatter_add,
        "dynamic_slice": lambda p, ty, x, *idx: lax.dynamic_slice(x, clamp_start(x, p["sizes"], idx), p["sizes"]),
        "dynamic_update_slice": lambda p, ty, x, upd, *idx: lax.dynamic_update_slice(
            x, upd, clamp_start(x, upd.shape, idx)
        ),
        "reduce_sum": reduce(lax.add, lambda d: 0),
        "reduce_prod": reduce(lax.mul, lambda d: 1),
        "reduce_max": reduce(lax.max, lowest),
        "reduce_min": reduce(lax.min, highest),
        "argmax": lambda p, ty, x: lax.argmax(x, int(p["axis"]), np_dtype[p["index_dtype"]]),
        "argmin": lambda p, ty, x: lax.argmin(x, int(p["axis"]), np_dtype[p["index_dtype"]]),
        "dot_general": lambda p, ty, l, r: lax.dot_general(
            l, r,
            ((p["lhs_contract"], p["rhs_contract"]), (p["lhs_batch"], p["rhs_batch"])),
            precision=lax.Precision.HIGHEST,
        ),
        "convert_element_type": lambda p, ty, x: lax.convert_element_type(x, np_dtype[p["new_dtype"]]),
        "iota": lambda p, ty: lax.broadcasted_iota(np_dtype[p["dtype"]], p["shape"], int(p["axis"])),
        "constant": constant,
        "stop_gradient": lambda p, ty, x: lax.stop_gradient(x),
        "random_bits": random_bits,
        "call": lambda p, ty, *xs: evaluate(p["body"], xs),
        "scan": scan,
        "while": while_loop,
        "cond": cond,
        "custom_jvp_call": custom_jvp_call,
        "custom_vjp_call": custom_vjp_call,
    }
    for name, op in unary.items():
        rules[name] = lambda p, ty, x, op=op: op(x)
    for name, op in binary.items():
        rules[name] = lambda p, ty, x, y, op=op: op(x, y)

    def evaluate(f, args):
        """Runs `f` on JAX values (arrays or tracers), checking every result against its binder."""
        env = dict(zip(f.params, args))
        for e in f.eqns:
            if e.prim not in rules:
                raise ParseError(f"line {e.line}: unknown primitive {e.prim}")
            out_ty = f.types[e.outs[0]]
            result = rules[e.prim](e.params, out_ty, *(env[v] for v in e.ins))
            results = result if isinstance(result, tuple) else (result,)
            if len(results) != len(e.outs):
                raise ParseError(f"line {e.line}: {e.prim} gives {len(results)} results, binders say {len(e.outs)}")
            for name, r in zip(e.outs, results):
                want = f.types[name]
                if tuple(r.shape) != want.shape or r.dtype != np.dtype(np_dtype[want.dtype]):
                    raise ParseError(
                        f"line {e.line}: {e.prim} gives {r.dtype}{list(r.shape)}, binder {name} says {want}"
                    )
                env[name] = r
        return tuple(env[v] for v in f.outputs)

    return evaluate, np_dtype


# ---------------------------------------------------------------------------------------------
# Inputs, tangents and cotangents.
# ---------------------------------------------------------------------------------------------

DOMAIN = re.compile(r"^\s*#\s*domain\s+([\w\s,]+?)\s*:\s*(\w+)\s*\((.*)\)\s*$")


def domains(text):
    """Parameter name -> (distribution, arguments), from `# domain` directives."""
    out = {}
    for line in text.splitlines():
        m = DOMAIN.match(line)
        if m:
            args = tuple(float(a) for a in m.group(3).split(",") if a.strip())
            for name in m.group(1).split(","):
                out[name.strip()] = (m.group(2), args)
    return out


def sample(rng, dist, args, shape):
    """Draws float64 (or int64/bool) values of `shape` from a named distribution."""
    import numpy as np

    size = tuple(shape)
    if dist == "normal":
        mu, sigma = args or (0.0, 1.0)
        return rng.normal(mu, sigma, size)
    if dist == "uniform":
        return rng.uniform(args[0], args[1], size)
    if dist == "randint":
        return rng.integers(int(args[0]), int(args[1]), size)
    if dist == "bernoulli":
        return rng.uniform(0.0, 1.0, size) < args[0]
    if dist == "choice":
        return np.asarray(args)[rng.integers(0, len(args), size)]
    if dist == "fixed":
        return np.full(size, args[0])
    raise ValueError(f"unknown distribution {dist}")


def is_inexact(dtype):
    return dtype in ("f32", "f64", "c64", "c128")


def is_complex(dtype):
    return dtype in ("c64", "c128")


def random_array(rng, ty, np_dtype, dist=None, args=()):
    import numpy as np

    if dist is None:
        dist, args = {"i32": ("randint", (0, 4)), "i64": ("randint", (0, 4)), "bool": ("bernoulli", (0.5,))}.get(
            ty.dtype, ("normal", (0.0, 1.0))
        )
    values = sample(rng, dist, args, ty.shape)
    if is_complex(ty.dtype) and dist == "fixed":
        values = values + 1j * np.full(ty.shape, args[1] if len(args) > 1 else 0.0)
    elif is_complex(ty.dtype):
        values = values + 1j * sample(rng, dist, args, ty.shape)
    return np.asarray(values).astype(np_dtype[ty.dtype]).reshape(ty.shape)


# ---------------------------------------------------------------------------------------------
# Golden files.
# ---------------------------------------------------------------------------------------------


def element(v):
    """One element as exact JSON: ints, bools, repr'd floats, [re, im] for complex."""
    import numpy as np

    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.complexfloating, complex)):
        return [element(v.real), element(v.imag)]
    x = float(v)
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return x


def array_json(a, expect=None):
    """An array as {"dtype", "shape", "data"}; `expect` guards the dtype the IR says it has."""
    import jax
    import numpy as np

    a = np.asarray(a)
    if a.dtype == jax.dtypes.float0:
        return {"dtype": "float0", "shape": list(a.shape), "data": []}
    dtype = dtype_name(a)
    if expect is not None and dtype != expect:
        raise TypeError(f"JAX gave {dtype}{list(a.shape)} where the IR says {expect}")
    return {"dtype": dtype, "shape": list(a.shape), "data": [element(v) for v in a.reshape(-1)]}


def dtype_name(a):
    import numpy as np

    return {
        np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.int32): "i32",
        np.dtype(np.int64): "i64", np.dtype(np.bool_): "bool", np.dtype(np.complex64): "c64",
        np.dtype(np.complex128): "c128",
    }[np.asarray(a).dtype]


def render(value, indent=0):
    """JSON text with one array per line, so diffs of golden files stay readable."""
    pad = " " * indent
    if isinstance(value, dict) and "dtype" not in value:
        items = [f'{pad}  {json.dumps(k)}: {render(v, indent + 2).lstrip()}' for k, v in value.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [render(v, indent + 2) for v in value]
        return pad + "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return pad + json.dumps(value, allow_nan=False)


def reference(name, text, evaluate, np_dtype):
    """The golden record of one corpus file."""
    import jax
    import numpy as np

    f = parse_function(text)
    seed = zlib.crc32(name.encode())
    rng = np.random.default_rng([seed, 0])
    declared = domains(text)
    unknown = set(declared) - set(f.params)
    if unknown:
        raise ParseError(f"domain given for unknown parameter(s) {sorted(unknown)}")
    param_types = [f.types[p] for p in f.params]
    inputs = [random_array(rng, ty, np_dtype, *declared.get(p, (None, ()))) for p, ty in zip(f.params, param_types)]
    outputs = [np.asarray(o) for o in evaluate(f, [jax.numpy.asarray(x) for x in inputs])]
    out_types = [f.types[o] for o in f.outputs]

    record = {
        "corpus": f"{name}.gj",
        "generator": {"jax": jax.__version__, "numpy": np.__version__, "x64": True},
        "seed": seed,
        "inputs": [array_json(x, ty.dtype) for x, ty in zip(inputs, param_types)],
        "outputs": [array_json(o, ty.dtype) for o, ty in zip(outputs, out_types)],
    }
    wrt = [i for i, ty in enumerate(param_types) if is_inexact(ty.dtype)]
    record["wrt"] = wrt
    if not wrt or not f.outputs:
        return record

    def on_wrt(*xs):
        args = list(inputs)
        for i, x in zip(wrt, xs):
            args[i] = x
        return evaluate(f, args)

    primals = [inputs[i] for i in wrt]
    argnums = tuple(range(len(wrt)))
    out0 = out_types[0]
    refused = []

    def unless_refused(quantity, compute):
        """Runs `compute`; a transformation JAX refuses by design is recorded as refused."""
        try:
            compute()
        except Exception as err:  # JAX raises TypeError or ValueError, depending on the version
            if not any(text in str(err) for text in REFUSALS):
                raise
            refused.append(quantity)

    if out0.dtype in ("f32", "f64") and out0.shape == ():
        loss = lambda *xs: on_wrt(*xs)[0]  # noqa: E731

        def grad():
            grads = jax.grad(loss, argnums=argnums)(*primals)
            record["grad"] = [array_json(g, param_types[i].dtype) for g, i in zip(grads, wrt)]

        def hessian():
            h = jax.hessian(loss, argnums=argnums)(*primals)
            record["hessian"] = [[array_json(h[a][b]) for b in argnums] for a in argnums]

        unless_refused("grad", grad)
        small = sum(int(np.prod(param_types[i].shape)) for i in wrt) <= HESSIAN_MAX_ELEMENTS
        if small and not any(is_complex(param_types[i].dtype) for i in wrt):
            unless_refused("hessian", hessian)

    # grad's options that need machinery of their own: holomorphic and allow_int.
    def holomorphic_grad():
        grads = jax.grad(lambda *xs: on_wrt(*xs)[0], argnums=argnums, holomorphic=True)(*primals)
        record["holomorphic_grad"] = [array_json(g, param_types[i].dtype) for g, i in zip(grads, wrt)]

    def allow_int_grad():
        loss_of_all = lambda *xs: evaluate(f, list(xs))[0]  # noqa: E731
        grads = jax.grad(loss_of_all, argnums=tuple(range(len(inputs))), allow_int=True)(*inputs)
        record["allow_int_grad"] = [array_json(g) for g in grads]

    if out0.shape == () and is_complex(out0.dtype) and all(is_complex(param_types[i].dtype) for i in wrt):
        unless_refused("holomorphic_grad", holomorphic_grad)
    if out0.shape == () and out0.dtype in ("f32", "f64") and len(wrt) < len(param_types):
        unless_refused("allow_int_grad", allow_int_grad)

    # Cotangents and tangents come from streams of their own, so adding one never moves another.
    cot_rng = np.random.default_rng([seed, 1])
    cotangents = [
        random_array(cot_rng, ty, np_dtype) if is_inexact(ty.dtype) else np.zeros(ty.shape, jax.dtypes.float0)
        for ty in out_types
    ]

    def vjp():
        _, pullback = jax.vjp(on_wrt, *primals)
        vjp_grads = pullback(tuple(cotangents))
        record["vjp"] = {
            "cotangents": [
                array_json(c, ty.dtype) if is_inexact(ty.dtype) else None for c, ty in zip(cotangents, out_types)
            ],
            "grads": [array_json(g, param_types[i].dtype) for g, i in zip(vjp_grads, wrt)],
        }

    unless_refused("vjp", vjp)

    tan_rng = np.random.default_rng([seed, 2])
    tangents = [random_array(tan_rng, param_types[i], np_dtype) for i in wrt]

    def jvp():
        _, out_tangents = jax.jvp(on_wrt, tuple(primals), tuple(tangents))
        record["jvp"] = {
            "tangents": [array_json(t, param_types[i].dtype) for t, i in zip(tangents, wrt)],
            "outputs": [
                array_json(t, ty.dtype) if is_inexact(ty.dtype) else None for t, ty in zip(out_tangents, out_types)
            ],
        }

    unless_refused("jvp", jvp)
    if refused:
        record["refused"] = refused
    return record


def main(argv):
    check = "--check" in argv
    names = [a for a in argv if not a.startswith("--")]
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    evaluate, np_dtype = build_tables()

    corpus = sorted(CORPUS.glob("*.gj"))
    if names:
        corpus = [p for p in corpus if p.stem in names]
        missing = set(names) - {p.stem for p in corpus}
        if missing:
            sys.exit(f"no corpus file for {sorted(missing)}")
    GOLDEN.mkdir(parents=True, exist_ok=True)
    stale, failed = [], []
    for path in corpus:
        try:
            record = reference(path.stem, path.read_text(), evaluate, np_dtype)
        except Exception as err:  # report every broken file, not just the first
            failed.append(f"{path.relative_to(ROOT)}: {type(err).__name__}: {err}")
            continue
        out = GOLDEN / f"{path.stem}.json"
        text = render(record) + "\n"
        if out.exists() and out.read_text() == text:
            continue
        stale.append(out)
        if not check:
            out.write_text(text)
    if not names:
        orphans = sorted(p for p in GOLDEN.glob("*.json") if not (CORPUS / f"{p.stem}.gj").exists())
        stale += orphans
        if not check:
            for p in orphans:
                p.unlink()
    if not names:
        import reference_vmap  # vmap's per-example and reduce_axes references (issue 8)

        stale += reference_vmap.write(ROOT, array_json, render, check)
    for msg in failed:
        print(f"error: {msg}", file=sys.stderr)
    verb = "stale" if check else "updated"
    for p in stale:
        print(f"{verb}: {p.relative_to(ROOT)}", file=sys.stderr)
    print(f"{len(corpus)} corpus files, {len(stale)} golden files {verb}, {len(failed)} errors", file=sys.stderr)
    sys.exit(1 if failed or (check and stale) else 0)


if __name__ == "__main__":
    ensure_venv()
    main(sys.argv[1:])
