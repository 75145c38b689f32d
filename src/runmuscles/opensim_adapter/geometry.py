"""Muscle geometry and rigid-tendon strength sampled exactly from OpenSim.

This is the slow, exact side of :mod:`runmuscles.model.geometry`: it builds the fitted
surrogate and serves as the fallback for frames outside the surrogate's domain.

What is computed, per frame and muscle
--------------------------------------
* ``length_m``: ``GeometryPath`` length;
* ``speed_m_s``: lengthening speed (true dL/dt at the given q, qdot);
* ``moment_arm_m``: the moment arm about every coordinate, as OpenSim's
  ``MomentArmSolver`` (``Muscle.computeMomentArm``) defines it: a unit tension is applied
  along the path (``GeometryPath.addInEquivalentForces``), the body forces are mapped to
  generalized forces ``G = J^T F`` (plus any path mobility forces), and the moment arm
  about coordinate ``j`` is ``c_j . G`` where ``c_j`` is the coupling vector of ``j``
  under the model's velocity constraints. For an independent coordinate ``j`` that drives
  a ``CoordinateCouplerConstraint`` (Rajagopal's ``knee_angle_r`` drives
  ``knee_angle_r_beta``), ``c_j`` has ``1`` at ``j`` and ``df/dq_j`` at the dependent
  coordinate; for the dependent coordinate ``d`` of a one-input coupler it has ``1`` at
  ``d`` and ``1/f'`` at the input. With Rajagopal's identity coupler both columns are
  therefore equal, and equal to what ``computeMomentArm`` returns for either coordinate
  (checked in the tests). This is exact (no finite differences); it is what
  ``MomentArmSolver`` does, once per muscle instead of once per muscle-coordinate pair.
* ``strength_n``: ``Muscle.calcInextensibleTendonActiveFiberForce(state, 1.0)``.

Dependent coordinates of couplers are always recomputed from their independent
coordinates (values and speeds), whatever the input holds, so that the state satisfies the
model's constraints as OpenSim's tools would make it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelError
from . import load_model, opensim

__all__ = [
    "CouplerInfo",
    "GeometrySampler",
    "ModelGeometryInfo",
    "exact_geometry",
    "read_model_info",
    "conditional_switches",
    "spanned_coordinates",
]

#: Muscle classes whose strength curves are known (see ``runmuscles.model.muscle_curves``).
SUPPORTED_MUSCLE_CLASSES = ("Thelen2003Muscle", "Millard2012EquilibriumMuscle", "DeGrooteFregly2016Muscle")

#: Millard2012 curve parameters kept per muscle (``params`` keys), in the order of
#: :func:`runmuscles.model.muscle_curves.millard_active_force_length` (5),
#: ``millard_force_velocity`` (8) and ``millard_passive_force_length`` (5).
MILLARD_CURVE_PARAMS = (
    "millard_fl_min_norm_active_fiber_length",
    "millard_fl_transition_norm_fiber_length",
    "millard_fl_max_norm_active_fiber_length",
    "millard_fl_shallow_ascending_slope",
    "millard_fl_minimum_value",
    "millard_fv_concentric_slope_at_vmax",
    "millard_fv_concentric_slope_near_vmax",
    "millard_fv_isometric_slope",
    "millard_fv_eccentric_slope_at_vmax",
    "millard_fv_eccentric_slope_near_vmax",
    "millard_fv_max_eccentric_velocity_force_multiplier",
    "millard_fv_concentric_curviness",
    "millard_fv_eccentric_curviness",
    "millard_fpe_strain_at_zero_force",
    "millard_fpe_strain_at_one_norm_force",
    "millard_fpe_stiffness_at_low_force",
    "millard_fpe_stiffness_at_one_norm_force",
    "millard_fpe_curviness",
)

# Grids on which Millard2012 curves are tabulated from OpenSim's own curve objects.
MILLARD_FL_GRID = (0.0, 2.5, 5001)  # normalized fibre length
MILLARD_FV_GRID = (-1.5, 1.5, 6001)  # normalized fibre velocity (lengthening positive)


@dataclass
class CouplerInfo:
    """One ``CoordinateCouplerConstraint``: ``q[dependent] = f(q[independent])``.

    ``slope``/``intercept`` are set when ``f`` is a one-input ``LinearFunction``
    (Rajagopal, LaiArnold, Uhlrich models); otherwise they are NaN and ``f`` is evaluated
    through OpenSim.
    """

    name: str
    dependent: int
    independent: list[int]
    slope: float = math.nan
    intercept: float = math.nan

    @property
    def is_linear(self) -> bool:
        return len(self.independent) == 1 and math.isfinite(self.slope)


@dataclass
class ModelGeometryInfo:
    """Plain-array description of a model's coordinates and muscles.

    Attributes
    ----------
    coordinate_names
        All coordinates, in model (CoordinateSet) order.
    rotational
        ``True`` for rotational coordinates (radians), ``False`` for translations (metres)
        and coupled coordinates.
    range_min, range_max
        The coordinates' declared ranges.
    locked
        The coordinates' ``locked`` flags.
    default_value
        Default values (used for coordinates no muscle crosses).
    couplers
        The model's enforced coordinate couplers.
    muscle_names, muscle_class
        Muscles in model order and their OpenSim class names.
    params
        Per-muscle parameters as float arrays of shape ``(M,)`` (NaN where a class has no
        such parameter); keys are listed in :func:`read_model_info`.
    curve_tables
        Millard2012 curves tabulated from OpenSim's curve objects: ``fl``, ``fpe``
        (on grid ``fl_x``) and ``fv`` (on grid ``fv_x``), each of shape
        ``(n_tables, n_grid)``; ``params['curve_table']`` is each muscle's row (``-1``
        for other classes).
    """

    coordinate_names: list[str]
    rotational: np.ndarray
    range_min: np.ndarray
    range_max: np.ndarray
    locked: np.ndarray
    default_value: np.ndarray
    couplers: list[CouplerInfo]
    muscle_names: list[str]
    muscle_class: list[str]
    params: dict[str, np.ndarray]
    curve_tables: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def dependent_coordinates(self) -> list[int]:
        return [c.dependent for c in self.couplers]


def _muscle_parameters(model: Any, osim: Any, source: Path) -> tuple[list[str], list[str], dict, dict]:
    muscles = model.getMuscles()
    n = muscles.getSize()
    if n == 0:
        raise ModelError(source, "the model has no muscles")
    names, classes = [], []
    keys = [
        "max_isometric_force_n",
        "optimal_fiber_length_m",
        "tendon_slack_length_m",
        "pennation_at_optimal_rad",
        "max_contraction_velocity_lopt_s",
        "max_pennation_rad",
        "min_fiber_length_m",
        # Thelen2003
        "thelen_kshape_active",
        "thelen_af",
        "thelen_flen",
        "thelen_fv_extrap_threshold",
        "thelen_fmax_muscle_strain",
        "thelen_kshape_passive",
        # DeGrooteFregly2016
        "degroote_active_force_width_scale",
        "degroote_passive_fiber_strain",
        "degroote_fiber_damping",
        "degroote_ignore_passive",
        # Millard2012: index into curve_tables, and the curves' own parameters
        "curve_table",
        *MILLARD_CURVE_PARAMS,
    ]
    p = {k: np.full(n, np.nan) for k in keys}
    p["curve_table"][:] = -1
    table_keys: dict[tuple, int] = {}
    fl_rows: list[np.ndarray] = []
    fv_rows: list[np.ndarray] = []
    fpe_rows: list[np.ndarray] = []
    fl_x = np.linspace(*MILLARD_FL_GRID)
    fv_x = np.linspace(*MILLARD_FV_GRID)
    for i in range(n):
        mu = muscles.get(i)
        cls = mu.getConcreteClassName()
        names.append(mu.getName())
        classes.append(cls)
        p["max_isometric_force_n"][i] = mu.getMaxIsometricForce()
        p["optimal_fiber_length_m"][i] = mu.getOptimalFiberLength()
        p["tendon_slack_length_m"][i] = mu.getTendonSlackLength()
        p["pennation_at_optimal_rad"][i] = mu.getPennationAngleAtOptimalFiberLength()
        p["max_contraction_velocity_lopt_s"][i] = mu.getMaxContractionVelocity()
        if cls == "Thelen2003Muscle":
            t = osim.Thelen2003Muscle.safeDownCast(mu)
            p["max_pennation_rad"][i] = t.get_maximum_pennation_angle()
            p["min_fiber_length_m"][i] = t.getPennationModel().getMinimumFiberLength()
            p["thelen_kshape_active"][i] = t.get_KshapeActive()
            p["thelen_af"][i] = t.get_Af()
            p["thelen_flen"][i] = t.get_Flen()
            p["thelen_fv_extrap_threshold"][i] = t.get_fv_linear_extrap_threshold()
            p["thelen_fmax_muscle_strain"][i] = t.get_FmaxMuscleStrain()
            p["thelen_kshape_passive"][i] = t.get_KshapePassive()
        elif cls == "Millard2012EquilibriumMuscle":
            m = osim.Millard2012EquilibriumMuscle.safeDownCast(mu)
            p["max_pennation_rad"][i] = m.getPennationModel().get_maximum_pennation_angle()
            p["min_fiber_length_m"][i] = m.getMinimumFiberLength()
            fal = m.get_ActiveForceLengthCurve()
            fvc = m.get_ForceVelocityCurve()
            fpe = m.get_FiberForceLengthCurve()
            key = (
                fal.getMinActiveFiberLength(),
                fal.getTransitionFiberLength(),
                fal.getMaxActiveFiberLength(),
                fal.getShallowAscendingSlope(),
                fal.getMinValue(),
                fvc.getConcentricSlopeAtVmax(),
                fvc.getConcentricSlopeNearVmax(),
                fvc.getIsometricSlope(),
                fvc.getEccentricSlopeAtVmax(),
                fvc.getEccentricSlopeNearVmax(),
                fvc.getMaxEccentricVelocityForceMultiplier(),
                fvc.getConcentricCurviness(),
                fvc.getEccentricCurviness(),
                fpe.getStrainAtZeroForce(),
                fpe.getStrainAtOneNormForce(),
                fpe.getStiffnessAtLowForceInUse(),
                fpe.getStiffnessAtOneNormForceInUse(),
                fpe.getCurvinessInUse(),
            )
            for name, value in zip(MILLARD_CURVE_PARAMS, key, strict=True):
                p[name][i] = value
            if key not in table_keys:
                table_keys[key] = len(fl_rows)
                fl_rows.append(np.array([fal.calcValue(float(x)) for x in fl_x]))
                fv_rows.append(np.array([fvc.calcValue(float(x)) for x in fv_x]))
                fpe_rows.append(np.array([fpe.calcValue(float(x)) for x in fl_x]))
            p["curve_table"][i] = table_keys[key]
        elif cls == "DeGrooteFregly2016Muscle":
            d = osim.DeGrooteFregly2016Muscle.safeDownCast(mu)
            p["degroote_active_force_width_scale"][i] = d.get_active_force_width_scale()
            p["degroote_passive_fiber_strain"][i] = d.get_passive_fiber_strain_at_one_norm_force()
            p["degroote_fiber_damping"][i] = d.get_fiber_damping()
            p["degroote_ignore_passive"][i] = float(d.get_ignore_passive_fiber_force())
        else:
            raise ModelError(
                source,
                f"muscle '{mu.getName()}' is a {cls}; supported classes: "
                + ", ".join(SUPPORTED_MUSCLE_CLASSES),
            )
    tables: dict[str, np.ndarray] = {}
    if fl_rows:
        tables = {
            "fl_x": fl_x,
            "fl": np.vstack(fl_rows),
            "fv_x": fv_x,
            "fv": np.vstack(fv_rows),
            "fpe": np.vstack(fpe_rows),
        }
    return names, classes, p, tables


def _couplers(model: Any, osim: Any, state: Any, index: dict[str, int]) -> list[CouplerInfo]:
    out = []
    cons = model.getConstraintSet()
    for k in range(cons.getSize()):
        c = cons.get(k)
        if c.getConcreteClassName() != "CoordinateCouplerConstraint" or not c.isEnforced(state):
            continue
        cc = osim.CoordinateCouplerConstraint.safeDownCast(c)
        indep_names = cc.getIndependentCoordinateNames()
        indep = [index[indep_names.get(j)] for j in range(indep_names.getSize())]
        info = CouplerInfo(c.getName(), index[cc.getDependentCoordinateName()], indep)
        f = cc.getFunction()
        if f.getConcreteClassName() == "LinearFunction" and len(indep) == 1:
            scale = float(cc.getPropertyByName("scale_factor").toString())
            v0 = f.calcValue(osim.Vector(1, 0.0))
            v1 = f.calcValue(osim.Vector(1, 1.0))
            info.slope = scale * (v1 - v0)
            info.intercept = scale * v0
        out.append(info)
    return out


def read_model_info(osim_path: str | Path) -> ModelGeometryInfo:
    """Read coordinates, couplers and muscle parameters of a model (needs OpenSim).

    Parameters
    ----------
    osim_path
        The ``.osim`` file.

    Returns
    -------
    ModelGeometryInfo
        ``params`` keys: ``max_isometric_force_n``, ``optimal_fiber_length_m``,
        ``tendon_slack_length_m``, ``pennation_at_optimal_rad``,
        ``max_contraction_velocity_lopt_s`` (optimal fibre lengths per second),
        ``max_pennation_rad``, ``min_fiber_length_m``, the Thelen curve shape parameters
        (``thelen_*``), the DeGroote-Fregly ones (``degroote_*``) and ``curve_table``.
    """
    model, state = load_model(osim_path)
    return _model_info(model, state, Path(osim_path))


def _model_info(model: Any, state: Any, source: Path) -> ModelGeometryInfo:
    osim = opensim()
    cs = model.getCoordinateSet()
    names = [cs.get(i).getName() for i in range(cs.getSize())]
    index = {n: i for i, n in enumerate(names)}
    rot = np.array([cs.get(i).getMotionType() == 1 for i in range(cs.getSize())])
    rmin = np.array([cs.get(i).getRangeMin() for i in range(cs.getSize())])
    rmax = np.array([cs.get(i).getRangeMax() for i in range(cs.getSize())])
    locked = np.array([bool(cs.get(i).get_locked()) for i in range(cs.getSize())])
    default = np.array([cs.get(i).getDefaultValue() for i in range(cs.getSize())])
    couplers = _couplers(model, osim, state, index)
    mnames, mclass, params, tables = _muscle_parameters(model, osim, source)
    return ModelGeometryInfo(
        names, rot, rmin, rmax, locked, default, couplers, mnames, mclass, params, tables
    )


class GeometrySampler:
    """An OpenSim model held open for repeated exact geometry queries.

    Parameters
    ----------
    osim_path
        The ``.osim`` file.

    Notes
    -----
    Holds OpenSim objects: cannot be pickled; create one per process.
    """

    def __init__(self, osim_path: str | Path) -> None:
        self.path = Path(osim_path)
        osim = opensim()
        self._osim = osim
        self.model, self.state = load_model(self.path)
        self.info = _model_info(self.model, self.state, self.path)
        self._matter = self.model.getMatterSubsystem()
        cs = self.model.getCoordinateSet()
        self._coords = [cs.get(i) for i in range(cs.getSize())]
        muscles = self.model.getMuscles()
        self._muscles = [muscles.get(i) for i in range(muscles.getSize())]
        self._paths = [m.getGeometryPath() for m in self._muscles]
        self._mobility = [False] * len(self._paths)  # paths seen adding mobility forces
        self.nq = self.state.getNQ()
        self.nu = self.state.getNU()
        self.q_index, self.u_index = self._state_indices()
        self._n_bodies = self.model.getBodySet().getSize() + 1
        self._zero_sv = osim.SpatialVec(osim.Vec3(0.0), osim.Vec3(0.0))

    # -- set-up ---------------------------------------------------------------------
    def _state_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """System q and u index of every coordinate, found by setting each one alone."""
        osim = self._osim
        s = osim.State(self.state)
        qi = np.empty(len(self._coords), dtype=int)
        ui = np.empty(len(self._coords), dtype=int)
        for c in self._coords:
            c.setLocked(s, False)
        for k, c in enumerate(self._coords):
            s.updQ().setToZero()
            s.updU().setToZero()
            c.setValue(s, 0.5, False)
            c.setSpeedValue(s, 0.5)
            qi[k] = int(np.argmax(np.abs(s.getQ().to_numpy())))
            ui[k] = int(np.argmax(np.abs(s.getU().to_numpy())))
        if len(set(qi.tolist())) != len(qi) or len(set(ui.tolist())) != len(ui):
            raise ModelError(self.path, "cannot map coordinates to state variables one to one")
        return qi, ui

    def enforce_couplers(
        self, q: np.ndarray, qdot: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Set dependent (coupled) coordinates from their independent ones, in place copies.

        Returns ``(q, qdot, slope)``-consistent copies; ``qdot`` is zeros when not given.
        """
        q = np.array(q, dtype=float, copy=True)
        qdot = np.zeros_like(q) if qdot is None else np.array(qdot, dtype=float, copy=True)
        for c in self.info.couplers:
            if c.is_linear:
                i = c.independent[0]
                q[:, c.dependent] = c.slope * q[:, i] + c.intercept
                qdot[:, c.dependent] = c.slope * qdot[:, i]
            else:
                value, grad = self._coupler_value_gradient(c, q)
                q[:, c.dependent] = value
                qdot[:, c.dependent] = np.einsum("fk,fk->f", grad, qdot[:, c.independent])
        return q, qdot

    def _coupler_value_gradient(self, c: CouplerInfo, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        osim = self._osim
        cons = osim.CoordinateCouplerConstraint.safeDownCast(self.model.getConstraintSet().get(c.name))
        f = cons.getFunction()
        scale = float(cons.getPropertyByName("scale_factor").toString())
        n_in = len(c.independent)
        value = np.empty(q.shape[0])
        grad = np.empty((q.shape[0], n_in))
        for r in range(q.shape[0]):
            x = osim.Vector(n_in, 0.0)
            for k, i in enumerate(c.independent):
                x.set(k, float(q[r, i]))
            value[r] = scale * f.calcValue(x)
            for k in range(n_in):
                # a plain list: SWIG converts it, whichever module's StdVectorInt is registered
                grad[r, k] = scale * f.calcDerivative([k], x)
        return value, grad

    def _coupling_matrix(self, q_row: np.ndarray) -> np.ndarray:
        """Rows ``c_j`` (in u order) such that moment arm about ``j`` = ``c_j . G``."""
        n_c = len(self._coords)
        cmat = np.zeros((n_c, self.nu))
        cmat[np.arange(n_c), self.u_index] = 1.0
        for c in self.info.couplers:
            if c.is_linear:
                grad = np.array([c.slope])
            else:
                _, g = self._coupler_value_gradient(c, q_row[None, :])
                grad = g[0]
            d_u = self.u_index[c.dependent]
            for k, i in enumerate(c.independent):
                cmat[i, d_u] += grad[k]
            if len(c.independent) == 1 and grad[0] != 0.0:
                cmat[c.dependent, self.u_index[c.independent[0]]] = 1.0 / grad[0]
        return cmat

    # -- sampling -------------------------------------------------------------------
    def _set_state(self, q_row: np.ndarray, qdot_row: np.ndarray | None) -> None:
        osim = self._osim
        qv = np.zeros(self.nq)
        qv[self.q_index] = q_row
        self.state.setQ(osim.Vector.createFromMat(qv))
        uv = np.zeros(self.nu)
        if qdot_row is not None:
            uv[self.u_index] = qdot_row
        self.state.setU(osim.Vector.createFromMat(uv))

    def generalized_forces(self, muscles: np.ndarray | None = None) -> np.ndarray:
        """``G`` (M, nu): generalized forces of a unit tension along each path (state realized).

        ``muscles`` selects rows (model order indices; all when None). The body forces of
        successive paths are accumulated and each path's ``G`` is the difference of two
        running totals (``J^T`` is linear): one force vector and one Jacobian product per
        path, with no per-path allocation (rounding: 1e-15 m). Mobility forces (moving path
        points) are read only after the paths known to add them; a row where the running
        total shows any other path adding some is recomputed reading every path, and those
        paths are remembered.
        """
        chosen = np.arange(len(self._paths)) if muscles is None else np.asarray(muscles, dtype=int)
        out = self._generalized_forces(chosen, read_all=False)
        if out is None:
            out = self._generalized_forces(chosen, read_all=True)
        return out

    def _generalized_forces(self, chosen: np.ndarray, *, read_all: bool) -> np.ndarray | None:
        osim = self._osim
        state, paths, matter, mobility = self.state, self._paths, self._matter, self._mobility
        gen = osim.Vector(self.nu, 0.0)
        bodies = osim.VectorOfSpatialVec(self._n_bodies, self._zero_sv)
        mob = osim.Vector(self.nu, 0.0)  # mobility forces of the paths that are read
        unread = osim.Vector(self.nu, 0.0)  # those of the others: must stay zero
        totals = [np.zeros(self.nu)]
        reads = []
        for row, k in enumerate(chosen.tolist()):
            read = read_all or mobility[k]
            paths[k].addInEquivalentForces(state, 1.0, bodies, mob if read else unread)
            matter.multiplyBySystemJacobianTranspose(state, bodies, gen)
            totals.append(gen.to_numpy())
            if read:
                reads.append((row, k, mob.to_numpy()))
        if not read_all and np.any(unread.to_numpy() != 0.0):
            return None  # a path not known to add mobility forces did: read them all
        out = np.diff(np.vstack(totals), axis=0)
        prev = totals[0]
        for row, k, now in reads:
            step = now - prev
            out[row] += step
            prev = now
            if np.any(step != 0.0):
                mobility[k] = True
        return out

    def sample(
        self,
        q: np.ndarray,
        qdot: np.ndarray | None = None,
        *,
        moment_arms: bool = True,
        strength: bool = True,
        progress: Callable[[int, int], None] | None = None,
        muscles: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Exact geometry at each frame.

        Parameters
        ----------
        q
            Coordinates, shape ``(F, C)``, model order, radians/metres.
        qdot
            Coordinate speeds, same shape (zeros if None: speeds are then zero).
        moment_arms, strength
            Skip those outputs when False (faster).
        progress
            Called as ``progress(done, total)`` every 50 frames.
        muscles
            Muscle indices (model order) to compute; all when None. The ``M`` axis of the
            outputs then follows this selection.

        Returns
        -------
        dict
            ``length_m`` (F, M), ``speed_m_s`` (F, M), and when asked ``moment_arm_m``
            (F, M, C) and ``strength_n`` (F, M).
        """
        q = np.atleast_2d(np.asarray(q, dtype=float))
        n_c = len(self._coords)
        if q.shape[1] != n_c:
            raise InputError(self.path, f"q has {q.shape[1]} columns, the model has {n_c} coordinates")
        if qdot is not None:
            qdot = np.atleast_2d(np.asarray(qdot, dtype=float))
            if qdot.shape != q.shape:
                raise InputError(self.path, f"qdot shape {qdot.shape} differs from q shape {q.shape}")
        if not np.all(np.isfinite(q)) or (qdot is not None and not np.all(np.isfinite(qdot))):
            raise InputError(self.path, "q or qdot has NaN or infinite values")
        want_speed = qdot is not None or strength
        q, qd = self.enforce_couplers(q, qdot)
        chosen = np.arange(len(self._muscles)) if muscles is None else np.asarray(muscles, dtype=int)
        selected = [self._muscles[int(k)] for k in chosen]
        n_f, n_m = q.shape[0], len(selected)
        out = {"length_m": np.empty((n_f, n_m)), "speed_m_s": np.zeros((n_f, n_m))}
        if moment_arms:
            out["moment_arm_m"] = np.empty((n_f, n_m, n_c))
        if strength:
            out["strength_n"] = np.empty((n_f, n_m))
        linear = all(c.is_linear for c in self.info.couplers)
        cmat = self._coupling_matrix(q[0]) if (moment_arms and n_f and linear) else None
        for f in range(n_f):
            self._set_state(q[f], qd[f])
            if want_speed:
                self.model.realizeVelocity(self.state)
            else:
                self.model.realizePosition(self.state)
            st = self.state
            out["length_m"][f] = [mu.getLength(st) for mu in selected]
            if want_speed:
                out["speed_m_s"][f] = [mu.getLengtheningSpeed(st) for mu in selected]
            if strength:
                out["strength_n"][f] = [mu.calcInextensibleTendonActiveFiberForce(st, 1.0) for mu in selected]
            if moment_arms:
                c = cmat if cmat is not None else self._coupling_matrix(q[f])
                out["moment_arm_m"][f] = self.generalized_forces(None if muscles is None else chosen) @ c.T
            if progress is not None and (f + 1) % 50 == 0:
                progress(f + 1, n_f)
        return out

    def speed_jacobian(self, q: np.ndarray, coords: np.ndarray, muscles: np.ndarray) -> np.ndarray:
        """``s[f, j, k] = dL_k/dt`` when only coordinate ``coords[j]`` moves at 1 rad/s (or m/s).

        Couplers move their dependent coordinates along. OpenSim's lengthening speed is
        ``sum_j s_j qdot_j``; ``s_j = -r_j`` except for some wrapping paths.

        Parameters
        ----------
        q
            ``(F, C)`` configurations.
        coords, muscles
            Coordinate and muscle indices (model order).

        Returns
        -------
        numpy.ndarray
            Shape ``(F, len(coords), len(muscles))``, m/s per unit speed.
        """
        osim = self._osim
        q, _ = self.enforce_couplers(np.atleast_2d(q))
        coords = np.asarray(coords, dtype=int)
        chosen = [self._muscles[int(k)] for k in muscles]
        out = np.empty((q.shape[0], coords.size, len(chosen)))
        linear = all(c.is_linear for c in self.info.couplers)
        cmat = self._coupling_matrix(q[0]) if linear and len(q) else None
        for f in range(q.shape[0]):
            self._set_state(q[f], None)
            c = cmat if cmat is not None else self._coupling_matrix(q[f])
            for jj, j in enumerate(coords):
                self.state.setU(osim.Vector.createFromMat(np.ascontiguousarray(c[j])))
                self.model.realizeVelocity(self.state)
                for kk, mu in enumerate(chosen):
                    out[f, jj, kk] = mu.getLengtheningSpeed(self.state)
        return out

    def compute_moment_arm(self, q_row: np.ndarray, muscle: str, coordinate: str) -> float:
        """OpenSim's own ``Muscle.computeMomentArm`` at one configuration (for checks)."""
        q, _ = self.enforce_couplers(np.atleast_2d(q_row))
        self._set_state(q[0], None)
        self.model.realizePosition(self.state)
        mu = self.model.getMuscles().get(muscle)
        co = self.model.getCoordinateSet().get(coordinate)
        return float(mu.computeMomentArm(self.state, co))


def exact_geometry(
    osim_path: str | Path, q: np.ndarray, qdot: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Exact lengths, speeds, moment arms and rigid-tendon strength from OpenSim.

    Parameters
    ----------
    osim_path
        The ``.osim`` model.
    q, qdot
        Shape ``(F, C)``: all model coordinates in model order (radians, metres).

    Returns
    -------
    dict
        ``length_m`` (F, M), ``speed_m_s`` (F, M), ``moment_arm_m`` (F, M, C),
        ``strength_n`` (F, M).
    """
    p = Path(osim_path)
    if not p.exists():
        raise InputError(p, "model file not found")
    return _cached_sampler(str(p.resolve()), p.stat().st_mtime_ns).sample(q, qdot)


@lru_cache(maxsize=4)
def _cached_sampler(path: str, mtime_ns: int) -> GeometrySampler:
    """One open model per file (and modification time) in this process."""
    return GeometrySampler(path)


def spanned_coordinates(osim_path: str | Path) -> np.ndarray:
    """Which coordinates each muscle's path spans, from the model's topology.

    A muscle spans the coordinates of every joint on the tree path between the bodies its
    path points and wrap objects are attached to; a coupler links its dependent and
    independent coordinates (a muscle spanning one spans the other).

    Returns
    -------
    numpy.ndarray
        Boolean, shape ``(M, C)``, muscles and coordinates in model order.
    """
    model, state = load_model(osim_path)
    return _spanned(model, state)


def _spanned(model: Any, state: Any) -> np.ndarray:
    cs = model.getCoordinateSet()
    cindex = {cs.get(i).getName(): i for i in range(cs.getSize())}
    parent: dict[str, str] = {}
    joint_coords: dict[str, list[int]] = {}
    joints = model.getJointSet()
    for i in range(joints.getSize()):
        j = joints.get(i)
        child = j.getChildFrame().findBaseFrame().getName()
        parent[child] = j.getParentFrame().findBaseFrame().getName()
        joint_coords[child] = [cindex[j.get_coordinates(k).getName()] for k in range(j.numCoordinates())]

    def ancestors(body: str) -> list[str]:
        chain = [body]
        while chain[-1] in parent and len(chain) < 1000:
            chain.append(parent[chain[-1]])
        return chain

    couplers = _couplers(model, opensim(), state, cindex)
    muscles = model.getMuscles()
    out = np.zeros((muscles.getSize(), cs.getSize()), dtype=bool)
    for m in range(muscles.getSize()):
        gp = muscles.get(m).getGeometryPath()
        bodies = set()
        pps = gp.getPathPointSet()
        for k in range(pps.getSize()):
            bodies.add(pps.get(k).getParentFrame().findBaseFrame().getName())
        ws = gp.getWrapSet()
        for k in range(ws.getSize()):
            bodies.add(ws.get(k).getWrapObject().getFrame().findBaseFrame().getName())
        chains = [ancestors(b) for b in bodies]
        common = set(chains[0]).intersection(*chains[1:]) if chains else set()
        for ch in chains:
            for b in ch:
                if b in common:
                    break
                out[m, joint_coords.get(b, [])] = True
        for c in couplers:
            if out[m, c.dependent] or out[m, c.independent].any():
                out[m, c.dependent] = True
                out[m, c.independent] = True
    return out


def conditional_switches(osim_path: str | Path) -> list[list[tuple[int, float]]]:
    """Where each muscle's ``ConditionalPathPoint`` s switch on or off.

    Returns
    -------
    list
        Per muscle, ``(coordinate index, value)`` for both ends of every conditional
        point's active range: the length has a kink and the moment arm a jump there.
    """
    model, _ = load_model(osim_path)
    return _switches(model)


def _switches(model: Any) -> list[list[tuple[int, float]]]:
    osim = opensim()
    cs = model.getCoordinateSet()
    cindex = {cs.get(i).getName(): i for i in range(cs.getSize())}
    muscles = model.getMuscles()
    out: list[list[tuple[int, float]]] = []
    for m in range(muscles.getSize()):
        pps = muscles.get(m).getGeometryPath().getPathPointSet()
        found = []
        for k in range(pps.getSize()):
            cp = osim.ConditionalPathPoint.safeDownCast(pps.get(k))
            if cp is None:
                continue
            j = cindex[cp.getCoordinate().getName()]
            found += [(j, float(cp.get_range(0))), (j, float(cp.get_range(1)))]
        out.append(found)
    return out
