"""The analysis of one running trial, from files to per-muscle results.

``readers -> model -> kinematics -> dynamics -> muscles -> analyses``: this module only
orchestrates the stages; each stage lives in its own subpackage. The command line
(:mod:`runmuscles.cli`), reports and batch jobs call :func:`analyze_trial`.

Assumptions, all recorded in the result's ``settings`` and ``quality`` sections:

* coordinates are processed as OpenSim's AnalyzeTool does (pad, third-order Butterworth
  low-pass forwards and backwards, quintic-spline derivatives);
* ground reaction forces are interpolated linearly to the frame times;
* the masses, the trunk's mass centre and the pelvis motion are first adjusted within small
  bounds so that the pelvis residuals fall within the Hicks et al. 2015 thresholds (residual
  reduction, :mod:`runmuscles.dynamics.residual_reduction`; on by default, off with
  ``residual_reduction=False``); every later stage uses the adjusted model and motion;
* muscles have rigid tendons and produce ``activation x F0 x fl x fv x cos(pennation)``
  (OpenSim's StaticOptimization with ``use_muscle_physiology``), passive fibre force is
  not counted;
* every unlocked independent coordinate has a reserve actuator (1 N m per unit control by
  default, so muscles are preferred and reserves show where muscles are too weak).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import __version__
from .analyses.groups import group_members
from .analyses.stride import (
    STANDARD_GRAVITY_M_S2,
    StrideMetrics,
    group_rows,
    stride_metrics,
    time_normalize,
)
from .constants import HICKS_RESIDUAL_FORCE_FRACTION, HICKS_RESIDUAL_MOMENT_FRACTION
from .errors import InputError
from .kinematics.coordinates import CoordinateKinematics, prepare_coordinates
from .kinematics.events import GaitEvents, StrideCycle, detect_gait_events, side_phase_labels
from .muscles.recruitment import (
    RecruitmentProblem,
    RecruitmentResult,
    Reserves,
    build_recruitment_problem,
    solve_recruitment,
)
from .plausibility import check_inputs
from .quality import SCHEMA_VERSION, QualityWarning, merge_warnings, quality_mark
from .readers.opensim_files import ExternalLoads, read_external_loads, read_storage
from .validation import check, check_choice, check_window

if TYPE_CHECKING:
    from .analyses.emg import EmgOptions, EmgRecording

__all__ = [
    "AnalysisOptions",
    "TrialAnalysis",
    "analyze_motion",
    "analyze_runner_trials",
    "analyze_trial",
    "foot_side",
]


@dataclass
class AnalysisOptions:
    """Settings of one analysis (all are recorded in the summary).

    Attributes
    ----------
    lowpass_hz
        Low-pass cutoff for coordinates (Hz); ``None``: no filtering.
    activation_exponent
        Exponent of the static-optimization objective.
    reserve_optimal_force
        Generalized force per unit control of each reserve (N m or N).
    strength
        ``"volume"`` (default): muscle volumes from body mass and height (Handsfield et al.
        2014) with a specific tension (see :mod:`runmuscles.model.strength`); it gives
        level-running costs of 3.8-4.5 J/kg/m on the Hamner 2013 runners at 3-4 m/s,
        within the 3.4-4.6 measured. ``"model"``: the model's own maximum isometric forces
        (OpenSim's static optimization; the default of :mod:`runmuscles.so`).
    height_m
        Runner's height for the volume strength model (``None``: the scaled model's stature,
        :meth:`runmuscles.model.RunnerModel.estimated_height_m`, said in the quality notes).
    cycle
        Analyse only this stride cycle (1-based) of ``side``; ``None``: every complete one
        inside the window.
    side
        Reference foot for stride cycles (``right``/``left``).
    start_s, end_s
        Analysis window (seconds); ``None``: the data's extent.
    speed_m_s
        Running speed, if known (reported and used for per-kilometre loads).
    reserves
        Reserve actuators to use instead of the default one per coordinate.
    start_at_frame_before
        Start at the last frame at or before ``start_s`` (OpenSim's AnalyzeTool does this),
        rather than the first frame at or after it.
    require_gait_events
        Fail when foot strikes cannot be found (no forces, forces not on feet); when
        False the analysis runs without stride cycles (OpenSim's SO does not need them).
    cache_dir
        Where model caches live (default: the user cache folder).
    input_path
        How the inputs were made from the lab's files (e.g. by :mod:`runmuscles.lab`), one line.
    input_notes, input_flags, input_quality
        What making them assumed and found (notes and flags lead the quality section's;
        ``input_quality`` goes to ``quality["input"]``).
    standing_foot_angle_rad
        ``{"r": ..., "l": ...}``: each foot's heel-to-ball angle standing (the static pose),
        the zero of the foot-strike angle; ``None``: the model's default pose.
    analysis_kind
        ``"stride"``, or ``"stance_only"`` when the forces measure no complete stride cycle
        (overground plates under fewer than three consecutive steps): ``summary.json``'s
        ``analysis_kind``.
    emg
        EMG to compare with the activations (:class:`runmuscles.analyses.emg.EmgOptions`);
        its channels are read and mapped before the analysis, and ``summary.json`` gets an
        ``emg`` block.
    residual_reduction
        Adjust the masses, the trunk's mass centre and the pelvis motion so that the pelvis
        residuals fall within the Hicks et al. 2015 thresholds where the data allow
        (:func:`runmuscles.dynamics.residual_reduction.reduce_residuals`, as OpenSim's RRA);
        the analysis then runs on the adjusted motion and model (its body mass, joint
        torques, muscle strength and per-kilogram numbers all from the adjusted masses), and
        ``summary.json``'s quality section gets a ``residual_reduction`` block. On by default
        (issue 15: a muscle solution on motion that disagrees with its forces is partly an
        artefact); ``runmuscles so``, the exact OpenSim drop-in, runs without it.
    muscles
        ``"static"`` (static optimization, rigid tendons) or ``"dynamic"`` (compliant tendons
        and activation dynamics by direct collocation, seeded from the static solution:
        :mod:`runmuscles.muscles.dynamic`); if the dynamic solution fails, the static one
        stays the result with a ``dynamic_not_converged`` quality warning.
    """

    lowpass_hz: float | None = 12.0
    activation_exponent: float = 2.0
    reserve_optimal_force: float = 1.0
    strength: str = "volume"
    height_m: float | None = None
    cycle: int | None = None
    side: str = "right"
    start_s: float | None = None
    end_s: float | None = None
    speed_m_s: float | None = None
    speed_source: str = ""
    reserves: Reserves | None = None
    require_gait_events: bool = True
    forces_source: str = "measured"
    start_at_frame_before: bool = False
    cache_dir: Path | None = None
    input_path: str = ""
    input_notes: list[str] = field(default_factory=list)
    input_flags: list[str] = field(default_factory=list)
    input_quality: dict = field(default_factory=dict)
    standing_foot_angle_rad: dict[str, float] | None = None
    input_warnings: list[QualityWarning] = field(default_factory=list)
    analysis_kind: str = "stride"
    emg: EmgOptions | None = None
    residual_reduction: bool = True
    muscles: str = "static"

    def __post_init__(self) -> None:
        # the declared limits (runmuscles.validation): the same rules from every shell
        check("lowpass_hz", self.lowpass_hz, "lowpass_hz")
        check("activation_exponent", self.activation_exponent, "activation_exponent")
        check("height_m", self.height_m, "height_m")
        check("speed_m_s", self.speed_m_s, "speed_m_s")
        check("start_s", self.start_s, "start_s")
        check("end_s", self.end_s, "end_s")
        check("cycle", self.cycle, "cycle")
        check_choice("strength", self.strength, "strength")
        check_choice("muscles", self.muscles, "muscles")
        if self.analysis_kind not in ("stride", "stance_only"):
            raise InputError("analysis_kind", f"'{self.analysis_kind}' is not one of stride, stance_only")
        if self.side not in ("right", "left"):
            raise InputError("side", f"'{self.side}' is not one of right, left")
        check_window(self.start_s, self.end_s)

    def as_dict(self) -> dict:
        skip = (
            "reserves",
            "cache_dir",
            "input_notes",
            "input_flags",
            "input_quality",
            "input_warnings",
            "standing_foot_angle_rad",
            "emg",
        )
        d = {k: v for k, v in self.__dict__.items() if k not in skip}
        d["reserves"] = "custom" if self.reserves is not None else "one per independent coordinate"
        return d


def foot_side(body: str) -> str | None:
    """``'right'``/``'left'`` for a foot body name (``calcn_r``, ``toes_l``, ``foot_r``...)."""
    b = body.lower()
    if b.endswith("_r") or b.startswith("r_"):
        return "right"
    if b.endswith("_l") or b.startswith("l_"):
        return "left"
    return None


@dataclass
class TrialAnalysis:
    """Everything one analysis produced (arrays are per frame unless said otherwise)."""

    model_path: Path
    model_name: str
    coordinates_path: Path
    external_loads_path: Path | None
    options: AnalysisOptions
    body_mass_kg: float
    time_s: np.ndarray
    coordinates: CoordinateKinematics
    generalized_forces: np.ndarray
    recruitment: RecruitmentResult
    muscle_length_m: np.ndarray
    muscle_speed_m_s: np.ndarray
    events: GaitEvents
    cycles: list[StrideCycle]
    metrics: list[StrideMetrics]
    vertical_grf_n: dict[str, np.ndarray]
    quality: dict
    timings_s: dict[str, float] = field(default_factory=dict)
    problem: RecruitmentProblem | None = None
    external_loads: ExternalLoads | None = None
    foot_strike: dict | None = None
    emg: EmgRecording | None = field(default=None, repr=False)
    body_loads: list | None = field(default=None, repr=False)
    extra_loads: list | None = field(default=None, repr=False)
    residual_reduction: object | None = field(default=None, repr=False)
    _summary: dict | None = field(default=None, repr=False)

    @property
    def muscle_names(self) -> list[str]:
        return self.recruitment.muscle_names

    @property
    def muscle_power_w(self) -> np.ndarray:
        """Musculotendon power, positive when shortening under tension (W)."""
        return -self.recruitment.muscle_force_n * self.muscle_speed_m_s

    @property
    def body_weight_n(self) -> float:
        return self.body_mass_kg * STANDARD_GRAVITY_M_S2

    # -- tables --------------------------------------------------------------------------
    def phase_per_frame(self, side: str | None = None) -> np.ndarray:
        """Phase name per frame of one leg (``right``/``left``; default: the reference foot's),
        each leg in its own phases inside the analysed strides; '' outside them."""
        lab = np.full(self.time_s.shape, "", dtype=object)
        for c in self.cycles:
            leg = side or c.side
            # the other leg by its own cycles (the reference stride's when it has none)
            own = [c] if leg == c.side else (self.events.cycles.get(leg) or [c])
            got = side_phase_labels(self.time_s, own, c.start_s, c.end_s)
            lab[got != ""] = got[got != ""]
        return lab

    def muscle_phase_per_frame(self) -> np.ndarray:
        """``(F, M)`` phase name per frame and muscle: each muscle in its own leg's phase
        (``_r``/``_l``; a muscle with no side follows the reference foot)."""
        from .analyses.groups import muscle_side  # noqa: PLC0415

        per_side = {sd: self.phase_per_frame(sd) for sd in ("right", "left")}
        ref = self.phase_per_frame()
        cols = [per_side.get(muscle_side(m), ref) for m in self.muscle_names]
        if not cols:
            return np.full((self.time_s.size, 0), "", dtype=object)
        return np.stack(cols, axis=1)

    def muscle_rows(self) -> list[dict]:
        bw = self.body_weight_n
        rows = []
        for m in self.metrics:
            for j, name in enumerate(m.muscle_names):
                rows.append(
                    {
                        "cycle": m.cycle.index,
                        "muscle": name,
                        "impulse_n_s": float(m.impulse_n_s[j]),
                        "stance_impulse_n_s": float(
                            m.phases["braking"]["impulse_n_s"][j] + m.phases["propulsion"]["impulse_n_s"][j]
                        ),
                        "impulse_bw_s": float(m.impulse_n_s[j] / bw),
                        "positive_work_j": float(m.positive_work_j[j]),
                        "negative_work_j": float(m.negative_work_j[j]),
                        "peak_force_n": float(m.peak_force_n[j]),
                        "peak_force_bw": float(m.peak_force_n[j] / bw),
                        "peak_activation": float(m.peak_activation[j]),
                        "mean_activation": float(m.mean_activation[j]),
                    }
                )
        return rows

    def group_rows(self) -> list[dict]:
        rows: list[dict] = []
        for m in self.metrics:
            rows.extend(group_rows(m, self.body_mass_kg))
        return rows

    def normalized(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Mean over strides of activation and force at 0-100 % of the cycle (101 points).

        Each muscle over its own leg's stride, from that foot's strike (``_r`` the right
        foot's, ``_l`` the left's; no side: the reference foot's): the leg's complete cycles
        inside the analysed frames, or, when there are none (one stride of the reference
        foot), the analysed stride read from that leg's foot strike on and wrapped around
        (running is periodic).
        """
        if not self.cycles:
            return None
        from .analyses.groups import muscle_side  # noqa: PLC0415

        rec = self.recruitment
        t = self.time_s
        both = np.concatenate([rec.activation, rec.muscle_force_n], axis=1)
        M = len(rec.muscle_names)
        per_side = {}
        for side in ("right", "left"):
            own = [
                c
                for c in self.events.cycles.get(side, [])
                if c.start_s >= t[0] - 1e-9 and c.end_s <= t[-1] + 1e-9
            ]
            if side == self.cycles[0].side:
                own = self.cycles
            runs = [time_normalize(t, both, c.start_s, c.end_s)[1] for c in own]
            if not runs:
                runs = [self._wrapped(both, c, side) for c in self.cycles]
            per_side[side] = np.mean([r for r in runs if r is not None], axis=0) if runs else None
        pct = np.linspace(0.0, 100.0, 101)
        ref = per_side[self.cycles[0].side]
        cols = np.stack(
            [
                (per_side.get(muscle_side(m)) if per_side.get(muscle_side(m)) is not None else ref)[
                    :, [j, M + j]
                ]
                for j, m in enumerate(rec.muscle_names)
            ],
            axis=1,
        )
        return pct, cols[:, :, 0], cols[:, :, 1]

    def _wrapped(self, values: np.ndarray, c: StrideCycle, side: str) -> np.ndarray:
        """``values`` over the reference stride ``c``, starting at ``side``'s foot strike inside
        it and wrapped around its end (101 points); the reference stride itself when that foot
        does not strike inside it."""
        strikes = [x.start_s for x in self.events.cycles.get(side, []) if c.start_s < x.start_s < c.end_s] + [
            float(s)
            for s in getattr(self.events.feet.get(side), "foot_strikes_s", [])
            if c.start_s < s < c.end_s
        ]
        if not strikes:
            return time_normalize(self.time_s, values, c.start_s, c.end_s)[1]
        s0 = min(strikes)
        pct = np.linspace(0.0, 100.0, 101)
        at = s0 + c.duration_s * pct / 100.0
        at = np.where(at > c.end_s, at - c.duration_s, at)
        from .analyses.stride import interp_rows  # noqa: PLC0415

        return interp_rows(np.asarray(self.time_s, dtype=float), np.asarray(values, dtype=float), at)

    def group_summary(self) -> dict[str, dict]:
        """Per group (both sides), mean over strides: loads per stride and shares."""
        rows = [r for r in self.group_rows() if r["side"] == "both"]
        groups = group_members(self.muscle_names)
        out: dict[str, dict] = {}
        per_km = None
        if self.options.speed_m_s and self.cycles:
            stride_len = self.options.speed_m_s * np.mean([c.duration_s for c in self.cycles])
            per_km = 1000.0 / stride_len
        for g, members in groups.items():
            stride = [r for r in rows if r["group"] == g and r["phase"] == "stride"]
            if not stride:
                continue
            entry = {
                "muscles": members,
                "share_of_impulse": float(np.mean([r["share_of_impulse"] for r in stride])),
                "share_of_positive_work": float(np.mean([r["share_of_positive_work"] for r in stride])),
                "impulse_bw_s_per_stride": float(np.mean([r["impulse_bw_s"] for r in stride])),
                "positive_work_j_per_kg_per_stride": float(
                    np.mean([r["positive_work_j_per_kg"] for r in stride])
                ),
                "negative_work_j_per_kg_per_stride": float(
                    np.mean([r["negative_work_j_per_kg"] for r in stride])
                ),
                "phase_share_of_impulse": {},
            }
            if per_km is not None:
                entry["impulse_bw_s_per_km"] = entry["impulse_bw_s_per_stride"] * per_km
                entry["positive_work_j_per_kg_per_km"] = entry["positive_work_j_per_kg_per_stride"] * per_km
            for ph in ("braking", "propulsion", "early_swing", "late_swing"):
                sel = [r for r in rows if r["group"] == g and r["phase"] == ph]
                entry["phase_share_of_impulse"][ph] = float(np.mean([r["share_of_impulse"] for r in sel]))
            out[g] = entry
        return out

    def stride_quality(self) -> list[dict]:
        """Per stride: timing, peak force, reserves, saturation, residuals and flags."""
        bw = self.body_weight_n
        rec = self.recruitment
        t = self.time_s
        root = self.quality.get("residuals", {})
        out = []
        for c in self.cycles:
            sel = (t >= c.start_s - 1e-9) & (t <= c.end_s + 1e-9)
            fy = self.vertical_grf_n.get(c.side)
            tg = self.vertical_grf_n["time_s"]
            peak = None
            if fy is not None:
                g = (tg >= c.start_s) & (tg <= c.toe_off_s)
                peak = float(fy[g].max() / bw) if g.any() else None
            muscled = [
                k
                for k, n in enumerate(rec.reserve_names)
                if n in self.quality.get("muscle_coordinate_reserves", [])
            ]
            res_peak = (
                float(np.abs(rec.reserve_force[sel][:, muscled]).max()) if muscled and sel.any() else 0.0
            )
            sat = [m for m, s in zip(rec.muscle_names, rec.saturated[sel].any(axis=0), strict=True) if s]
            flags = []
            if c.stance_fraction > 0.65:
                flags.append("stance longer than 65 % of the stride")
            if res_peak > 10.0:
                flags.append(f"reserve torque up to {res_peak:.0f} N m on muscle-actuated coordinates")
            if sat:
                flags.append(f"{len(sat)} muscles at full activation")
            entry = {
                "cycle": c.index,
                "side": c.side,
                "start_s": c.start_s,
                "toe_off_s": c.toe_off_s,
                "braking_end_s": c.braking_end_s,
                "end_s": c.end_s,
                "stride_time_s": c.duration_s,
                "stance_fraction": c.stance_fraction,
                "peak_vertical_grf_bw": peak,
                "reserve_peak_nm_on_muscle_coordinates": res_peak,
                "saturated_muscles": sat,
                "flags": flags,
            }
            for kind, r in root.items():
                idx = [self.coordinates.names.index(n) for n in r["coordinates"]]
                v = self.generalized_forces[sel][:, idx]
                entry[f"pelvis_residual_{kind}_peak"] = float(np.abs(v).max()) if v.size else 0.0
                if v.size and np.abs(v).max() > r["threshold_hicks_2015"]:
                    flags.append(f"pelvis residual {kind.split('_')[0]}s above Hicks et al. 2015 threshold")
            out.append(entry)
        return out

    def summary(self) -> dict:
        """Headline numbers with units in key names (what ``summary.json`` holds).

        Computed once per analysis (the result is kept); treat it as read-only.
        """
        if self._summary is None:
            self._summary = self._make_summary()
        return self._summary

    def _make_summary(self) -> dict:
        strides = self.cycles
        stride_q = self.stride_quality()
        peak_grf = [s["peak_vertical_grf_bw"] for s in stride_q if s["peak_vertical_grf_bw"] is not None]
        top = sorted(self.muscle_rows(), key=lambda r: -r["impulse_bw_s"])
        seen: set[str] = set()
        top_muscles = []
        for r in top:
            if r["muscle"] in seen:
                continue
            seen.add(r["muscle"])
            top_muscles.append(
                {
                    k: r[k]
                    for k in ("muscle", "impulse_bw_s", "positive_work_j", "peak_force_bw", "peak_activation")
                }
            )
            if len(top_muscles) == 10:
                break
        from .analyses.energetics import energetics_summary  # noqa: PLC0415

        energy = energetics_summary(self)
        # the energy figures' plausibility (one rule, runmuscles.analyses.validity); a what-if's
        # grade, where it judged this analysis before, is kept
        from .analyses.validity import mark_energy_plausibility  # noqa: PLC0415

        grade = self.quality.get("energy_plausibility", {}).get("grade_pct", 0.0)
        mark_energy_plausibility(self.quality, energy["metabolic_cost_j_per_kg_m"], grade_pct=grade)
        groups = self.group_summary()
        for g, entry in groups.items():
            entry["fast_fibre_share"] = energy["fast_fibre_share"].get(g)
        emg = {}
        if self.emg is not None:
            from .analyses.emg import compare_emg  # noqa: PLC0415

            emg["emg"] = compare_emg(
                self.emg, self.time_s, self.recruitment.activation, self.muscle_names, self.events
            )
        return {
            "schema_version": SCHEMA_VERSION,
            "runmuscles_version": __version__,
            "model_name": self.model_name,
            "analysis_kind": self.options.analysis_kind,
            "body_mass_kg": self.body_mass_kg,
            "speed_m_s": self.options.speed_m_s,
            "speed_source": self.options.speed_source or ("given" if self.options.speed_m_s else "unknown"),
            "analysis_window_s": [float(self.time_s[0]), float(self.time_s[-1])],
            "n_frames": int(self.time_s.size),
            "n_strides": len(strides),
            "stride_time_s": float(np.mean([c.duration_s for c in strides])) if strides else None,
            "stride_frequency_hz": float(1.0 / np.mean([c.duration_s for c in strides])) if strides else None,
            "stance_fraction": float(np.mean([c.stance_fraction for c in strides])) if strides else None,
            "peak_vertical_grf_bw": float(np.mean(peak_grf)) if peak_grf else None,
            "foot_strike": self.foot_strike,
            "metabolic_cost_j_per_kg_m": energy["metabolic_cost_j_per_kg_m"],
            "metabolic_cost_flagged": self.quality.get("figures_flagged", {}).get("energy", False),
            "metabolic_power_w_per_kg": energy["metabolic_power_w_per_kg"],
            "groups": groups,
            "energetics": energy,
            "top_muscles_by_impulse": top_muscles,
            "quality": self.quality,
            "strides": stride_q,
            "settings": self.options.as_dict(),
            "provenance": {
                "model": str(self.model_path),
                "coordinates": str(self.coordinates_path),
                "external_loads": str(self.external_loads_path) if self.external_loads_path else None,
                "method": "inverse dynamics (runmuscles, equal to OpenSim's InverseDynamicsSolver) and "
                "static optimization (min sum activation^p, rigid tendon, force-length-velocity)",
                "dynamic_muscle_parameters": getattr(self.recruitment, "parameter_changes", {}),
            },
            "timings_s": self.timings_s,
            **emg,
        }


def _progress_noop(stage: str) -> None:  # pragma: no cover - trivial
    return None


def analyze_runner_trials(
    data_dir: str | Path,
    *,
    subjects: list[str] | None = None,
    speeds_m_s: tuple[float, ...] = (2, 3, 4, 5),
    strength: str | None = None,
) -> Iterator[tuple[Path, float, TrialAnalysis]]:
    """Each runner's trial ``Run_<speed>`` at each speed, analysed (hamner2013 layout: a folder
    of runners or one runner's folder, :func:`runmuscles.trials.runner_folders`); speeds a
    runner did not run are skipped; ``strength`` ``None``: :class:`AnalysisOptions`' default.
    Yields ``(runner folder, speed m/s, analysis)``."""
    from .trials import resolve_trial, runner_folders  # noqa: PLC0415

    for folder in runner_folders(data_dir, subjects):
        for v in speeds_m_s:
            trial = f"Run_{v:g}"
            if not (folder / "ik" / f"{trial}.mot").exists():
                continue
            spec = resolve_trial(folder, trial)
            chosen = {} if strength is None else {"strength": strength}
            opts = AnalysisOptions(speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, **chosen)
            yield folder, float(v), analyze_trial(spec.model, spec.coordinates, spec.forces, opts)


def analyze_trial(
    model_path: str | Path,
    coordinates_path: str | Path,
    external_loads_path: str | Path | None,
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> TrialAnalysis:
    """Analyse one trial: per-muscle activation and force over every frame and stride.

    Parameters
    ----------
    model_path
        OpenSim ``.osim`` model with muscles (scaled to the runner).
    coordinates_path
        Joint angles (``.mot``/``.sto`` from inverse kinematics).
    external_loads_path
        OpenSim ExternalLoads ``.xml`` with ground reaction forces.
    options
        See :class:`AnalysisOptions`.
    progress
        Called with the name of each stage as it starts.

    Returns
    -------
    TrialAnalysis
    """
    from .model import RunnerModel  # noqa: PLC0415 - keeps `import runmuscles.pipeline` light

    opts = options or AnalysisOptions()
    say = progress or _progress_noop
    timings: dict[str, float] = {}
    t0 = _time.perf_counter()

    say("model")
    model = RunnerModel.load(model_path, cache_dir=opts.cache_dir)
    timings["model"] = _time.perf_counter() - t0

    say("read")
    t1 = _time.perf_counter()
    table = read_storage(coordinates_path)
    loads = None
    if external_loads_path is not None:
        loads = read_external_loads(external_loads_path)
    elif opts.require_gait_events:
        raise InputError(
            coordinates_path, "no ground reaction forces given (an ExternalLoads .xml is needed)"
        )
    timings["read"] = _time.perf_counter() - t1

    say("checks")
    checked = check_inputs(model, table, loads)

    say("events")
    try:
        if loads is None:
            raise InputError(coordinates_path, "no ground reaction forces: no gait events")
        events, vertical = _events(loads, model)
    except InputError as exc:
        if opts.require_gait_events:
            raise
        events = GaitEvents({}, {}, str(coordinates_path), [f"no gait events: {exc}"])
        vertical = {"time_s": np.zeros(0)}
    start_s, end_s, cycles = _window(opts, events, table.time_s, loads, coordinates_path)
    cycles = checked.keep_cycles(cycles, opts.cycle, (start_s, end_s))
    emg = None
    if opts.emg is not None:  # read and map before the long stages: a bad file fails fast
        from .analyses.emg import prepare_emg  # noqa: PLC0415

        emg = prepare_emg(opts.emg, model.muscle_names, default_side=opts.side)

    say("kinematics")
    t1 = _time.perf_counter()
    ck = prepare_coordinates(
        table,
        model.coordinate_names,
        model.rotational,
        lowpass_hz=opts.lowpass_hz,
        start_s=start_s,
        end_s=end_s,
        fill=model.fill_values(table),
    )
    q, qd, qdd = model.complete_coordinates(ck.q, ck.qdot, ck.qddot)
    ck = CoordinateKinematics(
        ck.time_s, ck.names, q, qd, qdd, ck.source, ck.lowpass_hz, ck.notes, ck.warnings
    )
    timings["kinematics"] = _time.perf_counter() - t1
    checked.check_motion(
        model,
        ck.time_s,
        q,
        vertical=vertical,
        loads=loads,
        stated_speed_m_s=opts.speed_m_s,
        speed_source=opts.speed_source,
    )
    opts = replace(
        opts,
        input_warnings=[*opts.input_warnings, *checked.warnings],
        input_notes=[*opts.input_notes, *checked.notes],
    )

    say("dynamics")
    t1 = _time.perf_counter()
    body_loads = None
    if loads is not None:
        from .dynamics.inverse import body_loads_from_external_loads  # noqa: PLC0415

        body_loads = body_loads_from_external_loads(model.multibody, loads, ck.time_s)
    timings["forces"] = _time.perf_counter() - t1
    analysis = analyze_motion(
        model,
        ck,
        body_loads,
        opts,
        events=events,
        cycles=cycles,
        vertical_grf_n=vertical,
        sources=(Path(model_path), Path(coordinates_path), external_loads_path),
        external_loads=loads,
        foot_strike_from_file=True,
        timings=timings,
        started=t0,
        progress=say,
    )
    analysis.emg = emg
    return analysis


def analyze_motion(
    model,
    ck: CoordinateKinematics,
    body_loads: list | None,
    options: AnalysisOptions,
    *,
    events: GaitEvents,
    cycles: list[StrideCycle],
    vertical_grf_n: dict[str, np.ndarray],
    sources: tuple[Path, Path, str | Path | None],
    external_loads: ExternalLoads | None = None,
    extra_loads: list | None = None,
    foot_strike_from_file: bool = False,
    timings: dict[str, float] | None = None,
    started: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrialAnalysis:
    """The stages after kinematics: inverse dynamics, muscle geometry, recruitment and the
    per-stride analyses, on prepared coordinates and external loads.

    :func:`analyze_trial` calls it on what it read; :mod:`runmuscles.whatif` calls it on
    transformed motion and forces (so both follow exactly the same steps).

    Parameters
    ----------
    model
        A :class:`runmuscles.model.RunnerModel`.
    ck
        Coordinates with speeds and accelerations (all model coordinates, complete).
    body_loads
        Ground reaction forces per foot body, on ``ck.time_s``
        (:class:`runmuscles.dynamics.inverse.BodyLoad`), or ``None``.
    options
        See :class:`AnalysisOptions`.
    events, cycles, vertical_grf_n
        Gait events, the stride cycles to analyse and the vertical force per foot.
    sources
        Model, coordinates and external-loads paths (for provenance).
    extra_loads
        Further external loads that are not ground reaction forces (e.g. air drag, or the
        weight change of a tilted gravity); they enter the dynamics only.
    foot_strike_from_file
        Take the foot-strike index from ``external_loads`` at their own sample rate (as read)
        rather than from ``body_loads`` at the frames (a transformed motion's forces).
    """
    from .dynamics.inverse import inverse_dynamics  # noqa: PLC0415

    opts = options
    say = progress or _progress_noop
    timings = dict(timings or {})
    t0 = _time.perf_counter() if started is None else started
    t1 = _time.perf_counter()
    ext = list(body_loads or []) + list(extra_loads or [])
    reduction = None
    not_reduced = _why_not_reduced(model, ck, body_loads, opts) if opts.residual_reduction else ""
    if opts.residual_reduction and not not_reduced:
        say("residual reduction")
        ck, tau, reduction = _reduce_residuals(model, ck, ext)
        # from here on the adjusted model: the body mass reported, the joint torques, the
        # strength and the per-kg numbers agree (and a what-if's baseline is this analysis)
        model = replace(model, multibody=reduction.multibody)
        timings["residual_reduction"] = _time.perf_counter() - t1
    else:
        tau = inverse_dynamics(model.multibody, ck.q, ck.qdot, ck.qddot, ext or None)
    q, qd = ck.q, ck.qdot
    timings["dynamics"] = _time.perf_counter() - t1

    say("geometry")
    t1 = _time.perf_counter()
    geo = model.muscle_geometry(q, qd, strength=opts.strength, height_m=opts.height_m)
    timings["geometry"] = _time.perf_counter() - t1

    say("muscles")
    t1 = _time.perf_counter()
    reserves = opts.reserves or Reserves.for_coordinates(
        model.independent_coordinates, optimal_force=opts.reserve_optimal_force
    )
    problem = build_recruitment_problem(
        coordinate_names=model.coordinate_names,
        generalized_forces=tau,
        muscle_names=model.muscle_names,
        moment_arms_m=geo.moment_arm_m,
        strength_n=geo.strength_n,
        min_activation=model.min_activation,
        max_activation=model.max_activation,
        reserves=reserves,
        independent=model.independent_coordinates,
        projection=model.projection(q),
        exponent=opts.activation_exponent,
    )
    rec = solve_recruitment(problem)
    dynamic_warnings: list[QualityWarning] = []
    if opts.muscles == "dynamic":
        from .muscles.dynamic_pipeline import dynamic_recruitment  # noqa: PLC0415

        say("muscles (dynamic)")
        rec, dynamic_warnings, _ = dynamic_recruitment(model, geo, problem, rec, ck.time_s)
    timings["muscles"] = _time.perf_counter() - t1

    say("analyses")
    t1 = _time.perf_counter()
    power = -rec.muscle_force_n * geo.speed_m_s
    metrics = [
        stride_metrics(
            ck.time_s, model.muscle_names, rec.muscle_force_n, power, rec.activation, c, events.cycles
        )
        for c in cycles
    ]
    quality = _quality(
        model, ck, tau, rec, body_loads, events, geo, opts, before=reduction.before if reduction else None
    )
    if dynamic_warnings:
        quality.update(quality_mark(merge_warnings(quality["warnings"], dynamic_warnings)))
    if reduction is not None:
        quality["residual_reduction"] = reduction.as_dict()
        quality["notes"] = list(reduction.notes) + quality["notes"]
    elif not_reduced:
        quality["residual_reduction"] = {"applied": False, "reason": not_reduced}
        quality["notes"] = [f"residual reduction not applied: {not_reduced}", *quality["notes"]]
    from .analyses.strike_pattern import foot_strike_summary  # noqa: PLC0415

    strikes = foot_strike_summary(
        model.multibody,
        ck.time_s,
        q,
        events,
        external_loads if foot_strike_from_file else body_loads,
        measured=opts.forces_source == "measured",
        foot_side=foot_side,
        standing_rad=opts.standing_foot_angle_rad,
    )
    timings["analyses"] = _time.perf_counter() - t1
    timings["total"] = _time.perf_counter() - t0
    model_path, coordinates_path, loads_path = sources
    result = TrialAnalysis(
        model_path=Path(model_path),
        model_name=model.name,
        coordinates_path=Path(coordinates_path),
        external_loads_path=Path(loads_path) if loads_path is not None else None,
        options=opts,
        body_mass_kg=model.body_mass_kg,
        time_s=ck.time_s,
        coordinates=ck,
        generalized_forces=tau,
        recruitment=rec,
        muscle_length_m=geo.length_m,
        muscle_speed_m_s=geo.speed_m_s,
        events=events,
        cycles=cycles,
        metrics=metrics,
        vertical_grf_n=vertical_grf_n,
        quality=quality,
        timings_s=timings,
        problem=problem,
        external_loads=external_loads,
        foot_strike=strikes,
        body_loads=body_loads,
        extra_loads=extra_loads,
        residual_reduction=reduction,
    )
    # saturated muscles and reserve work: one rule flags the figures resting on them
    from .analyses.validity import mark_validity  # noqa: PLC0415

    mark_validity(result)
    return result


def _why_not_reduced(model, ck: CoordinateKinematics, body_loads: list | None, opts: AnalysisOptions) -> str:
    """Why the default residual reduction cannot run here ("" when it can): no measured or
    estimated ground reaction forces, forces on only some contacts (stance only), no free root
    joint, too few frames."""
    from .dynamics.residual_reduction import why_not_reduced  # noqa: PLC0415

    measured_all = opts.analysis_kind != "stance_only"
    return why_not_reduced(model.multibody, ck.time_s.size, body_loads, every_contact_measured=measured_all)


def _reduce_residuals(model, ck: CoordinateKinematics, loads: list):
    """Residual reduction on the prepared motion: the adjusted coordinates, their inverse
    dynamics and the :class:`~runmuscles.dynamics.residual_reduction.ResidualReduction`
    (segments of long windows in forked processes where this process may fork: ``processes=None``)."""
    from .dynamics.residual_reduction import reduce_residuals  # noqa: PLC0415

    rr = reduce_residuals(model.multibody, ck.time_s, ck.q, ck.qdot, ck.qddot, loads or None, processes=None)
    adjusted = CoordinateKinematics(
        ck.time_s, ck.names, rr.q, rr.qdot, rr.qddot, ck.source, ck.lowpass_hz, ck.notes, ck.warnings
    )
    return adjusted, rr.generalized_forces, rr


def _events(loads: ExternalLoads, model) -> tuple[GaitEvents, dict[str, np.ndarray]]:
    """Vertical and fore-aft force per foot, summed over the forces on each foot's bodies."""
    d = loads.data
    vert: dict[str, np.ndarray] = {}
    fore: dict[str, np.ndarray] = {}
    for f in loads.forces:
        if f.applied_to_body not in model.body_names:
            raise InputError(
                loads.source,
                f"force '{f.name}' is applied to body '{f.applied_to_body}', which the model lacks",
            )
        side = foot_side(f.applied_to_body)
        if side is None:
            raise InputError(
                loads.source,
                f"force '{f.name}' is applied to '{f.applied_to_body}', "
                "not to a right (_r) or left (_l) foot body",
            )
        if f.force_expressed_in_body not in ("ground", model.ground_name):
            raise InputError(
                loads.source,
                f"force '{f.name}' is expressed in '{f.force_expressed_in_body}'; "
                "only forces expressed in ground are supported for gait events",
            )
        fy = d.column(f.force_columns[1])
        fx = d.column(f.force_columns[0])
        vert[side] = vert.get(side, 0.0) + fy
        fore[side] = fore.get(side, 0.0) + fx
    for side in ("right", "left"):
        if side not in vert:
            raise InputError(loads.source, f"has no ground reaction force on the {side} foot")
    ev = detect_gait_events(d.time_s, vert, fore, source=loads.source)
    vertical = {"time_s": d.time_s, **vert}
    return ev, vertical


def _window(
    opts: AnalysisOptions,
    events: GaitEvents,
    coord_time: np.ndarray,
    loads: ExternalLoads | None,
    coordinates_path: str | Path | None = None,
) -> tuple[float, float, list[StrideCycle]]:
    lo, hi = float(coord_time[0]), float(coord_time[-1])
    motion = Path(coordinates_path).name if coordinates_path is not None else "the motion"
    if loads is not None:
        lo = max(lo, float(loads.data.time_s[0]))
        hi = min(hi, float(loads.data.time_s[-1]))
    covered = "covered by both motion and forces" if loads is not None else "covered by the motion"
    if opts.cycle is not None:
        c = events.cycle(opts.side, opts.cycle)
        if c.start_s < lo - 1e-6 or c.end_s > hi + 1e-6:
            raise InputError(
                events.source,
                f"{opts.side} cycle {opts.cycle} ({c.start_s:g}-{c.end_s:g} s) is outside the motion data "
                f"({motion}: {coord_time[0]:g}-{coord_time[-1]:g} s)",
            )
        return c.start_s, c.end_s, [c]
    start = lo if opts.start_s is None else opts.start_s
    end = hi if opts.end_s is None else opts.end_s
    if opts.start_s is None and opts.end_s is None:
        # default: the complete stride cycles in the data (the partial ones at the ends of a
        # recording are not strides, and their first and last frames carry end effects)
        inside = [
            c for c in events.cycles.get(opts.side, []) if c.start_s >= lo - 1e-6 and c.end_s <= hi + 1e-6
        ]
        if inside:
            start, end = inside[0].start_s, inside[-1].end_s
    if opts.start_at_frame_before and opts.start_s is not None:
        before = coord_time[coord_time <= start + 1e-9]
        if before.size:
            start = max(float(before[-1]), lo)
    for what, v in (("start", start), ("end", end)):
        if v < lo - 1e-6 or v > hi + 1e-6:
            raise InputError(
                events.source,
                f"{what} time {v:g} s is outside the data ({lo:g}-{hi:g} s {covered})",
            )
    if end <= start:
        raise InputError(None, f"the time window {start:g}-{end:g} s is empty")
    cycles = [
        c for c in events.cycles.get(opts.side, []) if c.start_s >= start - 1e-6 and c.end_s <= end + 1e-6
    ]
    return start, end, cycles


def _quality(
    model, ck, tau, rec: RecruitmentResult, loads, events, geo, opts, *, before: dict | None = None
) -> dict:
    """The quality section; ``before``: the pelvis residuals of the motion as given when residual
    reduction changed it (:func:`runmuscles.dynamics.residual_reduction.pelvis_residual_peaks`),
    which judge whether angles and forces agree (the reduced motion agrees by construction)."""
    reduced = before is not None
    bw = model.body_mass_kg * STANDARD_GRAVITY_M_S2
    flags: list[str] = []
    warnings: list[QualityWarning] = list(ck.warnings)
    # residuals on the root (pelvis) coordinates
    root = model.root_coordinates
    residual = {}
    if root:
        t = ck.time_s
        if loads:
            total = sum(ld.force_n for ld in loads)
            peak_ext = float(np.linalg.norm(total, axis=1).max()) if t.size else 0.0
        else:  # no external loads: judge residuals against body weight
            peak_ext = bw
        grf = peak_ext
        com_h = model.mass_center_height_m(ck.q)
        for kind, names in (("force_n", root["translational"]), ("moment_nm", root["rotational"])):
            vals = (
                tau[:, [model.coordinate_names.index(n) for n in names]] if names else np.zeros((t.size, 0))
            )
            peak = float(np.abs(vals).max()) if vals.size else 0.0
            rms = float(np.sqrt(np.mean(vals**2))) if vals.size else 0.0
            # a robust peak: single-frame spikes (a marker dropout) do not decide consistency
            p95 = float(np.percentile(np.abs(vals).max(axis=1), 95)) if vals.size else 0.0
            if kind == "force_n":
                limit = HICKS_RESIDUAL_FORCE_FRACTION * grf
            else:
                limit = HICKS_RESIDUAL_MOMENT_FRACTION * com_h * grf
            ok = peak <= limit
            residual[kind] = {
                "coordinates": names,
                "peak": peak,
                "rms": rms,
                "p95": p95,
                "threshold_hicks_2015": limit,
                "within_threshold": ok,
            }
            if not ok:
                flags.append(
                    f"pelvis residual {kind.split('_')[0]}s peak {peak:.0f} exceed the Hicks et al. 2015 "
                    f"threshold {limit:.0f} "
                    + ("(after residual reduction)" if reduced else "(no residual reduction was applied)")
                )
                warnings.append(
                    QualityWarning("pelvis_residuals_above_hicks", flags[-1], affects=("muscles",))
                )
    consistency = _consistency(model, ck, loads, before or residual, bw, warnings, flags)
    # reserves
    res_rows = {}
    for k, name in enumerate(rec.reserve_names):
        v = rec.reserve_force[:, k]
        res_rows[name] = {
            "coordinate": rec.reserve_coordinates[k],
            "peak": float(np.abs(v).max()),
            "rms": float(np.sqrt(np.mean(v**2))),
        }
    muscled = set(model.coordinates_with_muscles)
    on_muscled = [n for n, r in res_rows.items() if r["coordinate"] in muscled]
    big = [n for n in on_muscled if res_rows[n]["peak"] > 10.0]
    if big:
        flags.append(
            f"reserves above 10 N m on muscle-actuated coordinates: {', '.join(big[:6])}"
            + (" ..." if len(big) > 6 else "")
            + (
                " (the model's muscles lack the strength for these moments; try --strength volume)"
                if getattr(geo, "strength_model", "model") == "model"
                else " (the model's muscles lack the strength for these moments)"
            )
        )
    sat_frac = rec.saturated.mean(axis=0)
    saturated = [m for m, f in zip(rec.muscle_names, sat_frac, strict=True) if f > 0]
    if saturated:
        flags.append(
            f"{len(saturated)} of {len(rec.muscle_names)} muscles reach full activation on some frames"
        )
    eq = np.abs(rec.moment_residual)
    outside = int(np.asarray(geo.outside_domain).sum())
    if outside:
        flags.append(
            f"{outside} frames outside the fitted geometry domain: exact OpenSim geometry used there"
        )
    notes = list(ck.notes) + list(events.notes) + list(rec.notes) + list(getattr(geo, "notes", []))
    input_warnings = list(opts.input_warnings) + [QualityWarning("input", f) for f in opts.input_flags]
    return {
        **quality_mark([*input_warnings, *warnings]),
        "input": {"path": opts.input_path or "files as given", **opts.input_quality},
        "flags": list(opts.input_flags) + flags,
        "notes": list(opts.input_notes) + notes,
        "residuals": residual,
        "consistency": consistency,
        "reserves": res_rows,
        "reserve_peak_nm_on_muscle_coordinates": max([res_rows[n]["peak"] for n in on_muscled] or [0.0]),
        "muscle_coordinate_reserves": on_muscled,
        "saturated_muscles": saturated,
        "saturated_frame_fraction": {
            m: float(f) for m, f in zip(rec.muscle_names, sat_frac, strict=True) if f > 0
        },
        "equilibrium_max_error": float(eq.max()) if eq.size else 0.0,
        "solver_converged_all_frames": bool(rec.converged.all()),
        "solver_max_iterations": int(rec.iterations.max()) if rec.iterations.size else 0,
        "geometry_frames_outside_domain": outside,
        "body_weight_n": bw,
    }


def _consistency(
    model, ck, loads, residual: dict, bw: float, warnings: list[QualityWarning], flags: list[str]
) -> dict | None:
    """Whether angles and forces agree (:mod:`runmuscles.analyses.consistency`); adds its warning
    (and its message to the flags, which every shell shows)."""
    if not loads:
        return None  # without forces the residuals say nothing about their agreement
    from .analyses.consistency import cop_outside_foot, kinematics_forces_consistency  # noqa: PLC0415

    ratios = {
        k: r["p95"] / r["threshold_hicks_2015"] for k, r in residual.items() if r["threshold_hicks_2015"] > 0
    }
    cop = cop_outside_foot(model.multibody, ck.q, loads, bw)
    numbers, found = kinematics_forces_consistency(cop, ratios)
    warnings.extend(found)
    flags.extend(f"NOT VALID: {w.message}" for w in found)
    return numbers
