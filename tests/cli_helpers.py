"""Running the command line from tests, and checking its one-line errors (one copy for all)."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str, timeout_s: float = 1200) -> subprocess.CompletedProcess:
    """``python -m runmuscles ARGS`` in a fresh process (the tests' own interpreter)."""
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2 and exactly one line ``runmuscles: error: ...`` holding every needle; the line."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, err
    assert err.startswith("runmuscles: error: ")
    for n in needles:
        assert n in err, (n, err)
    return err
