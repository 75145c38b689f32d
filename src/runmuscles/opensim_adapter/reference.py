"""OpenSim-side references for the NumPy multibody code (used by tests and benchmarks).

:class:`OpenSimReference` loads a model once and answers, for arrays of coordinates in
model order, what OpenSim computes: inverse dynamics through
``InverseDynamicsSolver.solve(state, udot, appliedMobilityForces=0, appliedBodyForces)``
(Simbody's residual forces ignoring constraints), the whole-body mass centre
(``Model.calcMassCenterPosition``) and body poses. Gravity is applied as each body's
weight at its mass centre (located by OpenSim), external loads as forces at points in
ground or in the body frame, both converted to Simbody's per-mobilized-body spatial
forces (moment about the body origin, force; in ground).

Locked coordinates are unlocked in the reference model (locks are constraints, which
the residual ignores) so that any value can be set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import load_model, opensim

__all__ = ["OpenSimReference"]


class OpenSimReference:
    """An OpenSim model and state with array-in, array-out helpers.

    Parameters
    ----------
    path
        The ``.osim`` file.
    external_loads
        An ExternalLoads ``.xml`` to add to the model as OpenSim ``ExternalForce``
        components (used by :meth:`inverse_dynamics_model_forces`).
    """

    def __init__(self, path: str | Path, external_loads: str | Path | None = None) -> None:
        osim = opensim()
        self.path = Path(path)
        model, _ = load_model(self.path, init=False)
        if external_loads is not None:
            model.addModelComponent(osim.ExternalLoads(str(external_loads), True))
        cs = model.getCoordinateSet()
        self.locked = [bool(cs.get(i).get_locked()) for i in range(cs.getSize())]
        for i in range(cs.getSize()):
            cs.get(i).set_locked(False)
            cs.get(i).set_clamped(False)
        self.state = model.initSystem()
        self.model = model
        self.osim = osim
        self.coordinates = [cs.get(i) for i in range(cs.getSize())]
        self.coordinate_names = [c.getName() for c in self.coordinates]
        self.bodies = {b.getName(): b for b in model.getBodySet()}
        self.n_mobilized = max(b.getMobilizedBodyIndex() for b in self.bodies.values()) + 1
        # Position of each coordinate's speed in the state's u vector (mobility order).
        s = self.state
        self.u_index = np.empty(len(self.coordinates), dtype=int)
        for k, c in enumerate(self.coordinates):
            for other in self.coordinates:
                other.setSpeedValue(s, 0.0)
            c.setSpeedValue(s, 1.0)
            u = np.array([s.getU().get(i) for i in range(s.getNU())])
            self.u_index[k] = int(np.argmax(u))
        for other in self.coordinates:
            other.setSpeedValue(s, 0.0)
        # Only gravity and ExternalForces act in inverse_dynamics_model_forces.
        forces = model.getForceSet()
        for i in range(forces.getSize()):
            forces.get(i).setAppliesForce(s, False)
        self.solver = osim.InverseDynamicsSolver(model)
        g = model.getGravity()
        self.gravity = np.array([g.get(0), g.get(1), g.get(2)])

    # -- state ----------------------------------------------------------------------------
    def set_state(self, q: np.ndarray, qdot: np.ndarray | None = None) -> Any:
        """Set coordinate values (and speeds) in model order; realise to velocity."""
        s = self.state
        for c, v in zip(self.coordinates, q, strict=True):
            c.setValue(s, float(v), False)
        speeds = np.zeros(len(self.coordinates)) if qdot is None else qdot
        for c, v in zip(self.coordinates, speeds, strict=True):
            c.setSpeedValue(s, float(v))
        self.model.realizeVelocity(s)
        return s

    def _vec3(self, v) -> Any:
        return self.osim.Vec3(float(v[0]), float(v[1]), float(v[2]))

    @staticmethod
    def _np3(v) -> np.ndarray:
        return np.array([v.get(0), v.get(1), v.get(2)])

    # -- quantities --------------------------------------------------------------------------
    def mass_center(self, q: np.ndarray) -> np.ndarray:
        """``Model.calcMassCenterPosition`` per frame, ``(n_frames, 3)``."""
        out = np.empty((len(q), 3))
        for f, qf in enumerate(np.atleast_2d(q)):
            s = self.set_state(qf)
            out[f] = self._np3(self.model.calcMassCenterPosition(s))
        return out

    def body_poses(self, q: np.ndarray, body: str) -> tuple[np.ndarray, np.ndarray]:
        """Orientation ``(n_frames, 3, 3)`` and origin ``(n_frames, 3)`` of one body in ground."""
        b = self.bodies[body]
        R = np.empty((len(q), 3, 3))
        p = np.empty((len(q), 3))
        for f, qf in enumerate(np.atleast_2d(q)):
            s = self.set_state(qf)
            X = b.getTransformInGround(s)
            rot = X.R()
            R[f] = [[rot.get(i, j) for j in range(3)] for i in range(3)]
            p[f] = self._np3(X.p())
        return R, p

    def inverse_dynamics(
        self,
        q: np.ndarray,
        qdot: np.ndarray,
        qddot: np.ndarray,
        loads: Sequence[tuple[str, np.ndarray, np.ndarray | None, np.ndarray | None, bool]] = (),
    ) -> np.ndarray:
        """OpenSim's inverse dynamics (gravity included), ``(n_frames, n_coordinates)`` in model order.

        Parameters
        ----------
        q, qdot, qddot
            ``(n_frames, n_coordinates)`` in model order.
        loads
            ``(body, force_n (F,3) in ground, point_m (F,3) or None, torque_nm (F,3) or None,
            point_in_body)`` tuples.
        """
        osim = self.osim
        q, qdot, qddot = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (q, qdot, qddot))
        n_frames, nc = q.shape
        nu = self.state.getNU()
        out = np.empty((n_frames, nc))
        zero6 = osim.SpatialVec(osim.Vec3(0.0), osim.Vec3(0.0))
        for f in range(n_frames):
            s = self.set_state(q[f], qdot[f])
            moments: dict[int, np.ndarray] = {}
            forces: dict[int, np.ndarray] = {}
            for b in self.bodies.values():
                mbi = b.getMobilizedBodyIndex()
                origin = self._np3(b.getPositionInGround(s))
                com = self._np3(b.findStationLocationInGround(s, b.getMassCenter()))
                w = b.getMass() * self.gravity
                forces[mbi] = forces.get(mbi, np.zeros(3)) + w
                moments[mbi] = moments.get(mbi, np.zeros(3)) + np.cross(com - origin, w)
            for body, force, point, torque, in_body in loads:
                b = self.bodies[body]
                mbi = b.getMobilizedBodyIndex()
                origin = self._np3(b.getPositionInGround(s))
                if point is None:
                    pg = origin
                elif in_body:
                    pg = self._np3(b.findStationLocationInGround(s, self._vec3(point[f])))
                else:
                    pg = np.asarray(point[f], dtype=float)
                m = np.cross(pg - origin, force[f])
                if torque is not None:
                    m = m + torque[f]
                forces[mbi] = forces.get(mbi, np.zeros(3)) + force[f]
                moments[mbi] = moments.get(mbi, np.zeros(3)) + m
            body_forces = osim.VectorOfSpatialVec(self.n_mobilized, zero6)
            for mbi, fv in forces.items():
                body_forces.set(mbi, osim.SpatialVec(self._vec3(moments[mbi]), self._vec3(fv)))
            udot = osim.Vector(nu, 0.0)
            for k in range(nc):
                udot.set(int(self.u_index[k]), float(qddot[f, k]))
            mobility = osim.Vector(nu, 0.0)
            res = self.solver.solve(s, udot, mobility, body_forces)
            r = np.array([res.get(i) for i in range(nu)])
            out[f] = r[self.u_index]
        return out

    def inverse_dynamics_model_forces(
        self, time_s: np.ndarray, q: np.ndarray, qdot: np.ndarray, qddot: np.ndarray
    ) -> np.ndarray:
        """OpenSim's inverse dynamics with the forces the model itself applies.

        ``InverseDynamicsSolver.solve(state, udot)``: gravity and the ``ExternalForce``
        components given to the constructor (evaluated by OpenSim at ``time_s``, from its
        own reading of the force file); the model's own forces (muscles...) are disabled.
        Returns ``(n_frames, n_coordinates)`` in model order.
        """
        osim = self.osim
        q, qdot, qddot = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (q, qdot, qddot))
        s = self.state
        nu = s.getNU()
        out = np.empty(q.shape)
        for f in range(q.shape[0]):
            s.setTime(float(time_s[f]))
            self.set_state(q[f], qdot[f])
            self.model.realizeDynamics(s)
            udot = osim.Vector(nu, 0.0)
            for k in range(q.shape[1]):
                udot.set(int(self.u_index[k]), float(qddot[f, k]))
            res = self.solver.solve(s, udot)
            r = np.array([res.get(i) for i in range(nu)])
            out[f] = r[self.u_index]
        return out
