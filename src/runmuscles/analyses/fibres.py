"""Fibre types: each muscle's slow-twitch fraction and how much force its fast fibres make.

Composition
-----------
The slow-twitch (type I) fraction of each muscle comes from the autopsy survey of Johnson
MA, Polgar J, Weightman D, Appleton D (1973) Data on the distribution of fibre types in
thirty-six human muscles. J Neurol Sci 18:111-129, as the mean of their surface and deep
samples (:data:`SLOW_TWITCH_PERCENT`, one citation per muscle). Muscles they did not
sample get a value from another cited study or, failing that, 50 % (flagged as
``assumed`` in the provenance). Model muscles are mapped to anatomical muscles by name for
the Hamner 2010 / Gait2392 family (``soleus_r``, ``glut_max2_r``), the Rajagopal 2016 /
Lai-Arnold 2017 / Uhlrich 2022 family (``glmax2_r``, ``vaslat140_r``) and gait10dof18musc
(``vasti_r``, ``hamstrings_r``).

Recruitment (Henneman's size principle)
---------------------------------------
Motor units are recruited from small (slow) to large (fast) as the drive rises
(Henneman E, Somjen G, Carpenter DO (1965) J Neurophysiol 28:560-580). Two published forms
are offered; both give only slow fibres at low activation and approach the muscle's own
composition at full activation:

* ``"bhargava"`` (default): Bhargava LJ, Pandy MG, Anderson FC (2004) J Biomech 37:81-88,
  their Eqs 4-5: the slow and fast fibres' shares of the excitation are
  ``u_s = f_s sin(pi u / 2)`` and ``u_f = (1 - f_s)(1 - cos(pi u / 2))``; the recruited
  fibres are slow in the ratio ``u_s / (u_s + u_f)``. This is the recruitment Uchida et
  al. (2016, PLoS One 11:e0150378) added to the Umberger muscle energy model, and the one
  :mod:`runmuscles.analyses.energetics` uses.
* ``"orderly"``: the size principle taken literally: the active fraction ``a`` of the
  muscle is filled with slow fibres first, and fast fibres join only once all slow ones
  are active (``a > f_s``). With the low activations of static optimization in running
  this gives almost no fast-fibre force; it is a bound, not the default.

Static optimization has no excitation dynamics, so activation stands in for excitation.
Active fibres of both types are assumed to develop the same force per unit of active
cross-section, so the fast share of a muscle's force at a frame is the fast share of its
recruited fibres; over a stride or phase it is the force-time-weighted mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..kinematics.events import PHASES
from ..model.strength import handsfield_muscle
from .groups import group_members, muscle_stem

__all__ = [
    "DEFAULT_SLOW_TWITCH_PERCENT",
    "SLOW_TWITCH_PERCENT",
    "FibreShares",
    "anatomical_muscle",
    "fibre_shares",
    "recruited_slow_fraction",
    "slow_twitch_fraction",
]

_J73 = "Johnson et al. (1973) J Neurol Sci 18:111-129"
_E75 = "Edgerton VR, Smith JL, Simpson DR (1975) Histochem J 7:259-266"

#: Type I fibres (% of fibres) per anatomical muscle: (value, source). Johnson et al. 1973
#: values are the mean of their surface and deep samples.
SLOW_TWITCH_PERCENT: dict[str, tuple[float, str]] = {
    # Johnson 1973: surface 86.4 %, deep 89.0 %
    "soleus": (87.7, _J73),
    # Johnson 1973: medial head surface 50.8 %, deep 50.3 %
    "gastrocnemius_medial": (50.6, _J73),
    # Johnson 1973: lateral head surface 43.5 %, deep 50.3 %
    "gastrocnemius_lateral": (46.9, _J73),
    # Johnson 1973: surface 73.4 %, deep 72.7 %
    "tibialis_anterior": (73.1, _J73),
    # Johnson 1973: surface 37.8 %, deep 46.9 %
    "vastus_lateralis": (42.3, _J73),
    # Johnson 1973: surface 43.7 %, deep 61.5 %
    "vastus_medialis": (52.6, _J73),
    # Johnson 1973: surface 29.5 %, deep 42.0 %
    "rectus_femoris": (35.8, _J73),
    # Johnson 1973: surface 66.9 %, deep 50.5 % (biceps femoris, long head sampled)
    "biceps_femoris_long": (58.7, _J73),
    # Johnson 1973: surface 52.4 %, deep 47.6 %
    "gluteus_maximus": (50.0, _J73),
    # Johnson 1973: surface 53.5 %, deep 63.3 %
    "adductor_magnus": (58.4, _J73),
    # Johnson 1973: peroneus longus surface 62.5 %, deep 57.7 % (used for all peronei)
    "peroneals": (60.1, _J73),
    # Johnson 1973: extensor digitorum longus 47.3 % (used for EDL and EHL together)
    "edl_ehl": (47.3, _J73),
    # Not sampled by Johnson 1973: vastus intermedius 47 % in Edgerton et al. 1975 (abstract)
    "vastus_intermedius": (47.0, _E75),
}

#: Used for muscles with no cited value (flagged ``assumed``): human lower-limb muscles are
#: on average about half type I fibres (Johnson et al. 1973, range 30-90 % over muscles).
DEFAULT_SLOW_TWITCH_PERCENT = 50.0

# Model stems that the volume table (runmuscles.model.strength) does not name.
_EXTRA = {
    "vasti": "vastus_lateralis",  # gait10dof18musc lumps the vasti; the largest is used
    "gastroc": "gastrocnemius_medial",
    "hamstrings": "biceps_femoris_long",
    "glut_max": "gluteus_maximus",
    "iliopsoas": "psoas",
}


def anatomical_muscle(name: str) -> str | None:
    """The anatomical muscle a model muscle stands for (``glut_max2_r`` -> ``gluteus_maximus``)."""
    hit = handsfield_muscle(name)
    if hit is not None:
        return hit
    return _EXTRA.get(muscle_stem(name))


def slow_twitch_fraction(muscle_names: list[str]) -> tuple[np.ndarray, dict[str, dict]]:
    """Slow-twitch fraction (0-1) of each model muscle and where each value comes from.

    Parameters
    ----------
    muscle_names
        Model muscle names.

    Returns
    -------
    fraction
        Shape ``(M,)``.
    provenance
        Per muscle: ``anatomical`` (or None), ``percent``, ``source`` (``"assumed"`` when no
        cited value exists).
    """
    out = np.empty(len(muscle_names))
    prov: dict[str, dict] = {}
    for i, n in enumerate(muscle_names):
        anat = anatomical_muscle(n)
        pct, src = SLOW_TWITCH_PERCENT.get(anat or "", (DEFAULT_SLOW_TWITCH_PERCENT, "assumed"))
        out[i] = pct / 100.0
        prov[n] = {"anatomical": anat, "percent": pct, "source": src}
    return out, prov


def recruited_slow_fraction(
    activation: np.ndarray, slow_fraction: np.ndarray, *, model: str = "bhargava"
) -> np.ndarray:
    """Share of the recruited fibres that are slow-twitch, frame by frame.

    Parameters
    ----------
    activation
        Activation (standing in for excitation), shape ``(F, M)``, 0-1.
    slow_fraction
        The muscles' slow-twitch fractions, shape ``(M,)``.
    model
        ``"bhargava"`` (Bhargava et al. 2004, Eqs 4-5) or ``"orderly"`` (slow fibres fill
        the active fraction first); see the module docstring.

    Returns
    -------
    numpy.ndarray
        Shape ``(F, M)``: 1 at zero activation, the muscle's composition at full activation.
    """
    a, r = np.broadcast_arrays(
        np.clip(np.asarray(activation, dtype=float), 0.0, 1.0), np.asarray(slow_fraction, dtype=float)
    )
    if model == "bhargava":
        u_slow = r * np.sin(0.5 * np.pi * a)
        u_fast = (1.0 - r) * (1.0 - np.cos(0.5 * np.pi * a))
        total = u_slow + u_fast
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0.0, u_slow / total, 1.0)
    if model == "orderly":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(a > 0.0, np.minimum(a, r) / a, 1.0)
    raise InputError("recruitment", f"unknown recruitment model '{model}' (bhargava, orderly)")


@dataclass
class FibreShares:
    """Slow and fast fibres' shares of each muscle's force over the strides.

    Attributes
    ----------
    muscle_names
        Model order.
    slow_fraction
        Composition (slow-twitch fraction) per muscle, ``(M,)``.
    fast_force_share
        Share of each muscle's force-time integral made by fast fibres over whole strides,
        ``(M,)``; the slow share is ``1 -`` this.
    phase_fast_force_share
        The same per stride phase (``braking``, ``propulsion``, ``early_swing``,
        ``late_swing``).
    group_fast_force_share, group_phase_fast_force_share
        Per muscle group (both sides): fast share of the group's summed force-time integral.
    recruitment
        The recruitment model used.
    provenance
        Per muscle composition sources (:func:`slow_twitch_fraction`).
    """

    muscle_names: list[str]
    slow_fraction: np.ndarray
    fast_force_share: np.ndarray
    phase_fast_force_share: dict[str, np.ndarray]
    group_fast_force_share: dict[str, float]
    group_phase_fast_force_share: dict[str, dict[str, float]]
    recruitment: str
    provenance: dict[str, dict] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One row per muscle: composition and fast/slow shares of force per phase."""
        out = []
        for j, n in enumerate(self.muscle_names):
            row = {
                "muscle": n,
                "slow_twitch_fraction": float(self.slow_fraction[j]),
                "fast_force_share": float(self.fast_force_share[j]),
                "slow_force_share": float(1.0 - self.fast_force_share[j]),
            }
            for ph, v in self.phase_fast_force_share.items():
                row[f"{ph}_fast_force_share"] = float(v[j])
            out.append(row)
        return out


def _frame_weights(time_s: np.ndarray, cycles) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame time weights (trapezoid rule) inside the stride cycles, and the mask."""
    t = np.asarray(time_s, dtype=float)
    w = np.zeros(t.size)
    inside = np.zeros(t.size, dtype=bool)
    for c in cycles:
        sel = np.nonzero((t >= c.start_s - 1e-9) & (t <= c.end_s + 1e-9))[0]
        if sel.size < 2:
            continue
        dt = np.diff(t[sel])
        w[sel[:-1]] += 0.5 * dt
        w[sel[1:]] += 0.5 * dt
        inside[sel] = True
    return w, inside


def _share(fast: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0.0, fast / np.where(total > 0.0, total, 1.0), np.nan)


def fibre_shares(analysis, *, recruitment: str = "bhargava") -> FibreShares:
    """Slow and fast fibres' shares of force per muscle, group and phase.

    Parameters
    ----------
    analysis
        A :class:`runmuscles.pipeline.TrialAnalysis` with stride cycles.
    recruitment
        ``"bhargava"`` or ``"orderly"`` (see :func:`recruited_slow_fraction`).

    Returns
    -------
    FibreShares
        Shares are NaN where a muscle made no force (and all shares are NaN when the
        analysis has no complete stride).
    """
    names = list(analysis.muscle_names)
    r, prov = slow_twitch_fraction(names)
    rec = analysis.recruitment
    force = np.maximum(np.asarray(rec.muscle_force_n, dtype=float), 0.0)
    slow = recruited_slow_fraction(rec.activation, r, model=recruitment)
    fast_force = force * (1.0 - slow)
    w, _ = _frame_weights(analysis.time_s, analysis.cycles)
    phases = analysis.phase_per_frame()
    groups = {g: [names.index(m) for m in ms] for g, ms in group_members(names).items() if ms}

    def shares(weights: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        f_tot = weights @ force
        f_fast = weights @ fast_force
        per_group = {
            g: float(_share(np.array(f_fast[idx].sum()), np.array(f_tot[idx].sum())))
            for g, idx in groups.items()
        }
        return _share(f_fast, f_tot), per_group

    stride, group_stride = shares(w)
    phase_share: dict[str, np.ndarray] = {}
    group_phase: dict[str, dict[str, float]] = {g: {} for g in groups}
    for ph in PHASES:
        per_m, per_g = shares(np.where(phases == ph, w, 0.0))
        phase_share[ph] = per_m
        for g, v in per_g.items():
            group_phase[g][ph] = v
    return FibreShares(
        muscle_names=names,
        slow_fraction=r,
        fast_force_share=stride,
        phase_fast_force_share=phase_share,
        group_fast_force_share=group_stride,
        group_phase_fast_force_share=group_phase,
        recruitment=recruitment,
        provenance=prov,
    )
