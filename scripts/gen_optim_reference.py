#!/usr/bin/env python3
"""optax reference values for gradjit's optimisers (crates/gradjit/tests/optim_reference.rs).

For every configuration in CASES this script builds the optax optimiser, runs STEPS updates of
two parameters ("a": f32[3], "b": f32[2, 2]) down deterministic f32 gradients, and records the
parameters and the optimiser's moments after each step. It also records each schedule of
SCHEDULES at steps 0..SCHEDULE_STEPS, and optax.clip_by_global_norm on a few gradient maps.
Python runs only here, never at test time: tests/reference/optim/optax.json is committed.

Usage: python3 scripts/gen_optim_reference.py [--check]

Like scripts/gen_reference.py, it runs inside .venv-ref/ (pinned by
scripts/requirements-reference.txt, optax included), creating it on first use. The output is a
pure function of this file and the pinned versions; --check exits non-zero if it is stale.

Layout (floats are exact reprs of f32 values; arrays are {"shape", "data"}, data flat row-major):

    {"generator": {...}, "steps": n,
     "cases": [{"name", "optimizer": {"rule": "sgd" | "adam" | "rmsprop", options...,
                                      "lr": schedule, "clip": max_norm or null,
                                      "decayed": [the parameters weight decay applies to] if masked},
                "init": {"a": array, "b": array},
                "grads": [{"a": array, "b": array} per step],
                "params": [{"a": array, "b": array} after each step],
                "state": [{"<slot>-<param>": array} after each step]}],
     "schedules": [{"schedule": schedule, "values": [value at step 0, 1, ...]}],
     "clipping": [{"max_norm", "grads": {...}, "clipped": {...}}]}

where a schedule is {"kind": "constant", "value"} | {"kind": "linear", "init", "end", "steps"} |
{"kind": "exponential", "init", "steps", "rate", "begin", "staircase", "end"} |
{"kind": "cosine", "init", "steps", "alpha"} | {"kind": "warmup", "start", "steps", "then": schedule}.
"""

import json
import re
import sys
from pathlib import Path

from reference_venv import ensure_venv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "reference" / "optim" / "optax.json"

STEPS = 6
SCHEDULE_STEPS = 40
SEED = 20260607




# Schedules, as data (the same vocabulary as gradjit's `Schedule`).
CONSTANT = {"kind": "constant", "value": 0.01}
COSINE_WARMUP = {"kind": "warmup", "start": 0.0, "steps": 3,
                 "then": {"kind": "cosine", "init": 0.05, "steps": 10, "alpha": 0.1}}
STAIRS = {"kind": "exponential", "init": 0.2, "steps": 2, "rate": 0.5, "begin": 1, "staircase": True, "end": 0.04}
LINEAR = {"kind": "linear", "init": 0.02, "end": 0.005, "steps": 4}

SCHEDULES = [
    CONSTANT,
    LINEAR,
    {"kind": "exponential", "init": 1.0, "steps": 7, "rate": 0.3, "begin": 0, "staircase": False, "end": None},
    STAIRS,
    {"kind": "exponential", "init": 0.1, "steps": 5, "rate": 2.0, "begin": 3, "staircase": False, "end": 0.5},
    {"kind": "cosine", "init": 0.5, "steps": 25, "alpha": 0.0},
    COSINE_WARMUP,
    {"kind": "warmup", "start": 0.001, "steps": 8,
     "then": {"kind": "exponential", "init": 0.1, "steps": 3, "rate": 0.9, "begin": 0, "staircase": False, "end": None}},
]

CASES = [
    ("sgd", {"rule": "sgd", "lr": {"kind": "constant", "value": 0.1}}),
    ("sgd_momentum", {"rule": "sgd", "lr": {"kind": "constant", "value": 0.05}, "momentum": 0.9}),
    ("sgd_nesterov", {"rule": "sgd", "lr": {"kind": "constant", "value": 0.05}, "momentum": 0.8, "nesterov": True}),
    ("sgd_stairs", {"rule": "sgd", "lr": STAIRS, "momentum": 0.5}),
    ("adam", {"rule": "adam", "lr": CONSTANT}),
    ("adam_options", {"rule": "adam", "lr": CONSTANT, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8}),
    ("adamw", {"rule": "adam", "lr": CONSTANT, "weight_decay": 0.1}),
    ("adamw_masked", {"rule": "adam", "lr": CONSTANT, "weight_decay": 0.5, "decayed": ["a"]}),
    ("nadam", {"rule": "adam", "lr": CONSTANT, "b1": 0.8, "nesterov": True}),
    ("adam_warmup_cosine_clip", {"rule": "adam", "lr": COSINE_WARMUP, "clip": 1.0}),
    ("rmsprop", {"rule": "rmsprop", "lr": CONSTANT}),
    ("rmsprop_centered_nesterov", {"rule": "rmsprop", "lr": LINEAR, "decay": 0.8, "centered": True,
                                   "momentum": 0.9, "nesterov": True}),
    ("rmsprop_pytorch_eps", {"rule": "rmsprop", "lr": CONSTANT, "eps": 1e-4, "eps_in_sqrt": False,
                             "initial_scale": 0.1, "momentum": 0.5}),
    ("rmsprop_centered_debiased", {"rule": "rmsprop", "lr": CONSTANT, "decay": 0.95, "centered": True,
                                   "bias_correction": True}),
]


def schedule(s):
    import optax
    kind = s["kind"]
    if kind == "constant":
        return optax.constant_schedule(s["value"])
    if kind == "linear":
        return optax.linear_schedule(s["init"], s["end"], s["steps"])
    if kind == "exponential":
        return optax.exponential_decay(s["init"], s["steps"], s["rate"], transition_begin=s["begin"],
                                       staircase=s["staircase"], end_value=s["end"])
    if kind == "cosine":
        return optax.cosine_decay_schedule(s["init"], s["steps"], alpha=s["alpha"])
    if kind == "warmup":
        then = schedule(s["then"])
        ramp = optax.linear_schedule(s["start"], then(0), s["steps"])
        return optax.join_schedules([ramp, then], [s["steps"]])
    raise ValueError(kind)


def optimizer(o):
    import optax
    lr = schedule(o["lr"])
    if o["rule"] == "sgd":
        opt = optax.sgd(lr, momentum=o.get("momentum"), nesterov=o.get("nesterov", False))
    elif o["rule"] == "adam":
        kw = {k: o[k] for k in ("b1", "b2", "eps", "eps_root", "nesterov") if k in o}
        if "weight_decay" in o:
            mask = {name: name in o["decayed"] for name in ("a", "b")} if "decayed" in o else None
            opt = optax.adamw(lr, weight_decay=o["weight_decay"], mask=mask, **kw)
        else:
            opt = optax.adam(lr, **kw)
    elif o["rule"] == "rmsprop":
        kw = {k: o[k] for k in ("decay", "eps", "initial_scale", "eps_in_sqrt", "centered", "momentum", "nesterov",
                                "bias_correction") if k in o}
        opt = optax.rmsprop(lr, **kw)
    else:
        raise ValueError(o["rule"])
    if o.get("clip") is not None:
        opt = optax.chain(optax.clip_by_global_norm(o["clip"]), opt)
    return opt


def array(x):
    import numpy as np
    x = np.asarray(x, dtype=np.float32)
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1)]}


def tree(t):
    return {k: array(v) for k, v in sorted(t.items())}


def slots(state, params):
    """The optimiser's moments by gradjit's state names: `<slot>-<param>`."""
    import jax
    out = {}

    def walk(s):
        fields = getattr(s, "_fields", None)
        if fields is not None:
            for f in fields:
                v = getattr(s, f)
                if isinstance(v, dict) and set(v) == set(params):
                    for name, arr in v.items():
                        out[f"{f}-{name}"] = array(arr)
                else:
                    walk(v)
        elif isinstance(s, (tuple, list)):
            for v in s:
                walk(v)

    walk(state)
    del jax
    return dict(sorted(out.items()))


def run_case(name, o, rng):
    import jax.numpy as jnp
    import numpy as np
    import optax
    params = {"a": jnp.asarray(rng.normal(size=3), jnp.float32), "b": jnp.asarray(rng.normal(size=(2, 2)), jnp.float32)}
    scale = 3.0 if o.get("clip") is not None else 1.0  # large enough for the clip to act
    grads = [{k: jnp.asarray(rng.normal(size=v.shape) * scale, jnp.float32) for k, v in params.items()}
             for _ in range(STEPS)]
    opt = optimizer(o)
    state = opt.init(params)
    case = {"name": name, "optimizer": o, "init": tree(params), "grads": [], "params": [], "state": []}
    for g in grads:
        updates, state = opt.update(g, state, params)
        params = optax.apply_updates(params, updates)
        case["grads"].append(tree(g))
        case["params"].append(tree(params))
        case["state"].append(slots(state, params))
    del np
    return case


def main(argv):
    ensure_venv()
    import jax
    import numpy as np
    import optax

    rng = np.random.default_rng(SEED)
    cases = [run_case(name, o, rng) for name, o in CASES]
    schedules = []
    for s in SCHEDULES:
        f = schedule(s)
        values = [float(np.float32(f(jnp_i32(t)))) for t in range(SCHEDULE_STEPS)]
        schedules.append({"schedule": s, "values": values})
    clipping = []
    for max_norm, scale in [(1.0, 0.1), (1.0, 5.0), (0.25, 1.0)]:
        g = {"a": np.asarray(rng.normal(size=3) * scale, np.float32),
             "b": np.asarray(rng.normal(size=(2, 2)) * scale, np.float32)}
        clipped, _ = optax.clip_by_global_norm(max_norm).update(g, optax.EmptyState())
        clipping.append({"max_norm": max_norm, "grads": tree(g), "clipped": tree(clipped)})
    doc = {
        "generator": {"script": "scripts/gen_optim_reference.py", "optax": optax.__version__, "jax": jax.__version__,
                      "seed": SEED},
        "steps": STEPS,
        "cases": cases,
        "schedules": schedules,
        "clipping": clipping,
    }
    # One line per array: readable diffs without a line per number.
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]",
                  json.dumps(doc, indent=1)) + "\n"
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run scripts/gen_optim_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(cases)} optimisers, {len(schedules)} schedules", file=sys.stderr)
    return 0


def jnp_i32(t):
    import jax.numpy as jnp
    return jnp.asarray(t, jnp.int32)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
