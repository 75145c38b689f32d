"""Muscle-tendon curves and settings of the dynamic muscle solution (:mod:`.dynamic`).

The collocation problem needs smooth, symbolic curves. Each muscle's own curves (its class's
active force-length, force-velocity and passive force-length relations, and its tendon's
strain as a function of force, :mod:`runmuscles.model.muscle_curves`) are tabulated with NumPy
and fitted with cubic B-splines (CasADi's ``bspline`` interpolant), one spline per distinct
curve, so that every model's muscles are solved with their own curves and the solver gets
exact, continuous derivatives.

Settings (:class:`DynamicSettings`) and their presets:

* :meth:`DynamicSettings.default`: every muscle with a compliant tendon, activation dynamics
  with the time constants of De Groote et al. (2016) (15 ms activation, 60 ms deactivation,
  after Raasch et al. 1997), the model's own active curves, no passive fibre force.
* :meth:`DynamicSettings.rigid_limit`: the same solver with rigid tendons (optionally without
  activation dynamics: then it is static optimization's problem on every mesh node).
* :meth:`DynamicSettings.moco`: MocoInverse's set-up (Dembia CL et al. 2020, PLoS Comput Biol
  16:e1008493; OpenSim 4.6's ``MocoInverse``): DeGrooteFregly2016 curves for every muscle
  (rigid tendons too, with the pennation and fibre damping in their force), active
  force-length widened 1.5x, passive fibre force off, fibre damping 0.01, the muscle's
  activation smoothing 0.1, initial activation = initial excitation, compliant tendons on the
  triceps surae only, reserves of 1 N m, objective the integral of squared excitations and
  reserve controls plus 0.01 (dF~T/dt)^2. :mod:`runmuscles.muscles.moco_reference` adds what
  depends on the data: Moco's grid, Hermite-Simpson, its kinematics spline and reserves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..model.muscle_curves import (
    CLASS_CODES,
    degroote_active_force_length,
    degroote_force_velocity,
    degroote_passive_force_length,
    degroote_tendon_strain,
    millard_tendon_strain,
    table_curve,
    thelen_active_force_length,
    thelen_force_velocity,
    thelen_passive_force_length,
    thelen_tendon_strain,
)

__all__ = [
    "ARNOLD2013_PLANTARFLEXOR_TENDON_STRAIN",
    "LAI2017_MAX_CONTRACTION_VELOCITY_LOPT_S",
    "TRICEPS_SURAE",
    "CurveTables",
    "DynamicSettings",
    "compliant_mask",
    "degroote_rigid_tendon_force",
    "muscle_parameter_overrides",
    "solution_max_contraction_velocity",
    "muscle_curve_tables",
    "rigid_passive_force_n",
    "tendon_strain",
]

#: Name prefixes of the triceps surae (soleus and both gastrocnemii) in the Hamner 2010,
#: Rajagopal 2016 and Lai-Arnold 2017 models: the compliant muscles of the Moco preset. The
#: mask itself comes from the project's muscle groups (``calves``,
#: :func:`runmuscles.analyses.groups.group_members`), which know more models' names.
TRICEPS_SURAE = ("soleus", "med_gas", "lat_gas", "gasmed", "gaslat")

#: Tendon strain at maximum isometric force of the plantarflexors (soleus, gastrocnemii) in
#: the muscle-tendon simulations of walking and running (1-5 m/s) of Arnold EM, Hamner SR,
#: Seth A, Millard M, Delp SL (2013) J Exp Biol 216:2150-2160 (their Fig. 2E: 10 % in the
#: plantarflexors, 4 % in all other muscles), the same laboratory, model family and data as
#: the Hamner & Delp (2013) runners. In vivo, the human soleus fascicles contribute only about
#: 20 % of the muscle-tendon unit's length change and shortening velocity in running, the tendon
#: the rest (Lai A et al. 2015, J Appl Physiol 118:1266-1275); the Hamner 2010 model's own
#: ``FmaxTendonStrain`` of 0.033 leaves most of that shortening to the fibres.
ARNOLD2013_PLANTARFLEXOR_TENDON_STRAIN = 0.10

#: Maximum contraction velocity (optimal fibre lengths per second) of every muscle of the
#: LaiArnold2017 model (Lai AKM, Arnold AS, Wakeling JM (2017) Ann Biomed Eng 45:2762-2774),
#: the refinement of Rajagopal et al. (2016) built to simulate pedalling and fast running: the
#: model as distributed (``models/LaiArnold2017.osim`` of the shared data; its
#: Millard2012EquilibriumMuscle defaults, which OpenSim 4.6 applies to all 80 muscles) takes
#: 20, twice OpenSim's default of 10 that the Hamner 2010 and Rajagopal 2016 models keep. With
#: 10, the dynamic solution's soleus fibres shorten at 0.5-1.0 of it in late push-off at
#: 5 m/s, where in vivo the soleus fascicles of runners stay nearly isometric and take only
#: about 20 % of the muscle-tendon unit's shortening velocity (Lai A et al. 2015, J Appl
#: Physiol 118:1266-1275; at 3-6 m/s near the velocity of maximum efficiency, Bohm S et al.
#: 2023, J Exp Biol 226:jeb246437).
LAI2017_MAX_CONTRACTION_VELOCITY_LOPT_S = 20.0

#: Grids of the tabulated curves: normalized fibre length, normalized fibre velocity
#: (lengthening positive, in maximum contraction velocities) and normalized tendon force.
FIBRE_LENGTH_GRID = np.linspace(0.05, 2.5, 99)
FIBRE_VELOCITY_GRID = np.linspace(-2.0, 2.0, 101)
TENDON_FORCE_GRID = np.linspace(-0.1, 3.0, 125)


#: Environment variable capping :attr:`DynamicSettings.block_workers` (set to 1 in batch workers).
SOLVER_PROCESSES_ENV = "RUNMUSCLES_SOLVER_PROCESSES"


@dataclass(frozen=True)
class DynamicSettings:
    """Settings of :func:`runmuscles.muscles.dynamic.solve_dynamic`.

    Attributes
    ----------
    compliant
        Which muscles get compliant tendons: ``"all"``, ``"none"`` (rigid tendons) or
        ``"triceps_surae"`` (:data:`TRICEPS_SURAE`).
    activation_dynamics
        Activation as a state driven by excitation (De Groote et al. 2016, Eqs 1-2); off:
        activation = excitation.
    activation_time_constant_s, deactivation_time_constant_s
        15 ms and 60 ms (De Groote et al. 2016, after Raasch CC, Zajac FE, Ma B, Levine WS
        (1997) J Biomech 30:595-602).
    activation_smoothing
        ``b`` of the smooth switch ``0.5 + 0.5 tanh(b (e - a))`` between the two time
        constants (10: OpenSim's DeGrooteFregly2016Muscle default).
    curves
        Fibre curves of the compliant muscles. ``"degroote2016"`` (default): the smooth
        DeGrooteFregly2016 curves, made for gradient-based optimal control (De Groote et al.
        2016; Moco's ModOpReplaceMusclesWithDeGrooteFregly2016), with each muscle's own F0,
        optimal fibre length, pennation and maximum contraction velocity; ``"model"``: each
        muscle's own class curves (Thelen's piecewise force-velocity curve makes IPOPT need
        about twice the iterations).
    tendon_curve
        ``"model"`` (default): each muscle's own class tendon curve and strain at F0 (as the
        energetics read them); ``"degroote2016"``: the DeGroote tendon curve at the muscle's
        strain at F0 (Moco's replacement muscle).
    rigid_curves
        Strength of the rigid-tendon muscles: ``"model"`` (default): static optimization's own
        (the model's curves, so the rigid limit is static optimization); ``"degroote2016"``:
        the DeGrooteFregly2016 muscle's with ``active_force_width_scale`` (Moco's).
    active_force_width_scale
        Widening of the DeGroote active force-length curve (``"degroote2016"`` only; Moco's
        ModOpScaleActiveFiberForceCurveWidthDGF).
    passive_fibre_force
        Include the passive fibre force (compliant muscles). Off by default, as in static
        optimization here (OpenSim's StaticOptimization uses the active force only) and in
        MocoInverse's standard set-up: fibre lengths beyond the passive curve's range (which a
        scaled model's geometry can give) would otherwise demand tendon forces no muscle has.
    fibre_damping
        Normalized fibre damping (force over F0 per normalized velocity; De Groote et al.
        2016 use 0.01 in OpenSim's implementation).
    mesh_interval_s
        Collocation mesh interval (every k-th frame, the nearest to it; the results are
        interpolated linearly to the frames); ``None``: every frame. 0.02 s: the mesh of the
        MocoInverse reference solutions.
    excitation_weight, reserve_weight, tendon_derivative_weight
        Objective: mean over time of ``w_e sum e^2 + w_r sum r^2 + w_d sum (dF~T/dt / 10)^2``
        (the last a small regularisation of the implicit tendon dynamics, as Moco's
        ``implicit_auxiliary_derivatives_weight``).
    transcription
        ``"trapezoidal"`` (default) or ``"hermite_simpson"``: the nodes (every
        ``mesh_interval_s``) taken in threes as mesh intervals with their midpoints (an odd
        number of nodes), Simpson quadrature in the objective, controls free at every node
        (Moco's ``MocoCasADiSolver`` default transcription, with
        ``interpolate_control_mesh_interior_points`` off as in MocoInverse).
    initial_activation_equals_excitation
        Each muscle's activation at the first node equals its excitation there (Moco's
        ``MocoInitialActivationGoal``, an endpoint constraint in MocoInverse): without it the
        first activation is free, and a solver starts a muscle active at no cost.
    norm_tendon_force_bounds, max_tendon_force_rate_per_s
        Bounds of the compliant muscles' normalized tendon force and of its time derivative
        (1/s). Defaults: ``(-0.05, 2.5)`` and 100 (see
        :data:`runmuscles.muscles.dynamic.MIN_NORM_TENDON_FORCE`); OpenSim 4.6's
        DeGrooteFregly2016Muscle bounds the force to ``[0, 5]`` and Moco's direct collocation
        solvers the derivative to +-1000 (``implicit_auxiliary_derivative_bounds``).
    tolerance, constraint_tolerance, max_iterations, print_level, mu_strategy
        IPOPT's convergence tolerance (1e-3, MocoInverse's default), constraint tolerance
        (normalized forces; moments over 1 + their peak), iteration limit, output level (0:
        silent) and barrier strategy (``monotone``: 122 iterations on a 43-muscle leg of the
        bundled stride, against 265-326 with ``adaptive``).
    barrier_initial
        IPOPT's initial barrier parameter ``mu_init``. 0.01 (IPOPT's default 0.1): the seed
        from static optimization is already near the solution, and a large first barrier pulls
        it into the interior first. Measured on the bundled stride (every tendon compliant,
        ``benchmarks/bench_dynamic.py``): right leg 174 iterations instead of 336 (objective
        6.80 against 6.66), left leg 356 instead of 249 but a lower local optimum (64.7 against
        88.4); 0.001 and 0.0001 took 225 and 367 on the right leg.
    triceps_surae_tendon_strain
        Tendon strain at F0 of the compliant triceps surae muscles (:data:`TRICEPS_SURAE`,
        the project's ``calves`` group), replacing the model's own; ``None`` (default): the
        model's. :data:`ARNOLD2013_PLANTARFLEXOR_TENDON_STRAIN` (0.10) is the published
        alternative; not the default: with the Hamner 2010 model's tendon slack lengths it
        leaves the gastrocnemii at 0.55-0.65 optimal fibre lengths in push-off, and at 5 m/s it
        did not lower the reserves' ankle work beyond what the velocity alone does (the
        ``dynamic_settings_compared`` block of ``benchmarks/dynamic_speed_series_latest.json``).
    max_contraction_velocity_lopt_s
        Maximum contraction velocity of every compliant muscle (optimal fibre lengths per
        second), replacing the model's own (10 in the Hamner 2010 and Rajagopal 2016 models,
        OpenSim's default); ``None``: the model's. Default 20
        (:data:`LAI2017_MAX_CONTRACTION_VELOCITY_LOPT_S`): at 5 m/s on the seven shared Hamner
        runners the reserves' share of the ankles' positive work falls from 15-48 % to 2-31 %
        (below 10 % on five runners, none before) and the share of muscles saturated over
        5 % of the stride from 12-25 % to 0-17 % (below 10 % on four)
        (``benchmarks/dynamic_speed_series_latest.json``).
    block_workers
        Processes that solve the independent blocks (right leg, left leg, trunk) at once; 1:
        one after another in the solver process. Capped by the CPUs this process may use and
        by ``$RUNMUSCLES_SOLVER_PROCESSES`` (batch workers set it to 1: the cluster already
        runs one trial per core).
    seed
        Initial guess from static optimization: ``"simulate"`` (default: its activations as
        excitations, the activations they give, so the seed meets the activation dynamics) or
        ``"lead"`` (its activations, with excitations leading them by ``tau(a) da/dt``).
    """

    compliant: str = "all"
    activation_dynamics: bool = True
    activation_time_constant_s: float = 0.015
    deactivation_time_constant_s: float = 0.060
    activation_smoothing: float = 10.0
    curves: str = "degroote2016"
    tendon_curve: str = "model"
    rigid_curves: str = "model"
    active_force_width_scale: float = 1.0
    passive_fibre_force: bool = False
    fibre_damping: float = 0.01
    mesh_interval_s: float | None = 0.02
    excitation_weight: float = 1.0
    reserve_weight: float = 1.0
    tendon_derivative_weight: float = 1e-3
    tolerance: float = 1e-3
    constraint_tolerance: float = 1e-4
    max_iterations: int = 1000
    print_level: int = 0
    mu_strategy: str = "monotone"
    seed: str = "simulate"
    initial_activation_equals_excitation: bool = False
    transcription: str = "trapezoidal"
    norm_tendon_force_bounds: tuple[float, float] = (-0.05, 2.5)
    max_tendon_force_rate_per_s: float = 100.0
    barrier_initial: float = 1e-2
    block_workers: int = 2
    triceps_surae_tendon_strain: float | None = None
    max_contraction_velocity_lopt_s: float | None = LAI2017_MAX_CONTRACTION_VELOCITY_LOPT_S

    def __post_init__(self) -> None:
        if self.compliant not in ("all", "none", "triceps_surae"):
            raise ValueError(f"unknown compliant setting {self.compliant!r}")
        if self.curves not in ("model", "degroote2016") or self.tendon_curve not in ("model", "degroote2016"):
            raise ValueError(f"unknown curves {self.curves!r} / {self.tendon_curve!r}")
        if self.transcription not in ("trapezoidal", "hermite_simpson"):
            raise ValueError(f"unknown transcription {self.transcription!r}")
        for name in ("triceps_surae_tendon_strain", "max_contraction_velocity_lopt_s"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number or None, not {value!r}")

    @classmethod
    def default(cls) -> DynamicSettings:
        return cls()

    @classmethod
    def rigid_limit(cls, *, activation_dynamics: bool = True) -> DynamicSettings:
        """Rigid tendons; without activation dynamics the problem is static optimization's."""
        return cls(compliant="none", activation_dynamics=activation_dynamics, tendon_derivative_weight=0.0)

    @classmethod
    def moco(cls, *, compliant: str = "triceps_surae") -> DynamicSettings:
        """MocoInverse's optimal control problem (OpenSim 4.6, ``MocoInverse::initializeInternal``;
        see the module docstring), term by term:

        * DeGrooteFregly2016Muscle for every muscle (rigid ones too: their tendon force is
          ``F0 (a fl fv + d v~M) cos(alpha)``, fibre damping included), active force-length
          widened 1.5x, passive force off, fibre damping 0.01;
        * activation dynamics with the DeGrooteFregly2016Muscle's default smoothing
          ``activation_dynamics_smoothing = 0.1`` (De Groote et al. 2016's own b; OpenSim keeps
          it when it replaces a model's muscles), and the initial activation equal to the
          initial excitation (``MocoInitialActivationGoal``);
        * normalized tendon force in ``[0, 5]``, its derivative in +-1000 /s;
        * nodes every 0.01 s: Moco's 0.02 s Hermite-Simpson mesh has a collocation point at
          every mesh point and interval midpoint, and enforces the equations of motion and the
          tendon equilibrium at each of them with a free control there
          (``interpolate_control_mesh_interior_points`` off; ``CasOCTranscription``), so its
          problem has as many equilibrium nodes and controls as a trapezoidal mesh of half
          the interval. The trapezoidal rule stays (it takes any frames); Moco's own
          transcription, ``transcription="hermite_simpson"``, needs the inputs at Moco's grid
          points (:mod:`runmuscles.muscles.moco_reference` sets that up);
        * objective: the integral of every squared excitation and reserve control (weights 1)
          plus ``0.01 (dF~T/dt)^2`` (``implicit_auxiliary_derivatives_weight``; with
          ``u = dF~T/dt / 10`` that is a weight 1 on ``u^2``).

        The time constants are the model's (a Thelen2003 model's muscles carry 10/40 ms into
        the replacement; :meth:`with_` sets them).
        """
        return cls(
            compliant=compliant,
            activation_smoothing=0.1,
            curves="degroote2016",
            tendon_curve="degroote2016",
            rigid_curves="degroote2016",
            active_force_width_scale=1.5,
            passive_fibre_force=False,
            fibre_damping=0.01,
            # MocoInverse's implicit_auxiliary_derivatives_weight 0.01 on (dF~T/dt)^2 = 1.0 on u^2
            tendon_derivative_weight=1.0,
            initial_activation_equals_excitation=True,
            mesh_interval_s=0.01,
            norm_tendon_force_bounds=(0.0, 5.0),
            max_tendon_force_rate_per_s=1000.0,
            # IPOPT's own first barrier, as Moco leaves it (the problem is not convex: with the
            # project's 0.01 the same stride lands in a neighbouring optimum, median RMS 0.014
            # against Moco instead of 0.006)
            barrier_initial=0.1,
            # Moco's replacement muscles keep the model's own tendon strain and velocity
            triceps_surae_tendon_strain=None,
            max_contraction_velocity_lopt_s=None,
        )

    def with_(self, **changes) -> DynamicSettings:
        return replace(self, **changes)


def muscle_parameter_overrides(
    muscle_names: list[str],
    tendon: dict[str, np.ndarray],
    max_contraction_velocity_lopt_s: np.ndarray,
    settings: DynamicSettings,
) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """The settings' replacements of the model's muscle parameters.

    Returns the tendon properties (:func:`runmuscles.analyses.energetics.tendon_properties`)
    with the triceps surae's strain at F0 replaced
    (:attr:`DynamicSettings.triceps_surae_tendon_strain`), the maximum contraction velocities
    with every compliant muscle's replaced (:attr:`DynamicSettings.max_contraction_velocity_lopt_s`),
    and a record of what changed (``{}`` when nothing did) for the results' provenance.
    """
    out = dict(tendon)
    vmax = np.asarray(max_contraction_velocity_lopt_s, dtype=float).copy()
    record: dict = {}
    e0_new = settings.triceps_surae_tendon_strain
    if e0_new is not None:
        calves = compliant_mask(muscle_names, "triceps_surae")
        calves &= compliant_mask(muscle_names, settings.compliant)
        if calves.any():
            e0 = np.asarray(tendon["tendon_strain_at_one_norm_force"], dtype=float).copy()
            record["triceps_surae_tendon_strain"] = {
                "value": float(e0_new),
                "model_values": sorted({round(float(v), 6) for v in e0[calves]}),
                "muscles": [n for n, c in zip(muscle_names, calves, strict=True) if c],
                "source": "Arnold EM et al. (2013) J Exp Biol 216:2150-2160, Fig. 2E"
                if e0_new == ARNOLD2013_PLANTARFLEXOR_TENDON_STRAIN
                else "settings",
            }
            e0[calves] = e0_new
            out["tendon_strain_at_one_norm_force"] = e0
            # a Millard tendon's default stiffness at F0 follows its strain (1.375 / strain)
            if "millard_tendon_stiffness_at_one_norm_force" in out:
                k = np.asarray(out["millard_tendon_stiffness_at_one_norm_force"], dtype=float).copy()
                k[calves] = np.nan
                out["millard_tendon_stiffness_at_one_norm_force"] = k
    v_new = settings.max_contraction_velocity_lopt_s
    if v_new is not None:
        comp = compliant_mask(muscle_names, settings.compliant)
        if comp.any():
            record["max_contraction_velocity_lopt_s"] = {
                "value": float(v_new),
                "model_values": sorted({round(float(v), 6) for v in vmax[comp]}),
                "muscles": "all" if comp.all() else [n for n, c in zip(muscle_names, comp, strict=True) if c],
                "source": "LaiArnold2017 model (Lai AKM et al. 2017, Ann Biomed Eng 45:2762-2774)"
                if v_new == LAI2017_MAX_CONTRACTION_VELOCITY_LOPT_S
                else "settings",
            }
            vmax[comp] = v_new
    return out, vmax, record


def solution_max_contraction_velocity(
    muscle_names: list[str], model_values_lopt_s: np.ndarray, parameter_changes: dict
) -> np.ndarray:
    """The maximum contraction velocities a solution used: the model's, with those its
    :func:`muscle_parameter_overrides` record replaced (the energetics of a dynamic solution
    take these, so that its fibre velocities are normalized as the solution normalized them)."""
    vmax = np.asarray(model_values_lopt_s, dtype=float).copy()
    change = (parameter_changes or {}).get("max_contraction_velocity_lopt_s")
    if change:
        which = change["muscles"]
        mask = np.ones(len(muscle_names), dtype=bool) if which == "all" else np.isin(muscle_names, which)
        vmax[mask] = float(change["value"])
    return vmax


def compliant_mask(muscle_names: list[str], setting: str) -> np.ndarray:
    """Which muscles have compliant tendons under a :attr:`DynamicSettings.compliant` value."""
    if setting == "all":
        return np.ones(len(muscle_names), dtype=bool)
    if setting == "none":
        return np.zeros(len(muscle_names), dtype=bool)
    from ..analyses.groups import group_members  # noqa: PLC0415  (the one muscle-name mapping)

    calves = set(group_members(muscle_names).get("calves", ()))
    return np.array([n in calves for n in muscle_names], dtype=bool)


def tendon_strain(
    norm_force: np.ndarray, class_code: np.ndarray, tendon: dict[str, np.ndarray]
) -> np.ndarray:
    """Tendon strain at a force over F0, ``(F, M)``, each muscle by its class's tendon curve.

    ``tendon``: :func:`runmuscles.analyses.energetics.tendon_properties` (strain at F0, and the
    Millard curve parameters).
    """
    f = np.atleast_2d(np.asarray(norm_force, dtype=float))
    strain = np.empty(f.shape)
    code = np.asarray(class_code)
    e0 = np.asarray(tendon["tendon_strain_at_one_norm_force"], dtype=float)
    for c in np.unique(code):
        cols = np.nonzero(code == c)[0]
        if c == CLASS_CODES["Thelen2003Muscle"]:
            strain[:, cols] = thelen_tendon_strain(f[:, cols], e0[cols])
        elif c == CLASS_CODES["DeGrooteFregly2016Muscle"]:
            strain[:, cols] = degroote_tendon_strain(f[:, cols], e0[cols])
        else:  # Millard2012: one Bezier curve per muscle's parameters
            for j in cols:
                k = float(tendon["millard_tendon_stiffness_at_one_norm_force"][j])
                strain[:, j] = millard_tendon_strain(
                    f[:, j],
                    float(e0[j]),
                    None if np.isnan(k) else k,
                    float(tendon["millard_tendon_norm_force_at_toe_end"][j]),
                    float(tendon["millard_tendon_curviness"][j]),
                )
    return strain


@dataclass
class CurveTables:
    """Each muscle's curves tabulated on the grids above; rows deduplicated.

    ``fl``, ``fv``, ``fpas``, ``strain``: ``(n_distinct, n_grid)`` tables; ``*_row``: ``(M,)``
    the row each muscle uses.
    """

    fl: np.ndarray
    fl_row: np.ndarray
    fv: np.ndarray
    fv_row: np.ndarray
    fpas: np.ndarray
    fpas_row: np.ndarray
    strain: np.ndarray
    strain_row: np.ndarray


def _dedupe(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(np.round(rows, 12), axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def muscle_curve_tables(
    class_code: np.ndarray,
    params: dict[str, np.ndarray],
    tables: dict[str, np.ndarray] | None,
    tendon: dict[str, np.ndarray],
    settings: DynamicSettings,
) -> CurveTables:
    """Tabulate each muscle's fibre and tendon curves (see the module docstring).

    With ``settings.curves == "degroote2016"`` every muscle takes the DeGrooteFregly2016 fibre
    curves (active force-length widened by ``active_force_width_scale``); with
    ``settings.tendon_curve == "degroote2016"`` the DeGroote tendon curve at its own strain at F0
    (Moco's muscle replacement).
    """
    code = np.asarray(class_code)
    M = code.size
    x = FIBRE_LENGTH_GRID[None, :].repeat(M, 0)
    v = FIBRE_VELOCITY_GRID[None, :].repeat(M, 0)
    ft = TENDON_FORCE_GRID[:, None].repeat(M, 1)
    tendon_code = code
    if settings.tendon_curve == "degroote2016":
        tendon_code = np.full(M, CLASS_CODES["DeGrooteFregly2016Muscle"])
    if settings.curves == "degroote2016":
        fl = degroote_active_force_length(x, settings.active_force_width_scale)
        fv = degroote_force_velocity(v)
        fpas = degroote_passive_force_length(x, 0.6)
    else:
        fl, fv, fpas = np.empty(x.shape), np.empty(v.shape), np.empty(x.shape)
        for c in np.unique(code):
            cols = np.nonzero(code == c)[0]
            p = {k: np.asarray(val)[cols][:, None] for k, val in params.items()}
            xc, vc = x[cols], v[cols]
            if c == CLASS_CODES["Thelen2003Muscle"]:
                fl[cols] = thelen_active_force_length(xc, p["thelen_kshape_active"])
                fv[cols] = thelen_force_velocity(
                    vc, p["thelen_af"], p["thelen_flen"], p["thelen_fv_extrap_threshold"], 1.0
                )
                fpas[cols] = thelen_passive_force_length(
                    xc, p["thelen_fmax_muscle_strain"], p["thelen_kshape_passive"]
                )
            elif c == CLASS_CODES["DeGrooteFregly2016Muscle"]:
                fl[cols] = degroote_active_force_length(xc, p["degroote_active_force_width_scale"])
                fv[cols] = degroote_force_velocity(vc)
                fpas[cols] = degroote_passive_force_length(xc, p["degroote_passive_fiber_strain"])
                fpas[cols] *= np.where(p["degroote_ignore_passive"] > 0.5, 0.0, 1.0)
            else:
                if tables is None or "fl" not in tables:
                    raise ValueError("Millard2012 muscles need their tabulated curves")
                rows = p["curve_table"][:, 0].astype(np.intp)
                fl[cols] = table_curve(xc, tables["fl_x"], tables["fl"], rows[:, None], extrapolate=False)
                fv[cols] = table_curve(vc, tables["fv_x"], tables["fv"], rows[:, None], extrapolate=True)
                fpe_x = tables.get("fpe_x", tables["fl_x"])
                fpas[cols] = table_curve(xc, fpe_x, tables["fpe"], rows[:, None], extrapolate=True)
    if not settings.passive_fibre_force:
        fpas = np.zeros_like(fpas)
    strain = tendon_strain(ft, tendon_code, tendon).T
    fl_u, fl_r = _dedupe(fl)
    fv_u, fv_r = _dedupe(fv)
    fp_u, fp_r = _dedupe(fpas)
    st_u, st_r = _dedupe(strain)
    return CurveTables(fl_u, fl_r, fv_u, fv_r, fp_u, fp_r, st_u, st_r)


def rigid_strength_n(
    length_m: np.ndarray,
    speed_m_s: np.ndarray,
    class_code: np.ndarray,
    params: dict[str, np.ndarray],
    tables: dict[str, np.ndarray] | None,
    settings: DynamicSettings,
    model_strength_n: np.ndarray,
) -> np.ndarray:
    """Force at full activation with a rigid tendon ``(F, M)``: the static optimization's own,
    or, for the Moco preset (``rigid_curves == "degroote2016"``), the active part of the
    DeGrooteFregly2016 muscle's tendon force (:func:`degroote_rigid_tendon_force`)."""
    if settings.rigid_curves == "model":
        return np.asarray(model_strength_n, dtype=float)
    return degroote_rigid_tendon_force(length_m, speed_m_s, params, settings)[0]


def rigid_passive_force_n(
    length_m: np.ndarray,
    speed_m_s: np.ndarray,
    params: dict[str, np.ndarray],
    settings: DynamicSettings,
) -> np.ndarray:
    """The activation-independent part of a rigid-tendon muscle's tendon force ``(F, M)`` (N):
    zero with the model's strength (static optimization's), the fibre damping (and passive
    force, when on) along the tendon for the Moco preset."""
    length_m = np.asarray(length_m, dtype=float)
    if settings.rigid_curves == "model":
        return np.zeros(length_m.shape)
    return degroote_rigid_tendon_force(length_m, speed_m_s, params, settings)[1]


def degroote_rigid_tendon_force(
    length_m: np.ndarray,
    speed_m_s: np.ndarray,
    params: dict[str, np.ndarray],
    settings: DynamicSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Tendon force of a DeGrooteFregly2016 muscle with a rigid tendon, split as
    ``F = a * active + passive`` (N, each ``(F, M)``), as OpenSim 4.6 computes it
    (``calcMuscleLengthInfoHelper`` / ``calcFiberVelocityInfoHelper`` /
    ``calcMuscleDynamicsInfoHelper`` with ``ignore_tendon_compliance``): fibre length
    ``sqrt((L - l_Ts)^2 + h^2)`` with the constant width ``h = l_opt sin(alpha_opt)``, fibre
    velocity ``v_MT cos(alpha)``, normalized by ``v_max l_opt``; tendon force
    ``F0 (a fl(l~) fv(v~) + fpas(l~) + d v~) cos(alpha)`` (De Groote et al. 2016, with
    OpenSim's fibre damping ``d`` and active-curve width scale). The projection on the tendon
    (``cos(alpha)``) is what the joints feel; OpenSim's ``calcInextensibleTendonActiveFiberForce``
    (static optimization's strength) leaves it out."""
    L = np.atleast_2d(np.asarray(length_m, dtype=float))
    V = np.atleast_2d(np.asarray(speed_m_s, dtype=float))
    f0 = np.asarray(params["max_isometric_force_n"], dtype=float)
    lopt = np.asarray(params["optimal_fiber_length_m"], dtype=float)
    lts = np.asarray(params["tendon_slack_length_m"], dtype=float)
    alpha = np.asarray(params["pennation_at_optimal_rad"], dtype=float)
    vmax = np.asarray(params["max_contraction_velocity_lopt_s"], dtype=float) * lopt
    along = L - lts
    lm = np.sqrt(along * along + (lopt * np.sin(alpha)) ** 2)
    cos_a = along / lm
    ln = lm / lopt
    vn = V * cos_a / vmax
    active = f0 * degroote_active_force_length(ln, settings.active_force_width_scale)
    active = active * degroote_force_velocity(vn) * cos_a
    passive = settings.fibre_damping * vn
    if settings.passive_fibre_force:
        passive = passive + degroote_passive_force_length(ln, 0.6)
    return active, f0 * passive * cos_a
