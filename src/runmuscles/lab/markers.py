"""A lab's marker names on a model: known marker sets, a user's mapping, tracking markers.

Every lab marker ends up in one of three roles (:func:`plan_markers`):

* **renamed** to a model marker on the same landmark (``R.ASIS`` -> ``RASI``): it scales
  the model and places it in the static pose;
* **tracking**: a marker the model does not have (a thigh cluster, a heel-counter marker),
  added to the model on its segment. It does not pose the model in the static trial (weight
  0 there) but OpenSim's marker placer moves it onto its measured position, after which it
  tracks its segment in inverse kinematics like any other marker;
* **ignored**: no model marker, no recognisable segment.

The lab name is looked up, in this order, in the user's mapping (``--markers FILE``), among
the model's own marker names, by the anatomical landmark its name says it is on
(:mod:`runmuscles.lab.landmarks`: synonyms across Plug-in Gait, Helen Hayes, CAST, IOR,
Cleveland Clinic, Fukuchi 2017 and the OpenSim models' names, with any side prefix or
suffix), and last by name patterns that say which segment a marker is on
(:data:`SEGMENT_PATTERNS`). A landmark the model has a marker for renames the lab marker to
it; a landmark it has none for (sacrum, greater trochanter, toe tip) tracks its body under
a canonical name (``SACR`` for the sacrum, which the hip joint centres use).

The hip joint centres that the model's scaling measurements use (``RHJC``/``LHJC``) are not
markers in a lab; :func:`hip_joint_centres` computes them from the pelvis markers with the
regression of Harrington ME, Zavatsky AB, Lawson SEM, Yuan Z, Theologis TN (2007) Prediction
of the hip joint centre in adults, children, and patients with cerebral palsy based on
magnetic resonance imaging. J Biomech 40:595-602.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..readers.opensim_files import MarkerTable

__all__ = [
    "MarkerPlan",
    "SEGMENT_PATTERNS",
    "compare_with_static",
    "hip_joint_centres",
    "known_lab_names",
    "model_marker_bodies",
    "plan_markers",
    "read_marker_map",
]


#: Segment of a marker the model does not have, from its name (first match wins), for
#: the Rajagopal family's body names (``{s}``: ``r``/``l``; a body the model lacks is skipped).
SEGMENT_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"asis|psis|iliac|crest|sacr|pelvi|^[rl]?asi$|^[rl]?psi$", "pelvis"),
    (r"thigh|thi$|femur|gtr|troch|knee|kne", "femur_{s}"),
    (r"shank|shin|tib|fib|\bhf$|\btt$|ank|mal", "tibia_{s}"),
    (r"heel|hee$|calc|foot|mt\d|meta|toe", "calcn_{s}"),
    (r"c7|t10|t8|strn|stern|clav|bak|back|head|hd$|acr|sho|temple|ear", "torso"),
    (r"upa|upper.?arm|humer|elb|elbow|bicep|tricep", "humerus_{s}"),
    (r"frm|fore.?arm|wr[ab]|wrist|radius|ulna", "radius_{s}"),
    (r"fin|hand", "hand_{s}"),
)


def _side(name: str) -> str | None:
    """``r``/``l`` from a name's prefix (``R.``, ``R_``, ``RASI``, ``Right``) or suffix (``_r``)."""
    for s, word in (("r", "right"), ("l", "left")):
        cap = s.upper()
        if (
            re.match(rf"(?i)^({word}|{s})[._ -]", name)
            or re.match(rf"^{cap}[A-Z]", name)
            or re.match(rf"(?i)^{word}", name)
            or re.search(rf"(?i)([._ -]{s}|{word})$", name)
        ):
            return s
    return None


@dataclass
class MarkerPlan:
    """What happens to each lab marker (see the module docstring).

    Attributes
    ----------
    rename
        Lab name -> model marker.
    tracking
        Lab name -> body it is added to.
    ignored
        Lab names not used.
    how
        Lab name -> where its role came from (``your mapping``, ``model name``, a known
        set's name, ``name pattern``).
    model_missing
        Model markers that no lab marker maps to.
    body_of
        Lab name -> the model body the marker is on (renamed and tracking markers).
    sacrum
        The lab marker on the sacrum (a tracking marker; the hip joint centres use it when
        the posterior superior iliac spines are not marked).
    """

    rename: dict[str, str]
    tracking: dict[str, str]
    ignored: list[str]
    how: dict[str, str] = field(default_factory=dict)
    model_missing: list[str] = field(default_factory=list)
    body_of: dict[str, str] = field(default_factory=dict)
    sacrum: str | None = None

    def model_name(self, lab: str) -> str | None:
        """The name the marker has on the model (renamed or tracking), or None."""
        if lab in self.rename:
            return self.rename[lab]
        return lab if lab in self.tracking else None

    def lab_name(self, model_marker: str) -> str | None:
        """The lab marker that became ``model_marker``, or None."""
        for lab, m in self.rename.items():
            if m == model_marker:
                return lab
        return model_marker if model_marker in self.tracking else None

    def apply(self, markers: MarkerTable) -> MarkerTable:
        """The table with model names, used markers only (ignored ones dropped)."""
        keep = [k for k, n in enumerate(markers.names) if self.model_name(n) is not None]
        names = [self.model_name(markers.names[k]) for k in keep]
        return MarkerTable(
            markers.time_s,
            markers.positions_m[:, keep, :],
            names,  # type: ignore[arg-type]
            markers.rate_hz,
            markers.source_units,
            dict(markers.meta),
        )

    def summary(self) -> str:
        """One line for the quality panel."""
        parts = [f"{len(self.rename)} lab markers on model landmarks"]
        if self.tracking:
            parts.append(f"{len(self.tracking)} added to the model as tracking markers")
        if self.ignored:
            parts.append(f"{len(self.ignored)} not used ({', '.join(self.ignored[:8])})")
        by_landmark = sum(h.startswith("landmark") for h in self.how.values())
        if by_landmark:
            parts.append(f"{by_landmark} recognised by landmark name")
        if any(h == "your mapping" for h in self.how.values()):
            parts.append("your mapping used")
        return "markers: " + ", ".join(parts)

    def mapping_table(self) -> list[dict[str, str]]:
        """Every lab marker's role, for ``quality.input.markers.mapping``."""
        rows = []
        for lab, how in self.how.items():
            role = "renamed" if lab in self.rename else "tracking" if lab in self.tracking else "not used"
            target = self.rename.get(lab) or self.tracking.get(lab) or ""
            rows.append({"lab": lab, "role": role, "model": target, "how": how})
        rows += [
            {"lab": n, "role": "not used", "model": "", "how": "unknown name"}
            for n in self.ignored
            if n not in self.how
        ]
        return rows


def known_lab_names(model_marker: str) -> list[str]:
    """What a model marker's landmark is, in words (``RLFC`` -> ``right lateral femoral epicondyle``)."""
    from .landmarks import describe  # noqa: PLC0415

    d = describe(model_marker)
    return [d] if d else []


def read_marker_map(path: str | Path) -> dict[str, str]:
    """Read a user's marker mapping: one ``lab_name, target`` per line.

    The target is a model marker (the lab marker is renamed to it), a body of the model
    (the lab marker is added there as a tracking marker) or ``-`` (not used). Commas, tabs
    or spaces separate the two; empty lines and lines starting with ``#`` are skipped.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "marker mapping file not found")
    out: dict[str, str] = {}
    for k, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [x.strip() for x in re.split(r"[,\t]|\s+", line) if x.strip()]
        if len(parts) != 2:
            raise InputError(p, f"line {k}: expected 'lab_name, model_marker_or_body', got '{line}'")
        out[parts[0]] = parts[1]
    if not out:
        raise InputError(p, "marker mapping file has no entries")
    return out


def model_marker_bodies(osim: str | Path) -> tuple[dict[str, str], list[str]]:
    """Markers of an ``.osim`` model with the body each is on, and the model's bodies."""
    from ..model.osim_xml import parsed_xml  # noqa: PLC0415

    p = Path(osim)
    try:
        root = parsed_xml(p)
    except (OSError, ET.ParseError) as exc:
        raise InputError(p, f"cannot read the model ({exc})") from None
    bodies = [b.get("name", "") for b in root.iter("Body")]
    markers = {}
    for m in root.iter("Marker"):
        frame = (m.findtext("socket_parent_frame") or m.findtext("body") or "").strip()
        markers[m.get("name", "")] = frame.rstrip("/").split("/")[-1].removesuffix("_offset")
    return markers, bodies


def plan_markers(
    lab_names: list[str],
    model_markers: dict[str, str],
    model_bodies: list[str],
    *,
    user_map: dict[str, str] | None = None,
    source: str | Path | None = None,
) -> MarkerPlan:
    """Decide the role of every lab marker (see the module docstring).

    Parameters
    ----------
    lab_names
        Marker names of the lab's files (static and trial together).
    model_markers
        The model's markers and their bodies (:func:`model_marker_bodies`).
    model_bodies
        The model's bodies.
    user_map
        ``lab name -> model marker, body or '-'`` (:func:`read_marker_map`); these win.
    source
        The mapping file, for messages.
    """
    from . import landmarks as lk  # noqa: PLC0415

    rename: dict[str, str] = {}
    tracking: dict[str, str] = {}
    ignored: list[str] = []
    how: dict[str, str] = {}
    landmark: dict[str, tuple[lk.Landmark, str | None]] = {}
    on_model = lk.model_landmarks(model_markers)
    for name in lab_names:
        if name in rename or name in tracking or name in ignored:
            continue
        target = (user_map or {}).get(name)
        if target is not None:
            if target == "-":
                ignored.append(name)
            elif target in model_markers:
                rename[name] = target
            elif target in model_bodies:
                tracking[name] = target
            else:
                raise InputError(
                    source, f"maps '{name}' to '{target}', which is neither a marker nor a body of the model"
                )
            how[name] = "your mapping"
            continue
        if name in model_markers:
            rename[name] = name
            how[name] = "model name"
            continue
        hit = lk.recognise(name)
        if hit is not None:
            lm, side = hit
            marker = on_model.get((lm.key, side))
            body = lk.body_name(lm, side)
            if marker is not None:
                rename[name] = marker
                how[name] = f"landmark: {lk.describe(name)}"
                landmark[name] = hit
                continue
            if body in model_bodies:
                tracking[name] = body
                how[name] = f"landmark: {lk.describe(name)} (no model marker: tracks {body})"
                landmark[name] = hit
                continue
        body = _segment(name, model_bodies)
        if body is not None:
            tracking[name] = body
            how[name] = "name pattern"
        else:
            ignored.append(name)
    # two lab markers on one model marker: the better landmark (rank; else the first) keeps it,
    # the other tracks its body
    order = sorted(rename, key=lambda n: landmark[n][0].rank if n in landmark else -1)
    seen: dict[str, str] = {}
    for lab in order:
        m = rename[lab]
        if m in seen:
            del rename[lab]
            tracking[lab] = model_markers[m]
            how[lab] = f"{how[lab]} (second marker for {m}, which {seen[m]} took)"
        else:
            seen[m] = lab
    rename = {n: rename[n] for n in lab_names if n in rename}
    used = set(rename.values())
    missing = [m for m in model_markers if m not in used]
    body_of = {lab: model_markers[m] for lab, m in rename.items()} | dict(tracking)
    sacrum = next((n for n, (lm, _) in landmark.items() if lm.key == "sacrum" and n in tracking), None)
    return MarkerPlan(rename, tracking, ignored, how, missing, body_of, sacrum)


def _segment(name: str, bodies: list[str]) -> str | None:
    low = name.lower()
    side = _side(name)
    for pattern, body in SEGMENT_PATTERNS:
        if re.search(pattern, low):
            if "{s}" in body:
                if side is None:
                    return None
                body = body.format(s=side)
            return body if body in bodies else None
    return None


# -- hip joint centres ---------------------------------------------------------------------------


def hip_joint_centres(markers: MarkerTable, sacrum: str = "SACR") -> dict[str, np.ndarray] | None:
    """Right and left hip joint centres (``RHJC``, ``LHJC``) from the pelvis markers.

    Harrington et al. (2007), in the pelvis frame (origin midway between the anterior
    superior iliac spines, x forward, y up, z to the right; mm): x = -0.24 PD - 9.9,
    y = -0.30 PW - 10.9, z = +-(0.33 PW + 7.3), with PW the distance between the ASIS and
    PD the distance from the midpoint of the ASIS to the midpoint of the PSIS (or the sacral
    marker ``SACR``). Needs model-named markers ``RASI``, ``LASI`` and ``RPSI``/``LPSI``
    (or the sacral marker, named by ``sacrum``); returns None when they are not there.
    """
    names = markers.names

    def get(n: str) -> np.ndarray | None:
        return markers.positions_m[:, names.index(n), :] if n in names else None

    rasi, lasi = get("RASI"), get("LASI")
    if rasi is None or lasi is None:
        return None
    rpsi, lpsi = get("RPSI"), get("LPSI")
    if rpsi is not None and lpsi is not None:
        back = 0.5 * (rpsi + lpsi)
    elif get(sacrum) is not None:
        back = get(sacrum)
    else:
        return None
    front = 0.5 * (rasi + lasi)
    z = rasi - lasi
    pw = np.linalg.norm(z, axis=1)
    z = z / pw[:, None]
    x = front - back
    pd = np.linalg.norm(x, axis=1)
    x = x - np.sum(x * z, axis=1)[:, None] * z
    x = x / np.linalg.norm(x, axis=1)[:, None]
    y = np.cross(z, x)
    hx = -0.24 * pd - 0.0099
    hy = -0.30 * pw - 0.0109
    hz = 0.33 * pw + 0.0073
    out = {}
    for name, sign in (("RHJC", 1.0), ("LHJC", -1.0)):
        out[name] = front + hx[:, None] * x + hy[:, None] * y + sign * hz[:, None] * z
    return out


def with_hip_joint_centres(markers: MarkerTable, sacrum: str = "SACR") -> tuple[MarkerTable, bool]:
    """The table with ``RHJC``/``LHJC`` appended when they can be computed (and are absent)."""
    if "RHJC" in markers.names or "LHJC" in markers.names:
        return markers, False
    hjc = hip_joint_centres(markers, sacrum)
    if hjc is None:
        return markers, False
    pos = np.concatenate([markers.positions_m, np.stack([hjc["RHJC"], hjc["LHJC"]], axis=1)], axis=1)
    return (
        MarkerTable(
            markers.time_s,
            pos,
            [*markers.names, "RHJC", "LHJC"],
            markers.rate_hz,
            markers.source_units,
            markers.meta,
        ),
        True,
    )


# -- static against trial ------------------------------------------------------------------------

#: Largest median relative difference between a static trial's and a running trial's
#: distances of markers on one segment accepted as the same runner. Measured: the same runner
#: 0.3-0.6 % (Fukuchi 2017, same session) and 1.3-3.4 % (Hamner 2013, torso and arm markers
#: move with the shoulders); another runner 9.5-13 % (Hamner 2013) but only 1.2-4.3 %
#: between the Fukuchi 2017 runners (the same cluster plates on runners of similar size).
#: This check therefore catches a clearly different body; the stature check
#: (:data:`runmuscles.lab.scaling.STATURE_TOLERANCE`, with ``--height``) the rest.
STATIC_MISMATCH = 0.06
_SUSPECT_M = 0.015  # a same-segment distance that changes by 15 mm is not a rigid segment's


def _median_distances(markers: MarkerTable, names: list[str]) -> dict[tuple[str, str], float]:
    out = {}
    for a, b in itertools.combinations(names, 2):
        d = np.linalg.norm(markers.marker(a) - markers.marker(b), axis=1)
        if np.isfinite(d).any():
            out[(a, b)] = out[(b, a)] = float(np.nanmedian(d))
    return out


def compare_with_static(
    static: MarkerTable, trial: MarkerTable, body_of: dict[str, str], *, static_source: str, trial_source: str
) -> tuple[dict[str, str], list[str]]:
    """Check that the static trial is the same runner and find markers labelled differently.

    Markers on one segment keep their distances. Per segment, every marker of the trial is
    compared with the static trial through its median distances to the other markers of
    the segment. When giving some markers other labels (two swapped, or one under the name
    of a marker that is missing) makes these distances agree much better, the trial's
    markers were labelled differently from the static trial's: they are relabelled, and
    said so.

    Parameters
    ----------
    static, trial
        Marker tables with the lab's names.
    body_of
        Lab marker name -> the model body it is on (:meth:`MarkerPlan.body_of`).
    static_source, trial_source
        Files, for messages.

    Returns
    -------
    (dict, list of str)
        Trial relabelling (old name -> new name) and notes.

    Raises
    ------
    InputError
        The distances differ by more than :data:`STATIC_MISMATCH` (median of the relative
        differences): a static trial of another runner.
    """
    notes: list[str] = []
    common = [n for n in trial.names if n in static.names and n in body_of]
    groups: dict[str, list[str]] = {}
    for n in common:
        groups.setdefault(body_of[n], []).append(n)
    rel, worst = [], (0.0, "", "", 0.0, 0.0)
    for names in groups.values():
        ds = _median_distances(static, names)
        dt = _median_distances(trial, names)
        for a, b in itertools.combinations(names, 2):
            if (a, b) in ds and (a, b) in dt and ds[(a, b)] > 0.02:
                r = abs(dt[(a, b)] - ds[(a, b)]) / ds[(a, b)]
                rel.append(r)
                if r > worst[0]:
                    worst = (r, a, b, ds[(a, b)], dt[(a, b)])
    if len(rel) >= 4:
        med = float(np.median(rel))
        if med > STATIC_MISMATCH:
            _, a, b, d_s, d_t = worst
            raise InputError(
                static_source,
                f"does not fit the runner of {Path(trial_source).name}: distances between markers on "
                f"one segment differ by {100 * med:.0f} % (median; a runner's own static trial differs "
                f"by 0.3-3.4 %), e.g. {a}-{b} {100 * d_s:.1f} cm here, {100 * d_t:.1f} cm in the trial: "
                f"a static trial of another person? Give this runner's static trial, or leave --static "
                f"out and give --height and --mass",
            )
        notes.append(
            f"static trial fits the running trial: same-segment marker distances agree to "
            f"{100 * med:.1f} % (median)"
        )
    relabel = _relabel(static, trial, body_of)
    for old, new in relabel.items():
        notes.append(
            f"marker '{old}' of the trial sits where the static trial has '{new}' (distances to the "
            f"segment's other markers): read as '{new}'"
        )
    return relabel, notes


def _label_cost(
    lab: dict[str, str],
    present: list[str],
    ds: dict[tuple[str, str], float],
    dt: dict[tuple[str, str], float],
) -> tuple[float, float]:
    """Summed and largest distance mismatch of a labelling (trial name -> static name)."""
    e = [
        abs(dt[(a, c)] - ds[(lab[a], lab[c])])
        for a, c in itertools.combinations(present, 2)
        if (a, c) in dt and (lab[a], lab[c]) in ds
    ]
    return (float(np.sum(e)), float(np.max(e))) if e else (0.0, 0.0)


def _relabel(static: MarkerTable, trial: MarkerTable, body_of: dict[str, str]) -> dict[str, str]:
    """Per segment, the labelling of the trial's markers that best keeps the static distances.

    Moves are a swap of two labels or a move to a label the trial lacks; the best move is
    taken while it lowers the segment's summed distance mismatch by more than 2 cm and
    leaves no pair off by more than :data:`_SUSPECT_M`.
    """
    relabel: dict[str, str] = {}
    bodies: dict[str, list[str]] = {}
    for n in static.names:
        if n in body_of:
            bodies.setdefault(body_of[n], []).append(n)
    for names in bodies.values():
        present = [n for n in names if n in trial.names]
        if len(present) < 3:
            continue
        ds = _median_distances(static, names)
        dt = _median_distances(trial, present)

        label = {a: a for a in present}
        current = _label_cost(label, present, ds, dt)[0]
        while True:
            best: tuple[float, float, dict[str, str]] | None = None
            for a in present:
                for b in names:
                    if b == label[a]:
                        continue
                    new = dict(label)
                    holder = next((x for x in present if label[x] == b), None)
                    if holder is not None:
                        new[holder] = label[a]
                    new[a] = b
                    total, worst = _label_cost(new, present, ds, dt)
                    if best is None or total < best[0]:
                        best = (total, worst, new)
            if best is None or current - best[0] < 0.02 or best[1] > _SUSPECT_M:
                break
            current, label = best[0], best[2]
        relabel.update({a: b for a, b in label.items() if a != b})
    return relabel
