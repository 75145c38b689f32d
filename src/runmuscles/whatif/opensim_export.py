"""A what-if's motion and forces in OpenSim's file formats (:func:`export_opensim`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .result import WhatIfResult


def export_opensim(result: WhatIfResult, folder) -> dict[str, Any]:
    """Write a what-if's motion and forces in OpenSim's formats, for OpenSim's own tools.

    Files: ``coordinates.mot`` (radians and metres, ``inDegrees=no``), ``grf.mot`` with its
    ExternalLoads ``grf.xml`` (one force per foot body, the feet's loads summed, the point of
    application their force-weighted mean), and ``condition.json`` with the gravity vector to
    set on the model (tilted for a grade), any other external loads (e.g. air drag) that
    these files do not carry, and the residual reduction's model adjustments (every body's
    mass and inertia scaled, the trunk's mass centre moved) that the motion goes with.

    Returns
    -------
    dict
        Paths (``coordinates``, ``grf_mot``, ``grf_xml``, ``condition``) and ``gravity_m_s2``.
    """
    import json  # noqa: PLC0415

    from ..kinematics.forceplates import FeetGRF, write_grf  # noqa: PLC0415
    from ..pipeline import foot_side  # noqa: PLC0415
    from ..readers.opensim_files import write_storage  # noqa: PLC0415
    from ..tables import TimeTable  # noqa: PLC0415

    a = result.analysis
    if a is None:
        raise InputError("export", "an interpolated result has no single motion to export")
    from ..outputs import prepare_output_dir  # noqa: PLC0415

    out = prepare_output_dir(folder, "folder")
    ck = a.coordinates
    coords = write_storage(
        out / "coordinates.mot",
        TimeTable(ck.time_s, ck.q, list(ck.names), False, {}),
        name="coordinates",
        in_degrees=False,
    )
    force, cop, torque = {}, {}, {}
    for s in ("r", "l"):
        mine = [ld for ld in (a.body_loads or []) if (foot_side(ld.body) or " ")[0] == s]
        f = sum((ld.force_n for ld in mine), np.zeros((ck.time_s.size, 3)))
        fy = [np.abs(ld.force_n).sum(axis=1) for ld in mine]
        tot = np.maximum(sum(fy, np.zeros(ck.time_s.size)), 1e-12)
        pts = [ld.point_m for ld in mine if ld.point_m is not None and not ld.point_in_body]
        p = sum((w[:, None] * pt for w, pt in zip(fy, pts, strict=False)), np.zeros((ck.time_s.size, 3)))
        force[s], cop[s] = f, p / tot[:, None]
        torque[s] = sum(
            (ld.torque_nm for ld in mine if ld.torque_nm is not None), np.zeros((ck.time_s.size, 3))
        )
    mot, xml = write_grf(out / "grf.mot", FeetGRF(ck.time_s, force, cop, torque, []), prefix="ground_force")
    tilt = [ld for ld in (a.extra_loads or []) if ld.name.startswith("gravity_tilt_")]
    from ..model import RunnerModel  # noqa: PLC0415

    rr = a.residual_reduction  # the reduced motion goes with the adjusted masses
    mb = (
        rr.multibody
        if rr is not None
        else RunnerModel.load(a.model_path, cache_dir=a.options.cache_dir).multibody
    )
    g = np.asarray(mb.gravity_m_s2, dtype=float)
    if tilt:
        body = tilt[0].body
        g = g + tilt[0].force_n[0] / float(mb.mass_kg[mb.body_names.index(body)])
    other = [ld.name for ld in (a.extra_loads or []) if not ld.name.startswith("gravity_tilt_")]
    cond = out / "condition.json"
    cond.write_text(
        json.dumps(
            {
                "condition": dict(result.condition.__dict__),
                "gravity_m_s2": g.tolist(),
                "other_external_loads": other,
                "model_adjustments": None
                if rr is None
                else {
                    "what": "residual reduction: set these on the model before OpenSim's tools",
                    "mass_scale_all_bodies": rr.mass_scale,
                    "trunk_body": rr.trunk_body,
                    "trunk_mass_center_shift_m": [float(v) for v in rr.trunk_com_shift_m],
                },
                "notes": result.notes,
            },
            indent=2,
        )
    )
    return {"coordinates": coords, "grf_mot": mot, "grf_xml": xml, "condition": cond, "gravity_m_s2": g}
