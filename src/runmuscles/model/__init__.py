"""The runner's musculoskeletal model, as the rest of the pipeline sees it.

:class:`RunnerModel` bundles, for one ``.osim`` file,

* the rigid-body model (:mod:`runmuscles.model.multibody`: parsed from the XML, no
  OpenSim), for inverse dynamics and the centre of mass,
* the muscle geometry surrogate (:mod:`runmuscles.model.geometry`: built once with
  OpenSim, then loaded from a cache file named after the model's content hash),
* the muscles' activation bounds,

and answers the questions the pipeline asks (which coordinates are independent, which
carry muscles, what to fill for locked and coupled ones) with plain arrays.
"""

from __future__ import annotations

import contextlib
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelError
from ..tables import TimeTable
from .osim_xml import parsed_xml

__all__ = ["RunnerModel"]

# OpenSim's default control bounds when a muscle's XML does not set them
# (Thelen2003Muscle and Millard2012EquilibriumMuscle: 0.01-1; DeGrooteFregly2016Muscle: 0-1).
_DEFAULT_MIN_CONTROL = {"DeGrooteFregly2016Muscle": 0.0}
_MUSCLE_TAGS = (
    "Thelen2003Muscle",
    "Millard2012EquilibriumMuscle",
    "DeGrooteFregly2016Muscle",
    "Millard2012AccelerationMuscle",
    "RigidTendonMuscle",
)


def _control_bounds(path: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    try:
        root = parsed_xml(path)  # shared with the other readers of this file: read only
    except ET.ParseError as exc:
        raise ModelError(path, f"is not valid XML ({exc})") from None
    found: dict[str, tuple[float, float]] = {}
    for tag in _MUSCLE_TAGS:
        for el in root.findall(f".//ForceSet/objects/{tag}"):
            lo = el.findtext("min_control")
            hi = el.findtext("max_control")
            found[el.get("name", "")] = (
                float(lo) if lo is not None else _DEFAULT_MIN_CONTROL.get(tag, 0.01),
                float(hi) if hi is not None else 1.0,
            )
    lo = np.array([found.get(n, (0.01, 1.0))[0] for n in names])
    hi = np.array([found.get(n, (0.01, 1.0))[1] for n in names])
    return lo, hi


@dataclass
class RunnerModel:
    """A scaled OpenSim model, ready for the pipeline (see the module docstring)."""

    path: Path
    multibody: object
    geometry: object
    min_activation: np.ndarray
    max_activation: np.ndarray
    coordinate_actuators: object = None

    @classmethod
    def load(
        cls, path: str | Path, *, cache_dir: str | Path | None = None, rebuild: bool = False
    ) -> RunnerModel:
        """Load (or build once, with OpenSim) everything the pipeline needs for ``path``.

        Loaded models are kept for the life of the process (keyed by path, size and
        modification time), so a batch of trials of one runner loads the model once.
        """
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            raise InputError(p, "model file not found") from None
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns, str(cache_dir))
        if not rebuild and key in _LOADED:
            return _LOADED[key]
        model = cls._load(p, cache_dir=cache_dir, rebuild=rebuild)
        _LOADED[key] = model
        return model

    @classmethod
    def _load(cls, path: Path, *, cache_dir: str | Path | None, rebuild: bool) -> RunnerModel:
        from .geometry import MuscleGeometry, default_cache_dir  # noqa: PLC0415
        from .multibody import load_osim_cached  # noqa: PLC0415

        p = Path(path)
        if not p.exists():
            raise InputError(p, "model file not found")
        if p.suffix.lower() != ".osim":
            raise InputError(p, "is not an OpenSim model (.osim)")
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        _seed_bundled_caches(cache)
        mb = load_osim_cached(p, cache)
        if not _has_muscles(p):
            raise ModelError(p, "has no muscles (runmuscles needs a model with muscles, e.g. Hamner 2010)")
        _check_masses(p, mb)
        _check_muscle_strengths(p)
        geom = MuscleGeometry.for_model(p, cache_dir=cache, rebuild=rebuild)
        if list(geom.coordinate_names) != list(mb.coordinate_names):
            raise ModelError(p, "geometry cache and model disagree on coordinates; rebuild the cache")
        extras = cache / f"{p.stem}-{geom.model_sha256[:20]}.extras.json"
        info = None
        if extras.exists() and not rebuild:
            try:
                info = json.loads(extras.read_text())
            except (OSError, ValueError):
                info = None
        if info is None or info.get("muscles") != list(geom.muscle_names):
            from .actuators import read_coordinate_actuators  # noqa: PLC0415

            lo, hi = _control_bounds(p, list(geom.muscle_names))
            act = read_coordinate_actuators(p, in_model=True)
            info = {
                "muscles": list(geom.muscle_names),
                "min_control": lo.tolist(),
                "max_control": hi.tolist(),
                "actuators": {
                    "names": act.names,
                    "coordinates": act.coordinates,
                    "optimal_force": act.optimal_force.tolist(),
                    "min_control": [str(v) for v in act.min_control],
                    "max_control": [str(v) for v in act.max_control],
                },
            }
            with contextlib.suppress(OSError):  # a read-only cache folder only costs speed
                tmp = extras.with_name(f".{extras.name}.tmp{os.getpid()}")
                tmp.write_text(json.dumps(info))
                os.replace(tmp, extras)  # atomic: workers sharing the cache never read half of it
        from ..muscles.recruitment import Reserves  # noqa: PLC0415

        a = info["actuators"]
        actuators = Reserves(
            list(a["names"]),
            list(a["coordinates"]),
            np.array(a["optimal_force"], dtype=float),
            np.array([float(v) for v in a["min_control"]]),
            np.array([float(v) for v in a["max_control"]]),
        )
        return cls(
            p,
            mb,
            geom,
            np.array(info["min_control"], dtype=float),
            np.array(info["max_control"], dtype=float),
            actuators,
        )

    # -- names -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.multibody.name

    @property
    def body_names(self) -> list[str]:
        return list(self.multibody.body_names)

    @property
    def ground_name(self) -> str:
        return self.multibody.body_names[0]

    @property
    def coordinate_names(self) -> list[str]:
        return list(self.multibody.coordinate_names)

    @property
    def rotational(self) -> list[bool]:
        return [t == "rotational" for t in self.multibody.motion_types]

    @property
    def muscle_names(self) -> list[str]:
        return list(self.geometry.muscle_names)

    @property
    def body_mass_kg(self) -> float:
        return float(self.multibody.total_mass_kg)

    @property
    def independent_coordinates(self) -> list[str]:
        return list(self.multibody.independent_coordinates)

    @cached_property
    def coordinates_with_muscles(self) -> list[str]:
        lo = np.asarray(self.geometry.domain_lo)
        return [c for c, v in zip(self.coordinate_names, lo, strict=True) if np.isfinite(v)]

    @cached_property
    def root_coordinates(self) -> dict[str, list[str]]:
        """Coordinates of the joint that attaches the model to ground (the pelvis)."""
        mb = self.multibody
        joints = [j for j in range(mb.n_joints) if int(mb.parent[j]) == 0]
        if len(joints) != 1:
            return {}
        j = joints[0]
        names = [c for c, cj in zip(mb.coordinate_names, mb.coordinate_joint, strict=True) if int(cj) == j]
        if len(names) != 6:
            return {}
        rot = [n for n in names if mb.motion_types[mb.coordinate_names.index(n)] == "rotational"]
        tra = [n for n in names if n not in rot]
        return {"translational": tra, "rotational": rot}

    # -- kinematics ------------------------------------------------------------------------
    def fill_values(self, table: TimeTable) -> dict[str, float]:
        """Values for coordinates a data table may lack: locked ones (their default value)
        and coupled ones (recomputed from their drivers afterwards)."""
        mb = self.multibody
        out = {}
        dep = set(mb.dependent_coordinates)
        for i, n in enumerate(mb.coordinate_names):
            if mb.locked[i] or n in dep:
                out[n] = float(mb.default_values[i])
        return out

    def complete_coordinates(self, q: np.ndarray, qd: np.ndarray, qdd: np.ndarray):
        """Hold locked coordinates at their default and set coupled ones from their drivers
        (what OpenSim's assembly does before analysing a frame)."""
        from .multibody import fill_dependent_coordinates  # noqa: PLC0415

        mb = self.multibody
        q, qd, qdd = q.copy(), qd.copy(), qdd.copy()
        locked = np.asarray(mb.locked, dtype=bool)
        q[:, locked] = np.asarray(mb.default_values)[locked]
        qd[:, locked] = 0.0
        qdd[:, locked] = 0.0
        return fill_dependent_coordinates(mb, q, qd, qdd)

    def body_poses(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Body orientations ``(F, n_bodies, 3, 3)`` (body axes in ground) and origins
        ``(F, n_bodies, 3)`` (m) at each frame; bodies in :attr:`body_names` order."""
        from .multibody import forward_kinematics  # noqa: PLC0415

        kin = forward_kinematics(self.multibody, q)
        return np.transpose(kin.R_t, (3, 2, 0, 1)), np.transpose(kin.p_t, (2, 1, 0))

    def mass_center_height_m(self, q: np.ndarray) -> float:
        from .multibody import mass_center  # noqa: PLC0415

        pos, _, _ = mass_center(self.multibody, q)
        up = -np.asarray(self.multibody.gravity_m_s2, dtype=float)
        up = up / (np.linalg.norm(up) or 1.0)
        return float(np.mean(pos @ up))

    # -- dynamics --------------------------------------------------------------------------
    def inverse_dynamics(self, q, qd, qdd, loads, times_s) -> np.ndarray:
        """Generalized forces (N m / N) for every coordinate, model order."""
        from ..dynamics.inverse import body_loads_from_external_loads, inverse_dynamics  # noqa: PLC0415

        ext = body_loads_from_external_loads(self.multibody, loads, times_s) if loads is not None else None
        return inverse_dynamics(self.multibody, q, qd, qdd, ext)

    def projection(self, q: np.ndarray) -> np.ndarray:
        """``(F, C_ind, C)``: generalized forces on all coordinates -> independent ones."""
        from .multibody import coupler_slopes  # noqa: PLC0415

        mb = self.multibody
        ind = self.independent_coordinates
        C = mb.n_coordinates
        P = np.zeros((q.shape[0], len(ind), C))
        row = {mb.coordinate_names.index(n): k for k, n in enumerate(ind)}
        for i, k in row.items():
            P[:, k, i] = 1.0
        if mb.couplers:
            slopes = coupler_slopes(mb, q)
            for j, c in enumerate(mb.couplers):
                if c.independent in row:
                    P[:, row[c.independent], c.dependent] = slopes[:, j]
        return P

    # -- muscles ---------------------------------------------------------------------------
    def muscle_geometry(self, q, qd, *, strength: str = "model", height_m: float | None = None):
        """Muscle lengths, speeds, moment arms and strengths at the frames.

        ``strength``: ``"model"`` (the model's maximum isometric forces), ``"volume"``
        (scaled from the runner's mass and height, :mod:`runmuscles.model.strength`), or
        ``"max_isometric"`` (strength = maximum isometric force, no force-length-velocity:
        OpenSim's ``use_muscle_physiology=false``).
        """
        geom = self.geometry
        notes: list[str] = []
        if strength == "volume":
            from .strength import volume_scaled_max_isometric_force  # noqa: PLC0415

            h = height_m if height_m is not None else self.estimated_height_m()
            how = (
                "as given"
                if height_m is not None
                else "not given: the scaled model's stature, its standing hip height / 0.530 "
                "(Drillis & Contini 1966); give --height to set it"
            )
            f0, prov = volume_scaled_max_isometric_force(
                list(geom.muscle_names), geom.max_isometric_force_n, geom.params, self.body_mass_kg, h
            )
            geom = geom.with_max_isometric_force(f0)
            notes.append(
                f"strength scaled by muscle volume (Handsfield et al. 2014), height {h:.2f} m ({how})"
            )
        elif strength not in ("model", "max_isometric"):
            raise InputError(
                "strength", f"unknown strength model '{strength}' (model, volume, max_isometric)"
            )
        frames = geom.evaluate(q, qd, fallback_exact=True)
        # OpenSim's moment arm about a coupled coordinate's driver already includes the
        # coupling (MomentArmSolver moves the dependent coordinate along), and it reports the
        # same number for the dependent coordinate. Keep it on the driver only, so that the
        # projection onto independent coordinates counts it once.
        dep = [self.coordinate_names.index(n) for n in self.multibody.dependent_coordinates]
        if dep:
            frames.moment_arm_m[:, :, dep] = 0.0
        if strength == "max_isometric":
            frames.strength_n = np.broadcast_to(geom.max_isometric_force_n, frames.strength_n.shape).copy()
        frames.notes = notes
        frames.strength_model = strength
        # the parameters these strengths were computed with (the dynamic muscle solution's)
        frames.muscle_params = geom.params
        return frames

    def estimated_height_m(self) -> float:
        """Stature of the model's runner (m): standing hip height over 0.530 (Drillis & Contini
        1966), :func:`runmuscles.model.anthropometry.stature_from_multibody`."""
        from .anthropometry import stature_from_multibody  # noqa: PLC0415

        return stature_from_multibody(self.multibody, self.name)


_LOADED: dict[tuple, RunnerModel] = {}


def bundled_cache_dir() -> Path:
    """Geometry caches shipped with the package (the demo runner's model)."""
    from importlib import resources  # noqa: PLC0415

    return Path(str(resources.files("runmuscles") / "data" / "demo" / "cache"))


def _seed_bundled_caches(cache: Path) -> None:
    """Copy the shipped geometry caches into ``cache`` once, so the demo needs no build.

    Cache files are named after the model's content hash and checked on load, so a shipped
    file only ever serves the exact model it was built from.
    """
    import shutil  # noqa: PLC0415

    src = bundled_cache_dir()
    if not src.is_dir():
        return
    for f in src.glob("*.npz"):
        dst = cache / f.name
        if not dst.exists():
            with contextlib.suppress(OSError):
                cache.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dst)


def _check_masses(path: Path, mb) -> None:
    """Refuse a model whose bodies' masses are not finite, negative, or add up to no person."""
    from ..validation import LIMITS  # noqa: PLC0415

    masses = np.asarray(mb.mass_kg, dtype=float)
    for name, m in zip(mb.body_names, masses, strict=False):
        if not np.isfinite(m) or m < 0:
            raise ModelError(path, f"body {name} has mass {m!r} kg")
    total = float(mb.total_mass_kg)
    why = LIMITS["body_mass_kg"].problem(total)
    if why is not None:
        raise ModelError(path, f"the bodies' masses add up to {total:g} kg: {why}")


def _check_muscle_strengths(path: Path) -> None:
    """Refuse a model with a muscle whose maximum isometric force is not a positive number
    (read from the file, before any geometry is built)."""
    import re  # noqa: PLC0415

    text = path.read_text(encoding="utf-8", errors="replace")
    for tag in _MUSCLE_TAGS:
        for m in re.finditer(rf'<{tag} name="([^"]+)">(.*?)</{tag}>', text, flags=re.S):
            f0 = re.search(r"<max_isometric_force>\s*([^<\s]+)\s*</max_isometric_force>", m.group(2))
            if f0 is None:
                continue
            try:
                v = float(f0.group(1))
            except ValueError:
                v = float("nan")
            if not (np.isfinite(v) and v > 0):
                raise ModelError(
                    path, f"muscle {m.group(1)}: max_isometric_force {f0.group(1)} N is not positive"
                )


def _has_muscles(path: Path) -> bool:
    text = path.read_text(encoding="utf-8", errors="replace")
    return any(f"<{tag} name=" in text for tag in _MUSCLE_TAGS)
