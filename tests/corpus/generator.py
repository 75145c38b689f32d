"""The bad-input corpus: one seeded generator of mutated inputs, each with its expected outcome.

Every case is a command line (``argv``) over files this generator writes from the shared
reference data (``../shared/data``): truncations, unit slips, NaN and infinities, reordered
time, gaps, swapped sides, wrong file types, absurd options, files that would be
overwritten. Its expected outcome is one of

``error``
    exit 2 and one line ``runmuscles: error: ...`` that names the input (one of ``names``)
    and, where given, says what is wrong (one of ``about``, case-insensitive);
``marked``
    exit 0 with the result marked: ``quality.valid`` false, or a ``quality.warnings``
    entry whose code or message mentions one of ``about``;
``error_or_marked``
    either of the two (used where refusing and keeping the usable part with a named
    warning are both correct, e.g. a file cut at a line boundary).

The committed ``cases.json`` is this generator's case list (``python
tests/corpus/generator.py --write``); the test checks that the two agree, builds the files
into a temporary folder and runs every case in process.

Paths in ``argv`` use two placeholders: ``{shared}`` (the shared data folder) and
``{work}`` (the folder the files are built in).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SEED = 20261207
HERE = Path(__file__).resolve().parent
CASES_JSON = HERE / "cases.json"

H = "{shared}/hamner2013/subject01"
MODEL = f"{H}/model/subject01_adjusted_scaled.osim"
IK = f"{H}/ik/Run_4.mot"
GRF_XML = f"{H}/Run_4_grf.xml"
F = "{shared}/fukuchi2017/RBDS001"
C3D = f"{F}/RBDS001runT35.c3d"
STATIC = f"{F}/RBDS001static.c3d"
W = "{shared}/watch"


@dataclass
class Case:
    id: str
    kind: str
    description: str
    argv: list[str]
    expect: str
    names: list[str] = field(default_factory=list)
    about: list[str] = field(default_factory=list)
    summary: str | None = None  # where summary.json is written for a "marked" analysis

    def as_dict(self) -> dict:
        return asdict(self)


# -- text-table helpers (OpenSim .mot / .sto, TRC): work on the text, as a damaged file is -----


def _split_mot(text: str) -> tuple[list[str], list[str], np.ndarray]:
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    header = lines[: end + 1]
    labels = lines[end + 1].split("\t")
    data = np.array([[float(x) for x in line.split()] for line in lines[end + 2 :] if line.strip()])
    return header, labels, data


def _join_mot(header: list[str], labels: list[str], data: np.ndarray, fmt: str = "%.8g") -> str:
    rows = ["\t".join(fmt % v for v in row) for row in data]
    return "\n".join([*header, "\t".join(labels), *rows]) + "\n"


def _set_rows(header: list[str], n: int) -> list[str]:
    out = []
    for line in header:
        low = line.lower()
        if low.startswith("nrows="):
            line = f"nRows={n}"
        elif low.startswith("datarows"):
            line = f"datarows {n}"
        out.append(line)
    return out


def _noise(n: int) -> bytes:
    """``n`` seeded random bytes (their own generator: listing cases must not depend on them)."""
    return np.random.default_rng([SEED, n]).bytes(n)


class Builder:
    """Writes the corpus's files under ``work`` and collects the cases."""

    def __init__(self, shared: Path, work: Path) -> None:
        self.shared = shared
        self.work = work
        self.cases: list[Case] = []
        self.rng = np.random.default_rng(SEED)
        self.build = True  # False: list the cases without writing files

    def path(self, rel: str) -> Path:
        return Path(rel.replace("{shared}", str(self.shared)).replace("{work}", str(self.work)))

    def write(self, name: str, make: Callable[[], str | bytes]) -> str:
        """Write ``{work}/name`` from ``make()`` (skipped when only listing); return its placeholder path."""
        if self.build:
            p = self.work / name
            p.parent.mkdir(parents=True, exist_ok=True)
            content = make()
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content)
        return "{work}/" + name

    def read_text(self, rel: str) -> str:
        return self.path(rel).read_text()

    def read_bytes(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()

    def add(self, case: Case) -> None:
        assert case.id not in {c.id for c in self.cases}, case.id
        self.cases.append(case)


# -- 1. absurd options ----------------------------------------------------------------------------


def _options(b: Builder) -> None:
    lab = ["analyze", IK, "--model", MODEL, "--forces", GRF_XML, "--cycle", "1", "--no-report", "-q"]
    out = ["--out", "{work}/opt-out"]
    for flag, values in (
        ("--mass", ("-70", "0", "nan", "inf", "-inf", "1e6", "2", "abc", "7280")),
        ("--height", ("0", "-1.8", "180", "nan", "3", "71")),
        ("--speed", ("-3", "0", "nan", "inf", "100", "fast")),
        ("--lowpass", ("-5", "nan", "inf", "1e5", "x")),
        ("--exponent", ("0", "-2", "1", "nan", "inf", "100", "0.5")),
        ("--cycle", ("0", "-1", "1.5")),
        ("--start", ("nan", "inf")),
        ("--end", ("nan", "-inf")),
    ):
        for v in values:
            args = [a for a in lab if a not in ("--cycle", "1")] if flag == "--cycle" else lab
            b.add(
                Case(
                    f"opt-analyze{flag}={v}",
                    "option",
                    f"analyze {flag} {v}",
                    [*args, *out, flag, v],
                    "error",
                    names=[flag],
                )
            )
    b.add(
        Case(
            "opt-analyze-strength",
            "option",
            "analyze --strength strong",
            [*lab, *out, "--strength", "strong"],
            "error",
            names=["strength"],
        )
    )
    b.add(
        Case(
            "opt-analyze-window-empty",
            "option",
            "analyze --start 3 --end 2 (empty window)",
            [*[a for a in lab if a not in ("--cycle", "1")], *out, "--start", "3", "--end", "2"],
            "error",
            names=["window", "--start", "--end"],
            about=["empty"],
        )
    )
    b.add(
        Case(
            "opt-analyze-window-outside",
            "option",
            "analyze --start -100 --end -99 (before the data)",
            [*[a for a in lab if a not in ("--cycle", "1")], *out, "--start", "-100", "--end", "-99"],
            "error",
            names=["Run_4", "start", "window"],
            about=["outside"],
        )
    )
    b.add(
        Case(
            "opt-analyze-cycle-999",
            "option",
            "analyze --cycle 999 (no such stride)",
            [*[a for a in lab if a not in ("--cycle", "1")], *out, "--cycle", "999"],
            "error",
            names=["cycle", "Run_4"],
        )
    )
    gpx = f"{W}/cerknicko-jezero.gpx"
    for v in ("-70", "0", "nan", "1e6", "72kg"):
        b.add(
            Case(
                f"opt-run--mass={v}",
                "option",
                f"run --mass {v}",
                ["run", gpx, "--json", "--mass", v],
                "error",
                names=["--mass"],
            )
        )
    for flag, values in (
        ("--grade", ("35", "-35", "nan", "inf")),
        ("--cadence", ("50", "0", "200", "nan")),
        ("--lean", ("90", "nan")),
        ("--overstride", ("-0.1", "1", "nan")),
        ("--wind", ("100", "nan")),
        ("--belt-fluctuation", ("-5", "50")),
        ("--speed", ("-3", "0", "nan")),
        ("--strike", ("heel",)),
        ("--surface", ("ice",)),
    ):
        for v in values:
            b.add(
                Case(
                    f"opt-whatif{flag}={v}",
                    "option",
                    f"whatif {flag} {v}",
                    ["whatif", flag, v, "--json", "--out", "{work}/whatif-out"],
                    "error",
                    names=[flag, flag.lstrip("-").replace("-", "_"), flag.lstrip("-")],
                )
            )
    b.add(
        Case(
            "opt-whatif--speed=7",
            "option",
            "whatif --speed 7 (outside the runner's trials)",
            ["whatif", "--speed", "7", "--json", "--out", "{work}/whatif-out"],
            "error",
            names=["7 m/s", "--speed", "speed"],
            about=["outside"],
        )
    )
    for v in ("0", "-1", "x"):
        b.add(
            Case(
                f"opt-history--weeks={v}",
                "option",
                f"history --weeks {v}",
                ["history", "--db", "{work}/hist-weeks.db", "--weeks", v],
                "error",
                names=["--weeks"],
            )
        )
    b.add(
        Case(
            "opt-validate-grade--grade=50",
            "option",
            "validate-grade --grade 50",
            ["validate-grade", "--grade", "50", "--json"],
            "error",
            names=["--grade", "grade"],
        )
    )
    b.add(
        Case(
            "opt-validate-grade--speed=-1",
            "option",
            "validate-grade --speed -1",
            ["validate-grade", "--speed", "-1", "--json"],
            "error",
            names=["--speed", "speed"],
        )
    )
    b.add(
        Case(
            "opt-claims-strength",
            "option",
            "claims --strength strong",
            ["claims", "--strength", "strong", "--json", "--out", "{work}/claims-out"],
            "error",
            names=["strength"],
        )
    )


# -- 2. joint angles (.mot) ------------------------------------------------------------------------


def _analyze_mot(coords: str, out: str, forces: str = GRF_XML, model: str = MODEL, extra=()) -> list[str]:
    return [
        "analyze",
        coords,
        "--model",
        model,
        "--forces",
        forces,
        "--cycle",
        "1",
        "--no-report",
        "-q",
        "--out",
        out,
        *extra,
    ]


def _angles(b: Builder) -> None:
    ik_text = b.read_text(IK) if b.build else ""

    def mot_case(cid, desc, make, expect, about=(), names=None, extra=()):
        name = f"angles/{cid}.mot"
        path = b.write(name, make)
        out = "{work}/out-" + cid
        b.add(
            Case(
                cid,
                "angles",
                desc,
                _analyze_mot(path, out, extra=extra),
                expect,
                names=names or [Path(name).name],
                about=list(about),
                summary=out + "/summary.json",
            )
        )

    def parsed():
        return _split_mot(ik_text)

    def edit(fn):
        def make():
            header, labels, data = parsed()
            header, labels, data = fn(header, labels, data.copy())
            return _join_mot(header, labels, data)

        return make

    half = len(ik_text) // 2
    mot_case(
        "mot-cut-mid-line",
        "joint angles cut in half, mid-line",
        lambda: ik_text[:half],
        "error_or_marked",
        about=["truncat", "row", "column", "short", "declare", "values"],
    )

    def cut_rows(h, lab, d):
        return h, lab, d[: len(d) // 2]

    mot_case(
        "mot-cut-rows",
        "joint angles: second half of the rows missing (header still declares all)",
        edit(cut_rows),
        "error_or_marked",
        about=["truncat", "rows", "declare", "short"],
    )
    mot_case(
        "mot-header-only",
        "joint angles: header, no rows",
        lambda: (
            ik_text.split("endheader")[0]
            + "endheader\n"
            + ik_text.split("endheader")[1].lstrip("\n").splitlines()[0]
            + "\n"
        ),
        "error",
    )
    mot_case("mot-empty", "joint angles: empty file", lambda: "", "error")
    mot_case("mot-binary", "joint angles: random bytes", lambda: _noise(4096), "error")
    mot_case(
        "mot-png",
        "joint angles: a PNG picture renamed .mot",
        lambda: b"\x89PNG\r\n\x1a\n" + bytes(200),
        "error",
    )
    mot_case(
        "mot-zip", "joint angles: a zip archive renamed .mot", lambda: b"PK\x03\x04" + bytes(300), "error"
    )

    cols_for_nan = ["hip_flexion_r", "knee_angle_l", "ankle_angle_r", "pelvis_tilt", "pelvis_ty"]
    for k, col in enumerate(cols_for_nan):
        row = int(b.rng.integers(50, 400))

        def put_nan(h, lab, d, col=col, row=row):
            d[row, lab.index(col)] = np.nan
            return h, lab, d

        mot_case(
            f"mot-nan-{k}",
            f"joint angles: NaN in {col} at row {row}",
            edit(put_nan),
            "error",
            about=["nan", "not a number", "missing"],
        )
    for k, (col, v) in enumerate(
        (("knee_angle_r", np.inf), ("hip_flexion_l", -np.inf), ("pelvis_tx", np.inf))
    ):

        def put_inf(h, lab, d, col=col, v=v):
            d[int(len(d) * 0.4), lab.index(col)] = v
            return h, lab, d

        mot_case(
            f"mot-inf-{k}",
            f"joint angles: {v} in {col}",
            edit(put_inf),
            "error",
            about=["inf", "finite", "nan", "not a number"],
        )

    def deg_as_rad(h, lab, d):  # degrees written where radians are declared
        h = [line for line in h if not line.lower().startswith("indegrees")]
        h.insert(len(h) - 1, "inDegrees=no")
        return h, lab, d

    mot_case(
        "mot-degrees-as-radians",
        "joint angles in degrees, header says radians (read as degrees, and marked)",
        edit(deg_as_rad),
        "error_or_marked",
        about=["range", "radian", "degree", "outside"],
    )

    def rad_as_deg(h, lab, d):  # radians written where degrees are read (angles 57x too small)
        rot = [i for i, c in enumerate(lab) if c != "time" and not c.endswith(("_tx", "_ty", "_tz"))]
        d[:, rot] = np.deg2rad(d[:, rot])
        return h, lab, d

    mot_case(
        "mot-radians-as-degrees",
        "joint angles in radians, read as degrees (a still body)",
        edit(rad_as_deg),
        "error_or_marked",
        about=["inconsistent", "residual", "radian", "degree", "range", "foot", "centre of pressure"],
    )

    def reverse(h, lab, d):
        return h, lab, d[::-1]

    mot_case(
        "mot-time-reversed",
        "joint angles: rows in reverse time order",
        edit(reverse),
        "error",
        about=["time", "order", "increas", "monoton"],
    )

    def swap_rows(h, lab, d):
        d[[100, 101]] = d[[101, 100]]
        return h, lab, d

    mot_case(
        "mot-two-rows-swapped",
        "joint angles: two rows swapped",
        edit(swap_rows),
        "error",
        about=["time", "order", "increas", "monoton"],
    )

    def dup_time(h, lab, d):
        d[151, 0] = d[150, 0]
        return h, lab, d

    mot_case(
        "mot-duplicate-time",
        "joint angles: a repeated time stamp",
        edit(dup_time),
        "error",
        about=["time", "order", "increas", "monoton", "repeat", "duplicate"],
    )
    for gap_s in (1.0, 0.5, 0.2):

        def hole(h, lab, d, gap_s=gap_s):
            t = d[:, 0]
            t0 = t[0] + 0.9  # inside the first stride
            keep = (t < t0) | (t >= t0 + gap_s)
            return _set_rows(h, int(keep.sum())), lab, d[keep]

        mot_case(
            f"mot-gap-{gap_s:g}s",
            f"joint angles: a {gap_s:g} s hole in the first stride",
            edit(hole),
            "error_or_marked",
            about=["gap", "hole", "missing"],
        )

    def drop_col(h, lab, d):
        i = lab.index("knee_angle_r")
        return h, [c for j, c in enumerate(lab) if j != i], np.delete(d, i, axis=1)

    mot_case(
        "mot-missing-knee",
        "joint angles: knee_angle_r column missing",
        edit(drop_col),
        "error",
        names=["mot-missing-knee.mot", "knee_angle_r"],
    )

    def dup_col(h, lab, d):
        lab = list(lab)
        lab[lab.index("knee_angle_l")] = "knee_angle_r"
        return h, lab, d

    mot_case(
        "mot-duplicate-column",
        "joint angles: two columns named knee_angle_r",
        edit(dup_col),
        "error",
        about=["duplicate", "twice", "repeated", "knee_angle_r"],
    )
    mot_case(
        "mot-text-cell",
        "joint angles: a word in a number column",
        lambda: ik_text.replace("\n", "\nabc\t", 1) if False else _with_text_cell(ik_text),
        "error",
    )
    mot_case(
        "mot-short-row",
        "joint angles: one row with too few values",
        lambda: _with_short_row(ik_text),
        "error",
        about=["row", "values", "column", "line"],
    )

    def time_ms(h, lab, d):
        d[:, 0] *= 1000.0
        return h, lab, d

    mot_case(
        "mot-time-in-ms",
        "joint angles: time in milliseconds",
        edit(time_ms),
        "error_or_marked",
        about=["time", "outside", "overlap", "rate", "millisecond"],
    )

    def frozen(h, lab, d):
        d[:, 1:] = d[0, 1:]
        return h, lab, d

    mot_case(
        "mot-frozen",
        "joint angles: the first pose held still with running forces",
        edit(frozen),
        "error_or_marked",
        about=["inconsistent", "residual", "foot", "centre of pressure", "motion", "speed"],
    )

    def swap_sides(h, lab, d):
        idx = {c: i for i, c in enumerate(lab)}
        d2 = d.copy()
        for c, i in idx.items():
            if c.endswith("_r") and c[:-2] + "_l" in idx:
                d2[:, i] = d[:, idx[c[:-2] + "_l"]]
                d2[:, idx[c[:-2] + "_l"]] = d[:, i]
        return h, lab, d2

    mot_case(
        "mot-sides-swapped",
        "joint angles: left and right swapped (forces unchanged)",
        edit(swap_sides),
        "marked",
        about=["inconsistent", "residual", "foot", "centre of pressure"],
    )

    def too_short(h, lab, d):
        return _set_rows(h, 10), lab, d[:10]

    mot_case(
        "mot-too-short",
        "joint angles: 0.1 s of data",
        edit(too_short),
        "error",
        about=["cycle", "stride", "short", "outside", "window"],
    )
    other = f"{H}/ik/Run_2.mot"
    out = "{work}/out-mot-other-trial"
    b.add(
        Case(
            "mot-other-trial",
            "angles",
            "joint angles of another trial (2 m/s) with these forces (4 m/s)",
            _analyze_mot(other, out),
            "marked",
            about=["inconsistent", "residual", "foot", "centre of pressure", "speed"],
            summary=out + "/summary.json",
        )
    )


def _with_text_cell(text: str) -> str:
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    k = end + 40
    cells = lines[k].split("\t")
    cells[5] = "abc"
    lines[k] = "\t".join(cells)
    return "\n".join(lines) + "\n"


def _with_short_row(text: str) -> str:
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    k = end + 60
    lines[k] = "\t".join(lines[k].split("\t")[:10])
    return "\n".join(lines) + "\n"


# -- 3. ground reaction forces (.mot + ExternalLoads .xml) -------------------------------------------


def _forces(b: Builder) -> None:
    grf_text = b.read_text(f"{H}/Run_4_grf.mot") if b.build else ""
    xml_text = b.read_text(GRF_XML) if b.build else ""

    def parsed():
        return _split_mot(grf_text)

    def force_case(cid, desc, make_mot, expect, about=(), names=None, xml_edit=None):
        mot_name = f"forces/{cid}_grf.mot"
        b.write(mot_name, make_mot)
        xml_name = f"forces/{cid}_grf.xml"
        b.write(
            xml_name,
            lambda: (xml_edit or (lambda s: s))(
                xml_text.replace("<datafile>Run_4_grf.mot</datafile>", f"<datafile>{cid}_grf.mot</datafile>")
            ),
        )
        out = "{work}/out-" + cid
        b.add(
            Case(
                cid,
                "forces",
                desc,
                _analyze_mot(IK, out, forces="{work}/" + xml_name),
                expect,
                names=names or [f"{cid}_grf.mot", f"{cid}_grf.xml"],
                about=list(about),
                summary=out + "/summary.json",
            )
        )

    def edit(fn):
        def make():
            header, labels, data = parsed()
            header, labels, data = fn(header, labels, data.copy())
            return _join_mot(header, labels, data)

        return make

    def cols(lab, suffixes):
        return [i for i, c in enumerate(lab) if c.endswith(suffixes) and "force_v" in c]

    def scale_forces(k):
        def fn(h, lab, d):
            idx = [i for i, c in enumerate(lab) if "force_v" in c or "torque" in c]
            d[:, idx] *= k
            return h, lab, d

        return fn

    force_case(
        "grf-x1000",
        "forces 1000x too large (units slip)",
        edit(scale_forces(1000.0)),
        "error",
        about=["body weight", "unit", "bw", "weight", "mass"],
    )
    force_case(
        "grf-x0.001",
        "forces 1000x too small (kN read as N)",
        edit(scale_forces(0.001)),
        "error",
        about=["body weight", "unit", "bw", "weight", "mass", "foot strike", "contact"],
    )
    force_case(
        "grf-x9.81",
        "forces in kg-force read as N (x 1/9.81)",
        edit(scale_forces(1 / 9.81)),
        "error",
        about=["body weight", "unit", "bw", "weight", "mass", "foot strike", "contact"],
    )
    force_case(
        "grf-x1.5",
        "forces of a heavier person (x1.5) with this model",
        edit(scale_forces(1.5)),
        "error_or_marked",
        about=["body weight", "weight", "mass"],
    )

    def spike(h, lab, d):
        d[int(len(d) * 0.3), lab.index("R_ground_force_vy")] = 1e30
        return h, lab, d

    force_case(
        "grf-1e30",
        "one 1e30 N sample",
        edit(spike),
        "error",
        about=["implausible", "body weight", "spike", "sample", "bw", "outlier"],
    )

    def nan_sample(h, lab, d):
        d[int(len(d) * 0.35), lab.index("L_ground_force_vy")] = np.nan
        return h, lab, d

    force_case(
        "grf-nan", "a NaN force sample", edit(nan_sample), "error", about=["nan", "not a number", "missing"]
    )

    def negate_vy(h, lab, d):
        for i in cols(lab, ("force_vy",)):
            d[:, i] *= -1
        return h, lab, d

    force_case(
        "grf-negated-vertical",
        "vertical forces negated (axes flipped)",
        edit(negate_vy),
        "error",
        about=["negative", "vertical", "upward", "axes", "flip", "sign"],
    )

    def zero_vy(h, lab, d):
        for i in cols(lab, ("force_vy",)):
            d[:, i] = 0.0
        return h, lab, d

    force_case(
        "grf-zero-vertical",
        "vertical forces all zero",
        edit(zero_vy),
        "error",
        about=["zero", "no force", "vertical", "contact", "foot strike"],
    )

    def all_zero(h, lab, d):
        d[:, 1:] = 0.0
        return h, lab, d

    force_case(
        "grf-all-zero",
        "all force columns zero",
        edit(all_zero),
        "error",
        about=["zero", "no force", "vertical", "contact", "foot strike"],
    )

    def swap_lr(h, lab, d):
        d2 = d.copy()
        for i, c in enumerate(lab):
            if c.startswith("R_"):
                j = lab.index("L_" + c[2:])
                d2[:, i], d2[:, j] = d[:, j], d[:, i]
        return h, lab, d2

    force_case(
        "grf-sides-swapped",
        "right and left force columns swapped",
        edit(swap_lr),
        "error_or_marked",
        about=["inconsistent", "residual", "foot", "centre of pressure", "side"],
    )

    def cop_mm(h, lab, d):
        idx = [i for i, c in enumerate(lab) if "force_p" in c]
        d[:, idx] *= 1000.0
        return h, lab, d

    force_case(
        "grf-cop-in-mm",
        "centre of pressure in mm, read as m",
        edit(cop_mm),
        "error_or_marked",
        about=["centre of pressure", "foot", "inconsistent", "residual", "unit", "mm"],
    )
    half = len(grf_text) // 2
    force_case(
        "grf-cut-mid-line",
        "forces cut in half, mid-line",
        lambda: grf_text[:half],
        "error_or_marked",
        about=["truncat", "row", "column", "short", "declare", "values"],
    )

    def reverse(h, lab, d):
        return h, lab, d[::-1]

    force_case(
        "grf-time-reversed",
        "force rows in reverse time order",
        edit(reverse),
        "error",
        about=["time", "order", "increas", "monoton"],
    )

    def hole(h, lab, d):
        t = d[:, 0]
        keep = (t < t[0] + 0.8) | (t >= t[0] + 1.8)
        return _set_rows(h, int(keep.sum())), lab, d[keep]

    force_case(
        "grf-gap-1s",
        "a 1 s hole in the forces, inside the first stride",
        edit(hole),
        "error_or_marked",
        about=["gap", "hole", "missing"],
    )

    def shift(h, lab, d):
        d[:, 0] += 100.0
        return h, lab, d

    force_case(
        "grf-time-shifted",
        "forces 100 s later than the motion",
        edit(shift),
        "error",
        about=["outside", "overlap", "time", "span", "cover"],
    )

    def rename_vy(h, lab, d):
        lab = [c.replace("R_ground_force_vy", "R_ground_force_fy") for c in lab]
        return h, lab, d

    force_case(
        "grf-missing-column",
        "the right vertical force column renamed",
        edit(rename_vy),
        "error",
        about=["r_ground_force_v", "column", "missing", "not found"],
    )
    force_case(
        "grf-datafile-missing",
        "ExternalLoads pointing at a file that does not exist",
        lambda: grf_text,
        "error",
        names=["nowhere_grf.mot", "grf-datafile-missing_grf.xml"],
        xml_edit=lambda s: s.replace("grf-datafile-missing_grf.mot", "nowhere_grf.mot"),
    )
    force_case(
        "grf-xml-not-externalloads",
        "an XML file that is not ExternalLoads",
        lambda: grf_text,
        "error",
        xml_edit=lambda s: "<?xml version='1.0'?>\n<html><body>hello</body></html>\n",
    )
    force_case(
        "grf-xml-entity",
        "ExternalLoads with an external entity (XXE)",
        lambda: grf_text,
        "error",
        xml_edit=lambda s: s.replace(
            '<?xml version="1.0" encoding="UTF-8" ?>',
            '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        ).replace("<groups />", "<groups>&x;</groups>"),
    )
    force_case(
        "grf-xml-bomb",
        "ExternalLoads with an entity expansion bomb",
        lambda: grf_text,
        "error",
        xml_edit=lambda s: s.replace(
            '<?xml version="1.0" encoding="UTF-8" ?>',
            '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(8))
            + "]>",
        ).replace("<groups />", "<groups>&i;</groups>"),
    )
    force_case(
        "grf-xml-truncated",
        "ExternalLoads cut in half",
        lambda: grf_text,
        "error",
        xml_edit=lambda s: s[: len(s) // 2],
    )
    force_case(
        "grf-on-pelvis",
        "forces applied to the pelvis",
        lambda: grf_text,
        "error",
        about=["pelvis", "foot"],
        xml_edit=lambda s: s.replace(
            "<applied_to_body>calcn_l</applied_to_body>", "<applied_to_body>pelvis</applied_to_body>"
        ),
    )


# -- 4. models ---------------------------------------------------------------------------------------


def _models(b: Builder) -> None:
    osim = b.read_text(MODEL) if b.build else ""

    def model_case(cid, desc, make, expect="error", about=()):
        name = f"models/{cid}.osim"
        path = b.write(name, make)
        out = "{work}/out-" + cid
        b.add(
            Case(
                cid,
                "model",
                desc,
                [
                    "analyze",
                    IK,
                    "--model",
                    path,
                    "--forces",
                    GRF_XML,
                    "--cycle",
                    "1",
                    "--no-report",
                    "-q",
                    "--out",
                    out,
                ],
                expect,
                names=[f"{cid}.osim"],
                about=list(about),
            )
        )

    model_case("osim-not-xml", "a model file that is not XML", lambda: "just some text\n")
    model_case("osim-truncated", "a model file cut in half", lambda: osim[: len(osim) // 2])
    model_case("osim-empty", "an empty model file", lambda: "")
    model_case(
        "osim-negative-f0",
        "a muscle with negative maximum isometric force",
        lambda: osim.replace("<max_isometric_force>", "<max_isometric_force>-", 1),
        about=["max_isometric_force", "negative", "force"],
    )
    model_case(
        "osim-nan-mass", "a body with NaN mass", lambda: _first_mass(osim, "NaN"), about=["mass", "nan"]
    )
    model_case(
        "osim-zero-masses",
        "a model whose bodies weigh nothing",
        lambda: _all_masses(osim, "0"),
        about=["mass"],
    )


def _first_mass(osim: str, value: str) -> str:
    i = osim.index("<mass>")
    j = osim.index("</mass>", i)
    return osim[: i + 6] + value + osim[j:]


def _all_masses(osim: str, value: str) -> str:
    import re  # noqa: PLC0415

    return re.sub(r"<mass>[^<]*</mass>", f"<mass>{value}</mass>", osim)


# -- 5. lab files: C3D and TRC (must fail before inverse kinematics) --------------------------------


def _c3d(b: Builder) -> None:
    def c3d_case(cid, desc, make, expect="error", about=(), extra=(), names=None, static=STATIC):
        path = b.write(f"c3d/{cid}.c3d", make) if make is not None else C3D
        argv = [
            "analyze",
            path,
            "--static",
            static,
            "--no-report",
            "-q",
            "--out",
            "{work}/out-" + cid,
            *extra,
        ]
        b.add(Case(cid, "c3d", desc, argv, expect, names=names or [f"{cid}.c3d"], about=list(about)))

    raw = b.read_bytes(C3D) if b.build else b""
    c3d_case(
        "c3d-cut-half",
        "a C3D cut in half",
        lambda: raw[: len(raw) // 2],
        "error_or_marked",
        about=["truncat", "frames", "short", "declare", "incomplete", "ends"],
    )
    c3d_case("c3d-header-only", "the first 512 bytes of a C3D", lambda: raw[:512])
    c3d_case("c3d-empty", "an empty C3D", lambda: b"")
    c3d_case("c3d-text", "a text file named .c3d", lambda: b"hello, this is not a c3d file\n" * 20)
    c3d_case("c3d-random", "random bytes named .c3d", lambda: _noise(20000))
    c3d_case(
        "c3d-mass-mismatch",
        "--mass 30 kg where the plates weigh the runner at about 60 kg",
        None,
        "error",
        extra=("--mass", "30"),
        names=["--mass", "RBDS001runT35.c3d"],
        about=["weigh", "mass", "weight"],
    )
    c3d_case(
        "c3d-static-other-runner",
        "the static trial of another runner",
        None,
        "error",
        names=["RBDS002static.c3d", "RBDS001runT35.c3d", "static"],
        static="{shared}/fukuchi2017/RBDS002/RBDS002static.c3d",
        about=["different", "static", "body", "segment", "marker"],
    )
    if b.build:
        _c3d_edits(b)
    for cid, desc, about, names in (
        (
            "c3d-markers-m-as-mm",
            "marker unit parameter says m for data in mm",
            ["unit", "size", "metre", "mm"],
            None,
        ),
        ("c3d-no-heels", "running trial without heel markers", ["heel", "cal", "marker", "landmark"], None),
        (
            "c3d-all-markers-nan",
            "every marker missing (NaN) in every frame",
            ["marker", "nan", "missing", "no data", "gap"],
            None,
        ),
        (
            "c3d-forces-x1000",
            "force plate channels 1000x too large",
            ["body weight", "unit", "weigh", "mass", "bw"],
            None,
        ),
    ):
        c3d_case(cid, desc, None, "error", about=about, names=names)
        b.cases[-1].argv[1] = "{work}/c3d/" + cid + ".c3d"
        b.cases[-1].names = [f"{cid}.c3d"]
    # a static trial lacking a landmark the scaling needs
    b.add(
        Case(
            "c3d-static-no-asis",
            "c3d",
            "static trial without the ASIS markers",
            [
                "analyze",
                C3D,
                "--static",
                "{work}/c3d/c3d-static-no-asis.c3d",
                "--no-report",
                "-q",
                "--out",
                "{work}/out-c3d-static-no-asis",
            ],
            "error",
            names=["c3d-static-no-asis.c3d", "ASIS", "asis"],
            about=["asis", "landmark", "marker"],
        )
    )


def _c3d_edits(b: Builder) -> None:
    """C3D files changed through ezc3d (written by ezc3d, as a lab's software would)."""
    import ezc3d  # noqa: PLC0415

    src = str(b.path(C3D))
    (b.work / "c3d").mkdir(parents=True, exist_ok=True)

    def save(c, cid):
        c.write(str(b.work / "c3d" / f"{cid}.c3d"))

    c = ezc3d.c3d(src)
    c["parameters"]["POINT"]["UNITS"]["value"] = ["m"]
    save(c, "c3d-markers-m-as-mm")

    c = ezc3d.c3d(src)
    labels = list(c["parameters"]["POINT"]["LABELS"]["value"])
    pts = c["data"]["points"]
    for i, name in enumerate(labels):
        if "heel" in name.lower() or name.upper().endswith(("HEE", "CAL", "HEEL")) or "CAL" in name.upper():
            pts[:, i, :] = np.nan
    c["data"]["points"] = pts
    save(c, "c3d-no-heels")

    c = ezc3d.c3d(src)
    c["data"]["points"][:3, :, :] = np.nan
    save(c, "c3d-all-markers-nan")

    c = ezc3d.c3d(src)
    c["data"]["analogs"] = c["data"]["analogs"] * 1000.0
    save(c, "c3d-forces-x1000")

    c = ezc3d.c3d(str(b.path(STATIC)))
    labels = list(c["parameters"]["POINT"]["LABELS"]["value"])
    pts = c["data"]["points"]
    for i, name in enumerate(labels):
        if "ASI" in name.upper():
            pts[:, i, :] = np.nan
    c["data"]["points"] = pts
    save(c, "c3d-static-no-asis")


# -- 6. watch files -----------------------------------------------------------------------------------


def _watch(b: Builder) -> None:
    gpx = b.read_text(f"{W}/cerknicko-jezero.gpx") if b.build else ""
    tcx = b.read_text(f"{W}/test.tcx") if b.build else ""
    fit = b.read_bytes(f"{W}/activity-small-fenix2-run.fit") if b.build else b""

    def watch_case(cid, desc, ext, make, expect, about=()):
        path = b.write(f"watch/{cid}.{ext}", make)
        b.add(
            Case(
                cid, "watch", desc, ["run", path, "--json"], expect, names=[f"{cid}.{ext}"], about=list(about)
            )
        )

    import re  # noqa: PLC0415

    lat = re.compile(r'lat="([-0-9.]+)"')

    def nth_sub(pattern, text, n, repl):
        ms = list(re.finditer(pattern, text))
        m = ms[n]
        return text[: m.start()] + repl(m) + text[m.end() :]

    watch_case(
        "gpx-lat-123",
        "a GPX point at latitude 123 deg",
        "gpx",
        lambda: nth_sub(lat, gpx, 100, lambda m: 'lat="123.0"'),
        "error_or_marked",
        about=["latitude", "coordinates", "earth", "position"],
    )
    watch_case(
        "gpx-all-lat-off-earth",
        "every GPX latitude + 200 deg",
        "gpx",
        lambda: lat.sub(lambda m: f'lat="{float(m.group(1)) + 200:.9f}"', gpx),
        "error",
        about=["latitude", "coordinates", "earth", "position"],
    )
    times = re.compile(r"<time>([^<]+)</time>")

    def reverse_times(text):
        ms = list(times.finditer(text))[1:]  # the first is the file's metadata time
        vals = [m.group(1) for m in ms][::-1]
        out, last = [], 0
        for m, v in zip(ms, vals, strict=True):
            out.append(text[last : m.start()] + f"<time>{v}</time>")
            last = m.end()
        return "".join(out) + text[last:]

    watch_case(
        "gpx-times-reversed",
        "GPX timestamps reversed against the positions",
        "gpx",
        lambda: reverse_times(gpx),
        "error_or_marked",
        about=["time", "order", "reverse", "backward"],
    )

    def hour_out(text):
        return nth_sub(times, text, 120, lambda m: "<time>" + _shift_iso(m.group(1), 3600) + "</time>")

    watch_case(
        "gpx-point-hour-out-of-order",
        "one GPX point an hour out of order",
        "gpx",
        lambda: hour_out(gpx),
        "error_or_marked",
        about=["time", "order", "jump", "dropped", "point"],
    )
    watch_case(
        "gpx-jump-1000km",
        "one GPX point 1000 km away",
        "gpx",
        lambda: nth_sub(lat, gpx, 150, lambda m: f'lat="{float(m.group(1)) + 9:.9f}"'),
        "error_or_marked",
        about=["speed", "jump", "dropped", "implausible", "point", "gps"],
    )
    watch_case(
        "gpx-no-points",
        "a GPX file with no track points",
        "gpx",
        lambda: re.sub(r"<trkpt.*?</trkpt>", "", gpx, flags=re.S),
        "error",
    )
    watch_case(
        "gpx-no-times",
        "a GPX track without timestamps",
        "gpx",
        lambda: times.sub("", gpx),
        "error",
        about=["time"],
    )
    watch_case("gpx-not-xml", "a GPX file that is not XML", "gpx", lambda: "not xml at all", "error")
    watch_case(
        "gpx-truncated",
        "a GPX file cut in half",
        "gpx",
        lambda: gpx[: len(gpx) // 2],
        "error_or_marked",
        about=["truncat", "incomplete", "xml", "ends", "parse"],
    )
    watch_case(
        "gpx-xxe",
        "a GPX file with an external entity",
        "gpx",
        lambda: gpx.replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE gpx [<!ENTITY x SYSTEM '
            '"file:///etc/passwd">]>',
        ).replace("<trkseg>", "<trkseg><name>&x;</name>", 1),
        "error",
    )
    watch_case(
        "gpx-compressed-time",
        "GPX timestamps compressed 100x (impossible speeds)",
        "gpx",
        lambda: _compress_times(gpx, times, 0.01),
        "error_or_marked",
        about=["speed", "implausible", "fast", "dropped", "gps"],
    )
    watch_case(
        "gpx-elevation-1e6",
        "a GPX elevation of 1,000 km",
        "gpx",
        lambda: nth_sub(re.compile(r"<ele>[^<]+</ele>"), gpx, 90, lambda m: "<ele>1000000</ele>"),
        "error_or_marked",
        about=["elevation", "altitude", "grade", "dropped", "implausible"],
    )
    dist = re.compile(r"<DistanceMeters>([^<]+)</DistanceMeters>")
    watch_case(
        "tcx-absurd-distance",
        "one TCX trackpoint with an absurd distance",
        "tcx",
        lambda: nth_sub(dist, tcx, 150, lambda m: "<DistanceMeters>9999999</DistanceMeters>"),
        "error_or_marked",
        about=["distance", "dropped", "implausible", "jump", "point"],
    )
    watch_case(
        "tcx-negative-distance",
        "TCX distances decreasing",
        "tcx",
        lambda: nth_sub(dist, tcx, 200, lambda m: "<DistanceMeters>-50</DistanceMeters>"),
        "error_or_marked",
        about=["distance", "dropped", "implausible", "negative", "decreas"],
    )
    watch_case(
        "tcx-truncated",
        "a TCX file cut in half",
        "tcx",
        lambda: tcx[: len(tcx) // 2],
        "error_or_marked",
        about=["truncat", "incomplete", "xml", "ends", "parse"],
    )
    watch_case("tcx-not-xml", "a TCX file that is not XML", "tcx", lambda: "<<<>>>", "error")
    watch_case(
        "tcx-times-reversed",
        "TCX timestamps reversed",
        "tcx",
        lambda: _reverse_tag(tcx, re.compile(r"<Time>([^<]+)</Time>"), "Time"),
        "error_or_marked",
        about=["time", "order", "reverse", "backward"],
    )
    watch_case(
        "tcx-lat-123",
        "a TCX point at latitude 123 deg",
        "tcx",
        lambda: nth_sub(
            re.compile(r"<LatitudeDegrees>[^<]+</LatitudeDegrees>"),
            tcx,
            100,
            lambda m: "<LatitudeDegrees>123</LatitudeDegrees>",
        ),
        "error_or_marked",
        about=["latitude", "coordinates", "earth", "position"],
    )
    watch_case(
        "fit-cut-half",
        "a FIT file cut in half",
        "fit",
        lambda: fit[: len(fit) // 2],
        "error_or_marked",
        about=["truncat", "incomplete", "ends", "crc", "early"],
    )
    watch_case("fit-header-only", "the first 14 bytes of a FIT file", "fit", lambda: fit[:14], "error")
    watch_case("fit-random", "random bytes named .fit", "fit", lambda: _noise(5000), "error")
    watch_case("fit-empty", "an empty FIT file", "fit", lambda: b"", "error")
    watch_case(
        "fit-is-gpx", "a GPX file named .fit", "fit", lambda: gpx, "marked", about=["extension", "named"]
    )
    b.add(
        Case(
            "fit-bike",
            "watch",
            "a ride, not a run",
            ["run", f"{W}/garmin-fenix-5-bike.fit", "--json"],
            "error",
            names=["garmin-fenix-5-bike.fit"],
            about=["not a run", "cycling"],
        )
    )
    b.add(
        Case(
            "fit-unexpected-eof",
            "watch",
            "a FIT file that ends early (shared test file)",
            ["run", f"{W}/activity-unexpected-eof.fit", "--json"],
            "error_or_marked",
            names=["activity-unexpected-eof.fit"],
            about=["truncat", "incomplete", "ends", "early", "short"],
        )
    )
    watch_case(
        "unknown-extension",
        "a GPX file with another extension (.kml)",
        "kml",
        lambda: gpx,
        "marked",
        about=["extension", "named"],
    )


def _shift_iso(stamp: str, seconds: int) -> str:
    from datetime import datetime, timedelta  # noqa: PLC0415

    t = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _compress_times(text, pattern, factor):
    from datetime import datetime, timedelta  # noqa: PLC0415

    ms = list(pattern.finditer(text))[1:]
    t0 = datetime.fromisoformat(ms[0].group(1).replace("Z", "+00:00"))
    out, last = [], 0
    for m in ms:
        t = datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
        new = t0 + timedelta(seconds=(t - t0).total_seconds() * factor)
        out.append(text[last : m.start()] + "<time>" + new.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "</time>")
        last = m.end()
    return "".join(out) + text[last:]


def _reverse_tag(text, pattern, tag):
    ms = list(pattern.finditer(text))
    vals = [m.group(1) for m in ms][::-1]
    out, last = [], 0
    for m, v in zip(ms, vals, strict=True):
        out.append(text[last : m.start()] + f"<{tag}>{v}</{tag}>")
        last = m.end()
    return "".join(out) + text[last:]


# -- 7. what the user owns: output folders, databases; commands on empty folders -------------------


def _ownership(b: Builder) -> None:
    b.write("own/existing-file.txt", lambda: "the user's notes\n")
    b.write("own/full-folder/notes.txt", lambda: "the user's notes\n")
    b.write("own/notes.db", lambda: "the user's notes, not a database\n")
    b.write("own/one-byte.db", lambda: "x")
    if b.build:
        other = b.work / "own" / "other-app.sqlite"
        if not other.exists():
            con = sqlite3.connect(other)
            con.execute("create table contacts (name text, phone text)")
            con.execute("insert into contacts values ('A', '1')")
            con.commit()
            con.close()
        (b.work / "own" / "empty-folder").mkdir(parents=True, exist_ok=True)
        (b.work / "own" / "a-directory.db").mkdir(parents=True, exist_ok=True)
    run_gpx = f"{W}/cerknicko-jezero.gpx"
    analyze = ["analyze", str(H), "--trial", "Run_4", "--cycle", "1", "--no-report", "-q"]
    for cmd, argv in (
        ("analyze", analyze),
        ("whatif", ["whatif", "--grade", "5", "--json"]),
        ("claims", ["claims", "--json"]),
        ("run", ["run", run_gpx, "--json"]),
        ("demo", ["demo", "--json", "--no-report"]),
    ):
        b.add(
            Case(
                f"own-{cmd}-out-is-file",
                "ownership",
                f"{cmd} --out pointing at an existing file",
                [*argv, "--out", "{work}/own/existing-file.txt"],
                "error",
                names=["existing-file.txt"],
                about=["file", "folder", "directory", "exists"],
            )
        )
        b.add(
            Case(
                f"own-{cmd}-out-not-ours",
                "ownership",
                f"{cmd} --out a non-empty folder it did not create",
                [*argv, "--out", "{work}/own/full-folder"],
                "error",
                names=["full-folder"],
                about=["not empty", "non-empty", "runmuscles", "overwrit"],
            )
        )
    for cmd, argv in (
        ("history", ["history"]),
        ("run", ["run", run_gpx, "--json"]),
    ):
        for db, what in (
            ("notes.db", "a text file"),
            ("one-byte.db", "a one-byte file"),
            ("other-app.sqlite", "another program's SQLite database"),
            ("a-directory.db", "a directory"),
        ):
            b.add(
                Case(
                    f"own-{cmd}-db-{Path(db).stem}",
                    "ownership",
                    f"{cmd} --db pointing at {what}",
                    [*argv, "--db", "{work}/own/" + db],
                    "error",
                    names=[db],
                    about=["database", "runmuscles", "not", "directory"],
                )
            )
    b.add(
        Case(
            "own-report-figures-is-file",
            "ownership",
            "report --figures pointing at an existing file",
            ["report", "{shared}/does-not-matter", "--figures", "{work}/own/existing-file.txt"],
            "error",
            names=["does-not-matter", "existing-file.txt"],
        )
    )
    empty = "{work}/own/empty-folder"
    for cmd, argv in (
        ("validate-grf", ["validate-grf", empty, "--json"]),
        ("validate-energy", ["validate-energy", empty, "--json"]),
        ("validate-grade", ["validate-grade", empty, "--json"]),
        ("report", ["report", empty]),
        ("analyze", ["analyze", empty, "--trial", "Run_4", "--no-report", "-q", "--out", "{work}/out-empty"]),
        ("whatif", ["whatif", empty, "--json", "--out", "{work}/out-empty-w"]),
        ("load-model", ["load-model", "build", empty, "--out", "{work}/out-empty-lm.json"]),
        ("history-import", ["history", "--db", "{work}/hist-empty.db", "--import", empty]),
    ):
        b.add(
            Case(
                f"empty-{cmd}",
                "empty",
                f"{cmd} on an empty folder",
                argv,
                "error",
                names=["empty-folder"],
                about=[],
            )
        )
    b.add(
        Case(
            "so-not-a-setup",
            "empty",
            "so with a setup file that is not one",
            ["so", "{work}/own/existing-file.txt"],
            "error",
            names=["existing-file.txt"],
        )
    )
    b.add(
        Case(
            "so-missing-setup",
            "empty",
            "so with a setup file that does not exist",
            ["so", "{work}/own/no-such-setup.xml"],
            "error",
            names=["no-such-setup.xml"],
        )
    )


def build(shared: Path, work: Path, *, write_files: bool = True) -> list[Case]:
    """All cases, with their files written under ``work`` (unless ``write_files`` is False)."""
    b = Builder(shared, work)
    b.build = write_files
    for part in (_options, _angles, _forces, _models, _c3d, _watch, _ownership):
        part(b)
    return b.cases


def case_list(shared: Path) -> list[dict]:
    """The case list as committed in ``cases.json`` (no files written)."""
    return [c.as_dict() for c in build(shared, Path("/nonexistent"), write_files=False)]


def main(argv: list[str]) -> int:
    shared = (HERE.parents[1] / ".." / "shared" / "data").resolve()
    if "--write" in argv:
        cases = case_list(shared)
        CASES_JSON.write_text(json.dumps(cases, indent=1) + "\n")
        print(f"wrote {CASES_JSON}: {len(cases)} cases")
        return 0
    if "--build" in argv:
        work = Path(argv[argv.index("--build") + 1])
        shutil.rmtree(work, ignore_errors=True)
        cases = build(shared, work)
        print(f"built {len(cases)} cases in {work}")
        return 0
    print("usage: generator.py --write | --build DIR")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
