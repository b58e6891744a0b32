"""JAX reference values for `vmap` (issue 8): tests/reference/vmap/linear_model.json.

Called by scripts/gen_reference.py (which owns the virtual environment, the JSON layout and
--check); tests/jax_vmap.rs reads the file.

A linear model's squared error on one example, `loss(w, b, x, y) = (x·w + b - y)²`, with the
weights shared and the examples mapped:

  - "per_example_grads": jax.vmap(jax.grad(loss, argnums=(0, 1)), in_axes=(None, None, 0, 0)),
    once plainly and once under jax.jit (both recorded; they agree bit for bit in f64);
  - "reduce_axes_total": the seed's `grad(loss, reduce_axes=("batch",))` inside
    `vmap(..., axis_name="batch")`. JAX 0.10 has removed `reduce_axes` from jax.grad, so the
    reference is what it computed: jax.lax.psum of the per-example gradients over the named
    axis inside the vmap (every lane holds the total; lane 0 is recorded), checked against
    the plain sum of "per_example_grads" before writing.
"""

import zlib

NAME = "linear_model"
BATCH, FEATURES = 8, 3


def record(array_json):
    import jax
    import jax.numpy as jnp
    import numpy as np

    seed = zlib.crc32(f"vmap_{NAME}".encode())
    rng = np.random.default_rng([seed, 0])
    w = rng.normal(0.0, 1.0, FEATURES)
    b = rng.normal(0.0, 1.0, ())
    xs = rng.normal(0.0, 1.0, (BATCH, FEATURES))
    ys = rng.normal(0.0, 1.0, BATCH)

    def loss(w, b, x, y):
        return (jnp.dot(x, w) + b - y) ** 2

    in_axes = (None, None, 0, 0)
    per_example = jax.vmap(jax.grad(loss, argnums=(0, 1)), in_axes=in_axes)
    plain = per_example(w, b, xs, ys)
    jitted = jax.jit(per_example)(w, b, xs, ys)
    for p, j in zip(plain, jitted):
        assert np.array_equal(np.asarray(p), np.asarray(j)), "jit changed the per-example gradients"

    def reduced(w, b, x, y):
        g = jax.grad(loss, argnums=(0, 1))(w, b, x, y)
        return jax.lax.psum(g, "batch")

    total = jax.jit(jax.vmap(reduced, in_axes=in_axes, axis_name="batch"))(w, b, xs, ys)
    for t, p in zip(total, plain):
        t, p = np.asarray(t), np.asarray(p)
        assert np.allclose(t, np.broadcast_to(p.sum(axis=0), t.shape), rtol=1e-14, atol=0.0)
    per_example_loss = jax.vmap(loss, in_axes=in_axes)(w, b, xs, ys)

    return {
        "model": "loss(w, b, x, y) = (x·w + b - y)^2, in_axes=(None, None, 0, 0), axis_name='batch'",
        "generator": {"jax": jax.__version__, "numpy": np.__version__, "x64": True},
        "seed": seed,
        "inputs": [array_json(a, "f64") for a in (w, b, xs, ys)],
        "per_example_loss": array_json(per_example_loss, "f64"),
        "per_example_grads": [array_json(g, "f64") for g in plain],
        "reduce_axes_total": [array_json(np.asarray(t)[0], "f64") for t in total],
    }


def write(root, array_json, render, check):
    """Writes (or, with `check`, compares) the golden file; returns it if it was stale."""
    out = root / "tests" / "reference" / "vmap" / f"{NAME}.json"
    text = render(record(array_json)) + "\n"
    if out.exists() and out.read_text() == text:
        return []
    if not check:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return [out]
