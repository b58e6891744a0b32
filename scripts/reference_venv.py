"""The pinned virtual environment of the reference generators (.venv-ref/, shared with
scripts/bench_vs_jax.sh): `ensure_venv()` re-executes the calling script inside it, creating it or
reinstalling scripts/requirements-reference.txt first when the pinned versions changed."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-ref"
REQUIREMENTS = ROOT / "scripts" / "requirements-reference.txt"


def ensure_venv():
    """Re-executes the running script inside .venv-ref/, creating or updating it first if needed."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = VENV / "bin" / "python"
    stamp = VENV / "requirements.sha256"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not python.exists():
        print(f"creating {VENV.relative_to(ROOT)}/", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text().strip() != want:
        print(f"installing {REQUIREMENTS.relative_to(ROOT)}", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(want + "\n")
    script = Path(sys.argv[0]).resolve()
    os.execv(str(python), [str(python), str(script), *sys.argv[1:]])
