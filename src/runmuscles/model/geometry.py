"""Fast muscle geometry and strength: a NumPy surrogate of OpenSim, cached per model.

Static optimization needs, per frame and muscle, the musculotendon length, its lengthening
speed, the moment arms about every coordinate and the rigid-tendon strength at full
activation. OpenSim gives them exactly but slowly (1-2 ms per frame through its Python
API, plus 0.25 s to import it). This module fits, once per model, smooth polynomial
surrogates to OpenSim's exact values, stores them in a small ``.npz`` file named after the
model's content hash, and evaluates them with NumPy only (no OpenSim, no SciPy import).

How the surrogate is built
--------------------------
1. Topology: each muscle depends on the coordinates of the joints its path spans
   (:func:`runmuscles.opensim_adapter.geometry.spanned_coordinates`); coupled coordinates
   (Rajagopal's ``knee_angle_r_beta``) are functions of their independent coordinate and
   are never inputs.
2. Sampling: the independent coordinates any muscle depends on are drawn uniformly over a
   running domain: the model's coordinate ranges intersected with
   :data:`RUNNING_ENVELOPE_DEG` (hip flexion -40..120 deg, knee 0..150 deg of flexion,
   ankle +-50 deg...); the other coordinates stay at zero. OpenSim gives lengths and
   moment arms (``MomentArmSolver``'s definition, couplers included) at every sample.
   Every configuration is followed by its left-right mirror image (:func:`_mirror_design`
   detects the map from the model: sides paired by name, each coordinate's sign voted by
   the muscle pairs' moment arms at the all-zero pose), so on a symmetric model the left
   muscles are fitted on exactly the right muscles' samples, mirrored, and their
   surrogates are mirror images to rounding (1e-12 m on Hamner 2010); a scaled,
   asymmetric model gets each side fitted on its own values.
3. Cells: the input box of a group of muscles is cut where a ``ConditionalPathPoint``
   switches (Hamner/Gait2392 hamstrings, psoas, vasti: the moment arm jumps there), or
   else in pieces along the knee (3) and hip flexion (2). A small base design (1000-2000
   configurations, all muscles) is topped up cell by cell to a least count per cell
   (200-800, by the number of inputs), computing OpenSim only for the muscles of that
   input set and their mirror images: each muscle gets the samples its own fit needs,
   and a row costs 5-8 microseconds per muscle computed (moment arms from one running sum
   of body forces, see :meth:`GeometrySampler.generalized_forces`). This replaced a
   uniform design of 10000-16000 configurations x all muscles (20-74 s for a scaled
   model; now 4-5 s of CPU time; agreement measured in ``benchmarks/bench_geometry.py``).
4. Fitting: per cell, a total-degree Chebyshev polynomial in the coordinates scaled to
   [-1, 1]. The length and each non-zero moment arm are fitted separately by least squares
   (moment arms are *not* derivatives of the fitted length: with wrapping surfaces
   OpenSim's moment arms differ from -dL/dq by up to 2 cm). The degree is the lowest within
   5 % of the best on 15 % held-out samples; samples where OpenSim's wrapping jumps (a few
   cm at extreme hip angles) are dropped after a first fit.
5. Evaluation: length and moment arms from the polynomials; strength from the length and
   speed with the muscle's own curves (:mod:`runmuscles.model.muscle_curves`), so it is
   linear in the maximum isometric force and can be rescaled without rebuilding.
   Lengthening speed is ``-sum_j r_j qdot_j`` (the power of a unit tension) plus a fitted
   correction ``sum_j delta_j qdot_j`` for the few muscles where OpenSim's
   ``getLengtheningSpeed`` is not ``-r . qdot``. It is *not* the gradient of the fitted
   length: for Rajagopal's gastrocnemii (two wrap surfaces) OpenSim's speed follows its
   moment arm (17-20 mm per rad/s at the knee near extension) while its length barely
   changes (dL/dq 0-8 mm, with a kink where the wrap engages), so a length gradient is off
   by up to 0.16 m/s there; ``-r . qdot`` is within 0.2 mm/s RMS.

Frames with a coordinate outside the fitted domain are flagged in
``GeometryFrames.outside_domain``; ``evaluate(..., fallback_exact=True)`` recomputes them
with OpenSim.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .muscle_curves import CLASS_CODES, RigidTendonStrength

__all__ = [
    "FORMAT_VERSION",
    "RUNNING_ENVELOPE_DEG",
    "GeometryFrames",
    "MuscleGeometry",
    "default_cache_dir",
    "exact_geometry",
    "model_hash",
]

#: Bump when the cache layout or the fitting changes: old caches are then rebuilt.
FORMAT_VERSION = 5

#: Running envelope per coordinate (degrees; the side suffix ``_r``/``_l`` is dropped),
#: generous on purpose: treadmill running at 2-5 m/s spans hip flexion -15..65 deg, knee
#: flexion 5..125 deg and ankle -30..30 deg in hamner2013 (Hamner & Delp 2013, J Biomech
#: 46:780-787). The knee is given as flexion; its sign follows the model's range (Hamner
#: models flex negative, Rajagopal models positive). Coordinates not listed use the model's
#: range (rotations clipped to +-180 deg).
RUNNING_ENVELOPE_DEG: dict[str, tuple[float, float]] = {
    "hip_flexion": (-40.0, 120.0),
    "hip_adduction": (-30.0, 30.0),
    "hip_rotation": (-40.0, 40.0),
    "knee_angle": (-5.0, 150.0),
    "ankle_angle": (-50.0, 50.0),
    "subtalar_angle": (-30.0, 30.0),
    "mtp_angle": (-45.0, 60.0),
    "lumbar_extension": (-45.0, 30.0),
    "lumbar_bending": (-30.0, 30.0),
    "lumbar_rotation": (-30.0, 30.0),
}

# Candidate polynomial degrees by number of input coordinates (the best on held-out
# samples is kept).
_DEGREES = {1: (8, 12, 16, 20), 2: (6, 8, 10, 12), 3: (6, 7, 8, 9, 10, 11), 4: (5, 6, 7, 8)}
_DEFAULT_DEGREES = (3, 4, 5)
_DOMAIN_TOL = 1e-9
# Coordinates whose domain is cut in equal pieces, each fitted separately: the knee's
# spline-driven kinematics and the wide hip flexion range fit much better piecewise
# (Rajagopal moment arms: max error 1.2 -> 0.8 mm on the hamner2013 running frames).
_PIECES = {"knee_angle": 3, "hip_flexion": 2}
_DELTA_DEGREES = {1: 12, 2: 10, 3: 8, 4: 6}
_GROUP_ARRAYS = (
    "coords",
    "lo",
    "hi",
    "exps",
    "muscles",
    "coef_length",
    "ma_muscle",
    "ma_coord",
    "coef_ma",
    "delta_muscles",
    "coef_delta",
    "cell_top",
    "split",
)
_NONZERO_M = 1e-6  # a moment arm column is fitted when |r| exceeds 1 micrometre somewhere
# Sampling design (measured in benchmarks/bench_geometry.py against the former 10000-sample
# uniform design): base configurations, all muscles computed, by the largest number of
# inputs of any muscle; and the least number of samples in each cell of an input set,
# topped up computing only that set's muscles (and their mirror images).
_BASE_SAMPLES = {1: 800, 2: 1000, 3: 1500, 4: 2000}
_CELL_SAMPLES = {1: 200, 2: 400, 3: 600, 4: 800}
# Mirror-image detection: a coordinate's mirror sign is voted by muscle pairs whose moment
# arms about it exceed this at the all-zero pose (which is its own mirror image).
_MIRROR_VOTE_M = 1e-4
_MIRROR_RANGE_TOL = 1e-5  # radians or metres: sampling domains that map onto each other


def default_cache_dir() -> Path:
    """``$RUNMUSCLES_CACHE_DIR``, else ``$XDG_CACHE_HOME/runmuscles``, else ``~/.cache/runmuscles``."""
    env = os.environ.get("RUNMUSCLES_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "runmuscles"


def model_hash(osim_path: str | Path) -> str:
    """sha256 of the ``.osim`` bytes and the cache format version (hex)."""
    p = Path(osim_path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(p, "model file not found") from None
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror})") from None
    h = hashlib.sha256(data)
    h.update(f"runmuscles-geometry-v{FORMAT_VERSION}".encode())
    return h.hexdigest()


# -- Chebyshev tensor bases ------------------------------------------------------------------
def _exponents(n_dim: int, degree: int) -> np.ndarray:
    """All exponent tuples with total degree <= degree, ordered by total degree."""
    rows = []
    for total in range(degree + 1):
        for combo in combinations_with_replacement(range(n_dim), total):
            e = np.zeros(n_dim, dtype=np.int16)
            for i in combo:
                e[i] += 1
            rows.append(e)
    return np.array(rows, dtype=np.int16).reshape(-1, n_dim)


def _chebyshev_rows(x: np.ndarray, degree: int) -> np.ndarray:
    """T_k(x) = cos(k arccos x), k = 0..degree, for rows of points: (n, F) -> (n, degree + 1, F).

    Points are clipped to [-1, 1] first: beyond the fitted domain a surrogate holds its
    boundary value instead of extrapolating a high-degree polynomial (such frames are
    flagged as outside the domain anyway).
    """
    theta = np.arccos(np.clip(x, -1.0, 1.0))
    return np.cos(np.arange(degree + 1, dtype=float)[None, :, None] * theta[:, None, :])


def _basis(x: np.ndarray, exps: np.ndarray):
    """Tensor Chebyshev basis at scaled points ``x`` (N, n) -> (N, P) (and None, for symmetry)."""
    degree = int(exps.max()) if exps.size else 0
    t = _chebyshev_rows(x.T, degree)  # (n, degree + 1, N)
    val = np.ones((exps.shape[0], x.shape[0]))
    for i in range(x.shape[1]):
        val *= t[i][exps[:, i]]
    return val.T, None


@dataclass
class _Group:
    """Muscles sharing input coordinates, with their polynomial coefficients."""

    coords: np.ndarray  # (n,) model coordinate indices of the inputs
    lo: np.ndarray  # (n,) domain
    hi: np.ndarray
    exps: np.ndarray  # (P, n)
    muscles: np.ndarray  # (k,) muscle indices
    coef_length: np.ndarray  # (P, k)
    ma_muscle: np.ndarray  # (n_out,) muscle index of each fitted moment arm
    ma_coord: np.ndarray  # (n_out,) coordinate index of each fitted moment arm
    coef_ma: np.ndarray  # (P, n_out)
    # Speed correction (see _fit_speed_correction): delta[m, j](q) for muscles dmus.
    delta_muscles: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    coef_delta: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (Pd, n * k)
    cell_top: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # (n,) hi is the domain's
    split: np.ndarray = field(default_factory=lambda: np.array(False))  # one of several cells
    input_rows: list[int] = field(default_factory=list)  # rows of the shared Chebyshev table
    ma_flat: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # muscle * C + coord

    def scaled(self, q: np.ndarray) -> np.ndarray:
        return 2.0 * (q[:, self.coords] - self.lo) / (self.hi - self.lo) - 1.0


@dataclass
class GeometryFrames:
    """Muscle geometry and strength over frames.

    Attributes
    ----------
    length_m
        Musculotendon lengths, shape ``(F, M)``.
    speed_m_s
        Lengthening speeds, ``(F, M)``.
    moment_arm_m
        Moment arms about every model coordinate, ``(F, M, C)`` (OpenSim's sign: positive
        when the muscle's tension accelerates the coordinate positively); zero where the
        muscle does not span the coordinate.
    strength_n
        Active fibre force along the tendon at full activation with a rigid tendon (what
        OpenSim's StaticOptimization multiplies activations by), ``(F, M)``.
    outside_domain
        ``(F,)``: frames with a coordinate outside the fitted domain (their values are
        extrapolations, unless recomputed exactly).
    muscle_names, coordinate_names
        Labels of the ``M`` and ``C`` axes.
    exact
        ``(F,)``: frames computed with OpenSim rather than the surrogate.
    """

    length_m: np.ndarray
    speed_m_s: np.ndarray
    moment_arm_m: np.ndarray
    strength_n: np.ndarray
    outside_domain: np.ndarray
    muscle_names: list[str]
    coordinate_names: list[str]
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


class MuscleGeometry:
    """Fitted muscle geometry of one model; see the module docstring.

    Use :meth:`for_model` (build with OpenSim once, then load from the cache), then
    :meth:`evaluate`.

    Attributes
    ----------
    muscle_names, coordinate_names
        Model order.
    muscle_class
        OpenSim class name of each muscle.
    params
        Per-muscle parameters (``max_isometric_force_n``, ``optimal_fiber_length_m``,
        ``tendon_slack_length_m``, ``pennation_at_optimal_rad``,
        ``max_contraction_velocity_lopt_s``, class-specific curve parameters).
    domain_lo, domain_hi
        Fitted domain per coordinate (radians/metres), NaN for coordinates that are not
        inputs of any muscle.
    fit_report
        Held-out errors per muscle: ``length_rms_m``, ``length_max_m``,
        ``moment_arm_rms_m``, ``moment_arm_max_m`` (``(M,)`` arrays) and the build
        statistics (``n_samples``, ``sampling_s``, ``fitting_s``).
    model_path, model_sha256
        The ``.osim`` file it was built from and its hash.
    """

    def __init__(
        self,
        *,
        muscle_names: list[str],
        coordinate_names: list[str],
        muscle_class: list[str],
        params: dict[str, np.ndarray],
        curve_tables: dict[str, np.ndarray],
        groups: list[_Group],
        domain_lo: np.ndarray,
        domain_hi: np.ndarray,
        fit_report: dict[str, Any],
        model_path: str,
        model_sha256: str,
    ) -> None:
        self.muscle_names = list(muscle_names)
        self.coordinate_names = list(coordinate_names)
        self.muscle_class = list(muscle_class)
        self.params = {k: np.asarray(v, dtype=float) for k, v in params.items()}
        self.curve_tables = dict(curve_tables)
        self.groups = groups
        self.domain_lo = np.asarray(domain_lo, dtype=float)
        self.domain_hi = np.asarray(domain_hi, dtype=float)
        self.fit_report = fit_report
        self.model_path = model_path
        self.model_sha256 = model_sha256
        self._class_code = np.array([CLASS_CODES[c] for c in self.muscle_class], dtype=np.int64)
        self._inputs = np.nonzero(np.isfinite(self.domain_lo))[0]
        row_of = {int(c): k for k, c in enumerate(self._inputs)}
        for g in self.groups:
            g.input_rows = [row_of[int(c)] for c in g.coords]
            g.ma_flat = g.ma_muscle * len(self.coordinate_names) + g.ma_coord
        self._max_degree = max((int(g.exps.max()) for g in self.groups if g.exps.size), default=0)
        self._strength = RigidTendonStrength(self._class_code, self.params, self.curve_tables)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def for_model(
        cls,
        osim_path: str | Path,
        *,
        cache_dir: str | Path | None = None,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
        n_samples: int | None = None,
    ) -> MuscleGeometry:
        """Load the model's cached geometry, building it with OpenSim when missing.

        Parameters
        ----------
        osim_path
            The ``.osim`` model. The cache file is named after the sha256 of its bytes
            (and the cache format version), so an edited model gets a new cache.
        cache_dir
            Folder of cache files (default :func:`default_cache_dir`).
        rebuild
            Build even when a cache exists (and overwrite it).
        progress
            Called as ``progress(done, total)`` while sampling OpenSim.
        n_samples
            Number of base configurations when building (default 800-2000 by the largest
            number of inputs of a muscle; cells are then topped up).
        """
        p = Path(osim_path)
        digest = model_hash(p)
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        target = folder / f"{p.stem}-{digest[:20]}.npz"
        # the same bytes under another file name (an uploaded or copied model) share the cache
        found = [target] + sorted(q for q in folder.glob(f"*-{digest[:20]}.npz") if q != target)
        for cached in found if not rebuild else ():
            if not cached.exists():
                continue
            try:
                geom = cls.load(cached)
            except (InputError, KeyError, ValueError, OSError):
                geom = None  # unreadable or stale cache: rebuild it
            if geom is not None and geom.model_sha256 == digest:
                geom.model_path = str(p)
                return geom
        geom = cls.build(p, progress=progress, n_samples=n_samples)
        geom.model_sha256 = digest
        try:
            folder.mkdir(parents=True, exist_ok=True)
            geom.save(target)
        except OSError as exc:
            raise InputError(folder, f"cannot write the geometry cache ({exc.strerror})") from None
        return geom

    @classmethod
    def build(
        cls,
        osim_path: str | Path,
        *,
        n_samples: int | None = None,
        seed: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> MuscleGeometry:
        """Sample OpenSim and fit the surrogate (needs OpenSim; 4-5 s of CPU time).

        ``n_samples`` is the number of base configurations (all muscles; see the module
        docstring), ``seed`` that of the random design.
        """
        from ..opensim_adapter.geometry import GeometrySampler, _spanned, _switches  # noqa: PLC0415

        sampler = GeometrySampler(osim_path)
        info = sampler.info
        n_c = len(info.coordinate_names)
        spans = _spanned(sampler.model, sampler.state)
        dependent = np.zeros(n_c, dtype=bool)
        dependent[info.dependent_coordinates] = True
        inputs_of = [np.nonzero(spans[m] & ~dependent)[0] for m in range(len(info.muscle_names))]
        used = np.zeros(n_c, dtype=bool)
        for ins in inputs_of:
            used[ins] = True
        lo, hi = _sampling_domain(info, used)
        # Conditional path points switch inside the domain: fit each side separately. All
        # muscles with the same inputs share the cells (one basis evaluation per input set).
        sets: dict[tuple[int, ...], set] = {}
        for sw, ins in zip(_switches(sampler.model), inputs_of, strict=True):
            key = tuple(int(i) for i in ins)
            inside = {(j, v) for (j, v) in sw if j in key and lo[j] + 1e-6 < v < hi[j] - 1e-6}
            sets.setdefault(key, set()).update(inside)
        # Wide, strongly nonlinear coordinates (spline-driven knees) are also cut in pieces
        # where no switch already cuts the input set (fewer, wider cells).
        for key, brk in sets.items():
            if brk:
                continue
            for j in key:
                name = info.coordinate_names[j]
                base = name[:-2] if name.endswith(("_r", "_l")) else name
                n_pieces = _PIECES.get(base, 1)
                brk.update((j, float(v)) for v in np.linspace(lo[j], hi[j], n_pieces + 1)[1:-1])
        breaks_of = [tuple(sorted(sets[tuple(int(i) for i in ins)])) for ins in inputs_of]
        max_dim = max((len(i) for i in inputs_of), default=1)
        if n_samples is None:
            n_samples = _BASE_SAMPLES.get(max_dim, _BASE_SAMPLES[4])
        rng = np.random.default_rng(seed)
        cols = np.nonzero(used)[0]
        mirror = _mirror_design(sampler, info.coordinate_names, info.muscle_names, used, lo, hi)
        t0 = time.perf_counter()
        design = _Design(n_c, cols, lo, hi, mirror, rng)
        design.add(_draw(rng, (n_samples + 1) // 2, n_c, cols, lo, hi), None)
        # Top up each cell of each input set to its minimum, computing only the muscles of
        # that input set and of its mirror image (cheap: a few muscles per row).
        muscles_of: dict[tuple[int, ...], list[int]] = {}
        for m, ins in enumerate(inputs_of):
            muscles_of.setdefault(tuple(int(i) for i in ins), []).append(m)
        for key, brk in sets.items():
            coords = np.array(key, dtype=np.int64)
            if coords.size == 0:
                continue
            mus = np.array(muscles_of[key], dtype=np.int64)
            subset = np.union1d(mus, mirror.muscle_partner[mus][mirror.muscle_partner[mus] >= 0])
            n_min = _CELL_SAMPLES.get(coords.size, _CELL_SAMPLES[4])
            for c_lo, c_hi in _cells(coords, tuple(sorted(brk)), lo, hi):
                n_in = design.count(mus, coords, c_lo, c_hi, c_hi >= hi[coords])
                if n_in < n_min:
                    box_lo, box_hi = lo.copy(), hi.copy()
                    box_lo[coords], box_hi[coords] = c_lo, c_hi
                    design.add(_draw(rng, (n_min - n_in + 1) // 2, n_c, cols, box_lo, box_hi), subset)
        q, qdot, computed = design.q, design.qdot, design.computed
        n_total = len(q)
        n_m = len(info.muscle_names)
        length = np.full((n_total, n_m), np.nan)
        speed = np.full((n_total, n_m), np.nan)
        # zeros, not NaN: pages of rows that are never written stay untouched (the array is
        # 100+ MB for a full-body model); which entries hold values is in ``computed``.
        arms = np.zeros((n_total, n_m, n_c))
        done = [0]

        def step(k: int, total: int) -> None:
            if progress is not None:
                progress(done[0] + k, n_total)

        # Lengthening speeds (velocity stage) on the base rows only: they serve to find and
        # check the speed corrections; the top-ups need positions only.
        has_speed = np.zeros_like(computed)
        for rows, subset in design.blocks:
            sel = np.arange(n_m) if subset is None else subset
            qd_rows = qdot[rows] if subset is None else None
            part = sampler.sample(q[rows], qd_rows, strength=False, progress=step, muscles=sel)
            length[np.ix_(rows, sel)] = part["length_m"]
            arms[np.ix_(rows, sel)] = part["moment_arm_m"]
            if subset is None:
                speed[np.ix_(rows, sel)] = part["speed_m_s"]
                has_speed[np.ix_(rows, sel)] = True
            done[0] += len(rows)
        t_sample = time.perf_counter() - t0
        t0 = time.perf_counter()
        train, valid = design.split(rng)
        groups, report = _fit_groups(
            q, length, arms, spans, inputs_of, breaks_of, lo, hi, train, valid, computed
        )
        need = _speed_mismatch(qdot, speed, arms, inputs_of, has_speed)
        partner = mirror.muscle_partner
        need[partner[need & (partner >= 0)]] = True  # both sides of a pair alike
        delta = None
        if need.any():
            t1 = time.perf_counter()
            d_mus = np.nonzero(need)[0]
            d_crd = np.unique(np.concatenate([inputs_of[m] for m in d_mus]))
            d_rows = np.nonzero(computed[:, d_mus].any(axis=1))[0]
            s_jac = sampler.speed_jacobian(q[d_rows], d_crd, d_mus)  # (N, n_coords, n_muscles)
            r_sel = arms[d_rows][:, d_mus][:, :, d_crd].transpose(0, 2, 1)
            # zero where a muscle was not computed on a row (such rows are not fitted)
            delta = {"muscles": d_mus, "coords": d_crd, "rows": d_rows, "values": s_jac + r_sel}
            t_sample += time.perf_counter() - t1
        _fit_speed_correction(
            groups, q, qdot, speed, arms, train, valid, report, lo, hi, delta, computed, has_speed
        )
        report["muscle_samples"] = np.array(int(computed.sum()))
        report["mirror_pairs"] = np.array(int((mirror.muscle_partner >= 0).sum() // 2))
        report["mirrored_coordinates"] = np.array(int((mirror.coord_partner >= 0).sum()))
        n_samples = n_total
        report.update(n_samples=n_samples, sampling_s=t_sample, fitting_s=time.perf_counter() - t0, seed=seed)
        dom_lo = np.where(used, lo, np.nan)
        dom_hi = np.where(used, hi, np.nan)
        return cls(
            muscle_names=info.muscle_names,
            coordinate_names=info.coordinate_names,
            muscle_class=info.muscle_class,
            params=info.params,
            curve_tables=info.curve_tables,
            groups=groups,
            domain_lo=dom_lo,
            domain_hi=dom_hi,
            fit_report=report,
            model_path=str(osim_path),
            model_sha256="",
        )

    # -- persistence ------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the surrogate to an uncompressed ``.npz`` (atomic replace)."""
        p = Path(path)
        arrays: dict[str, np.ndarray] = {
            "format_version": np.array(FORMAT_VERSION),
            "muscle_names": np.array(self.muscle_names),
            "coordinate_names": np.array(self.coordinate_names),
            "muscle_class": np.array(self.muscle_class),
            "domain_lo": self.domain_lo,
            "domain_hi": self.domain_hi,
            "model_path": np.array(self.model_path),
            "model_sha256": np.array(self.model_sha256),
            "n_groups": np.array(len(self.groups)),
        }
        arrays["param_names"] = np.array(list(self.params))
        arrays["param_values"] = np.vstack([self.params[k] for k in self.params])
        for k, v in self.curve_tables.items():
            arrays[f"table/{k}"] = v
        for k, v in self.fit_report.items():
            arrays[f"report/{k}"] = np.asarray(v)
        # Group arrays packed per field (few archive members: loading stays ~10 ms).
        for name in _GROUP_ARRAYS:
            parts = [np.asarray(getattr(g, name)) for g in self.groups]
            shapes = np.zeros((len(parts), 3), dtype=np.int64)
            for i, a in enumerate(parts):
                shapes[i, 0] = a.ndim
                shapes[i, 1 : 1 + a.ndim] = a.shape
            arrays[f"groups/{name}"] = np.concatenate([a.ravel() for a in parts]) if parts else np.zeros(0)
            arrays[f"groups/{name}.shape"] = shapes
        tmp = p.with_name(p.name + f".tmp{os.getpid()}.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> MuscleGeometry:
        """Read a surrogate written by :meth:`save` (NumPy only)."""
        p = Path(path)
        try:
            z = np.load(p, allow_pickle=False)
        except FileNotFoundError:
            raise InputError(p, "geometry cache not found") from None
        except (OSError, ValueError) as exc:
            raise InputError(p, f"is not a readable geometry cache ({exc})") from None
        with z:
            if int(z["format_version"]) != FORMAT_VERSION:
                raise InputError(
                    p, f"geometry cache format {int(z['format_version'])}, expected {FORMAT_VERSION}"
                )
            files = z.files
            params = dict(zip(z["param_names"].tolist(), z["param_values"], strict=True))
            tables = {k[6:]: z[k] for k in files if k.startswith("table/")}
            report = {k[7:]: z[k] for k in files if k.startswith("report/")}
            n_groups = int(z["n_groups"])
            fields: dict[str, list[np.ndarray]] = {}
            for name in _GROUP_ARRAYS:
                flat, shapes = z[f"groups/{name}"], z[f"groups/{name}.shape"]
                out, pos = [], 0
                for nd, d0, d1 in shapes:
                    shape = (d0, d1)[:nd]
                    size = int(np.prod(shape)) if nd else 1
                    out.append(flat[pos : pos + size].reshape(shape))
                    pos += size
                fields[name] = out
            groups = [_Group(**{n: fields[n][i] for n in _GROUP_ARRAYS}) for i in range(n_groups)]
            return cls(
                muscle_names=z["muscle_names"].tolist(),
                coordinate_names=z["coordinate_names"].tolist(),
                muscle_class=z["muscle_class"].tolist(),
                params=params,
                curve_tables=tables,
                groups=groups,
                domain_lo=z["domain_lo"],
                domain_hi=z["domain_hi"],
                fit_report=report,
                model_path=str(z["model_path"]),
                model_sha256=str(z["model_sha256"]),
            )

    # -- use ----------------------------------------------------------------------------
    @property
    def max_isometric_force_n(self) -> np.ndarray:
        return self.params["max_isometric_force_n"]

    def with_max_isometric_force(self, force_n: np.ndarray) -> MuscleGeometry:
        """A copy whose strengths use these maximum isometric forces (``(M,)``, N)."""
        f = np.asarray(force_n, dtype=float)
        if f.shape != (len(self.muscle_names),) or not np.all(np.isfinite(f)) or np.any(f < 0):
            raise InputError("max_isometric_force_n", f"expected {len(self.muscle_names)} finite forces >= 0")
        new = MuscleGeometry.__new__(MuscleGeometry)
        new.__dict__.update(self.__dict__)
        new.params = dict(self.params, max_isometric_force_n=f)
        new._strength = RigidTendonStrength(new._class_code, new.params, new.curve_tables)
        return new

    def inside_domain(self, q: np.ndarray) -> np.ndarray:
        """``(F,)``: frames whose input coordinates all lie in the fitted domain."""
        q = np.atleast_2d(q)
        sub = q[:, self._inputs]
        return np.all(
            (sub >= self.domain_lo[self._inputs] - _DOMAIN_TOL)
            & (sub <= self.domain_hi[self._inputs] + _DOMAIN_TOL),
            axis=1,
        )

    def evaluate(
        self,
        q: np.ndarray,
        qdot: np.ndarray | None = None,
        *,
        fallback_exact: bool = False,
    ) -> GeometryFrames:
        """Lengths, speeds, moment arms and strengths at each frame.

        Parameters
        ----------
        q
            Coordinates, ``(F, C)`` (or ``(C,)``), all model coordinates in model order,
            radians/metres. Dependent (coupled) coordinates are ignored: they follow
            their independent coordinates.
        qdot
            Coordinate speeds, same shape; zeros when omitted (speeds are then zero and
            strengths isometric).
        fallback_exact
            Recompute frames outside the fitted domain with OpenSim (imports OpenSim;
            needs the model file this geometry was built from).

        Returns
        -------
        GeometryFrames
        """
        q = np.atleast_2d(np.asarray(q, dtype=float))
        n_f, n_c = q.shape
        if n_c != len(self.coordinate_names):
            raise InputError(
                "q", f"has {n_c} columns, the model has {len(self.coordinate_names)} coordinates"
            )
        if qdot is None:
            qdot = np.zeros_like(q)
        else:
            qdot = np.atleast_2d(np.asarray(qdot, dtype=float))
            if qdot.shape != q.shape:
                raise InputError("qdot", f"shape {qdot.shape} differs from q's {q.shape}")
        if not (np.isfinite(q).all() and np.isfinite(qdot).all()):
            raise InputError("q", "NaN or infinite coordinate values")
        n_m = len(self.muscle_names)
        length = np.empty((n_f, n_m))
        arms = np.zeros((n_f, n_m, n_c))
        # Chebyshev values of every input coordinate, once: shape (n_in, degree + 1, F).
        ins = self._inputs
        x = 2.0 * (q[:, ins] - self.domain_lo[ins]) / (self.domain_hi[ins] - self.domain_lo[ins]) - 1.0
        leg = _chebyshev_rows(x.T, self._max_degree)
        qc = np.clip(q, np.nan_to_num(self.domain_lo, nan=-np.inf), np.nan_to_num(self.domain_hi, nan=np.inf))
        cached = []
        arms_flat = arms.reshape(n_f, n_m * n_c)
        for g in self.groups:
            e = g.exps
            if bool(g.split):
                rows = np.nonzero(_in_cell(qc[:, g.coords], g.lo, g.hi, g.cell_top))[0]
                if rows.size == 0:
                    continue
                t = _chebyshev_rows(g.scaled(q[rows]).T, int(e.max()))
                val = t[0][e[:, 0]]
                for i in range(1, len(g.coords)):
                    val = val * t[i][e[:, i]]
                length[np.ix_(rows, g.muscles)] = g.coef_length.T.dot(val).T
                if g.ma_muscle.size:
                    arms_flat[np.ix_(rows, g.ma_flat)] = g.coef_ma.T.dot(val).T
            else:
                rows = slice(None)
                if e.shape[1] == 0:
                    val = np.ones((1, n_f))
                else:
                    r = g.input_rows
                    val = leg[r[0]][e[:, 0]]
                    for i in range(1, len(r)):
                        val = val * leg[r[i]][e[:, i]]
                length[:, g.muscles] = g.coef_length.T.dot(val).T
                if g.ma_muscle.size:
                    arms_flat[:, g.ma_flat] = g.coef_ma.T.dot(val).T
            if g.delta_muscles.size:
                cached.append((g, rows, val))
        # Lengthening speed = -sum_j r_j qdot_j over independent coordinates (the power of
        # a unit tension; coupled coordinates are folded into their drivers' moment arms),
        # plus the fitted correction where OpenSim's speed differs (wrapping muscles).
        speed = -np.einsum("fmc,fc->fm", arms[:, :, ins], qdot[:, ins])
        for g, rows, val in cached:
            n_t, n_in = g.coef_delta.shape[0], len(g.coords)
            delta = g.coef_delta.T.dot(val[:n_t]).T.reshape(-1, n_in, g.delta_muscles.size)
            add = np.einsum("fjk,fj->fk", delta, qdot[rows][:, g.coords])
            if isinstance(rows, slice):
                speed[:, g.delta_muscles] += add
            else:
                speed[np.ix_(rows, g.delta_muscles)] += add
        strength = self._strength(length, speed)
        outside = ~self.inside_domain(q)
        exact = np.zeros(n_f, dtype=bool)
        if fallback_exact and outside.any():
            rows = np.nonzero(outside)[0]
            ex = exact_geometry(self.model_path, q[rows], qdot[rows])
            length[rows], speed[rows], arms[rows] = ex["length_m"], ex["speed_m_s"], ex["moment_arm_m"]
            strength[rows] = self._strength(ex["length_m"], ex["speed_m_s"])
            exact[rows] = True
        return GeometryFrames(
            length, speed, arms, strength, outside, self.muscle_names, self.coordinate_names, exact
        )


def exact_geometry(
    osim_path: str | Path, q: np.ndarray, qdot: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """OpenSim's exact values (imports OpenSim); see :mod:`runmuscles.opensim_adapter.geometry`.

    Returns
    -------
    dict
        ``length_m`` (F, M), ``speed_m_s`` (F, M), ``moment_arm_m`` (F, M, C),
        ``strength_n`` (F, M) (OpenSim's own ``calcInextensibleTendonActiveFiberForce``).
    """
    from ..opensim_adapter.geometry import exact_geometry as _exact  # noqa: PLC0415

    return _exact(osim_path, q, qdot)


# -- build helpers ------------------------------------------------------------------------
_SIDE_TOKENS = {"r": "l", "l": "r", "R": "L", "L": "R"}


def _side_partner(name: str) -> str | None:
    """The other side's name: the one ``r``/``l`` token between underscores swapped
    (``hip_flexion_r`` -> ``hip_flexion_l``, ``knee_angle_r_beta`` -> ``knee_angle_l_beta``,
    ``R_glmax`` -> ``L_glmax``); None for names with no or several side tokens."""
    parts = name.split("_")
    sided = [k for k, t in enumerate(parts) if t in _SIDE_TOKENS]
    if len(sided) != 1:
        return None
    parts[sided[0]] = _SIDE_TOKENS[parts[sided[0]]]
    return "_".join(parts)


@dataclass
class _Mirror:
    """A model's left-right mirror map, as far as it was detected.

    ``coord_partner[c]`` is the coordinate that ``c`` maps to (itself for a midline
    coordinate, -1 when ``c`` is not mirrored) and ``coord_sign[c]`` the sign it maps
    with; ``muscle_partner[m]`` is the other side's muscle (-1 for none).
    """

    coord_partner: np.ndarray
    coord_sign: np.ndarray
    muscle_partner: np.ndarray

    def apply(self, q: np.ndarray, fresh: np.ndarray) -> np.ndarray:
        """Mirror images of configurations (or speeds) ``q``; coordinates without a mirror
        take ``fresh`` values (independent draws)."""
        out = fresh.copy()
        src = np.nonzero(self.coord_partner >= 0)[0]
        out[:, self.coord_partner[src]] = q[:, src] * self.coord_sign[src]
        return out


def _mirror_design(sampler, coord_names, muscle_names, used, lo, hi) -> _Mirror:
    """Detect the left-right mirror map of a model from OpenSim itself, assuming nothing.

    Sides are paired by name (:func:`_side_partner`). A coordinate's sign under the mirror
    is voted at the all-zero pose (its own mirror image) by every muscle pair with a moment
    arm about it (both sides above 0.1 mm, within a factor 2): ``r_left(c') = s r_right(c)``
    (a sagittal-plane reflection keeps flexion and negates list/bending and axial rotation
    of midline joints). A coordinate is mirrored only when the votes agree and its sampling
    domain maps onto its partner's (to 1e-5); the others are sampled independently.
    Whether the model *is* symmetric is not decided here: sampling mirror images costs
    nothing, and a symmetric model then gets mirror-image fits (same samples, same
    least-squares problems) while an asymmetric (scaled) one gets each side fitted on its
    own values.
    """
    n_c, n_m = len(coord_names), len(muscle_names)
    c_index = {n: k for k, n in enumerate(coord_names)}
    m_index = {n: k for k, n in enumerate(muscle_names)}
    m_partner = np.full(n_m, -1, dtype=np.int64)
    for k, name in enumerate(muscle_names):
        other = _side_partner(name)
        if other is not None and other in m_index:
            m_partner[k] = m_index[other]
    c_partner = np.full(n_c, -1, dtype=np.int64)
    c_sign = np.zeros(n_c)
    if not (m_partner >= 0).any():
        return _Mirror(c_partner, c_sign, m_partner)
    arms = sampler.sample(np.zeros((1, n_c)), None, strength=False)["moment_arm_m"][0]
    for c in np.nonzero(used)[0]:
        other = _side_partner(coord_names[c])
        pc = c if other is None else c_index.get(other, -1)
        if pc < 0 or not used[pc]:
            continue
        votes = set()
        for m in np.nonzero(m_partner >= 0)[0]:
            a, b = arms[m, c], arms[m_partner[m], pc]
            if abs(a) > _MIRROR_VOTE_M and abs(b) > _MIRROR_VOTE_M and 0.5 < abs(b / a) < 2.0:
                votes.add(float(np.sign(b / a)))
        if len(votes) != 1:
            continue  # no vote, or both signs: sampled independently
        s = votes.pop()
        m_lo, m_hi = (lo[c], hi[c]) if s > 0 else (-hi[c], -lo[c])
        # (ranges written with different precision per side differ by ~1e-7)
        if abs(m_lo - lo[pc]) <= _MIRROR_RANGE_TOL and abs(m_hi - hi[pc]) <= _MIRROR_RANGE_TOL:
            c_partner[c], c_sign[c] = pc, s
    # a pair is mirrored both ways or not at all
    for c in np.nonzero(c_partner >= 0)[0]:
        pc = c_partner[c]
        if c_partner[pc] != c or c_sign[pc] != c_sign[c]:
            c_partner[c], c_partner[pc] = -1, -1
    return _Mirror(c_partner, c_sign, m_partner)


class _Design:
    """Sample configurations in blocks, each followed by its mirror image.

    ``blocks`` holds ``(rows, muscles)`` (muscles None: all); ``computed`` is ``(N, M)``:
    which muscles are sampled on which rows. Each row's mirror image is another row, so a
    symmetric model's left muscles see exactly the right muscles' configurations, mirrored.
    """

    def __init__(self, n_c, cols, lo, hi, mirror: _Mirror, rng) -> None:
        self.n_c, self.cols, self.lo, self.hi, self.mirror, self.rng = n_c, cols, lo, hi, mirror, rng
        self.n_m = len(mirror.muscle_partner)
        self.q = np.zeros((0, n_c))
        self.qdot = np.zeros((0, n_c))
        self.computed = np.zeros((0, self.n_m), dtype=bool)
        self.blocks: list[tuple[np.ndarray, np.ndarray | None]] = []
        self.first: list[np.ndarray] = []  # first row of each mirror pair

    def add(self, q: np.ndarray, muscles: np.ndarray | None) -> None:
        n = len(q)
        qdot = np.zeros_like(q)
        qdot[:, self.cols] = self.rng.uniform(-1.0, 1.0, (n, self.cols.size))
        fresh = _draw(self.rng, n, self.n_c, self.cols, self.lo, self.hi)
        fresh_dot = np.zeros_like(q)
        fresh_dot[:, self.cols] = self.rng.uniform(-1.0, 1.0, (n, self.cols.size))
        q2 = np.clip(self.mirror.apply(q, fresh), self.lo, self.hi)
        qd2 = self.mirror.apply(qdot, fresh_dot)
        start = len(self.q)
        rows = np.arange(start, start + 2 * n)
        self.q = np.vstack([self.q, q, q2])
        self.qdot = np.vstack([self.qdot, qdot, qd2])
        comp = np.zeros((2 * n, self.n_m), dtype=bool)
        comp[:, slice(None) if muscles is None else muscles] = True
        self.computed = np.vstack([self.computed, comp])
        self.blocks.append((rows, muscles))
        self.first.append(np.arange(start, start + n))

    def count(self, muscles, coords, c_lo, c_hi, top) -> int:
        """Rows inside a cell where all these muscles are computed."""
        ok = self.computed[:, muscles].all(axis=1)
        return int(_in_cell(self.q[ok][:, coords], c_lo, c_hi, top).sum())

    def split(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """Training and held-out rows, 15 % (at least 200) held out, mirror pairs kept together."""
        first = np.concatenate(self.first)
        offset = np.concatenate([np.full(len(f), len(f)) for f in self.first])
        order = rng.permutation(len(first))
        n_valid = min(max(int(0.15 * len(first)), 100), len(first) // 2)
        pick = order[:n_valid]
        valid = np.sort(np.concatenate([first[pick], first[pick] + offset[pick]]))
        train = np.setdiff1d(np.arange(len(self.q)), valid)
        return train, valid


def _draw(rng, n: int, n_c: int, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``n`` configurations uniform in ``[lo, hi]`` over ``cols``, zero elsewhere."""
    q = np.zeros((n, n_c))
    q[:, cols] = lo[cols] + rng.random((n, cols.size)) * (hi[cols] - lo[cols])
    return q


def _sampling_domain(info: Any, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model range intersected with the running envelope, for the used coordinates."""
    n_c = len(info.coordinate_names)
    lo = np.zeros(n_c)
    hi = np.zeros(n_c)
    for j, name in enumerate(info.coordinate_names):
        if not used[j]:
            continue
        rmin, rmax = float(info.range_min[j]), float(info.range_max[j])
        base = name[:-2] if name.endswith(("_r", "_l")) else name
        env = RUNNING_ENVELOPE_DEG.get(base)
        if env is not None and info.rotational[j]:
            e_lo, e_hi = np.deg2rad(env[0]), np.deg2rad(env[1])
            if base == "knee_angle" and rmax < 0.5 and rmin < -0.5:  # flexion negative
                e_lo, e_hi = -e_hi, -e_lo
            lo[j], hi[j] = max(rmin, e_lo), min(rmax, e_hi)
        elif info.rotational[j]:
            lo[j], hi[j] = max(rmin, -np.pi), min(rmax, np.pi)
        else:
            lo[j], hi[j] = rmin, rmax
        if not hi[j] > lo[j]:
            raise InputError(
                name, f"empty sampling range [{lo[j]:g}, {hi[j]:g}] for a coordinate muscles span"
            )
    return lo, hi


def _cells(
    coords: np.ndarray, breaks: tuple, lo: np.ndarray, hi: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Boxes ``(cell_lo, cell_hi)`` over the inputs, split at the conditional path points' switches."""
    edges = []
    for c in coords:
        cuts = sorted({v for (j, v) in breaks if j == c})
        edges.append([lo[c], *cuts, hi[c]])
    boxes = [(np.zeros(0), np.zeros(0))]
    for e in edges:
        boxes = [
            (np.append(b_lo, e[k]), np.append(b_hi, e[k + 1]))
            for b_lo, b_hi in boxes
            for k in range(len(e) - 1)
        ]
    return boxes


def _in_cell(qc: np.ndarray, cell_lo: np.ndarray, cell_hi: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Rows of (clipped) inputs ``qc`` inside a half-open cell (closed at the domain's top)."""
    return np.all((qc >= cell_lo) & ((qc < cell_hi) | top), axis=1)


def _fit_cell(x_tr, y_tr, x_va, y_va, n_dim):
    """Choose the degree on held-out samples; robust least squares. Returns deg, coef, err, frac."""
    degs = sorted(_DEGREES.get(n_dim, _DEFAULT_DEGREES))
    # Degrees with at least 4 training samples per coefficient (the lowest always).
    n_of = {d: _exponents(n_dim, d).shape[0] for d in degs}
    degs = [d for d in degs if n_of[d] * 4 <= len(x_tr)] or degs[:1]
    all_exps = _exponents(n_dim, max(degs))
    a_tr, _ = _basis(x_tr, all_exps)
    a_va, _ = _basis(x_va, all_exps)
    gram = a_tr.T @ a_tr
    rhs = a_tr.T @ y_tr
    fits = []
    for d in degs:
        n_terms = int(np.sum(all_exps.sum(axis=1) <= d))
        c, n_out = _robust_solve(gram, rhs, a_tr, y_tr, n_terms)
        e = a_va[:, :n_terms] @ c - y_va
        keep = ~_outlier_rows(e, e)
        score = float(np.sqrt(np.mean(e[keep] ** 2))) if keep.any() else np.inf
        fits.append((score, d, c, e, n_out / max(len(x_tr), 1)))
    # The lowest degree within 5 % (or 2 micrometres) of the best held-out error: cheaper
    # to evaluate, and no worse.
    best = min(f[0] for f in fits)
    _, deg, coef, err, frac = next(f for f in fits if f[0] <= 1.05 * best + 2e-6)
    return deg, coef, err, frac, all_exps[: coef.shape[0]]


def _fit_groups(q, length, arms, spans, inputs_of, breaks_of, lo, hi, train, valid, computed):
    """Fit every group of muscles sharing inputs, per cell, on the rows where all of the
    group's muscles were computed (``computed``: ``(N, M)`` boolean)."""
    n_m = length.shape[1]
    by_key: dict[tuple, list[int]] = {}
    for m, ins in enumerate(inputs_of):
        key = (tuple(int(i) for i in ins), tuple(breaks_of[m]))
        by_key.setdefault(key, []).append(m)
    groups: list[_Group] = []
    rep = {k: np.zeros(n_m) for k in ("length_rms_m", "length_max_m", "moment_arm_rms_m", "moment_arm_max_m")}
    rep["degree"] = np.zeros(n_m, dtype=np.int64)
    rep["outlier_fraction"] = np.zeros(n_m)
    rep["n_cells"] = np.ones(n_m, dtype=np.int64)
    is_train = np.zeros(len(q), dtype=bool)
    is_train[train] = True
    is_valid = np.zeros(len(q), dtype=bool)
    is_valid[valid] = True
    for (ins, breaks), muscles in by_key.items():
        coords = np.array(ins, dtype=np.int64)
        mus = np.array(muscles, dtype=np.int64)
        ok = computed[:, mus].all(axis=1)
        ma_m, ma_c = [], []
        for m in muscles:
            for c in np.nonzero(spans[m])[0]:
                if np.abs(arms[ok, m, c]).max() > _NONZERO_M:
                    ma_m.append(m)
                    ma_c.append(int(c))
        ma_m_arr = np.array(ma_m, dtype=np.int64)
        ma_c_arr = np.array(ma_c, dtype=np.int64)
        y = np.concatenate([length[:, mus], arms[:, ma_m_arr, ma_c_arr]], axis=1)
        n_len = mus.size
        errs = []
        boxes = _cells(coords, breaks, lo, hi)
        for cell_lo, cell_hi in boxes:
            top = cell_hi >= hi[coords]
            if coords.size == 0:  # spans no coordinate: constant length, no moment arms
                exps = np.zeros((1, 0), dtype=np.int16)
                coef = y[is_train & ok].mean(axis=0, keepdims=True)
                err = y[is_valid & ok] - coef
                deg, frac = 0, 0.0
            else:
                inside = _in_cell(q[:, coords], cell_lo, cell_hi, top)
                tr, va = inside & is_train & ok, inside & is_valid & ok
                x = 2.0 * (q[:, coords] - cell_lo) / (cell_hi - cell_lo) - 1.0
                deg, coef, err, frac, exps = _fit_cell(x[tr], y[tr], x[va], y[va], coords.size)
            errs.append(err)
            rep["outlier_fraction"][mus] = np.maximum(rep["outlier_fraction"][mus], frac)
            rep["degree"][mus] = np.maximum(rep["degree"][mus], deg)
            groups.append(
                _Group(
                    coords=coords,
                    lo=cell_lo.astype(float),
                    hi=cell_hi.astype(float),
                    exps=exps,
                    muscles=mus,
                    coef_length=np.ascontiguousarray(coef[:, :n_len]),
                    ma_muscle=ma_m_arr,
                    ma_coord=ma_c_arr,
                    coef_ma=np.ascontiguousarray(coef[:, n_len:]),
                    cell_top=top,
                    split=np.array(len(boxes) > 1),
                )
            )
        rep["n_cells"][mus] = len(boxes)
        err = np.concatenate(errs, axis=0)
        e_len = err[:, :n_len]
        rep["length_rms_m"][mus] = np.sqrt(np.mean(e_len**2, axis=0))
        rep["length_max_m"][mus] = np.abs(e_len).max(axis=0)
        e_ma = err[:, n_len:]
        for k, m in enumerate(ma_m):
            rep["moment_arm_rms_m"][m] = max(rep["moment_arm_rms_m"][m], np.sqrt(np.mean(e_ma[:, k] ** 2)))
            rep["moment_arm_max_m"][m] = max(rep["moment_arm_max_m"][m], np.abs(e_ma[:, k]).max())
    return groups, rep


def _outlier_rows(res: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rows whose residual exceeds 8 robust standard deviations (and 1 mm) in any output.

    OpenSim's wrapping occasionally jumps (a path flips to the other side of a wrap
    surface at extreme joint angles: up to 4 cm on Rajagopal's gluteus maximus at hip
    flexion > 100 deg with rotation); a few such samples would otherwise spoil the fit
    everywhere.
    """
    sigma = 1.4826 * np.median(np.abs(ref), axis=0) + 1e-5
    return np.any((np.abs(res) > 8.0 * sigma) & (np.abs(res) > 1e-3), axis=1)


def _robust_solve(gram, rhs, a, y, n_terms):
    """Least squares on the first ``n_terms`` basis columns, refitted once without outliers."""
    g = gram[:n_terms, :n_terms]
    reg = 1e-12 * np.trace(g) / n_terms * np.eye(n_terms)
    c = np.linalg.solve(g + reg, rhs[:n_terms])
    res = a[:, :n_terms] @ c - y
    out = _outlier_rows(res, res)
    n_out = int(out.sum())
    if n_out:
        ao = a[out, :n_terms]
        c = np.linalg.solve(g - ao.T @ ao + reg, rhs[:n_terms] - ao.T @ y[out])
    return c, n_out


def _speed_mismatch(qdot, speed, arms, inputs_of, computed) -> np.ndarray:
    """Muscles whose OpenSim speed differs from ``-sum_j r_j qdot_j`` (boolean, ``(M,)``),
    judged on the rows where each was computed."""
    n_m = speed.shape[1]
    need = np.zeros(n_m, dtype=bool)
    tol = 1e-6 * max(1.0, float(np.nanmax(np.abs(speed))))
    for m in range(n_m):
        ins = inputs_of[m]
        rows = computed[:, m]
        resid = speed[rows, m] + np.einsum("nj,nj->n", arms[rows, m][:, ins], qdot[rows][:, ins])
        need[m] = np.abs(resid).max() > tol
    return need


def _fit_speed_correction(
    groups, q, qdot, speed, arms, train, valid, rep, lo, hi, delta, computed, has_speed
):
    """Fit ``delta_j(q) = s_j + r_j`` so that speed = sum_j (delta_j - r_j) qdot_j matches OpenSim.

    OpenSim's lengthening speed is linear in the speeds, ``dL/dt = sum_j s_j(q) qdot_j``,
    and ``s_j = -r_j`` except for some wrapping paths (Rajagopal's gastrocnemii with two
    wrap surfaces: up to 2 mm per rad/s near full knee extension). ``delta`` holds OpenSim's
    exact ``s_j + r_j`` for those muscles (``muscles``, ``coords``, ``rows`` and ``values``
    of shape ``(len(rows), n_coords, n_muscles)``); each is fitted like a moment arm, per
    cell, on the rows where the group's muscles were computed (``computed``). The fit is
    checked on held-out samples against OpenSim's speed at random coordinate speeds (rows
    where it was computed: ``has_speed``).
    """
    n_m = speed.shape[1]
    rep["speed_rms_m_s"] = np.zeros(n_m)
    rep["speed_max_m_s"] = np.zeros(n_m)
    all_train = np.zeros(len(q), dtype=bool)
    all_train[train] = True
    all_valid = np.zeros(len(q), dtype=bool)
    all_valid[valid] = True
    d_mus = {} if delta is None else {int(m): k for k, m in enumerate(delta["muscles"])}
    d_crd = {} if delta is None else {int(c): k for k, c in enumerate(delta["coords"])}
    for g in groups:
        if g.coords.size == 0:
            continue
        qc = np.clip(q[:, g.coords], lo[g.coords], hi[g.coords])
        cell = _in_cell(qc, g.lo, g.hi, g.cell_top) if bool(g.split) else np.ones(len(q), dtype=bool)
        cell &= computed[:, g.muscles].all(axis=1)
        va = np.nonzero(cell & all_valid & has_speed[:, g.muscles].all(axis=1))[0]
        r = arms[va][:, g.muscles][:, :, g.coords]  # (N, k, n): exact moment arms of the inputs
        pred = -np.einsum("nkj,nj->nk", r, qdot[va][:, g.coords])
        dm = np.array([k for k, m in enumerate(g.muscles) if int(m) in d_mus], dtype=np.int64)
        if dm.size:
            # rows of delta["values"] inside the cell: training and held-out
            at = np.full(len(q), -1, dtype=np.int64)
            at[delta["rows"]] = np.arange(len(delta["rows"]))
            tr = np.nonzero(cell & all_train & (at >= 0))[0]
            n_in = g.coords.size
            deg = min(_DELTA_DEGREES.get(n_in, 3), int(g.exps.sum(axis=1).max()))
            while deg > 1 and 4 * int(np.sum(g.exps.sum(axis=1) <= deg)) > len(tr):
                deg -= 1
            n_t = int(np.sum(g.exps.sum(axis=1) <= deg))
            rows_m = [d_mus[int(g.muscles[k])] for k in dm]
            rows_c = [d_crd[int(c)] for c in g.coords]
            # targets ordered (input j, muscle k): column j * kd + k
            y = delta["values"][at[tr]][:, rows_c][:, :, rows_m].reshape(len(tr), n_in * dm.size)
            b, _ = _basis(g.scaled(q[tr]), g.exps[:n_t])
            c, _ = _robust_solve(b.T @ b, b.T @ y, b, y, n_t)
            g.delta_muscles = g.muscles[dm]
            g.coef_delta = np.ascontiguousarray(c)
            b_va, _ = _basis(g.scaled(q[va]), g.exps[:n_t])
            d_fit = (b_va @ c).reshape(len(va), n_in, dm.size)
            pred[:, dm] += np.einsum("njk,nj->nk", d_fit, qdot[va][:, g.coords])
        e = pred - speed[va][:, g.muscles]
        if not e.size:
            continue
        rep["speed_rms_m_s"][g.muscles] = np.maximum(
            rep["speed_rms_m_s"][g.muscles], np.sqrt(np.mean(e**2, axis=0))
        )
        rep["speed_max_m_s"][g.muscles] = np.maximum(rep["speed_max_m_s"][g.muscles], np.abs(e).max(axis=0))
