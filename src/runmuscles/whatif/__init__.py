"""What-if: the same runner under another condition (grade, cadence, trunk lean, overstride,
foot strike, treadmill or overground, wind), recomputed through the same engine.

A :class:`WhatIfEngine` holds one analysed trial (a :class:`~runmuscles.pipeline.TrialAnalysis`)
and, for a :class:`Condition`, transforms its motion and ground reaction forces and runs the
stages after kinematics again (:func:`runmuscles.pipeline.analyze_motion`: inverse dynamics,
muscle geometry, static optimization, per-stride analyses). Every transformation keeps the
motion consistent with Newton's laws: where the forces change, the centre of mass follows
them; where the centre of mass moves, the forces follow it; feet that are on the ground stay
on it (their new joint angles come from inverse kinematics of the leg). At the baseline
condition nothing is transformed and the result equals the analysis to the last bit.

Transformations (each is documented at its function, with its sources):

* **grade** (:func:`.grade.tilt_gravity`): running up or down a slope at constant speed is,
  in the frame of the slope, level running with gravity tilted by the slope angle
  ``atan(grade)``. The extra force along and normal to the slope is added to the measured
  ground reaction force in proportion to each foot's normal force (zero in flight), so that
  over the trial the net force balances the tilted gravity; the centre of mass follows the
  changed force. With ``Condition.slope_adaptation`` (the default) the runner also adapts as
  runners on slopes do (:func:`.grade.slope_adaptation`): a higher step frequency
  uphill (+4 % from level to 7 %: Padulo J et al. 2013, PLoS One 8:e69006), and trunk and
  feet that keep their orientation to gravity rather than to the slope, so the foot lands
  flatter on an uphill slope (towards a mid- or forefoot strike) and more heel-first on a
  downhill one, and the trunk leans into the slope (the directions reviewed by Vernillo G
  et al. 2017, Sports Med 47:615-629).
* **cadence** (:func:`.cadence.change_cadence`): step frequency x ``c`` at the same speed: the
  stride's time compressed by ``c``, step length / ``c``; vertical and lateral centre-of-mass
  excursions / ``c^2`` (same force amplitudes over shorter contacts: vertical impulse per
  stride still equals body weight x stride time); the feet's fore-aft reach / ``c``, so the
  fore-aft force, which points along the leg, / ``c`` too and its excursion / ``c^3``; feet on
  the ground at the same speed. The measured effects to compare with are those of
  Heiderscheit BC et al. (2011) Med Sci Sports Exerc 43:296-302.
* **trunk lean** (:func:`.lean.lean_trunk`): the trunk (lumbar joint) flexed forward by the
  angle, the pelvis moved so that the whole-body centre of mass (and hence the ground
  reaction force) is unchanged, feet where they were. Teng HL, Powers CM (2014) J Orthop
  Sports Phys Ther 44:785-792 and (2015) Med Sci Sports Exerc 47:625-630 measured the effect.
* **overstride** (:func:`.overstride.overstride`): each foot lands ``d`` metres further
  ahead on its own ground path, i.e. ``d / v`` earlier, with toe-off unchanged: a longer
  stance and a shorter flight at the same cadence. Each contact's measured force is
  stretched over the longer stance with its impulses kept; the centre of mass follows.
* **foot strike** (:func:`.strike.set_strike`): the foot angle at contact set to a forefoot
  (-8 deg) or rearfoot (+16 deg) landing (Altman AR, Davis IS, 2012, Gait Posture
  35:298-300: rearfoot above 8 deg, forefoot below -1.6 deg), blending back to the measured
  foot angle by 40 % of stance; the centre of pressure starts under the ball for a forefoot
  landing (profiles of :mod:`runmuscles.dynamics.grf_estimation`); the centre of mass and
  the measured force are kept.

Legs follow their feet by inverse kinematics (:func:`.leg_ik.solve_legs`): the ball of the
foot is held on its target path, the foot's pitch is a soft target, and joints are held
towards their measured angles. Every result reports the pelvis residuals and reserves, so a
transformation that leaves the motion less consistent shows it.
* **surface** (:func:`.surface.change_surface`): a treadmill at constant belt speed is an
  inertial frame, so muscle demand equals overground at the same speed (van Ingen Schenau
  GJ, 1980, Med Sci Sports Exerc 12:257-261): nothing changes. What does differ is modelled:
  air drag overground (``0.5 rho Cd A (v + wind)^2``, Pugh LGCE, 1971, J Physiol
  213:255-276), balanced by a propulsive ground reaction force, and belt-speed fluctuation
  during stance on a treadmill (the stance foot moves with the belt; the legs follow it).

Speed is not a transformation: :class:`SpeedModel` interpolates results between the runner's
own trials at measured speeds and refuses speeds outside them.

The package: :mod:`.condition` and :mod:`.result` (what is asked and answered), :mod:`.engine`
(the trial, its kinematics and the order of the transformations), :mod:`.state`, :mod:`.leg_ik`
and :mod:`.loads` (what the transformations share), one module per transformation
(:mod:`.grade`, :mod:`.cadence`, :mod:`.lean`, :mod:`.overstride`, :mod:`.strike`,
:mod:`.surface`, :mod:`.drag`, :mod:`.belt`), :mod:`.speed`, :mod:`.grade_cost`,
:mod:`.opensim_export` and :mod:`.compare` (one comparison as the shells show it).
"""

from .condition import Condition
from .drag import AIR_DENSITY_KG_M3, DRAG_AREA_M2
from .engine import WhatIfEngine
from .grade import UPHILL_STEP_FREQUENCY_PCT_PER_PCT
from .grade_cost import grade_cost_rows, grade_cost_summary
from .opensim_export import export_opensim
from .result import EXTENSOR_SETS, WhatIfResult, compare_groups, load_shifts
from .speed import SpeedModel, load_runner
from .strike import STRIKE_ANGLE_DEG

__all__ = [
    "AIR_DENSITY_KG_M3",
    "DRAG_AREA_M2",
    "EXTENSOR_SETS",
    "STRIKE_ANGLE_DEG",
    "UPHILL_STEP_FREQUENCY_PCT_PER_PCT",
    "Condition",
    "SpeedModel",
    "WhatIfEngine",
    "WhatIfResult",
    "compare_groups",
    "export_opensim",
    "grade_cost_rows",
    "grade_cost_summary",
    "load_shifts",
    "load_runner",
]
