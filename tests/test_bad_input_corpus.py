"""The bad-input corpus (tests/corpus): every case ends in a clear error or a marked result.

The cases and their expected outcomes are data (``tests/corpus/cases.json``), made by one
seeded generator (``tests/corpus/generator.py``) from the shared reference files. Each runs
the command line in process. A case passes when it ends

* in exit 2 with exactly one line ``runmuscles: error: ...`` on stderr that names the input
  (and says what is wrong, where the case lists words for that), or
* in exit 0 with its result marked (``quality.valid`` false, or a ``quality.warnings``
  entry about the problem),

as the case expects; never in exit 3, a traceback, or an unmarked result.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest
from corpus.generator import CASES_JSON, build, case_list

CASES = json.loads(CASES_JSON.read_text())


def test_the_committed_case_list_is_the_generators(shared_data: Path) -> None:
    assert case_list(shared_data) == CASES
    assert len(CASES) >= 200


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not (shared_data / "hamner2013").is_dir() or not (shared_data / "fukuchi2017").is_dir():
        pytest.skip("the corpus is built from ../shared/data/hamner2013, fukuchi2017 and watch")
    work = tmp_path_factory.mktemp("corpus")
    build(shared_data, work)
    return {"shared": str(shared_data), "work": str(work)}


def _run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run the command line in this process; (exit code, stdout, stderr)."""
    from runmuscles.cli import main  # noqa: PLC0415

    out, err = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = ["runmuscles", *argv]
    code: int | str | None = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd):
            main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = old_argv
    return (code if isinstance(code, int) else (0 if code is None else 1)), out.getvalue(), err.getvalue()


def _marked(case: dict, stdout: str, work: Path) -> tuple[bool, str]:
    """Whether the result says what is wrong: (marked, what was found)."""
    records = []
    if case["summary"]:
        p = Path(case["summary"].replace("{work}", str(work)))
        if p.exists():
            records.append(json.loads(p.read_text()))
    for line in stdout.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            obj = json.loads(line)
            if isinstance(obj, dict):
                records.append(obj)
    found = []
    for r in records:
        q = r.get("quality") or {}
        if q.get("valid") is False:
            return True, "valid false"
        for w in q.get("warnings", []):
            text = f"{w.get('code', '')} {w.get('message', '')}".lower()
            found.append(text)
            if not case["about"] or any(a.lower() in text for a in case["about"]):
                return True, text
    return False, "; ".join(found) or "no quality warnings"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case: dict, corpus: dict, tmp_path: Path) -> None:
    argv = [a.replace("{shared}", corpus["shared"]).replace("{work}", corpus["work"]) for a in case["argv"]]
    code, stdout, stderr = _run(argv, tmp_path)
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    assert code != 3, f"internal error: {stderr.strip()}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if code == 2 and case["expect"] in ("error", "error_or_marked"):
        assert len(lines) == 1, stderr
        line = lines[0]
        assert line.startswith("runmuscles: error: "), line
        assert any(n.lower() in line.lower() for n in case["names"]), (case["names"], line)
        if case["expect"] == "error" and case["about"]:
            assert any(a.lower() in line.lower() for a in case["about"]), (case["about"], line)
        return
    if code == 0 and case["expect"] in ("marked", "error_or_marked"):
        ok, found = _marked(case, stdout, Path(corpus["work"]))
        assert ok, f"exit 0 without a mark about {case['about']}: {found}"
        return
    pytest.fail(f"expected {case['expect']}, got exit {code}: {stderr.strip()[-500:]}")
