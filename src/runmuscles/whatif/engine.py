"""The what-if engine: one analysed trial, its body's kinematics (centre of mass, feet, root
translations), and :meth:`WhatIfEngine.evaluate`, which applies a condition's transformations in order
and runs the stages after kinematics again."""

from __future__ import annotations

import math
import time as _time
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InputError, ModelError
from ..kinematics.coordinates import CoordinateKinematics
from ..kinematics.filters import butterworth3_filtfilt, pad_odd, quintic_spline_derivative
from ..pipeline import TrialAnalysis, analyze_motion
from .cadence import change_cadence
from .condition import SURFACES, Condition
from .grade import slope_adaptation, tilt_gravity
from .lean import lean_trunk
from .leg_ik import solve_legs
from .overstride import overstride
from .result import WhatIfResult, result_from_analysis
from .state import State
from .strike import realized_landing, set_strike
from .surface import change_surface


class WhatIfEngine:
    """One analysed trial, ready to be recomputed under other conditions.

    Parameters
    ----------
    analysis
        A :class:`~runmuscles.pipeline.TrialAnalysis` with ground reaction forces and at
        least one complete stride cycle.
    surface
        How the trial was recorded (``"treadmill"``/``"overground"``); ``None``: detected
        from the pelvis's progression (a treadmill runner stays in place).
    """

    def __init__(self, analysis: TrialAnalysis, *, surface: str | None = None) -> None:
        from ..model import RunnerModel  # noqa: PLC0415

        a = analysis
        if not a.body_loads:
            raise InputError(
                a.coordinates_path, "what-if needs ground reaction forces (none in this analysis)"
            )
        if not a.cycles:
            raise InputError(a.coordinates_path, "what-if needs at least one complete stride cycle")
        self.analysis = a
        self.model = RunnerModel.load(a.model_path, cache_dir=a.options.cache_dir)
        if a.residual_reduction is not None:  # the reduced motion goes with the adjusted masses
            self.model = replace(self.model, multibody=a.residual_reduction.multibody)
        mb = self.model.multibody
        self.mb = mb
        self.names = list(mb.coordinate_names)
        g = np.asarray(mb.gravity_m_s2, dtype=float)
        self.g_m_s2 = g
        self.up = -g / np.linalg.norm(g)
        R, p = self.model.body_poses(a.coordinates.q)
        self.bodies = list(self.model.body_names)
        pel = self.body_index("pelvis")
        fwd = R[:, pel, :, 0].mean(axis=0)
        fwd -= (fwd @ self.up) * self.up
        self.fwd = fwd / np.linalg.norm(fwd)
        self.side_axis = np.cross(self.fwd, self.up)
        self.mass_kg = float(mb.total_mass_kg)
        # root translations: unit axis in ground of each translational root coordinate
        self.root_cols, self.root_axes = self._root_translations()
        self._feet = {
            f"{b}_{s}": self.bodies[self.body_index(f"{b}_{s}")] for b in ("toes", "calcn") for s in "rl"
        }
        self._feet_branch = mb.branch(list(self._feet.values()))
        self._kin_cache: dict[bytes, Any] = {}
        t = a.time_s
        prog = (p[-1, pel] - p[0, pel]) @ self.fwd
        self.speed_m_s = a.options.speed_m_s
        dur = float(t[-1] - t[0])
        if surface is None:
            if self.speed_m_s:
                surface = "treadmill" if abs(prog) < 0.3 * self.speed_m_s * dur else "overground"
            else:
                surface = "treadmill" if abs(prog) < 0.5 * dur else "overground"
        if surface not in SURFACES:
            raise InputError("surface", f"'{surface}' is not one of treadmill, overground")
        self.surface = surface
        self._baseline: WhatIfResult | None = None

    def require_speed(self, what: str) -> float:
        if not self.speed_m_s:
            raise InputError("speed_m_s", f"{what} needs the running speed (unknown for this trial)")
        return float(self.speed_m_s)

    def body_index(self, stem: str) -> int:
        for i, n in enumerate(self.bodies):
            if n == stem or n.startswith(stem):
                return i
        raise ModelError(f"the model has no body '{stem}' (needed for what-if)")

    def _root_translations(self) -> tuple[list[int], np.ndarray]:
        mb = self.mb
        cols, axes = [], []
        for j in range(mb.n_joints):
            if mb.parent[j] != 0:
                continue
            for k in range(3, 6):
                c = int(mb.axis_coordinate[j, k])
                if c >= 0 and mb.motion_types[c] == "translational":
                    cols.append(c)
                    axes.append(mb.parent_R[j] @ mb.axes[j, k])
        if len(cols) < 2:
            raise ModelError(f"model '{mb.name}' has no free-floating pelvis (translations)")
        return cols, np.array(axes)

    def shift_root(self, st: State, dp: np.ndarray) -> None:
        """Move the whole body by ``dp`` (``(F, 3)`` m in ground) through the root translations."""
        A = self.root_axes.T  # (3, k)
        dc = np.linalg.lstsq(A, dp.T, rcond=None)[0].T  # (F, k)
        st.dq[:, self.root_cols] += dc

    def _complete(self, q: np.ndarray) -> np.ndarray:
        from ..model.multibody import fill_dependent_coordinates  # noqa: PLC0415

        return fill_dependent_coordinates(self.mb, q)[0]

    def _kinematics(self, q: np.ndarray):
        """Forward kinematics of the whole body at ``q``; the last few poses are kept, as a
        transformation asks for the same pose's feet, centre of mass and body origins."""
        from ..model.multibody import forward_kinematics  # noqa: PLC0415

        key = q.tobytes()
        kin = self._kin_cache.pop(key, None)
        if kin is None:
            kin = forward_kinematics(self.mb, self._complete(q))
        self._kin_cache[key] = kin  # most recent last
        while len(self._kin_cache) > 4:
            self._kin_cache.pop(next(iter(self._kin_cache)))
        return kin

    def poses(self, q: np.ndarray):
        kin = self._kinematics(q)
        return np.transpose(kin.R_t, (3, 2, 0, 1)), np.transpose(kin.p_t, (2, 1, 0))

    def com(self, q: np.ndarray) -> np.ndarray:
        from ..model.multibody import mass_center  # noqa: PLC0415

        return mass_center(self.mb, q, kinematics=self._kinematics(q))[0]

    def foot_state(self, q: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per side: the ball of the foot (``toes`` origin, the metatarsophalangeal joint)
        position ``(F, 3)`` and the foot's pitch (``calcn`` x axis; rad, toes up positive).

        The ball is what a foot rolls over in late stance, so inverse kinematics that holds it
        on its ground path lets the ankle plantarflex where the leg cannot reach further."""
        from ..model.multibody import forward_kinematics  # noqa: PLC0415

        kin = self._kin_cache.get(q.tobytes())
        if kin is None:  # the feet alone (inverse kinematics' trial poses): the legs' branch
            kin = forward_kinematics(self._feet_branch, self._complete(q))
            index = self._feet_branch.body_index
        else:
            index = self.mb.body_index
        out = {}
        for s in ("r", "l"):
            ball, ca = index(self._feet[f"toes_{s}"]), index(self._feet[f"calcn_{s}"])
            p = kin.p_t[:, ball].T
            x = kin.R_t[:, 0, ca].T  # calcn x axis in ground, (F, 3)
            pitch = np.arctan2(x @ self.up, x @ self.fwd)
            out[s] = (p, pitch)
        return out

    def defer_shift(self, st: State, dp: np.ndarray) -> None:
        """A pelvis shift (m, ``(F, 3)``) that moves the centre of mass where the forces want
        it, with the feet on their targets already: the next pelvis shift and leg solve
        (:func:`.loads.balance_external`) or :meth:`settle` apply it, so that one leg solve serves
        several transformations."""
        st.pending_shift = dp if st.pending_shift is None else st.pending_shift + dp

    def settle(self, st: State) -> None:
        """Apply a deferred pelvis shift, the feet kept where they are."""
        if st.pending_shift is None:
            return
        target = self.foot_state(st.q + st.dq)
        self.shift_root(st, st.pending_shift)
        st.pending_shift = None
        self.with_ik(st, target)

    def with_ik(self, st: State, target: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        q_now = st.q + st.dq
        q_new, st.ik_jacobian = solve_legs(self, q_now, target, jacobian=st.ik_jacobian)
        st.dq += q_new - q_now

    def baseline(self, *, energetics: bool = False) -> WhatIfResult:
        """The analysed trial as a what-if result (nothing transformed)."""
        if self._baseline is None or (energetics and not self._baseline.energetics):
            self._baseline = result_from_analysis(Condition(), self.analysis, [], energetics=energetics)
        return self._baseline

    def evaluate(self, condition: Condition, *, energetics: bool = False) -> WhatIfResult:
        """Transform the trial to ``condition`` and recompute dynamics and muscles.

        ``condition.speed_m_s`` must be ``None`` or the trial's speed (other speeds: use
        :class:`SpeedModel`)."""
        cond = condition
        cond.validate()
        if cond.speed_m_s is not None and not (
            self.speed_m_s and abs(cond.speed_m_s - self.speed_m_s) < 1e-6
        ):
            raise InputError(
                "speed_m_s",
                f"this trial was run at {self.speed_m_s or 'an unknown speed'} m/s; "
                "other speeds come from the runner's trials at other speeds (SpeedModel)",
            )
        t0 = _time.perf_counter()
        a = self.analysis
        ck = a.coordinates
        st = State(
            t=ck.time_s,
            q=ck.q,
            qd=ck.qdot,
            qdd=ck.qddot,
            loads=list(a.body_loads),
            extra=list(a.extra_loads or []),
            cycles=list(a.cycles),
            events=a.events,
            dq=np.zeros_like(ck.q),
            notes=[],
        )
        adapt = cond.slope_adaptation and cond.grade_pct != 0.0
        cadence, lean_rad, foot_rad = slope_adaptation(self, cond, st) if adapt else (1.0, 0.0, 0.0)
        if cond.cadence_pct is not None:  # asked for: used as given
            cadence = cond.cadence_pct / 100.0
        if cadence != 1.0:
            change_cadence(self, st, cadence)
        if lean_rad != 0.0:  # the slope's: trunk to gravity, centre of mass with it
            lean_trunk(self, st, lean_rad, keep_com=False)
        if cond.lean_deg != 0.0:
            self.settle(st)
            lean_trunk(self, st, math.radians(cond.lean_deg))
        if cond.overstride_m != 0.0:
            self.settle(st)
            overstride(self, st, cond.overstride_m)
        if cond.strike is not None:
            set_strike(self, st, cond.strike)
        elif foot_rad != 0.0:
            set_strike(self, st, None, delta_rad=foot_rad)
        if cond.grade_pct != 0.0:
            tilt_gravity(self, st, cond.grade_pct)
        surface = cond.surface or self.surface
        if surface != self.surface or cond.wind_m_s or cond.belt_fluctuation_pct:
            self.settle(st)
            change_surface(self, st, surface, cond)
        self.settle(st)
        t_transform = _time.perf_counter() - t0
        if st.dq.any():
            dt = float(st.t[1] - st.t[0])
            # the changes are low-passed like the measured coordinates were (a joint that
            # reaches its range limit would otherwise put a kink into the accelerations)
            cutoff = a.options.lowpass_hz or 12.0
            n_pad = min(st.dq.shape[0] - 1, int(round(0.5 / dt)))
            st.dq = butterworth3_filtfilt(pad_odd(st.dq, n_pad), dt, cutoff)[n_pad : -n_pad or None]
            d1 = quintic_spline_derivative(st.dq, dt)
            d2 = quintic_spline_derivative(d1, dt)
            q, qd, qdd = self.model.complete_coordinates(st.q + st.dq, st.qd + d1, st.qdd + d2)
        else:
            q, qd, qdd = st.q, st.qd, st.qdd
        new_ck = CoordinateKinematics(
            st.t, ck.names, q, qd, qdd, ck.source, ck.lowpass_hz, list(ck.notes), list(ck.warnings)
        )
        vertical = {"time_s": st.t}
        from ..pipeline import foot_side  # noqa: PLC0415

        for ld in st.loads:
            side = foot_side(ld.body)
            if side:
                vertical[side] = vertical.get(side, 0.0) + ld.force_n @ self.up
        opts = replace(a.options, residual_reduction=False)  # conditions start from the reduced motion
        res = analyze_motion(
            self.model,
            new_ck,
            st.loads,
            opts,
            events=st.events,
            cycles=st.cycles,
            vertical_grf_n=vertical,
            sources=(a.model_path, a.coordinates_path, a.external_loads_path),
            external_loads=a.external_loads,
            extra_loads=st.extra or None,
            foot_strike_from_file=all(x is y for x, y in zip(st.loads, a.body_loads, strict=True))
            and st.t is ck.time_s,
        )
        if cond.strike is not None or foot_rad != 0.0:
            dt = float(st.t[1] - st.t[0])
            st.notes.append(
                realized_landing(self.analysis.foot_strike, res.foot_strike, st.changed_strikes, dt)
            )
        res.timings_s["transform"] = t_transform
        res.timings_s["total"] = _time.perf_counter() - t0
        res.residual_reduction = a.residual_reduction  # the adjusted model it ran on (for export_opensim)
        return result_from_analysis(cond, res, st.notes, energetics=energetics)
