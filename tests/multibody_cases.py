"""Shared inputs for the multibody and inverse-dynamics tests: data paths, a synthetic
model with every supported joint type, cached OpenSim references, random states."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from runmuscles.model.multibody import Multibody, load_osim

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

MODELS = {
    "hamner": "hamner2013/subject01/model/subject01_adjusted_scaled.osim",
    "rajagopal": "models/Rajagopal2016.osim",
    "lai": "models/LaiArnold2017.osim",
    "fukuchi": "fukuchi2017/RBDS001/RBDS001_complex.osim",
    "gait10dof": "models/gait10dof18musc.osim",
}
FEET = {
    "hamner": ("calcn_r", "calcn_l"),
    "rajagopal": ("calcn_r", "calcn_l"),
    "lai": ("calcn_r", "calcn_l"),
    "fukuchi": ("calcn_r", "calcn_l"),
    "gait10dof": ("calcn_r", "calcn_l"),
}


def data_path(rel: str) -> Path:
    p = DATA / rel
    if not p.exists():
        pytest.skip(f"reference data not available: {rel}")
    return p


@lru_cache(maxsize=8)
def model_of(key: str) -> Multibody:
    return load_osim(data_path(MODELS[key]) if key in MODELS else key)


@lru_cache(maxsize=8)
def reference_of(key: str):
    from runmuscles.opensim_adapter.reference import OpenSimReference

    return OpenSimReference(data_path(MODELS[key]) if key in MODELS else key)


def random_state(model: Multibody, n_frames: int, seed: int = 0):
    """Random q within the coordinate ranges (clipped to +-pi / +-1 m), speeds, accelerations."""
    rng = np.random.default_rng(seed)
    rot = np.array([t != "translational" for t in model.motion_types])
    bound = np.where(rot, np.pi, 1.0)
    lo = np.maximum(model.ranges[:, 0], -bound)
    hi = np.minimum(model.ranges[:, 1], bound)
    q = rng.uniform(lo, hi, (n_frames, model.n_coordinates))
    qd = rng.normal(0.0, 3.0, (n_frames, model.n_coordinates))
    qdd = rng.normal(0.0, 30.0, (n_frames, model.n_coordinates))
    return q, qd, qdd


# -- a synthetic model with every supported joint type and function --------------------------

_FRAME = """<PhysicalOffsetFrame name="{name}"><socket_parent>{parent}</socket_parent>
<translation>{t}</translation><orientation>{o}</orientation></PhysicalOffsetFrame>"""


def _body(name: str, k: int) -> str:
    m = 1.0 + 0.3 * k
    c = f"{0.02 * k:.3f} {-0.05 - 0.01 * k:.3f} {0.01 * (k % 3):.3f}"
    inertia = f"{0.05 + 0.01 * k} {0.06 + 0.005 * k} {0.045 + 0.007 * k} 0.004 -0.003 0.002"
    return (
        f'<Body name="{name}"><mass>{m}</mass><mass_center>{c}</mass_center>'
        f"<inertia>{inertia}</inertia></Body>"
    )


def _coords(names: list[str]) -> str:
    return "".join(
        f'<Coordinate name="{n}"><default_value>0</default_value><range>-3 3</range></Coordinate>'
        for n in names
    )


def _joint(kind: str, name: str, parent: str, child: str, coords: list[str], k: int, extra: str = "") -> str:
    pf = _FRAME.format(
        name=f"{name}_p",
        parent=parent,
        t=f"{0.03 * k:.3f} {-0.2:.3f} {0.015 * k:.3f}",
        o=f"{0.2 * k:.2f} {-0.1 * k:.2f} {0.3:.2f}",
    )
    cf = _FRAME.format(
        name=f"{name}_c", parent=child, t="0.01 0.05 -0.02", o=f"{-0.15 * k:.2f} 0.25 {0.1 * k:.2f}"
    )
    return (
        f'<{kind} name="{name}"><socket_parent_frame>{name}_p</socket_parent_frame>'
        f"<socket_child_frame>{name}_c</socket_child_frame><coordinates>{_coords(coords)}</coordinates>"
        f"<frames>{pf}{cf}</frames>{extra}</{kind}>"
    )


_SPATIAL = """<SpatialTransform>
<TransformAxis name="rotation1"><coordinates>cj_a</coordinates><axis>0 0 1</axis>
  <PolynomialFunction name="function"><coefficients>0.3 1 0.1</coefficients></PolynomialFunction>
  </TransformAxis>
<TransformAxis name="rotation2"><coordinates>cj_b</coordinates><axis>1 0 0</axis>
  <LinearFunction name="function"><coefficients>-1 0</coefficients></LinearFunction></TransformAxis>
<TransformAxis name="rotation3"><coordinates>cj_a</coordinates><axis>0 1 0.2</axis>
  <SimmSpline name="function"><x>-2 -1 0 0.5 1.5 2</x><y>0.1 -0.2 0 0.3 0.2 0.5</y></SimmSpline>
  </TransformAxis>
<TransformAxis name="translation1"><coordinates>cj_b</coordinates><axis>1 0 0</axis>
  <PiecewiseLinearFunction name="function"><x>-1 0 1</x><y>-0.02 0 0.05</y></PiecewiseLinearFunction>
  </TransformAxis>
<TransformAxis name="translation2"><coordinates></coordinates><axis>0 1 0</axis>
  <Constant name="function"><value>-0.3</value></Constant></TransformAxis>
<TransformAxis name="translation3"><coordinates>cj_a</coordinates><axis>0 0 1</axis>
  <MultiplierFunction name="function"><function><NaturalCubicSpline name="f">
  <x>-2 -1 0 1 2</x><y>0.01 -0.01 0 0.02 0.01</y></NaturalCubicSpline></function><scale>1.3</scale>
  </MultiplierFunction></TransformAxis>
</SpatialTransform>"""


# A nonzero constant rotation before the moving ones (Simbody then uses zero for that angle
# in the joint's partial velocities; see runmuscles.model.multibody.forward_kinematics).
_SPATIAL_CONSTANT = """<SpatialTransform>
<TransformAxis name="rotation1"><coordinates></coordinates><axis>1 0 0</axis>
  <Constant name="function"><value>0.4</value></Constant></TransformAxis>
<TransformAxis name="rotation2"><coordinates>cc_a</coordinates><axis>0 0 1</axis>
  <LinearFunction name="function"><coefficients>1 0</coefficients></LinearFunction></TransformAxis>
<TransformAxis name="rotation3"><coordinates>cc_b</coordinates><axis>0 1 0</axis>
  <SimmSpline name="function"><x>-3 -1 0 1 3</x><y>-2.5 -1.2 0 0.9 3.1</y></SimmSpline></TransformAxis>
<TransformAxis name="translation1"><coordinates></coordinates><axis>1 0 0</axis>
  <Constant name="function"><value>0.05</value></Constant></TransformAxis>
</SpatialTransform>"""


def synthetic_osim(path: Path) -> Path:
    """Write an 11-body model using every supported joint type; return its path."""
    bodies = [f"b{k}" for k in range(1, 12)]
    joints = [
        _joint("FreeJoint", "j_free", "/ground", "/bodyset/b1", [f"free_{a}" for a in "abcdef"], 1),
        _joint("BallJoint", "j_ball", "/bodyset/b1", "/bodyset/b2", ["ball_a", "ball_b", "ball_c"], 2),
        _joint("GimbalJoint", "j_gimbal", "/bodyset/b2", "/bodyset/b3", ["gim_a", "gim_b", "gim_c"], 3),
        _joint("UniversalJoint", "j_univ", "/bodyset/b3", "/bodyset/b4", ["uni_a", "uni_b"], 4),
        _joint("SliderJoint", "j_slider", "/bodyset/b4", "/bodyset/b5", ["slide"], 5),
        _joint("PlanarJoint", "j_planar", "/bodyset/b5", "/bodyset/b6", ["pl_rz", "pl_tx", "pl_ty"], 6),
        _joint("PinJoint", "j_pin", "/bodyset/b6", "/bodyset/b7", ["pin"], 7),
        _joint("WeldJoint", "j_weld", "/bodyset/b7", "/bodyset/b8", [], 8),
        _joint("CustomJoint", "j_custom", "/bodyset/b2", "/bodyset/b9", ["cj_a", "cj_b"], 9, _SPATIAL),
        _joint("PinJoint", "j_pin2", "/bodyset/b9", "/bodyset/b10", ["pin2"], 10),
        _joint(
            "CustomJoint", "j_custom2", "/bodyset/b4", "/bodyset/b11", ["cc_a", "cc_b"], 11, _SPATIAL_CONSTANT
        ),
    ]
    body_xml = "".join(_body(b, k) for k, b in enumerate(bodies, 1))
    text = (
        '<?xml version="1.0" encoding="UTF-8" ?><OpenSimDocument Version="40000"><Model name="synthetic">'
        '<gravity>0.3 -9.80665 0.1</gravity><Ground name="ground"/>'
        f'<BodySet name="bodyset"><objects>{body_xml}</objects></BodySet>'
        f'<JointSet name="jointset"><objects>{"".join(joints)}</objects></JointSet>'
        "</Model></OpenSimDocument>"
    )
    path.write_text(text)
    return path
