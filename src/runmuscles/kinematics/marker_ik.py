"""Marker-based inverse kinematics on the project's own multibody model, all frames at once.

The problem is the one OpenSim's ``InverseKinematicsTool`` solves (Lu TW, O'Connor JJ, 1999,
J Biomech 32:129-134, "global optimisation"; OpenSim's ``InverseKinematicsSolver``): per
frame, the coordinates ``q`` that minimise

    sum_m w_m |x_m(q) - x_m^lab|^2 + sum_c w_c (q_c - q_c^default)^2

over the tracked markers ``m`` seen in that frame (a marker missing in a frame drops out of
that frame's sum, as in OpenSim) and the coordinate tasks ``c``; locked coordinates stay at
their default value, coupler-dependent coordinates follow their independent coordinate
(``CoordinateCouplerConstraint``), and a clamped coordinate stays within its range.

It is solved with a projected Levenberg-Marquardt method (Levenberg K, 1944, Q Appl Math
2:164-168; Marquardt DW, 1963, J Soc Ind Appl Math 11:431-441; scaling by the diagonal of
``J^T J``), vectorised over frames: the exact Jacobian of every marker comes from one
velocity pass of :func:`runmuscles.model.multibody.forward_kinematics` per free coordinate,
all stacked as extra frames, so every frame is solved at once in NumPy. Coordinates that move
no tracked marker are not solved for: they keep their default value, which is what both a
coordinate task and OpenSim's solver (which starts from the default pose) give them.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..model.multibody import Multibody, fill_dependent_coordinates, forward_kinematics, load_osim
from ..readers.opensim_files import MarkerTable, write_storage
from ..tables import TimeTable

__all__ = [
    "MarkerIKResult",
    "ModelMarkers",
    "marker_positions",
    "read_model_markers",
    "solve_marker_ik",
    "write_ik_files",
]

#: Solver stops for a frame when no coordinate moves more than this in a step (1e-4 rad is
#: 0.006 deg, 1e-4 m is 0.1 mm: a hundredth of the 0.5 deg agreement with OpenSim asked of it;
#: measured: 0.006 deg at most from the solution with 1e-6 on a 30 s Fukuchi 2017 trial).
_STEP_TOL = 1e-4
_MAX_ITERATIONS = 60
#: Frames per block of the Jacobian (its arrays, some MB, then stay in the processor's cache).
_CHUNK = 512
#: Frames solved from the default pose first (every so many seconds); the frames between
#: start from their neighbours' solutions interpolated (cubic spline; warm start). 0.05 s is
#: a fifth of a running stance.
_COARSE_STEP_S = 0.05


@dataclass
class ModelMarkers:
    """A model's markers: name, the body each is fixed to and its location in that body.

    Attributes
    ----------
    names
        Marker names.
    bodies
        Body name per marker.
    location_m
        Location in the body frame, ``(n_markers, 3)``.
    """

    names: list[str]
    bodies: list[str]
    location_m: np.ndarray


def read_model_markers(osim: str | Path, model: Multibody | None = None) -> ModelMarkers:
    """The markers of an ``.osim`` file, each on a body of the model.

    A marker on a ``PhysicalOffsetFrame`` is moved into the frame's body (the frame's
    rotation and translation applied), so every location is in a body's frame.
    """
    from ..model.multibody import _offset_frames, _resolve  # noqa: PLC0415
    from ..model.osim_xml import parsed_xml  # noqa: PLC0415

    p = Path(osim)
    mb = model if model is not None else load_osim(p)
    try:
        root = parsed_xml(p)
    except (OSError, ET.ParseError) as exc:
        raise InputError(p, f"cannot read the model ({exc})") from None
    frames: dict[str, list] = {}
    for f in _offset_frames(root, "", str(p)):
        frames.setdefault(f.name, []).append(f)
    bodies = {n: i for i, n in enumerate(mb.body_names)}
    names, on, loc = [], [], []
    for m in root.iter("Marker"):
        name = m.get("name", "")
        parent = (m.findtext("socket_parent_frame") or m.findtext("body") or "").strip()
        where = f"{p} marker '{name}'"
        body, R, t = _resolve(parent, "", {}, bodies, frames, where)
        text = (m.findtext("location") or "0 0 0").split()
        try:
            x = np.array([float(v) for v in text], dtype=float)
        except ValueError:
            raise InputError(where, f"location '{' '.join(text)}' is not three numbers") from None
        if x.shape != (3,):
            raise InputError(where, f"location '{' '.join(text)}' is not three numbers")
        names.append(name)
        on.append(body)
        loc.append(t + R @ x)
    return ModelMarkers(names, on, np.array(loc, dtype=float).reshape(-1, 3))


def marker_positions(model: Multibody, markers: ModelMarkers, q: np.ndarray) -> np.ndarray:
    """Markers in ground for coordinates ``q`` ``(n_frames, n_coordinates)``: ``(n_frames, n_markers, 3)``."""
    q = np.atleast_2d(q)
    kin = forward_kinematics(model, q)
    b = np.array([model.body_index(n) for n in markers.bodies], dtype=int)
    x = kin.p_t[:, b] + np.einsum("ijmf,mj->imf", kin.R_t[:, :, b], markers.location_m)
    return np.moveaxis(x, 0, -1).transpose(1, 0, 2)


@dataclass
class MarkerIKResult:
    """Coordinates and marker errors from :func:`solve_marker_ik`.

    Attributes
    ----------
    time_s
        Frame times.
    q
        Coordinates, ``(n_frames, n_coordinates)`` in the model's order (radians, metres).
    coordinate_names, rotational
        The model's coordinates and which of them are angles.
    marker_names
        The tracked markers (weight > 0, on the model and in the trial).
    model_markers_m, lab_markers_m
        The model's and the trial's tracked markers per frame, ``(n_frames, n_markers, 3)``
        (the trial's NaN where not seen).
    rms_m, max_m
        Per frame, RMS and largest distance over the tracked markers seen (unweighted, as
        OpenSim reports them).
    free
        The coordinates solved for.
    iterations
        Levenberg-Marquardt iterations run.
    wall_s
        Solve time.
    """

    time_s: np.ndarray
    q: np.ndarray
    coordinate_names: list[str]
    rotational: np.ndarray
    marker_names: list[str]
    model_markers_m: np.ndarray
    lab_markers_m: np.ndarray
    rms_m: np.ndarray
    max_m: np.ndarray
    free: list[str] = field(default_factory=list)
    iterations: int = 0
    wall_s: float = 0.0

    @property
    def marker_mean_error_m(self) -> dict[str, float]:
        """Per tracked marker, its mean distance from the model's marker over the frames seen."""
        d = np.linalg.norm(self.model_markers_m - self.lab_markers_m, axis=2)
        out = {}
        for k, m in enumerate(self.marker_names):
            if np.isfinite(d[:, k]).any():
                out[m] = float(np.nanmean(d[:, k]))
        return out


def _free_coordinates(model: Multibody, marked: set[str]) -> np.ndarray:
    """Independent, unlocked coordinates whose joint moves a body with a tracked marker."""
    has = np.array([b in marked for b in model.body_names])
    dep = {c.dependent for c in model.couplers}
    out = []
    for i in range(model.n_coordinates):
        j = model.coordinate_joint[i]
        if model.locked[i] or i in dep or j < 0:
            continue
        if (model.subtree[j].astype(bool) & has).any():
            out.append(i)
    return np.array(out, dtype=int)


class _Problem:
    """Residuals and Jacobians of the weighted marker (and coordinate-task) errors.

    ``target`` ``(n, m, 3)`` holds the trial's markers (0 where not seen) and ``sqrt_w``
    ``(n, m)`` the square roots of their weights (0 where not seen)."""

    def __init__(self, model, body_idx, loc, target, sqrt_w, free, task_idx, task_sqrt_w, task_value):
        self.model = model
        self.body_idx = body_idx
        self.loc = loc
        self.target = target
        self.sqrt_w = sqrt_w
        self.free = free
        self.task_idx = task_idx
        self.task_sqrt_w = task_sqrt_w
        self.task_value = task_value
        # markers moved by each joint (its subtree): a slice when they are contiguous (markers in
        # depth-first body order, see _depth_first), else an index array
        self.moved = []
        for j in range(model.n_joints):
            hit = np.flatnonzero(model.subtree[j, body_idx])
            contiguous = hit.size and hit[-1] - hit[0] + 1 == hit.size
            self.moved.append(slice(int(hit[0]), int(hit[-1]) + 1) if contiguous else hit)
        self.task_column = np.array(
            [np.flatnonzero(free == c)[0] if (free == c).any() else -1 for c in task_idx], dtype=int
        )

    def rows(self, rows: np.ndarray) -> _Problem:
        """The same problem for frames ``rows`` only."""
        return _Problem(
            self.model,
            self.body_idx,
            self.loc,
            self.target[rows],
            self.sqrt_w[rows],
            self.free,
            self.task_idx,
            self.task_sqrt_w,
            self.task_value,
        )

    def _markers(self, kin) -> np.ndarray:
        """Tracked markers in ground, ``(n, m, 3)``."""
        b = self.body_idx
        x = kin.p_t[:, b] + np.einsum("ijmf,mj->imf", kin.R_t[:, :, b], self.loc)  # (3, m, n)
        return np.ascontiguousarray(x.transpose(2, 1, 0))

    def _residual(self, x: np.ndarray, q: np.ndarray, rows: np.ndarray) -> np.ndarray:
        e = (x - self.target[rows]) * self.sqrt_w[rows][:, :, None]
        r = e.reshape(len(rows), -1)
        if self.task_idx.size:
            t = (q[:, self.task_idx] - self.task_value) * self.task_sqrt_w
            r = np.concatenate([r, t], axis=1)
        return r

    def residual(self, q: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Weighted residuals of frames ``rows`` at ``q`` ``(len(rows), n_coordinates)``."""
        return self._residual(self._markers(forward_kinematics(self.model, q)), q, rows)

    def normal_equations(self, q: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cost ``r^T r``, ``J^T J`` and ``J^T r`` of frames ``rows`` at ``q``, with ``J`` the
        Jacobian of the weighted residuals ``r`` with respect to the free coordinates.

        ``J`` comes from one pass of forward kinematics: an axis ``i`` of joint ``j`` turned
        (or slid) at rate ``ds_i/dq_c`` moves a marker ``x`` of the joint's subtree at
        ``w x (x - o_M)`` (rotation: ``w`` the axis in ground times the rate, ``o_M`` the
        joint's child frame origin) or ``t ds_i/dq_c`` (translation along the axis ``t``)."""
        n, k = q.shape[0], self.free.size
        cost, H, g = np.empty(n), np.empty((n, k, k)), np.empty((n, k))
        for lo in range(0, n, _CHUNK):  # some hundred frames at a time: the arrays stay in cache
            part = slice(lo, min(n, lo + _CHUNK))
            J, r = self.jacobian(q[part], rows[part])
            Jf = J.reshape(k, r.shape[0], -1).transpose(1, 0, 2)  # (frames, k, R)
            H[part] = Jf @ Jf.transpose(0, 2, 1)
            g[part] = (Jf @ r[:, :, None])[:, :, 0]
            cost[part] = np.einsum("fr,fr->f", r, r)
        return cost, H, g

    def jacobian(self, q: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The Jacobian ``(n_free, n, n_res)`` of the weighted residuals, and the residuals
        ``(n, n_res)`` (see :meth:`normal_equations`)."""
        model = self.model
        n, k = q.shape[0], self.free.size
        kin = forward_kinematics(model, q, simbody_compatible=False)
        x = self._markers(kin)  # (n, m, 3)
        m = x.shape[1]
        J = np.zeros((k, n, m, 3))
        for j, i, a, rate in self._axis_rates(q):
            mk = self.moved[j]
            if not isinstance(mk, slice) and not mk.size:
                continue
            par = model.parent[j]
            Rp = kin.R_t[:, :, par]  # (3, 3, n)
            if i < 3:
                w = np.einsum("ijf,jf->fi", Rp, kin.joint_E_t[:, i, j]) * rate[:, None]
                o = kin.p_t[:, par].T + np.einsum("ijf,jf->fi", Rp, kin.joint_p_PM_t[:, j])
                d = x[:, mk] - o[:, None, :]
                J[a][:, mk] += np.cross(w[:, None, :], d)
            else:
                t = np.einsum("ijf,j->fi", Rp, kin.joint_T[j][:, i - 3]) * rate[:, None]
                J[a][:, mk] += t[:, None, :]
        J *= self.sqrt_w[rows][None, :, :, None]
        J = J.reshape(k, n, m * 3)
        r = self._residual(x, q, rows)
        if self.task_idx.size:
            Jt = np.zeros((k, n, self.task_idx.size))
            for a, col in enumerate(self.task_column):
                if col >= 0:
                    Jt[col, :, a] = self.task_sqrt_w[a]
            J = np.concatenate([J, Jt], axis=2)
        return J, r

    def _axis_rates(self, q: np.ndarray):
        """``(joint, axis, free column, ds/dq per frame)`` of every joint axis a free coordinate
        drives, directly or through a coupler (chain rule)."""
        model = self.model
        column = {int(c): a for a, c in enumerate(self.free)}
        via = {}  # dependent coordinate -> (free column, d q_dep / d q_indep per frame)
        for cp in model.couplers:
            if int(cp.independent) in column:
                d1 = cp.function.evaluate(q[:, cp.independent], 1)[1]
                via[int(cp.dependent)] = (column[int(cp.independent)], cp.scale * d1)
        nonlinear = {(j, i): (c, fn) for j, i, c, fn in model.nonlinear_axes}
        out = []
        for j in range(model.n_joints):
            for i in range(6):
                c = int(model.axis_coordinate[j, i])
                if c < 0:
                    continue
                if (j, i) in nonlinear:
                    cc, fn = nonlinear[(j, i)]
                    ds = fn.evaluate(q[:, cc], 1)[1]
                    c = int(cc)
                else:
                    ds = np.full(q.shape[0], model.axis_slope[j, i])
                if c in column:
                    out.append((j, i, column[c], ds))
                elif c in via:
                    a, dd = via[c]
                    out.append((j, i, a, ds * dd))
        return out


def _levenberg_marquardt(problem: _Problem, q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple:
    """Projected Levenberg-Marquardt on every frame at once; frames drop out as they converge.

    One forward-kinematics pass per iteration: the normal equations are formed at every
    trial point, and kept for the frames whose step is accepted, so a rejected step is
    retried with a larger damping from the kept ones."""
    model, free = problem.model, problem.free
    n = q.shape[0]
    eye = np.eye(free.size)
    q = fill_dependent_coordinates(model, q)[0]
    rows = np.arange(n)
    cost, H, g = problem.normal_equations(q, rows)
    lam = np.full(n, 1e-3)
    active = rows.copy()
    it = 0
    while active.size and it < _MAX_ITERATIONS:
        it += 1
        Ha = H[active]
        diag = np.einsum("fkk->fk", Ha)
        A = Ha + (lam[active, None] * (diag + 1e-9))[:, :, None] * eye
        dq = -np.linalg.solve(A, g[active][:, :, None])[:, :, 0]
        # converged: the Gauss-Newton step (damping small) is below the tolerance; it is taken
        # without another kinematics pass
        small = (np.max(np.abs(dq), axis=1) < _STEP_TOL) & (lam[active] <= 1e-2)
        if small.any():
            last = q[active[small]]
            last[:, free] = np.clip(last[:, free] + dq[small], lo, hi)
            q[active[small]] = fill_dependent_coordinates(model, last)[0]
            active, dq = active[~small], dq[~small]
            if not active.size:
                break
        qt = q[active].copy()
        qt[:, free] = np.clip(qt[:, free] + dq, lo, hi)
        qt = fill_dependent_coordinates(model, qt)[0]
        ct, Ht, gt = problem.normal_equations(qt, active)
        c0 = cost[active]
        better = ct <= c0
        step = np.max(np.abs(qt[:, free] - q[active][:, free]), axis=1)
        acc = active[better]
        q[acc], H[acc], g[acc], cost[acc] = qt[better], Ht[better], gt[better], ct[better]
        lam[acc] = np.maximum(lam[acc] / 3.0, 1e-9)
        lam[active[~better]] *= 4.0
        done = (better & (step < _STEP_TOL)) | (~better & (lam[active] > 1e8))
        done |= better & (c0 - ct <= 1e-10 * np.maximum(c0, 1e-30))
        active = active[~done]
    return q, cost, it


def solve_marker_ik(
    model: Multibody,
    markers: ModelMarkers,
    trial: MarkerTable,
    marker_weights: dict[str, float],
    *,
    coordinate_weights: dict[str, float] | None = None,
    initial_q: np.ndarray | None = None,
) -> MarkerIKResult:
    """Inverse kinematics of every frame of ``trial`` on ``model`` (see the module docstring).

    Parameters
    ----------
    model
        The scaled model.
    markers
        Its markers (:func:`read_model_markers`).
    trial
        Marker trajectories with the model's marker names (metres, OpenSim's axes).
    marker_weights
        Weight per marker; markers with weight 0, or not on the model or in the trial, are
        not tracked.
    coordinate_weights
        Coordinate tasks: each named coordinate is pulled to its default value with this
        weight (OpenSim's ``IKCoordinateTask`` with ``DefaultValue``).
    initial_q
        Starting coordinates per frame (default: the model's default pose with the root
        joint first fitted to the markers on its body).

    Returns
    -------
    MarkerIKResult
    """
    t0 = time.perf_counter()
    tracked = [
        m
        for m, w in marker_weights.items()
        if w > 0
        and m in markers.names
        and m in trial.names
        and np.isfinite(trial.positions_m[:, trial.names.index(m), :]).all(axis=1).any()  # has data
    ]
    if len(tracked) < 3:
        raise InputError(
            trial.meta.get("source", "markers"),
            f"only {len(tracked)} tracked markers with data are on the model: too few for inverse kinematics",
        )
    branch = model.branch(
        sorted({markers.bodies[markers.names.index(m)] for m in tracked}, key=model.body_names.index)
    )
    order = _depth_first(branch)
    tracked.sort(key=lambda m: order[branch.body_index(markers.bodies[markers.names.index(m)])])
    mi = [markers.names.index(m) for m in tracked]
    bodies = [markers.bodies[i] for i in mi]
    body_idx = np.array([branch.body_index(b) for b in bodies], dtype=int)
    loc = markers.location_m[mi]
    lab = trial.positions_m[:, [trial.names.index(m) for m in tracked], :]
    seen = np.isfinite(lab).all(axis=2)
    w = np.array([marker_weights[m] for m in tracked], dtype=float)
    sqrt_w = np.sqrt(w)[None, :] * seen
    target = np.where(seen[:, :, None], lab, 0.0)
    free = _free_coordinates(model, set(bodies))
    n = trial.time_s.size
    cw = {k: v for k, v in (coordinate_weights or {}).items() if v > 0}
    task_idx = np.array([model.coordinate_index(c) for c in cw], dtype=int)
    task_sqrt_w = np.sqrt(np.array(list(cw.values()), dtype=float))
    task_value = model.default_values[task_idx]
    lo = np.where(model.clamped[free], model.ranges[free, 0], -np.inf)
    hi = np.where(model.clamped[free], model.ranges[free, 1], np.inf)
    problem = _Problem(branch, body_idx, loc, target, sqrt_w, free, task_idx, task_sqrt_w, task_value)
    rest = np.arange(n)
    it = 0
    if initial_q is None:
        q0 = np.tile(model.default_values, (n, 1))
        step = max(1, int(round(_COARSE_STEP_S / np.median(np.diff(trial.time_s))))) if n > 2 else 1
        coarse = np.unique(np.r_[np.arange(0, n, step), n - 1])
        qc = _fit_root(branch, body_idx, loc, target[coarse], sqrt_w[coarse], free, q0[coarse], lo, hi)
        qc, _, it = _levenberg_marquardt(problem.rows(coarse), qc, lo, hi)
        if coarse.size >= 4:
            from scipy.interpolate import CubicSpline  # noqa: PLC0415

            q0[:, free] = CubicSpline(coarse, qc[:, free], axis=0)(np.arange(n))
            q0[:, free] = np.clip(q0[:, free], lo, hi)
        else:
            for c in free:
                q0[:, c] = np.interp(np.arange(n), coarse, qc[:, c])
        q0 = fill_dependent_coordinates(model, q0)[0]
        q0[coarse] = qc
        rest = np.setdiff1d(rest, coarse)
    else:
        q0 = np.array(initial_q, dtype=float, copy=True)
    q = q0
    if rest.size:
        q[rest], _, it2 = _levenberg_marquardt(problem.rows(rest), q0[rest], lo, hi)
        it += it2
    x = marker_positions(branch, ModelMarkers(tracked, bodies, loc), q)
    d = np.where(seen, np.linalg.norm(np.where(seen[:, :, None], x - lab, 0.0), axis=2), 0.0)
    n_seen = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.where(n_seen > 0, np.sqrt(np.sum(d**2, axis=1) / n_seen), np.nan)
    mx = np.where(n_seen > 0, np.max(np.where(seen, d, -np.inf), axis=1), np.nan)
    return MarkerIKResult(
        trial.time_s.copy(),
        q,
        list(model.coordinate_names),
        np.array([t == "rotational" for t in model.motion_types]),
        tracked,
        x,
        lab,
        rms,
        mx,
        [model.coordinate_names[i] for i in free],
        it,
        time.perf_counter() - t0,
    )


def _depth_first(model: Multibody) -> np.ndarray:
    """Position of every body in a depth-first walk of the tree: each joint's subtree is then
    a contiguous run of bodies (and of markers sorted by it)."""
    children: dict[int, list[int]] = {}
    for j, p in enumerate(model.parent):
        children.setdefault(int(p), []).append(j + 1)
    pos = np.zeros(model.n_bodies, dtype=int)
    stack, k = [0], 0
    while stack:
        b = stack.pop()
        pos[b] = k
        k += 1
        stack.extend(reversed(children.get(b, [])))
    return pos


def _fit_root(branch, body_idx, loc, target, sqrt_w, free, q0, lo, hi) -> np.ndarray:
    """The root joint's coordinates fitted to the markers on the root's child body first
    (the rest of the body in its default pose), so that the full solve starts with the
    pelvis in place: a start metres away can end in another local minimum."""
    root_coords = [i for i in free if branch.coordinate_joint[i] == 0]
    on_root = body_idx == 1
    if len(root_coords) == 0 or on_root.sum() < 3:
        return q0
    q0 = q0.copy()
    rc = np.array(root_coords, dtype=int)
    sel = np.flatnonzero(on_root)
    sub = _Problem(
        branch.branch([branch.body_names[1]]),  # the root body alone: a cheaper kinematics pass
        body_idx[sel],
        loc[sel],
        target[:, sel],
        sqrt_w[:, sel],
        rc,
        np.zeros(0, int),
        np.zeros(0),
        np.zeros(0),
    )
    k = np.searchsorted(free, rc)
    q, _, _ = _levenberg_marquardt(sub, q0, lo[k], hi[k])
    return q


def write_ik_files(result: MarkerIKResult, out_mot: str | Path) -> tuple[Path, Path, Path]:
    """Write the coordinates (``.mot``, angles in degrees), the per-frame marker errors
    (``<stem>_ik_marker_errors.sto``) and the model's marker locations
    (``<stem>_ik_model_marker_locations.sto``) in OpenSim's formats and column names."""
    out = Path(out_mot)
    q = np.where(result.rotational[None, :], np.degrees(result.q), result.q)
    mot = write_storage(
        out,
        TimeTable(result.time_s, q, result.coordinate_names),
        name="inverse_kinematics",
        in_degrees=True,
    )
    rms = np.nan_to_num(result.rms_m)
    mx = np.nan_to_num(result.max_m, neginf=0.0)
    total = rms**2 * np.isfinite(result.lab_markers_m).all(axis=2).sum(axis=1)
    errors = write_storage(
        out.with_name(f"{out.stem}_ik_marker_errors.sto"),
        TimeTable(
            result.time_s,
            np.column_stack([total, rms, mx]),
            ["total_squared_error", "marker_error_RMS", "marker_error_max"],
        ),
        name="marker_errors",
    )
    cols = [f"{m}_t{a}" for m in result.marker_names for a in "xyz"]
    locations = write_storage(
        out.with_name(f"{out.stem}_ik_model_marker_locations.sto"),
        TimeTable(result.time_s, result.model_markers_m.reshape(len(result.time_s), -1), cols),
        name="model_marker_locations",
    )
    return mot, errors, locations


@dataclass
class MarkerIKRun:
    """What :func:`run_marker_ik` wrote and measured (the fields of OpenSim's ``IKResult``
    that the lab path reads, so either solver's result goes through the same checks).

    Attributes
    ----------
    coordinates_path, marker_errors_path, marker_locations_path
        The files written (:func:`write_ik_files`).
    time_s, rms_m, max_m
        Per frame: time, RMS and largest marker error.
    marker_mean_error_m
        Per tracked marker, its mean error over the frames.
    missing_markers
        Markers with a weight that the trial does not have.
    result
        The solution itself.
    """

    coordinates_path: Path
    marker_errors_path: Path
    marker_locations_path: Path
    time_s: np.ndarray
    rms_m: np.ndarray
    max_m: np.ndarray
    marker_mean_error_m: dict[str, float]
    missing_markers: list[str]
    result: MarkerIKResult

    @property
    def wall_s(self) -> float:
        return self.result.wall_s


def run_marker_ik(
    model_path: str | Path,
    trial: MarkerTable,
    out_mot: str | Path,
    *,
    marker_weights: dict[str, float],
    coordinate_weights: dict[str, float] | None = None,
    model: Multibody | None = None,
) -> MarkerIKRun:
    """Inverse kinematics of ``trial`` on the ``.osim`` model at ``model_path``, written as
    OpenSim's ``InverseKinematicsTool`` writes it (``out_mot`` and its two ``.sto`` files)."""
    mb = model if model is not None else load_osim(model_path)
    markers = read_model_markers(model_path, mb)
    for c in coordinate_weights or {}:
        if c not in mb.coordinate_names:
            raise InputError(model_path, f"has no coordinate '{c}' to hold at its default value")
    res = solve_marker_ik(mb, markers, trial, marker_weights, coordinate_weights=coordinate_weights)
    mot, errors, locations = write_ik_files(res, out_mot)
    missing = [m for m, w in marker_weights.items() if w > 0 and m in markers.names and m not in trial.names]
    return MarkerIKRun(
        mot,
        errors,
        locations,
        res.time_s,
        np.nan_to_num(res.rms_m),  # a frame without any tracked marker: no error (as in the file)
        np.nan_to_num(res.max_m, neginf=0.0),
        res.marker_mean_error_m,
        missing,
        res,
    )
