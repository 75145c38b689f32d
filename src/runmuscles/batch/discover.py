"""Finding the trials of a batch: a data folder in a known layout, or a manifest CSV.

A batch is a list of :class:`TrialRow` objects, each one ``runmuscles analyze`` call's
inputs. They come from

* a folder in the **hamner2013 layout** (Hamner & Delp 2013 as distributed):
  ``subjectNN/`` with ``model/*scaled*.osim``, ``ik/Run_N.mot`` and ``Run_N_grf.xml``;
  one row per ``ik/*.mot`` (analysed like ``runmuscles analyze subjectNN --trial Run_N``);
* a folder of **C3D sessions** (the layout of Fukuchi et al. 2017): one folder per runner
  with running trials ``*.c3d``, a static trial (``*static*.c3d``) and optionally the
  runner's scaled ``.osim`` model; one row per running trial (analysed like
  ``runmuscles analyze TRIAL.c3d --model MODEL`` or ``--static STATIC``);
* a **manifest** CSV, one row per trial, columns (only ``coordinates``/``markers`` or
  ``folder`` + ``trial`` are needed): ``id, subject, session, folder, trial, model,
  coordinates, markers, forces, static, mass_kg, height_m, start_s, end_s, cycle,
  speed_m_s, lowpass_hz, activation_exponent, strength, residual_reduction, muscles``
  (``residual_reduction``: ``yes``/``no``, empty: the default, on; ``muscles``:
  ``static``/``dynamic``, empty: ``--muscles``, else static). Relative paths are relative
  to the manifest's folder.

Trial IDs follow the BIDS entity convention (``sub-<label>[_ses-<label>]_task-<label>
[_run-<index>]``, Gorgolewski et al. 2016, BIDS specification 1.9 "File naming"), taken
from the files' own names when they already use it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import InputError

#: A trial id names a folder and a file under the output folder: no path parts.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
__all__ = [
    "MANIFEST_COLUMNS",
    "Skipped",
    "TrialRow",
    "bids_entities",
    "bids_id",
    "discover",
    "read_manifest_csv",
]

_BIDS_ENTITY = re.compile(r"(?:^|_)(sub|ses|task|acq|run)-([A-Za-z0-9]+)")
_STATIC = re.compile(r"static", re.IGNORECASE)
_LAB_SUFFIXES = (".c3d", ".trc", ".mot", ".sto")


@dataclass
class TrialRow:
    """One trial of a batch: the files and settings of one ``runmuscles analyze`` call.

    Either ``folder`` + ``trial`` (a trial folder in the hamner2013 layout) or ``lab_file``
    (a C3D, TRC or joint-angle file, as ``runmuscles analyze TRIAL``). Paths are absolute.
    Settings left ``None`` take :class:`runmuscles.pipeline.AnalysisOptions`' defaults.
    """

    trial_id: str
    subject: str
    session: str = ""
    folder: str = ""
    trial: str = ""
    lab_file: str = ""
    model: str = ""
    forces: str = ""
    static: str = ""
    mass_kg: float | None = None
    height_m: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    cycle: int | None = None
    speed_m_s: float | None = None
    lowpass_hz: float | None = None
    activation_exponent: float | None = None
    strength: str | None = None
    residual_reduction: bool | None = None
    source: str = ""
    muscles: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrialRow:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def input_files(self) -> list[Path]:
        """Every file the analysis reads (model, motion, forces and the data file an
        ExternalLoads names, static trial), for the input hash."""
        from ..trials import resolve_trial  # noqa: PLC0415

        files: list[Path] = []
        if self.folder:
            spec = resolve_trial(
                Path(self.folder), self.trial, model=Path(self.model) if self.model else None
            )
            files += [spec.model, spec.coordinates]
            if spec.forces is not None:
                files += [spec.forces, *_loads_data_files(spec.forces)]
        else:
            files.append(Path(self.lab_file))
            for p in (self.model, self.static):
                if p:
                    files.append(Path(p))
            if self.forces and self.forces != "estimate":
                files += [Path(self.forces), *_loads_data_files(Path(self.forces))]
        return files

    def settings(self) -> dict:
        """The settings part of the row (what changes the result besides the files)."""
        keep = (
            "mass_kg",
            "height_m",
            "start_s",
            "end_s",
            "cycle",
            "speed_m_s",
            "lowpass_hz",
            "activation_exponent",
            "strength",
            "trial",
            "muscles",
        )
        out = {k: getattr(self, k) for k in keep}
        out["forces_estimate"] = self.forces == "estimate"
        # the value in force (a row without its own takes the analysis default), so that a
        # change of the default changes the settings hash
        out["residual_reduction"] = residual_reduction_in_force(self.residual_reduction)
        if self.muscles is None:
            from ..pipeline import AnalysisOptions  # noqa: PLC0415

            out["muscles"] = AnalysisOptions.muscles
        return out


@dataclass
class Skipped:
    """Something found that is not a runnable trial, and why."""

    path: str
    reason: str


MANIFEST_COLUMNS = tuple(
    f.name for f in fields(TrialRow) if f.name not in ("trial_id", "source", "lab_file")
) + (
    "id",
    "coordinates",
    "markers",
)


def _loads_data_files(xml: Path) -> list[Path]:
    """The force data file(s) an ExternalLoads ``.xml`` names (``<datafile>``), if present."""
    try:
        text = Path(xml).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for name in re.findall(r"<datafile>\s*([^<]+?)\s*</datafile>", text):
        p = Path(name) if Path(name).is_absolute() else Path(xml).parent / name
        if p.is_file():
            out.append(p)
    return out


def bids_entities(name: str) -> dict[str, str]:
    """The BIDS entities (sub, ses, task, acq, run) in a file or folder name, if any."""
    return {k: v for k, v in _BIDS_ENTITY.findall(Path(name).name)}


def _label(text: str) -> str:
    """A BIDS label: letters and digits only."""
    return re.sub(r"[^A-Za-z0-9]", "", text)


def bids_id(subject: str, task: str, *, session: str = "", run: str = "", acq: str = "") -> str:
    """``sub-<subject>[_ses-<session>]_task-<task>[_acq-<acq>][_run-<run>]`` (BIDS order)."""
    parts = [f"sub-{_label(subject)}"]
    if session:
        parts.append(f"ses-{_label(session)}")
    parts.append(f"task-{_label(task)}")
    if acq:
        parts.append(f"acq-{_label(acq)}")
    if run:
        parts.append(f"run-{_label(run)}")
    return "_".join(parts)


def _subject_label(folder_name: str) -> str:
    ent = bids_entities(folder_name)
    if "sub" in ent:
        return ent["sub"]
    stripped = re.sub(r"^(subject|sub|s)[-_]?(?=\d)", "", folder_name, flags=re.IGNORECASE)
    return _label(stripped) or _label(folder_name)


def _id_for_file(path: Path, subject: str, session: str = "") -> str:
    """A trial's ID from its file name: its own BIDS entities when it has them."""
    ent = bids_entities(path.stem)
    if "sub" in ent and "task" in ent:
        return bids_id(
            ent["sub"],
            ent["task"],
            session=ent.get("ses", ""),
            run=ent.get("run", ""),
            acq=ent.get("acq", ""),
        )
    stem = path.stem
    # the subject's code repeated in the file name (RBDS001runT25) says nothing new
    for prefix in (path.parent.name, subject):
        if prefix and stem.lower().startswith(prefix.lower()) and len(stem) > len(prefix):
            stem = stem[len(prefix) :]
            break
    return bids_id(subject, stem, session=session)


def residual_reduction_in_force(value: bool | None) -> bool:
    """A row's residual reduction switch, ``None`` taking
    :class:`~runmuscles.pipeline.AnalysisOptions`' default."""
    if value is not None:
        return bool(value)
    from ..pipeline import AnalysisOptions  # noqa: PLC0415

    return bool(AnalysisOptions.residual_reduction)


def discover(
    source: str | Path,
    *,
    cycle: int | None = None,
    residual_reduction: bool | None = None,
    muscles: str | None = None,
) -> tuple[list[TrialRow], list[Skipped]]:
    """The trials of a batch input (folder or manifest CSV), and what was skipped and why.

    Parameters
    ----------
    source
        A data folder (hamner2013 layout or C3D sessions) or a manifest ``.csv``.
    cycle
        Stride cycle to analyse in rows that do not set their own (``None``: the data's extent).
    residual_reduction
        Residual reduction on or off in rows that do not set their own (``None``: the
        analysis default, on).
    muscles
        The muscle solution of every row (``static``/``dynamic``; ``None``: the default).

    Returns
    -------
    (rows, skipped)
        Raises :class:`~runmuscles.errors.InputError` when nothing can be read or found, or
        two trials would have the same ID.
    """
    src = Path(source)
    if not src.exists():
        raise InputError(src, "batch input not found (give a data folder or a manifest .csv)")
    if src.is_file():
        if src.suffix.lower() != ".csv":
            raise InputError(src, "a batch input file must be a manifest .csv (or give a data folder)")
        rows, skipped = read_manifest_csv(src)
    else:
        rows, skipped = _discover_folder(src.resolve())
    if muscles is not None:  # rows that name their own solution keep it
        for r in rows:
            if r.muscles is None:
                r.muscles = muscles
    if cycle is not None:
        for r in rows:
            if r.cycle is None and r.start_s is None and r.end_s is None:
                r.cycle = cycle
    if residual_reduction is not None:
        for r in rows:
            if r.residual_reduction is None:
                r.residual_reduction = residual_reduction
    seen: dict[str, str] = {}
    for r in rows:
        if r.trial_id in seen:
            raise InputError(src, f"two trials have the ID {r.trial_id} ({seen[r.trial_id]} and {r.source})")
        seen[r.trial_id] = r.source
    if not rows:
        why = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3])
        raise InputError(src, "has no trials to analyse" + (f" ({why})" if why else ""))
    return rows, skipped


def _discover_folder(root: Path) -> tuple[list[TrialRow], list[Skipped]]:
    rows: list[TrialRow] = []
    skipped: list[Skipped] = []
    subjects = [root] if _is_subject(root) else sorted(p for p in root.iterdir() if p.is_dir())
    for sub in subjects:
        if (sub / "ik").is_dir():
            _hamner_rows(sub, rows, skipped)
        elif any(p.suffix.lower() == ".c3d" for p in sub.iterdir()):
            _c3d_rows(sub, rows, skipped)
        elif sub is not root:
            skipped.append(Skipped(str(sub), "no ik/ folder and no C3D files: not a runner's folder"))
    return rows, skipped


def _is_subject(folder: Path) -> bool:
    return (folder / "ik").is_dir() or any(p.suffix.lower() == ".c3d" for p in folder.iterdir())


def _hamner_rows(sub: Path, rows: list[TrialRow], skipped: list[Skipped]) -> None:
    from ..trials import trial_model  # noqa: PLC0415

    try:
        trial_model(sub)  # a folder without its scaled model is skipped, with the reason
    except InputError as exc:
        skipped.append(Skipped(str(sub), exc.problem))
        return
    subject = _subject_label(sub.name)
    for mot in sorted((sub / "ik").glob("*.mot")):
        name = mot.stem
        grf = sub / f"{name}_grf.xml"
        if not grf.is_file():
            skipped.append(Skipped(str(mot), f"no forces file {grf.name} beside it"))
            continue
        rows.append(
            TrialRow(
                trial_id=_id_for_file(mot, subject),
                subject=subject,
                folder=str(sub),
                trial=name,
                source=f"{sub.name}/ik/{mot.name}",
            )
        )


def _c3d_rows(sub: Path, rows: list[TrialRow], skipped: list[Skipped]) -> None:
    subject = _subject_label(sub.name)
    c3ds = sorted(p for p in sub.iterdir() if p.suffix.lower() == ".c3d")
    statics = [p for p in c3ds if _STATIC.search(p.stem)]
    models = sorted(sub.glob("*.osim"))
    model = static = ""
    if len(models) == 1:
        model = str(models[0])  # the runner's scaled model, used as it is
    elif len(statics) == 1:
        static = str(statics[0])  # the default model, scaled from the static trial
    elif len(models) > 1:
        skipped.append(
            Skipped(str(sub), f"several models ({', '.join(m.name for m in models)}): use a manifest")
        )
        return
    for p in c3ds:
        if p in statics:
            continue
        rows.append(
            TrialRow(
                trial_id=_id_for_file(p, subject),
                subject=subject,
                lab_file=str(p),
                model=model,
                static=static,
                source=f"{sub.name}/{p.name}",
            )
        )


#: Manifest column -> its key in :data:`runmuscles.validation.LIMITS` (the same ranges as
#: the options of ``runmuscles analyze``).
_LIMIT_OF = {
    "mass_kg": "body_mass_kg",
    "height_m": "height_m",
    "start_s": "start_s",
    "end_s": "end_s",
    "cycle": "cycle",
    "speed_m_s": "speed_m_s",
    "lowpass_hz": "lowpass_hz",
    "activation_exponent": "activation_exponent",
}


def _num(row: dict, column: str, where: str):
    """A manifest cell as a number within its declared limit; ``None`` when empty."""
    from ..validation import LIMITS, check  # noqa: PLC0415

    text = (row.get(column) or "").strip()
    if not text:
        return None
    key = _LIMIT_OF[column]
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where} ({column})", f"'{text}' is not a number") from None
    check(key, value, f"{where} ({column})")
    return int(value) if LIMITS[key].integer else value


#: Manifest cells that mean on / off (case-insensitive) in a yes/no column.
_YES = ("yes", "true", "on", "1")
_NO = ("no", "false", "off", "0")


def _flag(row: dict, column: str, where: str) -> bool | None:
    """A yes/no manifest cell; ``None`` when empty."""
    text = (row.get(column) or "").strip().lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InputError(f"{where} ({column})", f"'{text}' is not one of {', '.join(_YES + _NO)}")


def read_manifest_csv(path: str | Path) -> tuple[list[TrialRow], list[Skipped]]:
    """Rows of a manifest CSV (see the module's docstring for the columns).

    Numbers are checked against the same declared limits as ``runmuscles analyze``'s
    options (:data:`runmuscles.validation.LIMITS`); a bad cell is an
    :class:`~runmuscles.errors.InputError` naming the line and column.
    """
    from ..validation import check_choice  # noqa: PLC0415

    p = Path(path)
    base = p.resolve().parent
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            data = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(p, f"cannot be read as a manifest CSV ({exc})") from None
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    if unknown:
        raise InputError(
            p, f"unknown manifest column(s) {', '.join(unknown)} (known: {', '.join(MANIFEST_COLUMNS)})"
        )
    if not ({"coordinates", "markers", "folder"} & set(header)):
        raise InputError(p, "a manifest needs a 'coordinates', 'markers' or 'folder' column")

    def path_of(text: str) -> str:
        if not text or text == "estimate":
            return text
        q = Path(text).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    rows: list[TrialRow] = []
    skipped: list[Skipped] = []
    for i, r in enumerate(data, start=2):  # line numbers as an editor shows them
        where = f"{p}:{i}"
        lab = r.get("markers") or r.get("coordinates") or ""
        folder = r.get("folder", "")
        if bool(lab) == bool(folder):
            raise InputError(where, "give either markers/coordinates or folder + trial in a row")
        if folder and not r.get("trial"):
            raise InputError(where, "a row with a folder needs its trial (e.g. Run_4)")
        if r.get("markers") and r.get("coordinates"):
            raise InputError(where, "give markers or coordinates, not both")
        subject = r.get("subject", "")
        file_for_id = Path(lab) if lab else Path(r["trial"])
        if not subject:
            ent = bids_entities(file_for_id.name)
            subject = ent.get("sub") or _subject_label(
                Path(path_of(folder or lab)).parent.name if lab else Path(folder).name
            )
        trial_id = r.get("id") or _id_for_file(file_for_id, subject, r.get("session", ""))
        if not _SAFE_ID.fullmatch(trial_id):  # it names a folder and a file under --out
            raise InputError(
                f"{where} (id)",
                f"'{trial_id}' is not a trial id: letters, digits, '-' and '_' only, starting with a letter "
                "or digit",
            )
        if folder and (r.get("mass_kg") or r.get("static")):  # as `runmuscles analyze` refuses them
            raise InputError(
                f"{where} (mass_kg, static)",
                "mass_kg and static go with a C3D, TRC or joint-angle file, not with a trial folder",
            )
        strength = check_choice("strength", r.get("strength") or None, f"{where} (strength)")
        muscles = check_choice("muscles", r.get("muscles") or None, f"{where} (muscles)")
        rows.append(
            TrialRow(
                trial_id=trial_id,
                subject=_label(subject),
                session=r.get("session", ""),
                folder=path_of(folder),
                trial=r.get("trial", ""),
                lab_file=path_of(lab),
                model=path_of(r.get("model", "")),
                forces=path_of(r.get("forces", "")),
                static=path_of(r.get("static", "")),
                mass_kg=_num(r, "mass_kg", where),
                height_m=_num(r, "height_m", where),
                start_s=_num(r, "start_s", where),
                end_s=_num(r, "end_s", where),
                cycle=_num(r, "cycle", where),
                speed_m_s=_num(r, "speed_m_s", where),
                lowpass_hz=_num(r, "lowpass_hz", where),
                activation_exponent=_num(r, "activation_exponent", where),
                strength=strength,
                residual_reduction=_flag(r, "residual_reduction", where),
                muscles=muscles,
                source=where,
            )
        )
    return rows, skipped
