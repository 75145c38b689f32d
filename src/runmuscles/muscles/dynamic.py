"""The dynamic muscle solution: compliant tendons and activation dynamics by direct collocation.

The muscle redundancy problem of De Groote F, Kinney AL, Rao AV, Fregly BJ (2016) Evaluation
of direct collocation optimal control problem formulations for solving the muscle redundancy
problem. Ann Biomed Eng 44:2922-2936 (their formulation with implicit contraction dynamics):

* states per muscle: activation ``a`` and normalized tendon force ``F~T`` (compliant muscles);
* controls: excitation ``e``, the scaled tendon-force derivative ``u = dF~T/dt / 10`` and one
  reserve control per coordinate;
* activation dynamics ``da/dt = f(e, a)`` in De Groote et al.'s smooth form (time constants
  in :class:`~runmuscles.muscles.dynamic_model.DynamicSettings`);
* the tendon's length from its force through the inverse of the muscle's tendon force-strain
  curve, the fibre's length along the tendon ``L_MT - l_T`` with constant-thickness pennation,
  its velocity ``(v_MT - v_T) cos(alpha)``; Hill equilibrium
  ``F~T = (a fl fv + fpas + d v~M) cos(alpha)`` as a path constraint;
* the generalized forces of inverse dynamics as path constraints, with the same projected
  moment arms as static optimization (:mod:`runmuscles.muscles.recruitment`) uses;
* rigid-tendon muscles (those not made compliant) produce ``a x`` static optimization's
  strength, exactly as there;
* trapezoidal collocation on the trial's frames (or every k-th frame, for a coarser mesh);
* objective: time mean of squared excitations and reserve controls, plus a small penalty on
  ``u``; solved by IPOPT (Waechter A, Biegler LT (2006) Math Program 106:25-57) with MUMPS
  through CasADi (Andersson JAE et al. 2019, Math Program Comput 11:1-36), ``expand=True``;
* seeded from the static-optimization solution.

The legs are nearly separable: muscles, coordinates and reserves are split into the connected
blocks of their coupling graph (a muscle couples the coordinates it spans; a reserve the
coordinates it acts on), and each block is its own small NLP, solved side by side in
``DynamicSettings.block_workers`` processes (forked from the solver process). Blocks with no
muscle keep static optimization's reserves (their optimum does not depend on muscles).
"""

from __future__ import annotations

import os
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..model.muscle_curves import _DG_B, _DG_D
from .dynamic_model import (
    FIBRE_LENGTH_GRID,
    FIBRE_VELOCITY_GRID,
    SOLVER_PROCESSES_ENV,
    TENDON_FORCE_GRID,
    CurveTables,
    DynamicSettings,
)

__all__ = ["DynamicBlock", "DynamicInputs", "DynamicSolution", "muscle_blocks", "solve_dynamic"]

#: Scale of the tendon-force derivative control (De Groote et al. 2016: dF~T/dt = 10 u).
TENDON_DERIVATIVE_SCALE = 10.0
#: Bounds: normalized tendon force, the derivative control, normalized fibre length.
MAX_NORM_TENDON_FORCE = 2.5
#: A slack muscle whose path shortens faster than its maximum contraction velocity has a
#: negative fibre force (the force-velocity curve crosses zero at -v_max; damping adds to it);
#: the tendon force may follow it down to this (over F0) rather than make the problem
#: infeasible (rigid-tendon muscles in Moco and here likewise give negative strengths there).
MIN_NORM_TENDON_FORCE = -0.05
MAX_TENDON_DERIVATIVE_CONTROL = 10.0
#: A musculotendon path shorter than its slack tendon leaves no fibre length along the tendon;
#: the fibre's length along the tendon is a smooth positive part of ``L - l_T`` with this
#: width (in optimal fibre lengths), so the fibre stays defined (and slack) there.
SLACK_SMOOTHING = 0.02


def _smooth_positive(x, width, sqrt):
    """``0.5 (x + sqrt(x^2 + width^2))``: ``x`` when ``x >> width``, a small positive value below."""
    return 0.5 * (x + sqrt(x * x + width * width))


@dataclass
class DynamicInputs:
    """Everything the solver needs, per frame ``(F, ...)``.

    Attributes
    ----------
    time_s
        ``(F,)``.
    length_m, speed_m_s
        Musculotendon length and lengthening speed ``(F, M)``.
    moment_arm
        ``(F, C, M)`` projected moment arms on the matched coordinates (m, or dimensionless
        for translations).
    rigid_strength_n
        ``(F, M)`` force at full activation with a rigid tendon.
    reserve_gain
        ``(F, C, K)`` generalized force per unit reserve control.
    target
        ``(F, C)`` generalized forces to reproduce.
    reserve_lower, reserve_upper
        ``(K,)`` reserve control bounds.
    min_activation, max_activation
        ``(M,)``.
    max_isometric_force_n, optimal_fiber_length_m, tendon_slack_length_m,
    pennation_at_optimal_rad, max_contraction_velocity_lopt_s
        ``(M,)`` muscle parameters.
    compliant
        ``(M,)`` bool.
    curves
        :class:`~runmuscles.muscles.dynamic_model.CurveTables`.
    seed_activation, seed_reserve
        Static optimization's solution ``(F, M)``, ``(F, K)``.
    rigid_passive_force_n
        ``(F, M)`` the activation-independent tendon force of the rigid-tendon muscles
        (:func:`~runmuscles.muscles.dynamic_model.rigid_passive_force_n`; ``None``: zero).
    """

    time_s: np.ndarray
    length_m: np.ndarray
    speed_m_s: np.ndarray
    moment_arm: np.ndarray
    rigid_strength_n: np.ndarray
    reserve_gain: np.ndarray
    target: np.ndarray
    reserve_lower: np.ndarray
    reserve_upper: np.ndarray
    min_activation: np.ndarray
    max_activation: np.ndarray
    max_isometric_force_n: np.ndarray
    optimal_fiber_length_m: np.ndarray
    tendon_slack_length_m: np.ndarray
    pennation_at_optimal_rad: np.ndarray
    max_contraction_velocity_lopt_s: np.ndarray
    compliant: np.ndarray
    curves: CurveTables
    seed_activation: np.ndarray
    seed_reserve: np.ndarray
    rigid_passive_force_n: np.ndarray | None = None
    #: The model parameters the settings replaced
    #: (:func:`~runmuscles.muscles.dynamic_model.muscle_parameter_overrides`; ``{}``: none).
    parameter_changes: dict = field(default_factory=dict)

    def rigid_passive(self) -> np.ndarray:
        """:attr:`rigid_passive_force_n`, zeros where not given."""
        if self.rigid_passive_force_n is None:
            return np.zeros(np.shape(self.length_m))
        return np.asarray(self.rigid_passive_force_n, dtype=float)


@dataclass
class DynamicBlock:
    """One independent sub-problem: muscle, coordinate-row and reserve indices."""

    muscles: np.ndarray
    rows: np.ndarray
    reserves: np.ndarray


@dataclass
class DynamicSolution:
    """The solution at the input frames.

    Attributes
    ----------
    activation, excitation
        ``(F, M)``.
    tendon_force_n
        ``(F, M)`` (rigid muscles: ``a x`` strength).
    tendon_length_m, fibre_length_m, fibre_velocity_m_s
        ``(F, M)``; fibre velocity lengthening positive, along the fibre.
    reserve_control
        ``(F, K)``.
    muscle_moment, reserve_moment
        ``(F, C)``.
    converged
        Every block converged.
    block_status
        Per block: muscles, IPOPT's return status, iterations, seconds.
    settings
        The settings used.
    wall_s
        Seconds, all blocks (building and solving).
    """

    activation: np.ndarray
    excitation: np.ndarray
    tendon_force_n: np.ndarray
    tendon_length_m: np.ndarray
    fibre_length_m: np.ndarray
    fibre_velocity_m_s: np.ndarray
    reserve_control: np.ndarray
    muscle_moment: np.ndarray
    reserve_moment: np.ndarray
    converged: bool
    block_status: list[dict] = field(default_factory=list)
    settings: DynamicSettings | None = None
    wall_s: float = 0.0


def muscle_blocks(moment_arm: np.ndarray, reserve_gain: np.ndarray) -> tuple[list[DynamicBlock], np.ndarray]:
    """Connected blocks of muscles, coordinate rows and reserves.

    Returns the blocks that contain muscles, and the reserve indices in blocks without any.
    """
    C, M = moment_arm.shape[1:]
    K = reserve_gain.shape[2]
    mus_rows = np.abs(moment_arm).max(axis=0) > 0  # (C, M)
    res_rows = np.abs(reserve_gain).max(axis=0) > 0  # (C, K)
    parent = list(range(C))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(rows: np.ndarray) -> None:
        idx = np.flatnonzero(rows)
        for r in idx[1:]:
            parent[find(int(r))] = find(int(idx[0]))

    for m in range(M):
        join(mus_rows[:, m])
    for k in range(K):
        join(res_rows[:, k])
    roots = sorted({find(c) for c in range(C)})
    blocks, lone = [], []
    for root in roots:
        rows = np.array([c for c in range(C) if find(c) == root])
        mus = np.flatnonzero(mus_rows[rows].any(axis=0))
        res = np.flatnonzero(res_rows[rows].any(axis=0))
        if mus.size:
            blocks.append(DynamicBlock(mus, rows, res))
        else:
            lone.extend(res.tolist())
    return blocks, np.array(sorted(set(lone)), dtype=int)


def _mesh_frames(time_s: np.ndarray, mesh_interval_s: float | None) -> np.ndarray:
    """Frame indices of the mesh nodes (first and last frame always included)."""
    F = time_s.size
    if mesh_interval_s is None or F < 3:
        return np.arange(F)
    dt = float(np.median(np.diff(time_s)))
    step = max(1, int(round(mesh_interval_s / dt)))
    idx = np.arange(0, F, step)
    if idx[-1] != F - 1:
        idx = np.append(idx, F - 1)
    return idx


def _degroote_fl(ca, norm_length, width_scale: float):
    """De Groote et al. (2016) active force-length curve, symbolic (the constants of
    :func:`runmuscles.model.muscle_curves.degroote_active_force_length`)."""
    x = (norm_length - 1.0) / width_scale + 1.0
    out = 0.0
    for b1, b2, b3, b4 in _DG_B:
        d = b3 + b4 * x
        out = out + b1 * ca.exp(-0.5 * (x - b2) ** 2 / (d * d))
    return out


def _degroote_fv(ca, norm_velocity):
    """De Groote et al. (2016) force-velocity curve, symbolic."""
    d1, d2, d3, d4 = _DG_D
    t = d2 * norm_velocity + d3
    return d1 * ca.log(t + ca.sqrt(t * t + 1.0)) + d4


def _splines(ca, name: str, grid: np.ndarray, table: np.ndarray) -> list:
    return [ca.interpolant(f"{name}{i}", "bspline", [grid], row) for i, row in enumerate(table)]


def _solve_block(ca, inp: DynamicInputs, blk: DynamicBlock, nodes: np.ndarray, st: DynamicSettings) -> dict:
    """Build and solve one block's NLP; values at the mesh nodes."""
    t0 = _time.perf_counter()
    cpu0 = _time.process_time()
    mus = blk.muscles
    comp = inp.compliant[mus]
    ic = np.flatnonzero(comp)  # compliant, within the block
    ir = np.flatnonzero(~comp)
    Mb, Mc, Mr = mus.size, ic.size, ir.size
    rows, res = blk.rows, blk.reserves
    Cb, Kb = rows.size, res.size
    N = nodes.size
    t = inp.time_s[nodes]
    gm = mus[ic]  # global indices of compliant muscles

    # ---- per-node symbolic model of the compliant muscles ------------------------------
    cv = inp.curves
    if st.curves == "degroote2016":  # closed form: cheaper to evaluate than splines
        fl_s = [lambda x: _degroote_fl(ca, x, st.active_force_width_scale)] * (int(cv.fl_row.max()) + 1)
        fv_s = [lambda v: _degroote_fv(ca, v)] * (int(cv.fv_row.max()) + 1)
    else:
        fl_s = _splines(ca, "fl", FIBRE_LENGTH_GRID, cv.fl)
        fv_s = _splines(ca, "fv", FIBRE_VELOCITY_GRID, cv.fv)
    fp_s = _splines(ca, "fp", FIBRE_LENGTH_GRID, cv.fpas)
    if not np.any(cv.fpas):
        fp_s = [lambda x: 0.0] * len(fp_s)
    st_s = _splines(ca, "st", TENDON_FORCE_GRID, cv.strain)
    a_c = ca.SX.sym("a", Mc)
    f_c = ca.SX.sym("f", Mc)
    u_c = ca.SX.sym("u", Mc)
    L_c = ca.SX.sym("L", Mc)
    V_c = ca.SX.sym("V", Mc)
    eq, lmn, vmn, lts_out, lm_out, vm_out = [], [], [], [], [], []
    for j, g in enumerate(gm):
        lopt = float(inp.optimal_fiber_length_m[g])
        lts = float(inp.tendon_slack_length_m[g])
        hgt = lopt * np.sin(float(inp.pennation_at_optimal_rad[g]))
        vmax = float(inp.max_contraction_velocity_lopt_s[g]) * lopt
        strain_fn = st_s[cv.strain_row[g]]
        eps = strain_fn(f_c[j])
        deps = ca.jacobian(eps, f_c[j])
        lt = lts * (1.0 + eps)
        vt = lts * deps * TENDON_DERIVATIVE_SCALE * u_c[j]
        along = _smooth_positive(L_c[j] - lt, SLACK_SMOOTHING * lopt, ca.sqrt)
        lm = ca.sqrt(along * along + hgt * hgt)
        cos_a = along / lm
        vm = (V_c[j] - vt) * cos_a
        ln = lm / lopt
        vn = vm / vmax
        fiber = (
            a_c[j] * fl_s[cv.fl_row[g]](ln) * fv_s[cv.fv_row[g]](vn)
            + fp_s[cv.fpas_row[g]](ln)
            + st.fibre_damping * vn
        )
        eq.append(f_c[j] - fiber * cos_a)
        lmn.append(ln)
        vmn.append(vn)
        lts_out.append(lt)
        lm_out.append(lm)
        vm_out.append(vm)
    cat = ca.vertcat
    hill = ca.Function(
        "hill",
        [a_c, f_c, u_c, L_c, V_c],
        [cat(*eq), cat(*lmn), cat(*vmn), cat(*lts_out), cat(*lm_out), cat(*vm_out)],
    )

    # ---- decision variables -----------------------------------------------------------
    E = ca.MX.sym("e", Mb, N)
    A = ca.MX.sym("a", Mb, N) if st.activation_dynamics else E
    Fc = ca.MX.sym("F", Mc, N)
    U = ca.MX.sym("u", Mc, N)
    R = ca.MX.sym("r", Kb, N)
    parts = [ca.vec(E)]
    if st.activation_dynamics:
        parts.insert(0, ca.vec(A))
    parts += [ca.vec(Fc), ca.vec(U), ca.vec(R)]
    w = cat(*parts)

    u_max = st.max_tendon_force_rate_per_s / TENDON_DERIVATIVE_SCALE
    amin = inp.min_activation[mus][:, None] * np.ones((1, N))
    amax = inp.max_activation[mus][:, None] * np.ones((1, N))
    lo_r = np.clip(inp.reserve_lower[res], -1e19, 1e19)[:, None] * np.ones((1, N))
    hi_r = np.clip(inp.reserve_upper[res], -1e19, 1e19)[:, None] * np.ones((1, N))
    lbw = [amin.ravel("F")]
    ubw = [amax.ravel("F")]
    if st.activation_dynamics:
        lbw.insert(0, amin.ravel("F"))
        ubw.insert(0, amax.ravel("F"))
    lbw += [
        st.norm_tendon_force_bounds[0] * np.ones(Mc * N),
        -u_max * np.ones(Mc * N),
        lo_r.ravel("F"),
    ]
    ubw += [
        st.norm_tendon_force_bounds[1] * np.ones(Mc * N),
        u_max * np.ones(Mc * N),
        hi_r.ravel("F"),
    ]

    # ---- seed from static optimization ---------------------------------------------------
    a0 = np.clip(inp.seed_activation[nodes][:, mus].T, amin, amax)
    e0 = a0.copy()
    if st.activation_dynamics and N > 1:
        if st.seed == "lead":  # excitations that would drive static optimization's activations
            e0 = np.clip(a0 + _activation_lead_s(a0, t, st), amin, amax)
        else:  # activations that static optimization's activations, as excitations, would give
            a0 = _simulate_activation(e0, t, st, amin[:, 0], amax[:, 0])
    f0 = _equilibrium_seed(inp, gm, a0[ic], nodes, st)
    u0 = np.zeros((Mc, N))
    if N > 1 and Mc:
        u0 = np.clip(
            np.gradient(f0, t, axis=1) / TENDON_DERIVATIVE_SCALE,
            -u_max,
            u_max,
        )
    # moments: rigid muscles a x arm x strength, compliant F0 F~T x arm, reserves
    arm = inp.moment_arm[nodes][:, rows][:, :, mus]  # (N, Cb, Mb)
    gain_r = arm[:, :, ir] * inp.rigid_strength_n[nodes][:, None, mus[ir]]
    gain_c = arm[:, :, ic] * inp.max_isometric_force_n[gm][None, None, :]
    gain_k = inp.reserve_gain[nodes][:, rows][:, :, res]
    # the rigid muscles' activation-independent force (fibre damping) is known: off the target
    tgt = inp.target[nodes][:, rows] - np.einsum(
        "kcm,km->kc", arm[:, :, ir], inp.rigid_passive()[nodes][:, mus[ir]]
    )
    scale = 1.0 + np.abs(tgt).max(axis=0)  # per row: N m
    # reserves close what the seed's muscles leave of the moments (least squares per node)
    mus_mom = np.einsum("kcm,mk->kc", gain_r, a0[ir]) + np.einsum("kcm,mk->kc", gain_c, f0)
    r0 = np.stack([np.linalg.lstsq(gain_k[k], tgt[k] - mus_mom[k], rcond=None)[0] for k in range(N)]).T
    r0 = np.clip(r0, lo_r, hi_r)
    x0 = [e0.ravel("F")]
    if st.activation_dynamics:
        x0.insert(0, a0.ravel("F"))
    x0 += [f0.ravel("F"), u0.ravel("F"), r0.ravel("F")]

    # ---- constraints ------------------------------------------------------------------------
    g, lbg, ubg = [], [], []
    L = inp.length_m[nodes][:, gm].T
    V = inp.speed_m_s[nodes][:, gm].T
    if Mc:
        hmap = hill.map(N)
        # no bounds on the fibre length: a path shorter than its slack tendon plus a minimum
        # fibre (unpennated muscles at extreme joint angles) would make the problem infeasible
        heq = hmap(A[ic, :], Fc, U, L, V)[0]
        g.append(ca.vec(heq))
        lbg.append(np.zeros(Mc * N))
        ubg.append(np.zeros(Mc * N))
    for k in range(N):
        mom = ca.mtimes(ca.DM(gain_k[k]), R[:, k])
        if Mr:
            mom = mom + ca.mtimes(ca.DM(gain_r[k]), A[ir, k])
        if Mc:
            mom = mom + ca.mtimes(ca.DM(gain_c[k]), Fc[:, k])
        g.append((mom - tgt[k]) / scale)
        lbg.append(np.zeros(Cb))
        ubg.append(np.zeros(Cb))
    if st.activation_dynamics and st.initial_activation_equals_excitation:
        g.append(A[:, 0] - E[:, 0])
        lbg.append(np.zeros(Mb))
        ubg.append(np.zeros(Mb))
    # dynamics (trapezoidal or Hermite-Simpson)
    if N > 1:
        if st.activation_dynamics:
            ta, td, b = (
                st.activation_time_constant_s,
                st.deactivation_time_constant_s,
                st.activation_smoothing,
            )
            es, as_ = ca.SX.sym("e", Mb), ca.SX.sym("a", Mb)
            sw = 0.5 + 0.5 * ca.tanh(b * (es - as_))
            rate = (sw / (ta * (0.5 + 1.5 * as_)) + (1 - sw) * (0.5 + 1.5 * as_) / td) * (es - as_)
            fa = ca.Function("act", [es, as_], [rate]).map(N)(E, A)
            defect = _collocation_defects(ca, A, fa, t, st.transcription)
            g.append(defect)
            lbg.append(np.zeros(defect.numel()))
            ubg.append(np.zeros(defect.numel()))
        if Mc:
            defect = _collocation_defects(ca, Fc, TENDON_DERIVATIVE_SCALE * U, t, st.transcription)
            g.append(defect)
            lbg.append(np.zeros(defect.numel()))
            ubg.append(np.zeros(defect.numel()))

    # ---- objective: time mean (the transcription's quadrature) -----------------------------
    W = ca.DM(_quadrature_weights(t, st.transcription))
    J = st.excitation_weight * ca.mtimes(ca.sum1(E * E), W)
    if Kb:
        J = J + st.reserve_weight * ca.mtimes(ca.sum1(R * R), W)
    if Mc and st.tendon_derivative_weight > 0:
        J = J + st.tendon_derivative_weight * ca.mtimes(ca.sum1(U * U), W)

    opts = {
        "expand": True,
        "print_time": False,
        "ipopt": {
            "linear_solver": "mumps",
            "print_level": st.print_level,
            "tol": st.tolerance,
            "constr_viol_tol": st.constraint_tolerance,
            "acceptable_tol": 10 * st.tolerance,
            "acceptable_constr_viol_tol": 10 * st.constraint_tolerance,
            "acceptable_iter": 5,
            "max_iter": st.max_iterations,
            "mu_strategy": st.mu_strategy,
            "mu_init": st.barrier_initial,
            "hessian_approximation": "exact",
            "sb": "yes",
            "print_timing_statistics": "yes" if st.print_level else "no",
        },
    }
    solver = ca.nlpsol("dyn", "ipopt", {"x": w, "f": J, "g": cat(*g)}, opts)
    built = _time.perf_counter() - t0
    sol = solver(
        x0=np.concatenate(x0),
        lbx=np.concatenate(lbw),
        ubx=np.concatenate(ubw),
        lbg=np.concatenate(lbg),
        ubg=np.concatenate(ubg),
    )
    stats = solver.stats()
    x = np.asarray(sol["x"]).ravel()
    off = 0

    def take(n_rows: int) -> np.ndarray:
        nonlocal off
        out = x[off : off + n_rows * N].reshape(N, n_rows).T
        off += n_rows * N
        return out

    a_val = take(Mb) if st.activation_dynamics else None
    e_val = take(Mb)
    if a_val is None:
        a_val = e_val
    f_val = take(Mc)
    u_val = take(Mc)
    r_val = take(Kb)
    out = {"a": a_val, "e": e_val, "f": f_val, "u": u_val, "r": r_val, "ic": ic, "ir": ir}
    if Mc:
        _, _, _, lt, lm, vm = hill.map(N)(a_val[ic], f_val, u_val, L, V)
        out.update(lt=np.asarray(lt), lm=np.asarray(lm), vm=np.asarray(vm))
    status = str(stats.get("return_status", ""))
    out["status"] = {
        "muscles": int(Mb),
        "compliant": int(Mc),
        "coordinates": int(Cb),
        "nodes": int(N),
        "status": status,
        "converged": bool(stats.get("success", False))
        or status in ("Solve_Succeeded", "Solved_To_Acceptable_Level"),
        "iterations": int(stats.get("iter_count", -1)),
        "build_s": round(built, 3),
        "solve_s": round(_time.perf_counter() - t0 - built, 3),
        "cpu_s": round(_time.process_time() - cpu0, 3),
    }
    return out


def _collocation_defects(ca, X, Xdot, t: np.ndarray, transcription: str):
    """Defects of ``dX/dt = Xdot`` on the nodes ``t`` (columns of ``X``, ``Xdot``), stacked.

    ``"trapezoidal"``: ``X[k+1] - X[k] - h/2 (Xdot[k] + Xdot[k+1])`` per interval.
    ``"hermite_simpson"``: the nodes pair into mesh intervals ``(k, k+1, k+2)``, ``k`` even,
    the middle node the interval's midpoint (an odd node count); per interval the Hermite
    interpolation ``X[k+1] - (X[k] + X[k+2])/2 - h/8 (Xdot[k] - Xdot[k+2])`` and the Simpson
    integration ``X[k+2] - X[k] - h/6 (Xdot[k] + 4 Xdot[k+1] + Xdot[k+2])`` (the separated
    Hermite-Simpson form of Moco's ``CasOC::HermiteSimpson``; Betts JT (2010) Practical Methods
    for Optimal Control and Estimation Using Nonlinear Programming, 2nd ed., SIAM, sec. 4.6.5).
    """
    n = X.size1()
    if transcription == "trapezoidal":
        H = ca.repmat(ca.DM(np.diff(t)).T, n, 1)
        return ca.vec(X[:, 1:] - X[:, :-1] - 0.5 * (Xdot[:, 1:] + Xdot[:, :-1]) * H)
    i = np.arange(0, t.size - 2, 2)
    H = ca.repmat(ca.DM(t[i + 2] - t[i]).T, n, 1)
    x0, xm, x1 = X[:, i.tolist()], X[:, (i + 1).tolist()], X[:, (i + 2).tolist()]
    f0, fm, f1 = Xdot[:, i.tolist()], Xdot[:, (i + 1).tolist()], Xdot[:, (i + 2).tolist()]
    hermite = xm - 0.5 * (x0 + x1) - H / 8.0 * (f0 - f1)
    simpson = x1 - x0 - H / 6.0 * (f0 + 4.0 * fm + f1)
    return ca.vertcat(ca.vec(hermite), ca.vec(simpson))


def _quadrature_weights(t: np.ndarray, transcription: str) -> np.ndarray:
    """Weights of the time mean over the nodes: the trapezoidal rule, or Simpson's rule per
    mesh interval (``h/6, 4h/6, h/6``, as Moco's Hermite-Simpson quadrature); one node: 1."""
    w = np.zeros(t.size)
    if t.size < 2:
        return np.ones(t.size)
    if transcription == "trapezoidal":
        h = np.diff(t)
        w[:-1] += 0.5 * h
        w[1:] += 0.5 * h
    else:
        i = np.arange(0, t.size - 2, 2)
        h = t[i + 2] - t[i]
        w[i] += h / 6.0
        w[i + 1] += 4.0 * h / 6.0
        w[i + 2] += h / 6.0
    return w / (t[-1] - t[0])


def _activation_rate(e, a, st: DynamicSettings):
    """De Groote et al. (2016) smooth activation dynamics, NumPy."""
    sw = 0.5 + 0.5 * np.tanh(st.activation_smoothing * (e - a))
    ta, td = st.activation_time_constant_s, st.deactivation_time_constant_s
    return (sw / (ta * (0.5 + 1.5 * a)) + (1 - sw) * (0.5 + 1.5 * a) / td) * (e - a)


def _activation_lead_s(a: np.ndarray, t: np.ndarray, st: DynamicSettings) -> np.ndarray:
    """``tau(a) da/dt``: how far excitation must lead activation (first-order dynamics with
    the activation or deactivation time constant of De Groote et al. 2016)."""
    dadt = np.gradient(a, t, axis=1)
    tau = np.where(
        dadt > 0,
        st.activation_time_constant_s * (0.5 + 1.5 * a),
        st.deactivation_time_constant_s / (0.5 + 1.5 * a),
    )
    return tau * dadt


def _simulate_activation(e: np.ndarray, t: np.ndarray, st: DynamicSettings, amin, amax) -> np.ndarray:
    """Activations ``(M, N)`` driven by excitations held between nodes (explicit Euler in 1 ms
    steps), starting at the first excitation: a seed consistent with the dynamics."""
    a = np.empty(e.shape)
    a[:, 0] = e[:, 0]
    for k in range(e.shape[1] - 1):
        n_sub = max(1, int(np.ceil((t[k + 1] - t[k]) / 1e-3)))
        dt = (t[k + 1] - t[k]) / n_sub
        ak = a[:, k]
        for s in range(n_sub):
            ek = e[:, k] + (e[:, k + 1] - e[:, k]) * (s + 0.5) / n_sub
            ak = np.clip(ak + dt * _activation_rate(ek, ak, st), amin, amax)
        a[:, k + 1] = ak
    return a


def _equilibrium_seed(
    inp: DynamicInputs, gm: np.ndarray, act: np.ndarray, nodes: np.ndarray, st: DynamicSettings
) -> np.ndarray:
    """Normalized tendon forces ``(Mc, N)`` in fibre equilibrium at the seed activations, with
    the tendon's lengthening speed neglected (bisection on the monotonic equilibrium residual;
    the tabulated curves interpolated linearly)."""
    if gm.size == 0:
        return np.zeros((0, nodes.size))
    cv = inp.curves
    lopt = inp.optimal_fiber_length_m[gm][:, None]
    lts = inp.tendon_slack_length_m[gm][:, None]
    hgt = lopt * np.sin(inp.pennation_at_optimal_rad[gm])[:, None]
    vmax = inp.max_contraction_velocity_lopt_s[gm][:, None] * lopt
    L = inp.length_m[nodes][:, gm].T
    V = inp.speed_m_s[nodes][:, gm].T

    def interp(grid, table, rows, x):
        return np.stack([np.interp(x[j], grid, table[rows[g]]) for j, g in enumerate(gm)])

    def residual(f):
        lt = lts * (1.0 + interp(TENDON_FORCE_GRID, cv.strain, cv.strain_row, f))
        along = _smooth_positive(L - lt, SLACK_SMOOTHING * lopt, np.sqrt)
        lm = np.sqrt(along * along + hgt * hgt)
        cos_a = along / lm
        vn = V * cos_a / vmax
        ln = lm / lopt
        fiber = (
            act
            * interp(FIBRE_LENGTH_GRID, cv.fl, cv.fl_row, ln)
            * interp(FIBRE_VELOCITY_GRID, cv.fv, cv.fv_row, vn)
            + interp(FIBRE_LENGTH_GRID, cv.fpas, cv.fpas_row, ln)
            + st.fibre_damping * vn
        )
        return f - fiber * cos_a

    lo = np.full(act.shape, float(st.norm_tendon_force_bounds[0]))
    hi = np.full(act.shape, float(st.norm_tendon_force_bounds[1]))
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        pos = residual(mid) > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    return 0.5 * (lo + hi)


def _to_frames(time_s: np.ndarray, nodes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(n_nodes, X)`` node values -> ``(F, X)`` frame values (linear between nodes)."""
    if nodes.size == time_s.size:
        return values
    tn = time_s[nodes]
    return np.stack([np.interp(time_s, tn, values[:, j]) for j in range(values.shape[1])], axis=1)


_IN_CHILD = False


def _child_main() -> None:
    """Entry of the child interpreter: ``argv[1]`` holds the pickled inputs and settings; the
    pickled solution is written to ``argv[2]``."""
    import pickle  # noqa: PLC0415
    import sys  # noqa: PLC0415

    global _IN_CHILD  # noqa: PLW0603 - a flag of the child interpreter
    _IN_CHILD = True
    with open(sys.argv[1], "rb") as fh:
        inp, st = pickle.load(fh)
    sol = solve_dynamic(inp, st)
    with open(sys.argv[2], "wb") as fh:
        pickle.dump(sol, fh)


def _solve_in_fresh_process(inp: DynamicInputs, st: DynamicSettings) -> DynamicSolution:
    """:func:`solve_dynamic` in a new interpreter (``python -c``, so a caller's script is not
    re-imported), which has not loaded OpenSim."""
    import os  # noqa: PLC0415
    import pickle  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    env = dict(os.environ)
    # ``import opensim`` puts its library folder (with its libcasadi) on LD_LIBRARY_PATH,
    # which a new process's loader would search first: leave it out for the child
    if "LD_LIBRARY_PATH" in env:
        keep = [
            p
            for p in env["LD_LIBRARY_PATH"].split(os.pathsep)
            if p and not (Path(p) / "libcasadi.so").exists()
        ]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(keep)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="runmuscles-dynamic-") as tmp:
        src, out = Path(tmp) / "in.pkl", Path(tmp) / "out.pkl"
        with open(src, "wb") as fh:
            pickle.dump((inp, st), fh)
        code = "from runmuscles.muscles.dynamic import _child_main; _child_main()"
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code, str(src), str(out)],
                env=env,
                stdout=subprocess.DEVNULL if st.print_level == 0 else None,
                stderr=subprocess.PIPE,
                text=True,
                timeout=CHILD_TIME_LIMIT_S,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"the solver process ran past {CHILD_TIME_LIMIT_S:.0f} s and was stopped"
            ) from None
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"the solver process failed (exit {proc.returncode}): {tail[0][:200]}")
        try:
            with open(out, "rb") as fh:
                return pickle.load(fh)
        except (EOFError, pickle.UnpicklingError, AttributeError) as exc:
            raise RuntimeError(
                f"the solver process wrote no readable solution ({type(exc).__name__})"
            ) from None


#: Longest time the solver process may run for one solution (s): an all-compliant stride of
#: 92 muscles took about 280 s on a loaded 2-core machine; past this it is stopped and the
#: static solution stays the result.
CHILD_TIME_LIMIT_S = 1800.0


def _solve_block_in_worker(
    inp: DynamicInputs, blk: DynamicBlock, nodes: np.ndarray, st: DynamicSettings
) -> dict:
    """:func:`_solve_block` in a worker process of :func:`_solve_blocks`."""
    import casadi as ca  # noqa: PLC0415

    return _solve_block(ca, inp, blk, nodes, st)


def _end_with_parent() -> None:
    """Pool initializer: on Linux the worker is killed when the solver process ends (e.g. stopped
    at :data:`CHILD_TIME_LIMIT_S`), instead of solving on as an orphan (``prctl``
    ``PR_SET_PDEATHSIG``); elsewhere nothing."""
    import contextlib  # noqa: PLC0415
    import ctypes  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import sys  # noqa: PLC0415

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG


def _usable_cpus() -> int:
    """CPUs this process may use, capped by ``$RUNMUSCLES_SOLVER_PROCESSES`` where set."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    try:
        cap = int(os.environ.get(SOLVER_PROCESSES_ENV, "").strip())
    except ValueError:  # unset, or not a whole number: no cap (as documented)
        cap = 0
    if cap >= 1:
        n = min(n, cap)
    return max(1, n)


def _solve_blocks(ca, inp: DynamicInputs, blocks: list[DynamicBlock], nodes: np.ndarray, st: DynamicSettings):
    """Solve the independent blocks, in ``st.block_workers`` processes at once (the largest
    blocks first, so the two legs run side by side); results in the blocks' order."""
    workers = min(max(1, int(st.block_workers)), len(blocks), _usable_cpus())
    if workers <= 1:
        return [_solve_block(ca, inp, blk, nodes, st) for blk in blocks]
    import multiprocessing as mp  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    # fork (where there is one): the solver process has loaded NumPy and CasADi but started
    # no solver threads yet, and a forked worker needs no second interpreter start-up
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    order = sorted(range(len(blocks)), key=lambda i: -blocks[i].muscles.size)
    ctx = mp.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_end_with_parent) as pool:
        futures = {i: pool.submit(_solve_block_in_worker, inp, blocks[i], nodes, st) for i in order}
        return [futures[i].result() for i in range(len(blocks))]


def solve_dynamic(
    inp: DynamicInputs, settings: DynamicSettings | None = None, *, fresh_process: bool = True
) -> DynamicSolution:
    """Solve the dynamic muscle redundancy problem (see the module docstring).

    Parameters
    ----------
    inp
        :class:`DynamicInputs` (e.g. from :func:`runmuscles.muscles.dynamic_pipeline.dynamic_inputs`).
    settings
        :class:`~runmuscles.muscles.dynamic_model.DynamicSettings` (default: its defaults).
    fresh_process
        Solve in a spawned interpreter (default), so that this process never loads CasADi's
        library, which conflicts with OpenSim's copy of it; ``False``: in this process (only
        where OpenSim is never loaded).

    Returns
    -------
    DynamicSolution
        Values at the input frames.
    """
    st = settings or DynamicSettings()
    if fresh_process and not _IN_CHILD:
        # OpenSim's own libcasadi (Moco) and the PyPI package's have the same name: whichever a
        # process loads first breaks the other (OpenSim is needed later to build a new model's
        # geometry cache, e.g. in a batch worker), so CasADi is loaded in a child interpreter
        return _solve_in_fresh_process(inp, st)
    import casadi as ca  # noqa: PLC0415 - heavy, and only needed here

    start = _time.perf_counter()
    F, M = inp.length_m.shape
    K = inp.reserve_gain.shape[2]
    nodes = _mesh_frames(np.asarray(inp.time_s, float), st.mesh_interval_s)
    if st.transcription == "hermite_simpson" and (nodes.size < 3 or nodes.size % 2 == 0):
        raise ValueError(
            "Hermite-Simpson collocation needs an odd number of nodes (mesh points and midpoints), "
            f"got {nodes.size}"
        )
    blocks, lone = muscle_blocks(inp.moment_arm, inp.reserve_gain)
    N = nodes.size
    act = np.zeros((N, M))
    exc = np.zeros((N, M))
    force = np.zeros((N, M))
    lt = np.broadcast_to(inp.tendon_slack_length_m, (N, M)).copy()
    lm = np.full((N, M), np.nan)
    vm = np.full((N, M), np.nan)
    rc = np.zeros((N, K))
    if lone.size:
        rc[:, lone] = inp.seed_reserve[nodes][:, lone]
    statuses = []
    for blk, got in zip(blocks, _solve_blocks(ca, inp, blocks, nodes, st), strict=True):
        mus = blk.muscles
        act[:, mus] = got["a"].T
        exc[:, mus] = got["e"].T
        ic, ir = got["ic"], got["ir"]
        gr, gc = mus[ir], mus[ic]
        force[:, gr] = got["a"][ir].T * inp.rigid_strength_n[nodes][:, gr] + inp.rigid_passive()[nodes][:, gr]
        if ic.size:
            force[:, gc] = got["f"].T * inp.max_isometric_force_n[gc]
            lt[:, gc] = got["lt"].T
            lm[:, gc] = got["lm"].T
            vm[:, gc] = got["vm"].T
        rc[:, blk.reserves] = got["r"].T
        statuses.append(got["status"])
    # rigid muscles' fibre states: constant-thickness pennation along a rigid tendon
    rigid = np.isnan(lm)
    if rigid.any():
        h_m = inp.optimal_fiber_length_m * np.sin(inp.pennation_at_optimal_rad)
        along = np.maximum(inp.length_m[nodes] - inp.tendon_slack_length_m, 1e-6)
        lm_r = np.sqrt(along * along + h_m * h_m)
        vm_r = inp.speed_m_s[nodes] * along / lm_r
        lm = np.where(rigid, lm_r, lm)
        vm = np.where(rigid, vm_r, vm)
    to_f = lambda v: _to_frames(np.asarray(inp.time_s, float), nodes, v)  # noqa: E731
    act, exc, force, lt, lm, vm, rc = (to_f(v) for v in (act, exc, force, lt, lm, vm, rc))
    arm_f = inp.moment_arm * force[:, None, :]
    muscle_moment = arm_f.sum(axis=2)
    # between mesh nodes the muscle forces are interpolated: the reserves there close what the
    # interpolated forces leave of the moments (least squares), so every frame is in equilibrium
    off = np.setdiff1d(np.arange(F), nodes)
    for f in off:
        rc[f] = np.linalg.lstsq(inp.reserve_gain[f], inp.target[f] - muscle_moment[f], rcond=None)[0]
    reserve_moment = (inp.reserve_gain @ rc[..., None])[..., 0]
    return DynamicSolution(
        activation=act,
        excitation=exc,
        tendon_force_n=force,
        tendon_length_m=lt,
        fibre_length_m=lm,
        fibre_velocity_m_s=vm,
        reserve_control=rc,
        muscle_moment=muscle_moment,
        reserve_moment=reserve_moment,
        converged=all(s["converged"] for s in statuses),
        block_status=statuses,
        settings=st,
        wall_s=_time.perf_counter() - start,
    )
