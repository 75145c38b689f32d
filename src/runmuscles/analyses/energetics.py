"""Muscle energetics: metabolic power per muscle, per phase and per kilometre.

Model
-----
The muscle energy model of Umberger BR, Gerritsen KGM, Martin PE (2003) A model of human
muscle energy expenditure. Comput Methods Biomech Biomed Engin 6:99-111, with the changes of
Umberger BR (2010) Stance and swing phase costs in human walking. J R Soc Interface
7:1329-1340, and of Uchida TK, Hicks JL, Dembia CL, Delp SL (2016) Stretching your
energetic budget: how tendon compliance affects the metabolic cost of running. PLoS One
11:e0150378. Per muscle of mass ``m`` (kg), rates in W per kg of muscle:

* activation and maintenance heat (Umberger 2003, Eqs 3-4):
  ``h_AM = S A^0.6 (128 (1 - f_s) + 25)`` when the fibre is at or below its optimal length,
  ``S A^0.6 (0.4 h + 0.6 h F_iso)`` above it (``h = 128 (1 - f_s) + 25``; ``F_iso`` the
  active force-length multiplier);
* shortening heat (Umberger 2003, Eqs 5-8), fibre velocity ``v`` in optimal lengths per
  second, shortening negative: ``S A^2 (-alpha_ST v f_s - alpha_FT v (1 - f_s))`` with
  ``alpha_ST = 100 / v_max,ST``, ``alpha_FT = 153 / v_max,FT``, ``v_max,FT`` the muscle's
  maximum contraction velocity and ``v_max,ST = v_max,FT / 2.5``; the slow fibres' term is
  at most 100 W/kg (it reaches that at their own maximum velocity); lengthening:
  ``S A alpha_L v`` with ``alpha_L = 4 alpha_ST`` (Umberger 2003) or ``0.3 alpha_ST``
  (Umberger 2010); both multiplied by ``F_iso`` above optimal length;
* mechanical work rate ``-F_CE v_CE`` of the contractile element (negative work counted
  as in Umberger 2003 and Uchida 2016; not counted in Umberger 2010);
* the heat rate ``h_AM + h_SL`` of a muscle is at least 1 W/kg (Umberger 2003, p. 104);
  with Uchida 2016 the shortening heat is raised where needed so that no muscle's total
  rate is negative (chemical energy cannot be regained from lengthening; Constable JK,
  Barclay CJ, Gibbs CL (1997) J Physiol 505:205-215);
* ``S = 1.5`` for mostly aerobic exercise (Umberger 2003);
* the slow-twitch fraction ``f_s`` of the recruited fibres follows the Bhargava et al.
  (2004) recruitment model with Uchida 2016 (slow fibres first; see
  :mod:`runmuscles.analyses.fibres`), or is the muscle's composition (Umberger 2010).

Variants: ``"uchida2016"`` (default: all of the above as Uchida et al. 2016 used it for
running) and ``"umberger2010"`` (as published in 2010: no recruitment model, ``alpha_L =
0.3 alpha_ST``, negative work not counted, negative totals allowed).

Inputs from the analysis
------------------------
* Excitation: static optimization has no excitation dynamics, so activation is used as
  excitation; the model's ``A`` (excitation when it exceeds activation, else their mean)
  is then the activation.
* Fibre length and velocity: constant-thickness pennation (the helpers of
  :mod:`runmuscles.model.muscle_curves`), with a compliant (default) or a rigid tendon (see
  "Tendon" below); fibre velocity ``= (v_MT - v_T) cos(pennation)``.
* Contractile element power: ``F_CE v_CE = F_T (v_MT - v_T)`` (``F_CE = F_T / cos(pennation)``,
  ``F_T`` the tendon force of static optimization); with a rigid tendon it is the
  musculotendon force times its speed.
* A dynamic muscle solution (:mod:`runmuscles.muscles.dynamic`) has its own fibre states:
  with ``tendon="compliant"`` its fibre length, velocity, pennation and contractile power are
  used as its solver defines them (:func:`solution_fibre_state`), not recomputed from the path
  and tendon lengths; ``tendon="rigid"`` gives the rigid-tendon fibre kinematics of its forces.
* Muscle mass ``m = rho F0 l_opt / sigma`` from the maximum isometric force and optimal fibre
  length actually used: density ``rho = 1059.7 kg/m^3`` (Mendez J, Keys A (1960)
  Metabolism 9:184-188); ``sigma = 0.25 MPa`` with the model's own forces (Umberger et al.
  2003) and ``60 N/cm^2`` with volume-scaled strength (the tension that made the forces
  from Handsfield et al. 2014 volumes, so ``m`` is ``rho`` times that volume).
* Basal rate, added only for gross (whole-body) cost: ``1.2 W/kg`` of body mass (Uchida
  et al. 2016, after Umberger 2010).

Tendon: compliant (default) or rigid
-------------------------------------
Static optimization here (as OpenSim's) treats tendons as rigid, so with ``tendon="rigid"``
the fibres take the whole musculotendon stretch and recoil. ``tendon="compliant"`` (the
default) gives the tendons back their stretch *post hoc*, from the forces that static
optimization found: the classic series-elastic Hill model (Zajac FE (1989) Muscle and tendon:
properties, models, scaling, and application to biomechanics and motor control. Crit Rev
Biomed Eng 17:359-411) with each muscle class's tendon force-strain curve (Thelen 2003;
Millard et al. 2013, J Biomech Eng 135:021005; De Groote et al. 2016) and the tendon strain
at ``F0`` that the muscle declares in its ``.osim`` file (the hamner2013 models: 0.033 for every
muscle; OpenSim's defaults where a file leaves it out). Per frame, the tendon strain that
carries ``force / F0`` gives the tendon length ``l_T = l_slack (1 + strain)``, the fibre
length follows from ``l_MT - l_T`` with
constant-thickness pennation, and the tendon's lengthening speed is the time derivative of
``l_T`` from the natural quintic spline (the derivative used for the coordinates), so the fibre
velocity is ``(v_MT - v_T) cos(pennation)`` and reduces exactly to the rigid one when the
force is constant. Activation stays that of static optimization; the muscles' forces are not
re-solved with the compliant fibre states, which the muscle redundancy solver of De Groote F,
Kinney AL, Rao AV, Fregly BJ (2016) Evaluation of direct collocation optimal control problem
formulations for solving the muscle redundancy problem. Ann Biomed Eng 44:2922-2936 does
(tendon force as a state, fibre length from force equilibrium); this is a first-order
correction of the fibre kinematics, not that solution.

What it changes (hamner2013 runners, volume strength): the tendons take about a sixth to a
third of the calves' stance-phase musculotendon excursion (0.6-1.2 cm of 3-5 cm), and the
fibres' positive and negative work per stride fall by a few percent (bundled runner at 4 m/s:
+496/-478 J rigid, +480/-455 J compliant). Gross cost falls by about 6 % at 2 m/s for every
runner, 1-5 % at 3 m/s, 1-3 % at 4 m/s and -1 to +1 % at 5 m/s, so the runners whose cost
fell with speed vary less (the forefoot strikers subject08 and subject19: 18 and 16 % between
2 and 5 m/s, against 23 and 24 % rigid) and those whose cost rose with speed vary more
(subject02 and subject11: 8 and 10 %, against 4 and 5 %); see ``runmuscles validate-energy
--tendon rigid|compliant``. Uchida et al. (2016), with tendons in the simulation itself, found
whole-body cost lowest with 2-3 % tendon strain at ``F0``, and the soleus fibres nearly
isometric in stance at 2 m/s only with more compliant tendons; with 3.3 % the bundled runner's
soleus fibres still change length by 0.45 optimal lengths in stance at 2 m/s (0.55 rigid).

What it does not change: static optimization is unchanged, so where the calves cannot make
the push-off moment at high speed (their fibres would have to shorten faster than their
maximum velocity) the ankle reserve, which costs no energy, still does part of the positive
ankle work (:func:`positive_work_shares`, shown by ``runmuscles validate-energy``).

Slopes: the cost's change with grade is about a quarter smaller than measured. ``runmuscles
validate-grade`` (the what-if engine with its slope adaptation) gives, over the 28 hamner2013
trials, net cost x1.28 at +10 % (1.15-1.41) and x0.90 at -10 % (0.82-0.98), where the running
polynomial of Minetti et al. 2002 gives x1.66 and x0.60. Uphill, the extra cost is close to the
muscles' extra net work: bundled runner at 4 m/s on the slope in its recorded form, the
fibres' net work over the trial rises by 922 J but their heat by only 125 J, because the level
trial's large stretch-shorten fibre work (+2910/-2761 J), which the negative-work term of
this model nearly cancels, is charged little more when net work is added; Minetti's data
imply about 2.4 J of energy per J of extra work. ``validate-grade`` prints this as the slope's
delta efficiency (work against gravity per metre over the change of net cost): 0.98 on average
over the 28 trials at +10 % (0.65-1.54), where Minetti's data give 0.41.
The inputs are not the cause: the grade transform's ground reaction force has the measured
shape (at +9 deg and 3 m/s the braking force vanishes and the propulsive peak rises by 95 %,
against Gottschall & Kram 2005's +75 % and Hoogkamer et al. 2014's vanishing braking force;
normal peak unchanged, as measured: a test), and removing the muscles' force-length-velocity
limits, so that no reserve does work, moves the +10 % ratio only from 1.27-1.33 to 1.30-1.34
(bundled runner, 3 and 4 m/s).
Downhill, lengthening heat (``alpha_L = 4 alpha_ST``) keeps the cost high. Muscle-mass
tension 0.25-0.6 MPa, the Umberger 2010 settings, the model's own strength, tendon strains at
``F0`` of 3.3-10 % and costing the reserves' work leave the +10 % ratio between 1.12 and
1.37. OpenSim's own tools give the same: on the bundled runner's 4 m/s stride at +10 % in its
recorded form, MocoInverse with OpenSim's Bhargava et al. (2004) energy model gives x1.23
(x1.21 with negative work not counted) where runmuscles gives x1.24, and at -10 % x0.84 where
runmuscles gives x0.84 (``benchmarks/check_whatif_moco.py``, ``benchmarks/moco_latest.json``);
with the slope adaptation (the engine's default) MocoInverse converged in 344 s and gives x1.28
where runmuscles gives x1.27 (``benchmarks/moco_adapted_latest.json``):
the shortfall belongs to inverse, rigid-tendon muscle solutions with these energy models, not
to this implementation. It also depends on the model: the same runner's stride on the
Rajagopal et al. (2016) model gives x1.32 (x1.36 with the slope adaptation) where the Hamner
et al. (2010) model gives x1.24 (x1.27).
Koelewijn AD, Heinrich D, van den Bogert AJ (2019) Metabolic cost calculations of gait
using musculoskeletal energy models, a comparison study. PLoS One 14:e0222037 found, for
walking at -8/0/+8 %, that muscle-level models track measured cost (r >= 0.9) while
Margaria's work-efficiency model predicts the size of a change best. The likely remedy is a
muscle solution with compliant tendons inside the optimization (De Groote et al. 2016, above),
so that level running's stretch-shorten work goes to the tendons rather than the fibres.

Whole-body results per stride: mean metabolic power (W/kg), cost of transport (J/kg/m,
power / speed) and kcal per km (1 kcal = 4184 J, the thermochemical calorie), each
muscle's and group's share of the stride's energy and of each phase's energy. Phases are
those of the reference foot's stride (as everywhere in the analysis): whole-body and
both-sides group energy in its "swing" phases includes the other leg's stance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..kinematics.events import PHASES
from ..model.muscle_curves import (
    CLASS_CODES,
    MILLARD_TENDON_CURVINESS,
    MILLARD_TENDON_NORM_FORCE_AT_TOE_END,
    MILLARD_TENDON_STRAIN_AT_ONE_NORM_FORCE,
    degroote_active_force_length,
    fixed_width_fiber_length,
    fixed_width_pennation_angle,
    table_curve,
    thelen_active_force_length,
)
from .fibres import (
    DEFAULT_SLOW_TWITCH_PERCENT,
    _frame_weights,
    recruited_slow_fraction,
    slow_twitch_fraction,
)
from .groups import group_members
from .stride import muscle_phase_sum

__all__ = [
    "BASAL_RATE_W_PER_KG",
    "DEFAULT_TENDON",
    "MUSCLE_DENSITY_KG_M3",
    "UMBERGER_SPECIFIC_TENSION_PA",
    "MuscleEnergetics",
    "OPENSIM_DEFAULT_TENDON_STRAIN",
    "TENDON_MODELS",
    "MARGARIA_1963_NET_J_PER_KG_M",
    "MINETTI_2002_GRADE_POLYNOMIAL",
    "MINETTI_2002_NET_J_PER_KG_M",
    "energetics_summary",
    "energy_muscle_rows",
    "energy_validation_rows",
    "energy_validation_summary",
    "minetti_2002_cost_j_per_kg_m",
    "positive_work_shares",
    "kcal_for_distance",
    "active_force_length",
    "solution_fibre_state",
    "compliant_tendon_state",
    "fibre_kinematics",
    "muscle_energetics",
    "muscle_mass_kg",
    "tendon_properties",
    "umberger_rates",
]

#: Mammalian skeletal muscle density, Mendez J, Keys A (1960) Density and composition of
#: mammalian muscle. Metabolism 9:184-188 (kg/m^3).
MUSCLE_DENSITY_KG_M3 = 1059.7
#: Specific tension used by Umberger et al. (2003) to obtain muscle mass from strength (Pa).
UMBERGER_SPECIFIC_TENSION_PA = 0.25e6
#: Basal metabolic rate added for gross cost, Uchida et al. (2016) PLoS One 11:e0150378 (W/kg).
BASAL_RATE_W_PER_KG = 1.2
#: Aerobic scaling factor S, Umberger et al. (2003) (1.5 for mostly aerobic exercise).
AEROBIC_FACTOR = 1.5
#: Activation-maintenance heat of fast (128 = 1.28 x %FT) and resting base (25), W/kg,
#: Umberger et al. (2003) Eq. 3.
_AM_FAST_W_KG = 128.0
_AM_BASE_W_KG = 25.0
#: Fraction of h_AM independent of filament overlap above optimal length, Umberger 2003 Eq. 4.
_AM_LENGTH_INDEPENDENT = 0.4
#: Shortening heat coefficients (W/kg per l_opt/s x v_max), Umberger et al. (2003):
#: alpha_ST = 100 / v_max,ST and alpha_FT = 153 / v_max,FT.
_ALPHA_ST_NUM = 100.0
_ALPHA_FT_NUM = 153.0
#: v_max of fast fibres is 2.5 x that of slow fibres, Umberger et al. (2003).
_VMAX_FAST_OVER_SLOW = 2.5
#: Cap of the slow fibres' shortening heat: alpha_ST x v_max,ST (Umberger et al. 2003).
_SLOW_SHORTENING_CAP_W_KG = 100.0
#: Lengthening heat coefficient relative to alpha_ST: 4.0 (Umberger et al. 2003; Uchida et
#: al. 2016) or 0.3 (Umberger 2010).
_ALPHA_L = {"uchida2016": 4.0, "umberger2010": 0.3}
#: Minimum heat rate of a muscle, Umberger et al. (2003) p. 104 (W/kg).
_MIN_HEAT_W_KG = 1.0
#: Thermochemical calorie (J), exact by definition (NIST Special Publication 811).
_J_PER_KCAL = 4184.0

_VARIANTS = ("uchida2016", "umberger2010")

#: Tendon models of the fibre kinematics (see the module docstring).
TENDON_MODELS = ("rigid", "compliant")
DEFAULT_TENDON = "compliant"
#: OpenSim 4's defaults of the tendon strain at F0 when a muscle's file leaves it out
#: (Thelen2003Muscle ``FmaxTendonStrain`` 0.04; Millard2012EquilibriumMuscle's
#: TendonForceLengthCurve and DeGrooteFregly2016Muscle 0.049, Millard et al. 2013).
OPENSIM_DEFAULT_TENDON_STRAIN = {
    "Thelen2003Muscle": 0.04,
    "Millard2012EquilibriumMuscle": MILLARD_TENDON_STRAIN_AT_ONE_NORM_FORCE,
    "DeGrooteFregly2016Muscle": 0.049,
}


def muscle_mass_kg(
    max_isometric_force_n: np.ndarray,
    optimal_fiber_length_m: np.ndarray,
    *,
    specific_tension_pa: float = UMBERGER_SPECIFIC_TENSION_PA,
    density_kg_m3: float = MUSCLE_DENSITY_KG_M3,
) -> np.ndarray:
    """Muscle mass ``rho F0 l_opt / sigma`` (kg): PCSA ``F0 / sigma`` times fibre length."""
    if not (np.isfinite(specific_tension_pa) and specific_tension_pa > 0):
        raise InputError("specific_tension_pa", "must be a positive number")
    return (
        density_kg_m3
        * np.asarray(max_isometric_force_n)
        * np.asarray(optimal_fiber_length_m)
        / (specific_tension_pa)
    )


def fibre_kinematics(
    length_m: np.ndarray,
    speed_m_s: np.ndarray,
    class_code: np.ndarray,
    params: dict[str, np.ndarray],
    tables: dict[str, np.ndarray] | None = None,
    *,
    tendon_length_m: np.ndarray | None = None,
    tendon_speed_m_s: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalized fibre length, fibre velocity (l_opt/s) and active force-length multiplier.

    Constant-thickness pennation (OpenSim's fixed-width model, the same helpers as the
    strength evaluation uses); DeGrooteFregly2016 muscles have no maximum pennation, as in
    OpenSim. The fibre's length along the tendon is ``L - l_T`` and its lengthening speed
    ``(v_MT - v_T) cos(pennation)`` (the time derivative of ``sqrt(h^2 + (L - l_T)^2)``).
    Without ``tendon_length_m`` the tendon is rigid (``l_T`` = slack length, ``v_T = 0``).

    Parameters
    ----------
    length_m, speed_m_s
        Musculotendon length and lengthening speed, ``(F, M)``.
    class_code, params, tables
        As in :func:`runmuscles.model.muscle_curves.rigid_tendon_active_force`.
    tendon_length_m, tendon_speed_m_s
        Tendon length and lengthening speed, ``(F, M)`` (compliant tendon; see
        :func:`compliant_tendon_state`).

    Returns
    -------
    norm_length, velocity_lopt_s, active_fl
        Each ``(F, M)``; velocity lengthening positive.
    """
    length_m = np.atleast_2d(np.asarray(length_m, dtype=float))
    speed_m_s = np.atleast_2d(np.asarray(speed_m_s, dtype=float))
    if tendon_length_m is None:
        tendon_length_m = np.broadcast_to(
            np.asarray(params["tendon_slack_length_m"], dtype=float), length_m.shape
        )
        tendon_speed_m_s = np.zeros(length_m.shape)
    elif tendon_speed_m_s is None:
        raise InputError("tendon_speed_m_s", "is needed with tendon_length_m")
    tendon_length_m = np.atleast_2d(np.asarray(tendon_length_m, dtype=float))
    along_speed_m_s = speed_m_s - np.atleast_2d(np.asarray(tendon_speed_m_s, dtype=float))
    lce = np.empty(length_m.shape)
    vel = np.empty(length_m.shape)
    code = np.asarray(class_code)
    for c in np.unique(code):
        cols = np.nonzero(code == c)[0]
        p = {k: np.asarray(v)[cols] for k, v in params.items()}
        lopt = p["optimal_fiber_length_m"]
        alpha = p["pennation_at_optimal_rad"]
        L, lt, v = length_m[:, cols], tendon_length_m[:, cols], along_speed_m_s[:, cols]
        if c == CLASS_CODES["DeGrooteFregly2016Muscle"]:
            w = lopt * np.sin(alpha)
            along = L - lt
            lf = np.sqrt(along * along + w * w)
            cos_phi = along / lf
        else:
            max_pen = p["max_pennation_rad"]
            lf = fixed_width_fiber_length(L, lt, lopt, alpha, max_pen)
            cos_phi = np.cos(fixed_width_pennation_angle(lf, lopt, alpha, max_pen))
        lce[:, cols] = lf / lopt
        vel[:, cols] = v * cos_phi / lopt
    return lce, vel, active_force_length(lce, code, params, tables)


def tendon_properties(model_path, muscle_names: list[str], muscle_class: list[str]) -> dict[str, np.ndarray]:
    """Each muscle's tendon force-strain curve parameters, as its ``.osim`` declares them.

    ``tendon_strain_at_one_norm_force`` (Thelen2003Muscle ``FmaxTendonStrain``;
    Millard2012EquilibriumMuscle ``TendonForceLengthCurve/strain_at_one_norm_force``;
    DeGrooteFregly2016Muscle ``tendon_strain_at_one_norm_force``), and for Millard muscles
    ``millard_tendon_stiffness_at_one_norm_force`` (NaN: the default ``1.375 / strain``),
    ``millard_tendon_norm_force_at_toe_end`` and ``millard_tendon_curviness``. Properties the
    file leaves out take OpenSim 4's defaults (:data:`OPENSIM_DEFAULT_TENDON_STRAIN`).
    """
    from ..model.osim_xml import read_osim_root  # noqa: PLC0415

    model, _ = read_osim_root(model_path)
    found: dict[str, tuple[str, object]] = {}
    for tag in set(muscle_class):
        for el in model.findall(f".//ForceSet/objects/{tag}"):
            found[el.get("name", "")] = (tag, el)
    n = len(muscle_names)
    out = {
        "tendon_strain_at_one_norm_force": np.full(n, np.nan),
        "millard_tendon_stiffness_at_one_norm_force": np.full(n, np.nan),
        "millard_tendon_norm_force_at_toe_end": np.full(n, np.nan),
        "millard_tendon_curviness": np.full(n, np.nan),
    }

    def number(el, tag: str, default: float) -> float:
        text = None if el is None else el.findtext(tag)
        if text is None or not text.strip():
            return default
        try:
            return float(text)
        except ValueError:
            raise InputError(
                model_path, f"<{tag}> of a muscle is not a number: '{text.strip()[:40]}'"
            ) from None

    for j, (name, cls) in enumerate(zip(muscle_names, muscle_class, strict=True)):
        if name not in found or found[name][0] != cls:
            raise InputError(model_path, f"muscle '{name}' ({cls}) not found in the model file")
        el = found[name][1]
        if cls == "Thelen2003Muscle":
            strain = number(el, "FmaxTendonStrain", OPENSIM_DEFAULT_TENDON_STRAIN[cls])
        elif cls == "Millard2012EquilibriumMuscle":
            curve = el.find("TendonForceLengthCurve")
            strain = number(curve, "strain_at_one_norm_force", OPENSIM_DEFAULT_TENDON_STRAIN[cls])
            out["millard_tendon_stiffness_at_one_norm_force"][j] = number(
                curve, "stiffness_at_one_norm_force", np.nan
            )
            out["millard_tendon_norm_force_at_toe_end"][j] = number(
                curve, "norm_force_at_toe_end", MILLARD_TENDON_NORM_FORCE_AT_TOE_END
            )
            out["millard_tendon_curviness"][j] = number(curve, "curviness", MILLARD_TENDON_CURVINESS)
        else:
            strain = number(el, "tendon_strain_at_one_norm_force", OPENSIM_DEFAULT_TENDON_STRAIN[cls])
        if not (np.isfinite(strain) and strain > 0):
            raise InputError(model_path, f"muscle '{name}' has a tendon strain at F0 of {strain}")
        out["tendon_strain_at_one_norm_force"][j] = strain
    return out


def solution_fibre_state(
    rec, class_code: np.ndarray, params: dict[str, np.ndarray], tables: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """A dynamic muscle solution's own fibre states, as its solver defines them; ``None`` for a
    static solution (no fibre states).

    :mod:`runmuscles.muscles.dynamic` keeps the fibre's length along the tendon positive (a
    smooth positive part of ``L_MT - l_T``) with constant-thickness pennation: ``l_M =
    sqrt(along^2 + h^2)``, ``h = l_opt sin(alpha_opt)``, ``cos(alpha) = along / l_M`` and
    ``v_M = (v_MT - v_T) cos(alpha)``; its tendon force is ``F_T = F_CE cos(alpha)``. So the
    pennation comes back from the solution's fibre length as ``along = sqrt(l_M^2 - h^2)``, and
    the contractile element's power is ``F_CE (-v_M) = -(F_T / cos(alpha)) v_M``, which is
    ``F_T (v_MT - v_T)``: the tendon force times the path's speed less the tendon's. Rigid-tendon
    muscles of the solution carry the same states with ``l_T`` the slack length, so their power
    is ``-F_T v_MT``. Recomputing the fibre from ``L_MT - l_T`` instead (which can reach zero or
    below where the solver's smooth positive part does not) gives no fibre length at all there.

    Parameters
    ----------
    rec
        A :class:`~runmuscles.muscles.recruitment.RecruitmentResult` (``fibre_length_m``,
        ``fibre_velocity_m_s`` and ``muscle_force_n``, each ``(F, M)``).
    class_code, params, tables
        As for :func:`fibre_kinematics` (``optimal_fiber_length_m``,
        ``pennation_at_optimal_rad`` and the active force-length curves).

    Returns
    -------
    norm_length, velocity_lopt_s, active_fl, fibre_power_w
        Each ``(F, M)``: fibre length over optimal length, fibre velocity (optimal lengths per
        second, lengthening positive), the active force-length multiplier of the muscle's class
        and the contractile element's power (W, positive when shortening).
    """
    if getattr(rec, "fibre_length_m", None) is None or getattr(rec, "fibre_velocity_m_s", None) is None:
        return None
    lm = np.atleast_2d(np.asarray(rec.fibre_length_m, dtype=float))
    vm = np.atleast_2d(np.asarray(rec.fibre_velocity_m_s, dtype=float))
    lopt = np.asarray(params["optimal_fiber_length_m"], dtype=float)
    h = lopt * np.sin(np.asarray(params["pennation_at_optimal_rad"], dtype=float))
    along = np.sqrt(np.maximum(lm * lm - h * h, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_a = np.where(lm > 0.0, along / lm, 0.0)
    # F_CE = F_T / cos(alpha): where the solver's fibre lies (nearly) across the tendon its force
    # and speed along it vanish together, so the tiny cosine is floored rather than divided by
    fibre_force = np.asarray(rec.muscle_force_n, dtype=float) / np.maximum(cos_a, _MIN_COS_PENNATION)
    power = -fibre_force * vm
    norm_length = lm / lopt
    fl = active_force_length(norm_length, class_code, params, tables)
    return norm_length, vm / lopt, fl, power


#: Smallest pennation cosine divided by (a fibre at 89.9 degrees to its tendon), in
#: :func:`solution_fibre_state`.
_MIN_COS_PENNATION = 1e-3


def active_force_length(
    norm_length: np.ndarray,
    class_code: np.ndarray,
    params: dict[str, np.ndarray],
    tables: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The active force-length multiplier of each muscle's class at normalized fibre lengths
    ``(F, M)`` (the curves :func:`fibre_kinematics` uses)."""
    norm_length = np.atleast_2d(np.asarray(norm_length, dtype=float))
    fl = np.empty(norm_length.shape)
    code = np.asarray(class_code)
    for c in np.unique(code):
        cols = np.nonzero(code == c)[0]
        p = {k: np.asarray(v)[cols] for k, v in params.items()}
        x = norm_length[:, cols]
        if c == CLASS_CODES["DeGrooteFregly2016Muscle"]:
            fl[:, cols] = degroote_active_force_length(x, p["degroote_active_force_width_scale"])
        elif c == CLASS_CODES["Thelen2003Muscle"]:
            fl[:, cols] = thelen_active_force_length(x, p["thelen_kshape_active"])
        elif c == CLASS_CODES["Millard2012EquilibriumMuscle"]:
            if tables is None or "fl" not in tables:
                raise InputError("muscles", "Millard2012 muscles need their tabulated curves")
            rows = p["curve_table"].astype(np.intp)
            fl[:, cols] = table_curve(x, tables["fl_x"], tables["fl"], rows, extrapolate=False)
        else:  # pragma: no cover - CLASS_CODES has three classes
            raise InputError("muscles", f"unknown muscle class code {c}")
    return fl


def compliant_tendon_state(
    time_s: np.ndarray,
    force_n: np.ndarray,
    class_code: np.ndarray,
    params: dict[str, np.ndarray],
    tendon: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Tendon length and lengthening speed that carry the muscles' forces.

    The strain comes from inverting the tendon force-strain curve of each muscle's class at
    ``force / F0`` (Zajac 1989; curves of Thelen 2003, Millard et al. 2013, De Groote et al.
    2016, with the strain at ``F0`` the muscle declares); the speed is the time derivative of
    the length, from the natural quintic spline through the samples
    (:func:`runmuscles.kinematics.filters.quintic_spline_derivative`, as for the coordinates).

    Parameters
    ----------
    time_s
        Frame times ``(F,)``; uniformly spaced for the spline (else finite differences).
    force_n
        Tendon force ``(F, M)``.
    class_code, params
        As for :func:`fibre_kinematics`; ``params`` needs ``max_isometric_force_n`` and
        ``tendon_slack_length_m``.
    tendon
        :func:`tendon_properties`.

    Returns
    -------
    tendon_length_m, tendon_speed_m_s
        Each ``(F, M)``.
    """
    from ..kinematics.filters import quintic_spline_derivative  # noqa: PLC0415
    from ..muscles.dynamic_model import tendon_strain  # noqa: PLC0415

    force = np.atleast_2d(np.asarray(force_n, dtype=float))
    norm_force = force / np.asarray(params["max_isometric_force_n"], dtype=float)
    strain = tendon_strain(norm_force, class_code, tendon)
    length = np.asarray(params["tendon_slack_length_m"], dtype=float) * (1.0 + strain)
    t = np.asarray(time_s, dtype=float)
    dt = np.diff(t)
    if t.size >= 3 and np.all(np.abs(dt - dt.mean()) <= 1e-6 * dt.mean()):
        speed = quintic_spline_derivative(length, float(dt.mean()))
    elif t.size >= 2:
        speed = np.gradient(length, t, axis=0)
    else:
        speed = np.zeros(length.shape)
    return length, speed


def umberger_rates(
    activation: np.ndarray,
    norm_fiber_length: np.ndarray,
    fiber_velocity_lopt_s: np.ndarray,
    active_fl: np.ndarray,
    fiber_power_w: np.ndarray,
    mass_kg: np.ndarray,
    slow_fraction: np.ndarray,
    max_contraction_velocity_lopt_s: np.ndarray,
    *,
    variant: str = "uchida2016",
    aerobic_factor: float = AEROBIC_FACTOR,
) -> dict[str, np.ndarray]:
    """Metabolic rates of each muscle at each frame (W), Umberger et al. (2003) model.

    Parameters
    ----------
    activation
        Activation, used as excitation, ``(F, M)``.
    norm_fiber_length, fiber_velocity_lopt_s, active_fl
        From :func:`fibre_kinematics`.
    fiber_power_w
        Contractile element power ``F_CE x (-v_CE)``, positive when shortening, ``(F, M)``.
    mass_kg, slow_fraction, max_contraction_velocity_lopt_s
        Per muscle, ``(M,)``: mass, slow-twitch fraction of the muscle (composition), and
        maximum contraction velocity (the fast fibres' one).
    variant
        ``"uchida2016"`` or ``"umberger2010"`` (see the module docstring).
    aerobic_factor
        ``S`` (1.5: mostly aerobic).

    Returns
    -------
    dict
        ``activation_maintenance_w``, ``shortening_w``, ``work_w``, ``total_w`` (each
        ``(F, M)``, W) and ``recruited_slow_fraction``.
    """
    if variant not in _VARIANTS:
        raise InputError("variant", f"unknown energy model variant '{variant}' ({', '.join(_VARIANTS)})")
    a = np.clip(np.asarray(activation, dtype=float), 0.0, 1.0)
    lce = np.asarray(norm_fiber_length, dtype=float)
    v = np.asarray(fiber_velocity_lopt_s, dtype=float)
    fl = np.asarray(active_fl, dtype=float)
    m = np.asarray(mass_kg, dtype=float)
    if variant == "uchida2016":
        fs = recruited_slow_fraction(a, slow_fraction, model="bhargava")
    else:
        fs = np.broadcast_arrays(a, np.asarray(slow_fraction, dtype=float))[1]
    big_a = a  # excitation == activation: A = (u + a) / 2 = a
    above = lce > 1.0

    h = _AM_FAST_W_KG * (1.0 - fs) + _AM_BASE_W_KG
    am = (
        aerobic_factor
        * big_a**0.6
        * np.where(above, _AM_LENGTH_INDEPENDENT * h + (1 - _AM_LENGTH_INDEPENDENT) * h * fl, h)
    )

    vmax_ft = np.asarray(max_contraction_velocity_lopt_s, dtype=float)
    vmax_st = vmax_ft / _VMAX_FAST_OVER_SLOW
    alpha_st = _ALPHA_ST_NUM / vmax_st
    alpha_ft = _ALPHA_FT_NUM / vmax_ft
    slow_term = np.minimum(-alpha_st * v, _SLOW_SHORTENING_CAP_W_KG)
    fast_term = -alpha_ft * v
    shortening = aerobic_factor * big_a**2 * (slow_term * fs + fast_term * (1.0 - fs))
    lengthening = aerobic_factor * big_a * _ALPHA_L[variant] * alpha_st * v
    sl = np.where(v <= 0.0, shortening, lengthening)
    sl = np.where(above, sl * fl, sl)

    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.asarray(fiber_power_w, dtype=float) / m
    if variant == "umberger2010":
        w = np.maximum(w, 0.0)
    else:  # Uchida 2016: no muscle's total rate may be negative
        deficit = am + sl + w
        sl = np.where(deficit < 0.0, sl - deficit, sl)
    heat = am + sl
    floor = np.maximum(_MIN_HEAT_W_KG - heat, 0.0)  # Umberger 2003 p. 104 (added to the heat)
    sl = sl + floor
    total = am + sl + w
    return {
        "activation_maintenance_w": am * m,
        "shortening_w": sl * m,
        "work_w": w * m,
        "total_w": total * m,
        "recruited_slow_fraction": np.asarray(fs),
    }


@dataclass
class MuscleEnergetics:
    """Metabolic rates of one analysis (arrays per frame and muscle, W).

    Attributes
    ----------
    time_s
        Frame times ``(F,)``.
    muscle_names
        Model order.
    mass_kg, slow_fraction
        Per muscle ``(M,)``.
    activation_maintenance_w, shortening_w, work_w, total_w
        ``(F, M)``.
    body_mass_kg
        The model's mass.
    basal_w
        Basal rate of the whole body (W), added for gross results.
    speed_m_s
        Running speed, if known.
    variant, specific_tension_pa, tendon
        Model settings used.
    fibre_power_w
        ``(F, M)`` contractile element power ``F_CE x (-v_CE)`` (positive when shortening),
        before any variant's treatment of negative work.
    """

    time_s: np.ndarray
    muscle_names: list[str]
    mass_kg: np.ndarray
    slow_fraction: np.ndarray
    activation_maintenance_w: np.ndarray
    shortening_w: np.ndarray
    work_w: np.ndarray
    total_w: np.ndarray
    body_mass_kg: float
    basal_w: float
    speed_m_s: float | None
    variant: str
    specific_tension_pa: float
    tendon: str = "rigid"
    fibre_power_w: np.ndarray | None = None


def _geometry_params(analysis):
    """Class codes, parameters (with the forces the analysis used), curve tables, specific
    tension, and the muscles' class names."""
    from ..model import RunnerModel  # noqa: PLC0415 - heavy, and only needed here

    opts = analysis.options
    model = RunnerModel.load(analysis.model_path, cache_dir=opts.cache_dir)
    geom = model.geometry
    params = dict(geom.params)
    sigma = UMBERGER_SPECIFIC_TENSION_PA
    if opts.strength == "volume":
        from ..model.strength import SPECIFIC_TENSION_N_CM2, volume_scaled_max_isometric_force  # noqa: PLC0415

        h = opts.height_m if opts.height_m is not None else model.estimated_height_m()
        f0, _ = volume_scaled_max_isometric_force(
            list(geom.muscle_names), geom.max_isometric_force_n, geom.params, float(analysis.body_mass_kg), h
        )
        params["max_isometric_force_n"] = f0
        sigma = SPECIFIC_TENSION_N_CM2 * 1e4
    code = np.array([CLASS_CODES[c] for c in geom.muscle_class])
    if list(geom.muscle_names) != list(analysis.muscle_names):
        raise InputError(analysis.model_path, "the model's muscles differ from the analysis's")
    return code, params, geom.curve_tables, sigma, list(geom.muscle_class)


def muscle_energetics(
    analysis,
    *,
    variant: str = "uchida2016",
    tendon: str = DEFAULT_TENDON,
    specific_tension_pa: float | None = None,
    basal_rate_w_per_kg: float = BASAL_RATE_W_PER_KG,
) -> MuscleEnergetics:
    """Metabolic power of every muscle at every frame of an analysis.

    Parameters
    ----------
    analysis
        A :class:`runmuscles.pipeline.TrialAnalysis`.
    variant
        ``"uchida2016"`` (default) or ``"umberger2010"``.
    tendon
        ``"rigid"`` or ``"compliant"`` fibre kinematics (see the module docstring).
    specific_tension_pa
        For muscle mass; ``None``: 0.25 MPa with the model's strength (Umberger et al. 2003),
        0.6 MPa with volume-scaled strength (see the module docstring).
    basal_rate_w_per_kg
        Basal rate per kg of body mass for gross results.

    Returns
    -------
    MuscleEnergetics
    """
    if tendon not in TENDON_MODELS:
        raise InputError("tendon", f"unknown tendon model '{tendon}' ({', '.join(TENDON_MODELS)})")
    code, params, tables, sigma, classes = _geometry_params(analysis)
    if specific_tension_pa is not None:
        sigma = specific_tension_pa
    mass = muscle_mass_kg(
        params["max_isometric_force_n"], params["optimal_fiber_length_m"], specific_tension_pa=sigma
    )
    force = np.asarray(analysis.recruitment.muscle_force_n, dtype=float)
    speed = np.asarray(analysis.muscle_speed_m_s, dtype=float)
    if tendon == "rigid":
        lce, vel, fl = fibre_kinematics(analysis.muscle_length_m, speed, code, params, tables)
        power = -force * speed  # F_CE v_CE = tendon force x musculotendon speed
    elif (own := solution_fibre_state(analysis.recruitment, code, params, tables)) is not None:
        lce, vel, fl, power = own  # a dynamic solution: its own fibre states
    else:  # static optimization: the tendon stretch post hoc
        props = tendon_properties(analysis.model_path, list(analysis.muscle_names), classes)
        lt, vt = compliant_tendon_state(analysis.time_s, force, code, params, props)
        lce, vel, fl = fibre_kinematics(
            analysis.muscle_length_m, speed, code, params, tables, tendon_length_m=lt, tendon_speed_m_s=vt
        )
        # F_CE = F_T / cos(pennation) and v_CE = (v_MT - v_T) cos(pennation)
        power = -force * (speed - vt)
    r, _ = slow_twitch_fraction(list(analysis.muscle_names))
    from ..muscles.dynamic_model import solution_max_contraction_velocity  # noqa: PLC0415

    vmax = solution_max_contraction_velocity(
        list(analysis.muscle_names),
        params["max_contraction_velocity_lopt_s"],
        getattr(analysis.recruitment, "parameter_changes", {}),
    )
    rates = umberger_rates(
        analysis.recruitment.activation,
        lce,
        vel,
        fl,
        power,
        mass,
        r,
        vmax,
        variant=variant,
    )
    return MuscleEnergetics(
        time_s=np.asarray(analysis.time_s),
        muscle_names=list(analysis.muscle_names),
        mass_kg=mass,
        slow_fraction=r,
        activation_maintenance_w=rates["activation_maintenance_w"],
        shortening_w=rates["shortening_w"],
        work_w=rates["work_w"],
        total_w=rates["total_w"],
        body_mass_kg=float(analysis.body_mass_kg),
        basal_w=basal_rate_w_per_kg * float(analysis.body_mass_kg),
        speed_m_s=analysis.options.speed_m_s,
        variant=variant,
        specific_tension_pa=float(sigma),
        tendon=tendon,
        fibre_power_w=power,
    )


def _shares(values: np.ndarray, total: float) -> np.ndarray:
    return values / total if total > 0 else np.full(values.shape, np.nan)


def _composition_note(provenance: dict[str, dict]) -> dict:
    """Which slow-twitch table was used, and which muscles got the assumed value."""
    assumed = sorted({p["anatomical"] or m for m, p in provenance.items() if p["source"] == "assumed"})
    return {
        "source": "Johnson et al. (1973) J Neurol Sci 18:111-129 (mean of their samples), vastus "
        "intermedius from Edgerton et al. (1975); see runmuscles.analyses.fibres for how each value "
        "was checked",
        "assumed_percent": DEFAULT_SLOW_TWITCH_PERCENT,
        "assumed_for": assumed,
    }


def energetics_summary(
    analysis,
    *,
    variant: str = "uchida2016",
    tendon: str = DEFAULT_TENDON,
    energetics: MuscleEnergetics | None = None,
) -> dict:
    """Whole-body metabolic power, cost of transport, energy shares and fibre shares.

    Parameters
    ----------
    analysis
        A :class:`runmuscles.pipeline.TrialAnalysis`.
    variant
        Energy model variant (see :func:`umberger_rates`).
    tendon
        ``"compliant"`` or ``"rigid"`` fibre kinematics (see the module docstring).
    energetics
        Precomputed :func:`muscle_energetics` result (computed when omitted; its variant
        and tendon then override the arguments).

    Returns
    -------
    dict
        ``metabolic_power_w_per_kg`` (gross, basal included; mean over strides),
        ``net_metabolic_power_w_per_kg``, ``metabolic_cost_j_per_kg_m`` (gross; None when
        the speed is unknown), ``net_metabolic_cost_j_per_kg_m``, ``kcal_per_km``,
        ``phase_share_of_energy``, ``groups`` (per group ``share_of_energy``,
        ``phase_share_of_energy``, ``fast_fibre_share``, ``phase_fast_fibre_share``),
        ``top_muscles_by_energy``, ``fast_fibre_share`` (per group), ``model``, ``variant``,
        ``settings``, ``fibre_recruitment``, ``fibre_composition`` (the table used and which
        muscles got the assumed value), ``fibre_work_j_per_stride`` (``positive`` and
        ``negative`` work of all contractile elements, mean per stride), and the reserves'
        shares of positive joint work (:func:`positive_work_shares`: work the muscle energy
        does not include).
        Power values are None when the analysis has no complete stride.
    """
    from .fibres import fibre_shares  # noqa: PLC0415

    en = energetics or muscle_energetics(analysis, variant=variant, tendon=tendon)
    fib = fibre_shares(analysis)
    names = en.muscle_names
    bm = en.body_mass_kg
    w, _ = _frame_weights(en.time_s, analysis.cycles)
    duration = float(sum(c.duration_s for c in analysis.cycles))
    phases = analysis.muscle_phase_per_frame()  # each muscle in its own leg's phase
    energy_j = w @ en.total_w  # (M,) over all strides
    total_j = float(energy_j.sum())
    out: dict = {
        "model": (
            "Umberger et al. (2003) muscle energy model, "
            + (
                "as used by Uchida et al. (2016): Bhargava et al. (2004) recruitment, negative work "
                "counted, lengthening heat 4 alpha_ST, no negative muscle power"
                if en.variant == "uchida2016"
                else "as published by Umberger (2010)"
            )
            + "; activation used as excitation; "
            + (
                (
                    "compliant tendon (the dynamic solution's own fibre lengths, velocities and power)"
                    if getattr(analysis.recruitment, "fibre_length_m", None) is not None
                    else "compliant tendon (post hoc: fibre lengths from the tendon forces of static "
                    "optimization)"
                )
                if en.tendon == "compliant"
                else "rigid tendon"
            )
        ),
        "variant": en.variant,
        "basal_power_w_per_kg": en.basal_w / bm,
        "muscle_mass_kg": float(en.mass_kg.sum()),
        "specific_tension_pa": en.specific_tension_pa,
        "metabolic_power_w_per_kg": None,
        "net_metabolic_power_w_per_kg": None,
        "metabolic_cost_j_per_kg_m": None,
        "net_metabolic_cost_j_per_kg_m": None,
        "kcal_per_km": None,
        "heat_and_work_share": {},
        "phase_share_of_energy": {},
        "groups": {},
        "top_muscles_by_energy": [],
        "fast_fibre_share": {g: v for g, v in fib.group_fast_force_share.items()},
        "fibre_recruitment": "Bhargava et al. (2004) J Biomech 37:81-88 (slow units first)",
        "fibre_composition": _composition_note(fib.provenance),
        "settings": {
            "aerobic_factor": AEROBIC_FACTOR,
            "basal_rate_w_per_kg": en.basal_w / bm,
            "lengthening_heat_over_alpha_st": _ALPHA_L[en.variant],
            "muscle_density_kg_m3": MUSCLE_DENSITY_KG_M3,
            "specific_tension_pa": en.specific_tension_pa,
            "excitation": "activation (static optimization has no excitation dynamics)",
            "tendon": en.tendon,
        },
        "fibre_work_j_per_stride": {"positive": None, "negative": None},
        **positive_work_shares(analysis),
    }
    if duration <= 0 or total_j <= 0:
        return out
    if en.fibre_power_w is not None:
        n_strides = len(analysis.cycles)
        out["fibre_work_j_per_stride"] = {
            "positive": float((w @ np.maximum(en.fibre_power_w, 0.0)).sum() / n_strides),
            "negative": float((w @ np.minimum(en.fibre_power_w, 0.0)).sum() / n_strides),
        }
    net = total_j / duration / bm
    gross = net + en.basal_w / bm
    out["net_metabolic_power_w_per_kg"] = net
    out["metabolic_power_w_per_kg"] = gross
    v = en.speed_m_s
    if v:
        out["net_metabolic_cost_j_per_kg_m"] = net / v
        out["metabolic_cost_j_per_kg_m"] = gross / v
        out["kcal_per_km"] = gross * bm / v * 1000.0 / _J_PER_KCAL
    for key in ("activation_maintenance_w", "shortening_w", "work_w"):
        out["heat_and_work_share"][key.removesuffix("_w")] = float((w @ getattr(en, key)).sum() / total_j)
    phase_energy = {ph: muscle_phase_sum(phases, w, en.total_w, ph) for ph in PHASES}
    for ph, e in phase_energy.items():
        out["phase_share_of_energy"][ph] = float(e.sum() / total_j)
    for g, members in group_members(names).items():
        if not members:
            continue
        idx = [names.index(m) for m in members]
        entry = {
            "muscles": members,
            "share_of_energy": float(energy_j[idx].sum() / total_j),
            "energy_j_per_kg_per_stride": float(energy_j[idx].sum() / bm / len(analysis.cycles)),
            "phase_share_of_energy": {
                ph: float(_shares(np.array(e[idx].sum()), float(e.sum()))) for ph, e in phase_energy.items()
            },
            "fast_fibre_share": fib.group_fast_force_share.get(g),
            "phase_fast_fibre_share": fib.group_phase_fast_force_share.get(g, {}),
        }
        out["groups"][g] = entry
    order = np.argsort(-energy_j)[:10]
    out["top_muscles_by_energy"] = [
        {
            "muscle": names[j],
            "share_of_energy": float(energy_j[j] / total_j),
            "mean_power_w": float(energy_j[j] / duration),
            "mass_kg": float(en.mass_kg[j]),
            "fast_fibre_share": float(fib.fast_force_share[j]),
        }
        for j in order
    ]
    return out


# -- validation against measured running cost ---------------------------------------------
#: Level running, Margaria R, Cerretelli P, Aghemo P, Sassi G (1963) Energy cost of running.
#: J Appl Physiol 18:367-370, abstract: "The energy cost per kilometer in horizontal run
#: (1 kcal/kg)", the net (above resting) cost, independent of speed: 1 kcal/kg/km in J/kg/m.
MARGARIA_1963_NET_J_PER_KG_M = 1.0 * _J_PER_KCAL / 1000.0
#: Level running, Minetti AE, Moia C, Roi GS, Susta D, Ferretti G (2002) Energy cost of
#: walking and running at extreme uphill and downhill slopes. J Appl Physiol 93:1039-1046,
#: abstract: Cr = 3.40 +- 0.24 J/kg/m (mean +- SD, 10 runners) on the level, independent of
#: speed. The abstract does not say net or gross; it is compared with the net cost here, as
#: costs of locomotion in that literature are taken above the resting rate.
MINETTI_2002_NET_J_PER_KG_M = (3.40, 0.24)
#: Running on slopes, Minetti et al. (2002), their polynomial fit of the measured cost of
#: running against the gradient ``i`` (rise / run, -0.45 to +0.45), J/kg/m:
#: ``Cr(i) = 155.4 i^5 - 30.4 i^4 - 43.3 i^3 + 46.3 i^2 + 19.5 i + 3.6`` (coefficients from
#: the highest power down).
MINETTI_2002_GRADE_POLYNOMIAL = (155.4, -30.4, -43.3, 46.3, 19.5, 3.6)


def minetti_2002_cost_j_per_kg_m(grade_pct: float) -> float:
    """Cost of running on a gradient by the polynomial of Minetti et al. (2002), J/kg/m.

    Valid for grades of -45 to +45 % (their measurements); outside, :class:`InputError`."""
    if not np.isfinite(grade_pct) or abs(grade_pct) > 45.0:
        raise InputError("grade_pct", f"{grade_pct:g} % is outside the -45..45 % of Minetti et al. (2002)")
    return float(np.polyval(MINETTI_2002_GRADE_POLYNOMIAL, grade_pct / 100.0))


def positive_work_shares(analysis) -> dict[str, float | None]:
    """Who does the positive work at the joints the muscles cross: muscles or reserves.

    Reserve actuators (and residual forces) cost no metabolic energy, so positive work that
    they do instead of the muscles is missing from the muscle energy. Positive work of each
    source is the time integral of ``max(moment x coordinate speed, 0)`` over the strides, on
    every coordinate where the muscles make a moment.

    Parameters
    ----------
    analysis
        A :class:`runmuscles.pipeline.TrialAnalysis` with stride cycles.

    Returns
    -------
    dict
        ``reserve_share_of_positive_work`` (all those coordinates) and
        ``reserve_share_of_ankle_positive_work`` (``ankle_angle_*``), each reserve positive
        work over muscle plus reserve positive work; None without strides or work.
    """
    rec = analysis.recruitment
    coords = analysis.coordinates
    w, _ = _frame_weights(analysis.time_s, analysis.cycles)
    totals = {"all": [0.0, 0.0], "ankle": [0.0, 0.0]}
    for ci, name in enumerate(rec.coordinate_names):
        muscle_m = np.asarray(rec.muscle_moment[:, ci])
        if not np.any(muscle_m != 0.0):
            continue
        qdot = coords.qdot[:, coords.index(name)]
        pos_m = float(w @ np.maximum(muscle_m * qdot, 0.0))
        pos_r = float(w @ np.maximum(np.asarray(rec.reserve_moment[:, ci]) * qdot, 0.0))
        keys = ("all", "ankle") if name.startswith("ankle_angle") else ("all",)
        for k in keys:
            totals[k][0] += pos_m
            totals[k][1] += pos_r

    def share(k: str) -> float | None:
        m, r = totals[k]
        return r / (m + r) if m + r > 0 else None

    return {
        "reserve_share_of_positive_work": share("all"),
        "reserve_share_of_ankle_positive_work": share("ankle"),
    }


def energy_validation_rows(
    hamner_dir,
    *,
    subjects: list[str] | None = None,
    speeds_m_s: tuple[float, ...] = (2, 3, 4, 5),
    strength: str = "volume",
    variant: str = "uchida2016",
    tendon: str = DEFAULT_TENDON,
) -> list[dict]:
    """Cost of transport of hamner2013 runners, one row per runner and speed.

    Parameters
    ----------
    hamner_dir
        A folder of runners in the hamner2013 layout (``subjectNN/model``, ``ik``,
        ``Run_N_grf.xml``), or one runner's folder.
    subjects
        Runner folder names to use (default: every ``subject*`` folder, or the folder itself).
    speeds_m_s
        Trials ``Run_<speed>``.
    strength, variant, tendon
        Analysis strength model, energy model variant and tendon model.

    Returns
    -------
    list of dict
        ``subject``, ``speed_m_s``, ``gross_j_per_kg_m``, ``net_j_per_kg_m``,
        ``gross_power_w_per_kg``, ``kcal_per_km``, ``muscle_mass_kg``, ``n_strides``,
        ``tendon``, ``cost_plausible`` (the gross cost within the physiological band of
        :func:`runmuscles.analyses.validity.energy_cost_warning`), and the reserves' shares of
        positive work (:func:`positive_work_shares`).
    """
    from ..pipeline import analyze_runner_trials  # noqa: PLC0415
    from .validity import energy_cost_warning  # noqa: PLC0415

    if tendon not in TENDON_MODELS:
        raise InputError("tendon", f"unknown tendon model '{tendon}' ({', '.join(TENDON_MODELS)})")
    rows = []
    for folder, v, a in analyze_runner_trials(
        hamner_dir, subjects=subjects, speeds_m_s=speeds_m_s, strength=strength
    ):
        s = energetics_summary(a, variant=variant, tendon=tendon)
        rows.append(
            {
                "subject": folder.name,
                "speed_m_s": float(v),
                "gross_j_per_kg_m": s["metabolic_cost_j_per_kg_m"],
                "net_j_per_kg_m": s["net_metabolic_cost_j_per_kg_m"],
                "gross_power_w_per_kg": s["metabolic_power_w_per_kg"],
                "kcal_per_km": s["kcal_per_km"],
                "muscle_mass_kg": s["muscle_mass_kg"],
                "n_strides": len(a.cycles),
                "tendon": tendon,
                "cost_plausible": energy_cost_warning(s["metabolic_cost_j_per_kg_m"]) is None,
                **positive_work_shares(a),
            }
        )
    return rows


def energy_validation_summary(rows: list[dict]) -> dict:
    """Per-runner change over speed and the mean over runners, from :func:`energy_validation_rows`.

    Parameters
    ----------
    rows
        One row per runner and speed; rows without a cost, or whose cost is outside the
        physiological band (``cost_plausible`` False), are left out.

    Returns
    -------
    dict
        ``runners``: per runner ``gross_variation`` (largest over smallest gross cost minus
        one, over the speeds it ran; None with fewer than two); ``mean``: per speed the mean
        over runners of ``gross_j_per_kg_m`` and ``net_j_per_kg_m`` with ``n_runners``;
        ``mean_gross_variation`` (the same measure for the mean over runners);
        ``references``: Margaria et al. (1963) and Minetti et al. (2002) in J/kg/m (net).
    """
    by_runner: dict[str, list[float]] = {}
    by_speed: dict[float, list[dict]] = {}
    for r in rows:
        if r["gross_j_per_kg_m"] is None or not r.get("cost_plausible", True):
            continue
        by_runner.setdefault(r["subject"], []).append(r["gross_j_per_kg_m"])
        by_speed.setdefault(r["speed_m_s"], []).append(r)

    def variation(values: list[float]) -> float | None:
        return max(values) / min(values) - 1.0 if len(values) > 1 else None

    mean = {
        v: {
            "gross_j_per_kg_m": float(np.mean([r["gross_j_per_kg_m"] for r in rs])),
            "net_j_per_kg_m": float(np.mean([r["net_j_per_kg_m"] for r in rs])),
            "n_runners": len(rs),
        }
        for v, rs in sorted(by_speed.items())
    }
    mean_sd = MINETTI_2002_NET_J_PER_KG_M
    return {
        "runners": {k: {"gross_variation": variation(g)} for k, g in by_runner.items()},
        "mean": mean,
        "mean_gross_variation": variation([m["gross_j_per_kg_m"] for m in mean.values()]),
        "references": {
            "margaria_1963_net_j_per_kg_m": MARGARIA_1963_NET_J_PER_KG_M,
            "minetti_2002_net_j_per_kg_m": {"mean": mean_sd[0], "sd": mean_sd[1]},
        },
    }


def energy_muscle_rows(
    analysis, *, tendon: str = DEFAULT_TENDON, energetics: MuscleEnergetics | None = None
) -> list[dict]:
    """One row per muscle: mass, mean power and share of the energy, over strides and per phase.

    Parameters
    ----------
    analysis
        A :class:`runmuscles.pipeline.TrialAnalysis` with stride cycles.
    tendon
        ``"compliant"`` or ``"rigid"`` (when ``energetics`` is computed here).
    energetics
        Precomputed :func:`muscle_energetics` result (computed when omitted).

    Returns
    -------
    list of dict
        ``muscle``, ``mass_kg``, ``slow_twitch_fraction``, ``mean_power_w`` (over strides),
        ``share_of_energy``, ``<phase>_share_of_energy`` (share of that phase's energy),
        ``fast_force_share`` and ``<phase>_fast_force_share``.
    """
    from .fibres import fibre_shares  # noqa: PLC0415

    en = energetics or muscle_energetics(analysis, tendon=tendon)
    fib = fibre_shares(analysis)
    w, _ = _frame_weights(en.time_s, analysis.cycles)
    duration = float(sum(c.duration_s for c in analysis.cycles))
    phases = analysis.muscle_phase_per_frame()
    energy = w @ en.total_w
    per_phase = {ph: muscle_phase_sum(phases, w, en.total_w, ph) for ph in PHASES}
    rows = []
    for j, n in enumerate(en.muscle_names):
        row = {
            "muscle": n,
            "mass_kg": float(en.mass_kg[j]),
            "slow_twitch_fraction": float(en.slow_fraction[j]),
            "mean_power_w": float(energy[j] / duration) if duration > 0 else None,
            "share_of_energy": float(_shares(energy, float(energy.sum()))[j]),
            "fast_force_share": float(fib.fast_force_share[j]),
        }
        for ph, e in per_phase.items():
            row[f"{ph}_share_of_energy"] = float(_shares(e, float(e.sum()))[j])
            row[f"{ph}_fast_force_share"] = float(fib.phase_fast_force_share[ph][j])
        rows.append(row)
    return rows


def kcal_for_distance(cost_j_per_kg_m: float, body_mass_kg: float, distance_m: float) -> float:
    """Energy of a run (kcal) from a gross cost of transport, body mass and distance."""
    for what, v in (("cost_j_per_kg_m", cost_j_per_kg_m), ("body_mass_kg", body_mass_kg)):
        if not (np.isfinite(v) and v > 0):
            raise InputError(what, f"must be a positive number, got {v!r}")
    if not (np.isfinite(distance_m) and distance_m >= 0):
        raise InputError("distance_m", f"must be a non-negative number, got {distance_m!r}")
    return cost_j_per_kg_m * body_mass_kg * distance_m / _J_PER_KCAL
