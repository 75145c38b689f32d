"""Fibre types: each muscle's slow-twitch fraction and how much force its fast fibres make.

Composition
-----------
The slow-twitch (type I) fraction of each muscle comes from the autopsy survey of Johnson
MA, Polgar J, Weightman D, Appleton D (1973) Data on the distribution of fibre types in
thirty-six human muscles: an autopsy study. J Neurol Sci 18:111-129. Where they give
several samples of a muscle (surface and deep, or three sites), the fraction used is the
plain mean of the samples (:data:`SLOW_TWITCH_SAMPLES_PERCENT`, one source per muscle).

What was verified, and against what (the primary table itself could not be read: the stored
copy of the paper, scribd document 611760433 "fibras musculares en el cuerpo", showed only
its first page):

* adductor magnus (surface 53.5 %, deep 63.3 %): checked against Prof. H. P. Clamann's
  muscle data list, which quotes Johnson et al. (1973) per muscle
  (physiologie.unibe.ch/~clamann/muscdata.html). Only the start of that list could be read.
* soleus, gastrocnemius, tibialis anterior, vastus lateralis and medialis, rectus femoris,
  biceps femoris, gluteus maximus, iliopsoas, peroneus longus, extensor and flexor
  digitorum longus: the samples as transcribed from Johnson et al. (1973) in the public
  MATLAB code github.com/Beca-Filip/force_distribution (Test_Patient4.m, vector ``r``,
  "Ratio of slow-twitch fibers (Johnson et al. 1973)"). That is a second-hand copy,
  consistent with Clamann's list where both could be read (adductor magnus); it gives one
  value for gluteus maximus, biceps femoris, peroneus longus, iliopsoas and the long toe
  muscles, three for gastrocnemius (not split by head) and rectus femoris, and two for the
  others (which sample is surface and which deep is not said there).
* vastus intermedius: not sampled by Johnson et al.; 47 % from the abstract of Edgerton VR,
  Smith JL, Simpson DR (1975) Muscle fibre type populations of human leg muscles.
  Histochem J 7:259-266.

Muscles with no value found (semimembranosus, semitendinosus, biceps femoris short head,
gluteus medius and minimus, adductor longus and brevis, tibialis posterior, ...) get 50 %,
flagged ``assumed`` in the provenance. Model muscles are mapped to anatomical muscles by
name for the Hamner 2010 / Gait2392 family (``soleus_r``, ``glut_max2_r``), the Rajagopal
2016 / Lai-Arnold 2017 / Uhlrich 2022 family (``glmax2_r``, ``vaslat140_r``) and
gait10dof18musc (``vasti_r``, ``hamstrings_r``).

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
    "SLOW_TWITCH_SAMPLES_PERCENT",
    "FibreShares",
    "anatomical_muscle",
    "fibre_shares",
    "recruited_slow_fraction",
    "slow_twitch_fraction",
]

_J73 = "Johnson MA, Polgar J, Weightman D, Appleton D (1973) J Neurol Sci 18:111-129"
#: Where each value was read (see the module docstring).
_VIA_CLAMANN = f"{_J73}, as listed by H. P. Clamann, physiologie.unibe.ch/~clamann/muscdata.html"
_VIA_CODE = (
    f"{_J73}, as transcribed in github.com/Beca-Filip/force_distribution Test_Patient4.m "
    "(second-hand; primary table not read)"
)
_E75 = "Edgerton VR, Smith JL, Simpson DR (1975) Histochem J 7:259-266 (abstract)"

#: Type I fibres (% of fibres) per anatomical muscle: (samples as printed in the source,
#: source). The fraction used is the mean of the samples.
SLOW_TWITCH_SAMPLES_PERCENT: dict[str, tuple[tuple[float, ...], str]] = {
    # two samples each; for adductor magnus Clamann's list names them surface and deep
    "adductor_magnus": ((53.5, 63.3), _VIA_CLAMANN),
    "soleus": ((86.4, 89.0), _VIA_CODE),
    "tibialis_anterior": ((73.4, 72.7), _VIA_CODE),
    "vastus_lateralis": ((37.8, 46.9), _VIA_CODE),
    "vastus_medialis": ((43.7, 61.5), _VIA_CODE),
    # three samples each; the copy does not say which head of gastrocnemius each is from,
    # so both heads get their mean
    "rectus_femoris": ((29.5, 42.0, 42.8), _VIA_CODE),
    "gastrocnemius_medial": ((43.5, 50.3, 50.8), _VIA_CODE),
    "gastrocnemius_lateral": ((43.5, 50.3, 50.8), _VIA_CODE),
    # one value each
    "biceps_femoris_long": ((66.9,), _VIA_CODE),
    "gluteus_maximus": ((52.4,), _VIA_CODE),
    "psoas": ((49.2,), _VIA_CODE),  # iliopsoas
    "iliacus": ((49.2,), _VIA_CODE),  # iliopsoas
    "peroneals": ((62.5,), _VIA_CODE),  # peroneus longus, used for all peronei
    "edl_ehl": ((45.3,), _VIA_CODE),  # extensor digitorum longus, used for EDL and EHL
    "flexor_digitorum_longus": ((44.5,), _VIA_CODE),
    # not sampled by Johnson et al. (1973)
    "vastus_intermedius": ((47.0,), _E75),
}

#: Type I fibres (% of fibres) per anatomical muscle: (mean of the samples, source).
SLOW_TWITCH_PERCENT: dict[str, tuple[float, str]] = {
    k: (float(np.mean(v)), src) for k, (v, src) in SLOW_TWITCH_SAMPLES_PERCENT.items()
}

#: Used for muscles with no value found (flagged ``assumed``): an even split, the default
#: ``ratio_slow_twitch_fibers`` of OpenSim's muscle metabolics probes, and the fallback of
#: getSlowTwitchRatios.m (A. Falisse, github.com/KULeuvenNeuromechanics/MuscleRedundancySolver).
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
        Per muscle: ``anatomical`` (or None), ``percent``, ``samples_percent`` (the samples
        averaged; empty when assumed), ``source`` (``"assumed"`` when no value was found).
    """
    out = np.empty(len(muscle_names))
    prov: dict[str, dict] = {}
    for i, n in enumerate(muscle_names):
        anat = anatomical_muscle(n)
        samples, src = SLOW_TWITCH_SAMPLES_PERCENT.get(anat or "", ((), "assumed"))
        pct = float(np.mean(samples)) if samples else DEFAULT_SLOW_TWITCH_PERCENT
        out[i] = pct / 100.0
        prov[n] = {"anatomical": anat, "percent": pct, "samples_percent": list(samples), "source": src}
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
    phases = analysis.muscle_phase_per_frame()  # each muscle in its own leg's phase
    groups = {g: [names.index(m) for m in ms] for g, ms in group_members(names).items() if ms}

    def shares(weights: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        # weights: (F,) for every muscle alike, or (F, M) per muscle
        f_tot = weights @ force if weights.ndim == 1 else (weights * force).sum(axis=0)
        f_fast = weights @ fast_force if weights.ndim == 1 else (weights * fast_force).sum(axis=0)
        per_group = {
            g: float(_share(np.array(f_fast[idx].sum()), np.array(f_tot[idx].sum())))
            for g, idx in groups.items()
        }
        return _share(f_fast, f_tot), per_group

    stride, group_stride = shares(w)
    phase_share: dict[str, np.ndarray] = {}
    group_phase: dict[str, dict[str, float]] = {g: {} for g in groups}
    for ph in PHASES:
        per_m, per_g = shares(np.where(phases == ph, w[:, None], 0.0))
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
