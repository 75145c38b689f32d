"""Finding a trial's files: explicit paths, a trial folder, or the bundled demo.

The folder layout is the one of Hamner & Delp (2013) as distributed in ``hamner2013/``::

    subjectNN/
        model/<...>scaled<...>.osim
        ik/Run_N.mot
        Run_N_grf.xml (+ Run_N_grf.mot)

In that data set ``Run_N`` was recorded at N m/s (2, 3, 4, 5), so the speed is taken from
the trial's name there, and recorded as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import InputError

__all__ = ["TrialSpec", "demo_trials", "resolve_trial", "runner_folders", "DEMO_SPEEDS_M_S"]

DEMO_SPEEDS_M_S = (2, 3, 4, 5)
_RUN = re.compile(r"^Run_(\d+(?:\.\d+)?)$")


@dataclass
class TrialSpec:
    """Files of one trial."""

    label: str
    model: Path
    coordinates: Path
    forces: Path | None
    speed_m_s: float | None = None
    speed_source: str = ""


def published_gait_window(folder: Path, trial: str) -> tuple[float, float] | None:
    """First to last published gait cycle of a trial (``gaitTimes.json``, hamner2013
    layout), in seconds; ``None`` when the folder has no such file or no cycles for it."""
    import json  # noqa: PLC0415

    f = Path(folder) / "gaitTimes.json"
    if not f.exists():
        return None
    try:
        cycles = json.loads(f.read_text()).get("cycles", {}).get(trial.lower().replace("_", ""), {})
    except ValueError:
        raise InputError(f, "is not valid JSON") from None
    if not cycles:
        return None
    return (
        float(min(c["initialTime"] for c in cycles.values())),
        float(max(c["finalTime"] for c in cycles.values())),
    )


def trial_model(folder: Path) -> Path:
    """The scaled model of a trial folder (``model/*scaled*.osim``)."""
    return _pick_model(Path(folder))


def _pick_model(folder: Path) -> Path:
    mdir = folder / "model"
    cands = sorted(mdir.glob("*.osim")) if mdir.is_dir() else sorted(folder.glob("*.osim"))
    if not cands:
        raise InputError(folder, "has no .osim model (expected model/<name>_scaled.osim)")
    scaled = [c for c in cands if "scaled" in c.name.lower()]
    if len(scaled) == 1:
        return scaled[0]
    if len(cands) == 1:
        return cands[0]
    raise InputError(
        folder, f"has several models ({', '.join(c.name for c in cands)}); choose one with --model"
    )


def resolve_trial(
    folder: Path | None,
    trial: str | None,
    *,
    model: Path | None = None,
    coordinates: Path | None = None,
    forces: Path | None = None,
) -> TrialSpec:
    """Files of a trial from a folder and trial name, or from explicit paths."""
    if folder is not None:
        folder = Path(folder)
        if not folder.exists():
            raise InputError(folder, "trial folder not found")
        if folder.is_file():
            raise InputError(folder, "is a file; give a trial folder, or use --model/--coordinates/--forces")
        if trial is None:
            runs = sorted(p.stem for p in (folder / "ik").glob("*.mot")) if (folder / "ik").is_dir() else []
            raise InputError(
                folder, "name the trial with --trial" + (f" (one of {', '.join(runs)})" if runs else "")
            )
        m = model or _pick_model(folder)
        c = coordinates or folder / "ik" / f"{trial}.mot"
        f = forces or folder / f"{trial}_grf.xml"
        for p, what in ((c, "coordinates"), (f, "forces")):
            if not Path(p).exists():
                raise InputError(p, f"{what} file of trial {trial} not found")
        speed, src = None, ""
        hit = _RUN.match(trial)
        if hit:
            speed = float(hit.group(1))
            src = f"from the trial name '{trial}' (hamner2013 layout: Run_N recorded at N m/s)"
        return TrialSpec(f"{folder.name}_{trial}", Path(m), Path(c), Path(f), speed, src)
    if model is None or coordinates is None:
        raise InputError(
            None, "give a trial folder with --trial, or --model and --coordinates (and --forces)"
        )
    return TrialSpec(Path(coordinates).stem, Path(model), Path(coordinates), Path(forces) if forces else None)


def with_estimated_forces(spec: TrialSpec, out_dir: Path) -> TrialSpec:
    """The trial with ground reaction forces estimated from its motion alone.

    Running has no double support, so the force is body mass x (centre-of-mass acceleration
    - gravity) on the single stance foot (:mod:`runmuscles.dynamics.grf_estimation`). The
    estimate is written as ``grf_estimated.mot`` with an ExternalLoads ``grf_estimated.xml``
    beside it in ``out_dir``, and the returned spec uses it.
    """
    from .dynamics.grf_estimation import estimate_grf  # noqa: PLC0415
    from .outputs import prepare_output_dir  # noqa: PLC0415

    out_dir = prepare_output_dir(out_dir)
    est = estimate_grf(spec.model, spec.coordinates)
    _, xml = est.write(out_dir / "grf_estimated.mot")
    return TrialSpec(spec.label, spec.model, spec.coordinates, Path(xml), spec.speed_m_s, spec.speed_source)


def demo_folder() -> Path:
    """The bundled demo runner's folder inside the installed package."""
    return Path(str(resources.files("runmuscles") / "data" / "demo" / "hamner2013_subject01"))


def demo_trials() -> list[TrialSpec]:
    """The bundled runner's trials at 2, 3, 4 and 5 m/s (first published gait cycle window)."""
    folder = demo_folder()
    return [resolve_trial(folder, f"Run_{v}") for v in DEMO_SPEEDS_M_S]


def runner_folders(data_dir: str | Path, subjects: list[str] | tuple[str, ...] | None = None) -> list[Path]:
    """Runner folders in the hamner2013 layout (``model/``, ``ik/``, ``Run_N_grf.xml``).

    ``data_dir`` itself when it is one (it has ``ik/``), else its sub-folders that have ``ik/``,
    sorted by name; with ``subjects``, only those (each must exist)."""
    root = Path(data_dir)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "not found"
        raise InputError(root, f"{what} (give the hamner2013 folder with subjectNN/ in it)")
    if (root / "ik").is_dir():
        found = [root]
    else:
        found = sorted(p for p in root.iterdir() if p.is_dir() and (p / "ik").is_dir())
    if not found:
        raise InputError(
            root, "has no subject folders with ik/ in it (expected the hamner2013 layout: subjectNN/ik/)"
        )
    if subjects:
        names = {p.name: p for p in found}
        missing = [s for s in subjects if s not in names]
        if missing:
            raise InputError(root, f"has no subject folder {', '.join(missing)}")
        found = [names[s] for s in subjects]
    return found
