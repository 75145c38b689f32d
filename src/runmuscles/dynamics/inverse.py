"""Inverse dynamics of a :class:`~runmuscles.model.multibody.Multibody`, vectorised over frames.

:func:`inverse_dynamics` returns, for every coordinate in model order, the generalized
force that reproduces the given accelerations under gravity and external loads, ignoring
constraints: the quantity OpenSim's ``InverseDynamicsSolver`` (Simbody's
``calcResidualForceIgnoringConstraints``) computes and OpenSim's Inverse Dynamics tool
writes. The method is recursive Newton-Euler (Featherstone R, 2008, Rigid Body Dynamics
Algorithms, Springer, ch. 5): an outward pass for body accelerations
(:func:`~runmuscles.model.multibody.forward_kinematics`), the body inertial forces, and
an inward sum of forces over each joint's subtree (one matrix product, since all forces
are taken about the ground origin), projected onto each joint's axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model.multibody import Kinematics, Multibody, _cross, _mv, forward_kinematics
from ..readers.opensim_files import ExternalLoads

__all__ = ["BodyLoad", "body_loads_from_external_loads", "inverse_dynamics"]


@dataclass
class BodyLoad:
    """An external load on one body, per frame.

    Attributes
    ----------
    body
        Body name.
    force_n
        Force in ground, ``(n_frames, 3)``.
    point_m
        Point of application, ``(n_frames, 3)``: in ground, or in the body frame when
        ``point_in_body``; ``None`` applies the force at the body origin.
    torque_nm
        Free torque in ground, ``(n_frames, 3)`` or ``None``.
    point_in_body
        Whether ``point_m`` is expressed in the body frame.
    name
        A label (e.g. the ExternalForce's name).
    """

    body: str
    force_n: np.ndarray
    point_m: np.ndarray | None = None
    torque_nm: np.ndarray | None = None
    point_in_body: bool = False
    name: str = ""


def _moments_about_origin(model: Multibody, loads: Sequence[BodyLoad], kin: Kinematics, n: int):
    """External forces and moments about the ground origin, per body ``(F, n_bodies, 3)`` each."""
    f_ext = np.zeros((n, model.n_bodies, 3))
    m_ext = np.zeros((n, model.n_bodies, 3))
    for ld in loads:
        b = model.body_index(ld.body)
        force = np.asarray(ld.force_n, dtype=float)
        if force.shape != (n, 3):
            raise InputError(
                f"load '{ld.name or ld.body}'", f"force has shape {force.shape}, expected ({n}, 3)"
            )
        if ld.point_m is None:
            point = kin.p_m[:, b]
        else:
            point = np.asarray(ld.point_m, dtype=float)
            if point.shape != (n, 3):
                raise InputError(
                    f"load '{ld.name or ld.body}'", f"point has shape {point.shape}, expected ({n}, 3)"
                )
            if ld.point_in_body:
                point = kin.p_m[:, b] + _mv(kin.R[:, b], point)
        moment = _cross(point, force)
        if ld.torque_nm is not None:
            torque = np.asarray(ld.torque_nm, dtype=float)
            if torque.shape != (n, 3):
                raise InputError(
                    f"load '{ld.name or ld.body}'", f"torque has shape {torque.shape}, expected ({n}, 3)"
                )
            moment = moment + torque
        f_ext[:, b] += force
        m_ext[:, b] += moment
    return f_ext, m_ext


def inverse_dynamics(
    model: Multibody,
    q: np.ndarray,
    qdot: np.ndarray,
    qddot: np.ndarray,
    external: Sequence[BodyLoad] | None = None,
    *,
    gravity: bool = True,
) -> np.ndarray:
    """Generalized forces that produce ``qddot`` (constraints ignored), in model order.

    Parameters
    ----------
    model
        The model.
    q, qdot, qddot
        ``(n_frames, n_coordinates)`` in model order (rad, m; rad/s, m/s; ...). Coupled
        coordinates must be consistent (see
        :func:`~runmuscles.model.multibody.fill_dependent_coordinates`); for Ball/Free
        joints the speeds are OpenSim's generalized speeds (see the model module).
    external
        External loads (e.g. from :func:`body_loads_from_external_loads`).
    gravity
        Include the model's gravity.

    Returns
    -------
    numpy.ndarray
        ``(n_frames, n_coordinates)`` generalized forces (N m for rotations, N for
        translations): ``M(q) qddot + C(q, qdot) - G(q) - J^T F_ext``.
    """
    kin = forward_kinematics(model, q, qdot, qddot)
    n = kin.p_m.shape[0]
    # Inertial force minus gravity of each body, as a force and a moment about the
    # ground origin (bodies 1..nb-1; ground contributes nothing).
    Rb = kin.R[:, 1:]
    c = kin.p_m[:, 1:] + _mv(Rb, model.com_m[1:])
    w = kin.w_rad_s[:, 1:]
    al = kin.alpha_rad_s2[:, 1:]
    vc = kin.v0_m_s[:, 1:] + _cross(w, c)
    ac = kin.a0_m_s2[:, 1:] + _cross(al, c) + _cross(w, vc)
    m = model.mass_kg[1:, None]
    g = model.gravity_m_s2 if gravity else np.zeros(3)
    force = m * (ac - g)
    I_G = Rb @ model.inertia_kg_m2[1:] @ np.swapaxes(Rb, -1, -2)
    moment = _mv(I_G, al) + _cross(w, _mv(I_G, w)) + _cross(c, force)
    if external:
        f_ext, m_ext = _moments_about_origin(model, external, kin, n)
        force = force - f_ext[:, 1:]
        moment = moment - m_ext[:, 1:]
    # Forces transmitted by each joint: the sum over the bodies it carries.
    fm = model.subtree[:, 1:] @ np.concatenate((force, moment), axis=2)
    f_j, m_j = fm[..., :3], fm[..., 3:]
    # Moment about each joint's M origin, in the parent body; project on the joint axes.
    RpT = np.swapaxes(kin.R[:, model.parent], -1, -2)
    f_P = _mv(RpT, f_j)
    m_P = _mv(RpT, m_j - _cross(kin.p_m[:, model.parent], f_j)) - _cross(kin.joint_p_PM_m, f_P)
    g_rot = (m_P[..., :, None] * kin.joint_E).sum(axis=-2)
    g_trans = (f_P[..., :, None] * kin.joint_T).sum(axis=-2)
    gen = np.concatenate((g_rot, g_trans), axis=2)  # (F, J, 6) per spatial coordinate
    tau = np.zeros((n, model.n_coordinates + 1))
    idx = model.axis_coordinate.ravel()
    np.add.at(tau.T, idx, (gen * model.axis_slope).reshape(n, -1).T)
    for k, (j, i, col, _fn) in enumerate(model.nonlinear_axes):
        tau[:, col] += gen[:, j, i] * kin.joint_ds[:, k]
    return tau[:, :-1]


def body_loads_from_external_loads(
    model: Multibody, loads: ExternalLoads, times_s: np.ndarray
) -> list[BodyLoad]:
    """Build :class:`BodyLoad` objects from an ExternalLoads file, at the given times.

    Force, point and torque columns are interpolated linearly to ``times_s`` (no
    filtering: the file's ``lowpass_cutoff_frequency_for_load_kinematics`` is not applied).

    Parameters
    ----------
    model
        The model (for body names).
    loads
        From :func:`runmuscles.readers.read_external_loads`.
    times_s
        Kinematic frame times.

    Returns
    -------
    list of BodyLoad
    """
    t = np.asarray(times_s, dtype=float)
    table = loads.data
    tt = table.time_s
    if t.size and (t[0] < tt[0] - 1e-9 or t[-1] > tt[-1] + 1e-9):
        raise InputError(
            table.source,
            f"forces cover {tt[0]:g}-{tt[-1]:g} s but the motion needs {t[0]:g}-{t[-1]:g} s",
        )

    def interp(cols: list[str]) -> np.ndarray:
        data = table.columns(cols)
        return np.stack([np.interp(t, tt, data[:, k]) for k in range(data.shape[1])], axis=1)

    ground = model.body_names[0]
    out = []
    for spec in loads.forces:
        if spec.applied_to_body not in model.body_names:
            raise InputError(
                loads.source,
                f"ExternalForce '{spec.name}' acts on body '{spec.applied_to_body}', which the model lacks",
            )
        if spec.force_expressed_in_body != ground:
            raise InputError(
                loads.source,
                f"ExternalForce '{spec.name}': force expressed in '{spec.force_expressed_in_body}' "
                "is not supported (only ground)",
            )
        if spec.point_expressed_in_body not in (ground, spec.applied_to_body):
            raise InputError(
                loads.source,
                f"ExternalForce '{spec.name}': point expressed in '{spec.point_expressed_in_body}' "
                f"is not supported (ground or '{spec.applied_to_body}')",
            )
        out.append(
            BodyLoad(
                body=spec.applied_to_body,
                force_n=interp(spec.force_columns),
                point_m=interp(spec.point_columns) if spec.point_columns else None,
                torque_nm=interp(spec.torque_columns) if spec.torque_columns else None,
                point_in_body=spec.point_expressed_in_body != ground,
                name=spec.name,
            )
        )
    return out
