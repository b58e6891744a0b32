"""Writes the .npy fixtures of crates/cli/tests/npy.rs with numpy (run once; the files are committed).

    python3 make_fixtures.py      # numpy 2.x
"""
import numpy as np

readable = {
    "f32_2x3": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "f64_scalar": np.array(0.1),
    "i32_4": np.array([1, -2, 3, 2**31 - 1], dtype=np.int32),
    "i64_0x3": np.zeros((0, 3), dtype=np.int64),
    "bool_3": np.array([True, False, True]),
    "c64_2": np.array([1 + 2j, -0.5j], dtype=np.complex64),  # -0.5j is (-0.0, -0.5)
    "c128_2x1": np.array([[0.25 - 1j], [3.0 + 0j]]),
}
for name, a in readable.items():
    np.save(f"{name}.npy", a)

# Read but not written by gradjit: big-endian data and format version 2.0.
np.save("f64_big_endian.npy", np.array([1.5, -2.0], dtype=">f8"))
with open("f32_v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([1.0, 2.0, 3.0], dtype=np.float32), version=(2, 0))

# Rejected with an error that says why.
np.save("fortran.npy", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
np.save("object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
np.save("f16.npy", np.array([1.0], dtype=np.float16))
np.save("record.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
