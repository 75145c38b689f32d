"""A pure-NumPy rigid-body model read from an OpenSim 4.x ``.osim`` file.

:func:`load_osim` parses bodies, joints (with their offset frames), coordinates,
coordinate-coupler constraints and gravity straight from the XML (no OpenSim), into a
:class:`Multibody` of plain arrays that pickles and reloads in milliseconds.
:func:`forward_kinematics` computes body poses, velocities and accelerations for many
frames at once (loops only over tree levels); inverse dynamics is in
:mod:`runmuscles.dynamics.inverse`.

Joint semantics follow OpenSim/Simbody:

* ``CustomJoint``: a Simbody function-based mobilizer. With spatial coordinates
  ``s_i = f_i(q)`` the rotation is ``R_FM = Rot(s_0, a_0) Rot(s_1, a_1) Rot(s_2, a_2)``
  (body-fixed sequence about the normalised rotation axes) and the translation
  ``p_FM = s_3 t_0 + s_4 t_1 + s_5 t_2`` along the translation axes, in the parent (F)
  frame. Generalized speeds are ``u = qdot``.
* ``PinJoint`` (about z), ``SliderJoint`` (along x), ``UniversalJoint`` (x then new y),
  ``GimbalJoint`` (body-fixed x-y-z), ``PlanarJoint`` (z rotation, x and y translation in
  F), ``WeldJoint``: ``u = qdot``.
* ``BallJoint`` and ``FreeJoint``: angles are a body-fixed x-y-z sequence (OpenSim sets
  Simbody's "use Euler angles" option) but the rotational generalized speeds are the
  angular velocity of M in F expressed in F (``u != qdot``), and for ``FreeJoint`` the
  translational speeds are the velocity of M's origin in F, expressed in F. Callers pass
  those speeds (and their derivatives) as the coordinates' ``qdot`` (``qddot``), as OpenSim
  does for the coordinates' "speed" values.

Where Simbody's function-based mobilizer (CustomJoint) departs from the exact kinematics,
the default (``simbody_compatible=True``) reproduces it so that results equal OpenSim's:

* if one coordinate drives several rotation axes (Rajagopal's and Lai's knees and
  patellae), the velocity-product term of the joint's angular acceleration uses the
  angular velocity of the first mobility / of all but the third mobility instead of that
  of the preceding rotations (on a running stride with Rajagopal's model: up to about 7 N
  at the pelvis and 4.5 N m at the hips);
* a rotation axis with no coordinate but a non-zero constant angle counts as zero in the
  joint's partial velocities (but not in its pose).

``simbody_compatible=False`` gives the exact derivatives instead.
"""

from __future__ import annotations

import pickle
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..tables import TimeTable
from .functions import Function, LinearFunction, is_function_element, parse_function
from .osim_xml import child_text, euler_xyz_body_fixed, numbers, read_osim_root, truthy

__all__ = [
    "CoordinateCoupler",
    "Kinematics",
    "Multibody",
    "PositionKinematics",
    "SUPPORTED_JOINTS",
    "coordinates_from_table",
    "coupler_slopes",
    "fill_dependent_coordinates",
    "forward_kinematics",
    "load_osim",
    "load_osim_cached",
    "mass_center",
    "position_kinematics",
    "project_to_independent",
]

SUPPORTED_JOINTS = (
    "CustomJoint",
    "PinJoint",
    "SliderJoint",
    "UniversalJoint",
    "BallJoint",
    "FreeJoint",
    "PlanarJoint",
    "WeldJoint",
    "GimbalJoint",
)
_FORMAT_VERSION = 1


@dataclass
class CoordinateCoupler:
    """A ``CoordinateCouplerConstraint``: ``q[dependent] = scale * function(q[independent])``."""

    name: str
    dependent: int
    independent: int
    function: Function
    scale: float = 1.0


@dataclass
class Multibody:
    """Rigid-body tree of an OpenSim model, as arrays.

    Bodies are numbered in tree order: 0 is ground, body ``j + 1`` is the child of joint
    ``j``, and every parent comes before its children. Coordinates are in OpenSim's
    model order (``model.getCoordinateSet()``).

    Attributes
    ----------
    name, source
        Model name and the ``.osim`` path it was read from.
    gravity_m_s2
        Gravity vector in ground, shape ``(3,)``.
    body_names
        ``n_bodies`` names, ``body_names[0]`` is the ground's name.
    mass_kg, com_m, inertia_kg_m2
        Per body: mass, mass centre in the body frame ``(n_bodies, 3)``, inertia about the
        mass centre in body axes ``(n_bodies, 3, 3)`` (zeros for ground).
    joint_names, joint_types
        One per joint; joint ``j`` moves body ``j + 1``.
    parent
        Parent body index per joint.
    parent_R, parent_p_m
        Pose of the joint's parent frame F in the parent body, ``(n_joints, 3, 3)``/``(n_joints, 3)``.
    child_R, child_p_m
        Pose of the joint's child frame M in the child body.
    axes
        Per joint, 6 unit axes ``(n_joints, 6, 3)``: 3 rotation axes then 3 translation axes.
    axis_coordinate
        Coordinate index driving each axis, ``(n_joints, 6)``; ``-1`` for none.
    axis_slope, axis_intercept
        Affine axis functions ``s = slope q + intercept``, ``(n_joints, 6)``.
    nonlinear_axes
        ``(joint, axis, coordinate, Function)`` for axes whose function is not affine.
    angular_velocity_joints
        Indices of Ball/Free joints (rotational speeds are angular velocities, not qdot).
    levels
        Joint indices grouped by depth in the tree (for vectorised passes).
    subtree
        ``(n_joints, n_bodies)`` 0/1: bodies that move with joint ``j``.
    coordinate_names, motion_types
        Coordinate names (model order) and ``rotational``/``translational``/``coupled``.
    default_values, ranges, locked, clamped
        From the coordinates' XML (radians or metres).
    coordinate_joint
        Joint index per coordinate.
    hdot_masks
        ``(n_joints, 2, 3)``: which rotation axes' rates Simbody counts in the angular
        velocities of the intermediate frames of a function-based mobilizer (see
        :func:`forward_kinematics`).
    couplers
        ``CoordinateCouplerConstraint`` objects that are enforced.
    other_constraints
        Names (and types) of constraints that are parsed but not modelled.
    """

    name: str
    source: str
    gravity_m_s2: np.ndarray
    body_names: list[str]
    mass_kg: np.ndarray
    com_m: np.ndarray
    inertia_kg_m2: np.ndarray
    joint_names: list[str]
    joint_types: list[str]
    parent: np.ndarray
    parent_R: np.ndarray
    parent_p_m: np.ndarray
    child_R: np.ndarray
    child_p_m: np.ndarray
    axes: np.ndarray
    axis_coordinate: np.ndarray
    axis_slope: np.ndarray
    axis_intercept: np.ndarray
    nonlinear_axes: list[tuple[int, int, int, Function]]
    angular_velocity_joints: np.ndarray
    levels: list[np.ndarray]
    subtree: np.ndarray
    coordinate_names: list[str]
    motion_types: list[str]
    default_values: np.ndarray
    ranges: np.ndarray
    locked: np.ndarray
    clamped: np.ndarray
    coordinate_joint: np.ndarray
    hdot_masks: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3)))
    couplers: list[CoordinateCoupler] = field(default_factory=list)
    other_constraints: list[str] = field(default_factory=list)
    format_version: int = _FORMAT_VERSION

    # -- sizes and lookups ---------------------------------------------------------------
    @property
    def n_bodies(self) -> int:
        return len(self.body_names)

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    @property
    def n_coordinates(self) -> int:
        return len(self.coordinate_names)

    @property
    def total_mass_kg(self) -> float:
        return float(self.mass_kg.sum())

    def coordinate_index(self, name: str) -> int:
        try:
            return self.coordinate_names.index(name)
        except ValueError:
            raise InputError(self.source, f"model has no coordinate '{name}'") from None

    def body_index(self, name: str) -> int:
        try:
            return self.body_names.index(name)
        except ValueError:
            raise InputError(self.source, f"model has no body '{name}'") from None

    @property
    def mobility_order(self) -> np.ndarray:
        """Coordinate indices in Simbody's mobility (``u``) order: joints in tree order
        (breadth first from ground, as OpenSim builds the multibody tree), each joint's
        coordinates in order. ``state.getU()[k]`` is the speed of coordinate ``mobility_order[k]``."""
        return np.argsort(self.coordinate_joint, kind="stable")

    @property
    def locked_coordinates(self) -> list[str]:
        return [n for n, lk in zip(self.coordinate_names, self.locked, strict=True) if lk]

    @property
    def dependent_coordinates(self) -> list[str]:
        return [self.coordinate_names[c.dependent] for c in self.couplers]

    @property
    def independent_coordinates(self) -> list[str]:
        """Coordinates that are neither coupler-dependent nor locked."""
        dep = {c.dependent for c in self.couplers}
        return [n for i, n in enumerate(self.coordinate_names) if i not in dep and not self.locked[i]]

    def branch(self, bodies: list[str]) -> Multibody:
        """The part of the tree that carries ``bodies``: those bodies, their ancestors and the
        joints that move them, with every coordinate kept (the same ``q`` arrays apply, and a
        coordinate of a left-out joint has no effect; its ``coordinate_joint`` is ``-1``).

        Forward kinematics of the branch gives the same poses for its bodies as the whole
        tree's, at the cost of the branch alone (e.g. the feet for a leg's inverse
        kinematics, without the trunk and arms). Mass properties are the kept bodies' only."""
        keep = {0}
        for name in bodies:
            b = self.body_index(name)
            while b > 0 and b not in keep:
                keep.add(b)
                b = int(self.parent[b - 1])
        kb = sorted(keep)  # tree order kept: parents before children
        new_of = {b: i for i, b in enumerate(kb)}
        kj = np.array([b - 1 for b in kb[1:]], dtype=int)
        joint_new = {int(j): i for i, j in enumerate(kj)}
        levels = [
            np.array([joint_new[int(j)] for j in js if int(j) in joint_new], dtype=int) for js in self.levels
        ]
        return replace(
            self,
            name=f"{self.name} (branch: {', '.join(bodies)})",
            body_names=[self.body_names[b] for b in kb],
            mass_kg=self.mass_kg[kb],
            com_m=self.com_m[kb],
            inertia_kg_m2=self.inertia_kg_m2[kb],
            joint_names=[self.joint_names[j] for j in kj],
            joint_types=[self.joint_types[j] for j in kj],
            parent=np.array([new_of[int(self.parent[j])] for j in kj], dtype=int),
            parent_R=self.parent_R[kj],
            parent_p_m=self.parent_p_m[kj],
            child_R=self.child_R[kj],
            child_p_m=self.child_p_m[kj],
            axes=self.axes[kj],
            axis_coordinate=self.axis_coordinate[kj],
            axis_slope=self.axis_slope[kj],
            axis_intercept=self.axis_intercept[kj],
            nonlinear_axes=[
                (joint_new[j], i, c, fn) for j, i, c, fn in self.nonlinear_axes if j in joint_new
            ],
            angular_velocity_joints=np.array(
                [joint_new[int(j)] for j in self.angular_velocity_joints if int(j) in joint_new], dtype=int
            ),
            levels=[js for js in levels if js.size],
            subtree=self.subtree[np.ix_(kj, kb)],
            coordinate_joint=np.array([joint_new.get(int(j), -1) for j in self.coordinate_joint], dtype=int),
            hdot_masks=self.hdot_masks[kj] if self.hdot_masks.shape[0] == self.n_joints else self.hdot_masks,
        )

    # -- cache -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Pickle the model (reload with :meth:`Multibody.load`; no XML, no OpenSim).

        The file is replaced atomically, so processes sharing a cache folder (the workers
        of ``runmuscles batch``) never read a half-written one."""
        import os  # noqa: PLC0415

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
        tmp.write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, p)
        return p

    @staticmethod
    def load(path: str | Path) -> Multibody:
        """Load a model written by :meth:`Multibody.save`."""
        p = Path(path)
        if not p.exists():
            raise InputError(p, "cached model file not found")
        try:
            obj = pickle.loads(p.read_bytes())
        except Exception as exc:  # corrupted or foreign pickle
            raise InputError(p, f"is not a cached runmuscles model ({type(exc).__name__})") from None
        if not isinstance(obj, Multibody) or obj.format_version != _FORMAT_VERSION:
            raise InputError(p, "is not a cached runmuscles model of this version; rebuild it")
        return obj


def load_osim_cached(path: str | Path, cache_dir: str | Path) -> Multibody:
    """:func:`load_osim` through an on-disk cache (a pickle per model file version).

    The cache file name carries a digest of the model's resolved path, size and
    modification time, so an edited ``.osim`` is parsed again. Loading from the cache
    touches neither the XML nor OpenSim (well under a millisecond for the Hamner model).

    Parameters
    ----------
    path
        The ``.osim`` file.
    cache_dir
        Folder for cached models (created if needed).
    """
    import hashlib  # noqa: PLC0415 - only needed here

    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise InputError(p, "model file not found") from None
    key = f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{_FORMAT_VERSION}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"{p.stem}-{digest}.multibody.pkl"
    if cached.exists():
        try:
            return Multibody.load(cached)
        except InputError:
            pass  # stale or damaged: rebuild
    model = load_osim(p)
    model.save(cached)
    return model


# =============================================================================================
# Parsing
# =============================================================================================


@dataclass
class _Frame:
    name: str
    parent_path: str
    R: np.ndarray
    p: np.ndarray
    owner: str  # name of the body/joint owning it (for '..' paths)


def _last(path: str) -> str:
    parts = [s for s in path.strip().split("/") if s and s != ".."]
    return parts[-1] if parts else ""


def _objects(model: ET.Element, set_tag: str) -> list[ET.Element]:
    s = model.find(set_tag)
    if s is None:
        return []
    objs = s.find("objects")
    return list(objs) if objs is not None else []


def _offset_frames(el: ET.Element, owner: str, where: str) -> list[_Frame]:
    out = []
    for f in el.iter("PhysicalOffsetFrame"):
        name = f.get("name", "")
        parent = child_text(f, "socket_parent") or child_text(f, "socket_parent_frame")
        out.append(
            _Frame(
                name,
                parent,
                euler_xyz_body_fixed(numbers(f, "orientation", f"{where} frame '{name}'", 3, [0, 0, 0])),
                numbers(f, "translation", f"{where} frame '{name}'", 3, [0, 0, 0]),
                owner,
            )
        )
    return out


def _resolve(
    path: str,
    owner: str,
    local: dict[str, _Frame],
    bodies: dict[str, int],
    global_frames: dict[str, list[_Frame]],
    where: str,
    depth: int = 0,
) -> tuple[str, np.ndarray, np.ndarray]:
    """Resolve a frame path to ``(body name, R_BF, p_BF)``."""
    if depth > 20:
        raise InputError(where, f"frame '{path}' is defined in a loop")
    path = path.strip()
    name = owner if path in ("..", "") else _last(path)
    if path.startswith(("/bodyset/", "/ground")) and name in bodies:
        return name, _EYE.copy(), np.zeros(3)
    if name in local:
        frame = local[name]
    elif name in bodies:
        return name, _EYE.copy(), np.zeros(3)
    elif name in global_frames and len(global_frames[name]) == 1:
        frame = global_frames[name][0]
    elif name in global_frames:
        raise InputError(where, f"frame '{path}' is ambiguous (several frames have that name)")
    else:
        raise InputError(where, f"frame '{path}' is not a body or a frame of the model")
    body, R, p = _resolve(frame.parent_path, frame.owner, {}, bodies, global_frames, where, depth + 1)
    return body, R @ frame.R, p + R @ frame.p


def _coordinate_record(c: ET.Element, where: str) -> dict:
    name = c.get("name", "")
    return {
        "name": name,
        "default": float(numbers(c, "default_value", f"{where} coordinate '{name}'", 1, [0.0])[0]),
        "range": numbers(c, "range", f"{where} coordinate '{name}'", 2, [-np.inf, np.inf]),
        "locked": truthy(child_text(c, "locked", "false")),
        "clamped": truthy(child_text(c, "clamped", "false")),
    }


def _axis_function(ta: ET.Element, where: str) -> Function | None:
    for child in ta:
        if is_function_element(child):
            return parse_function(child, where)
        if child.tag == "function":  # older layout: <function><LinearFunction/></function>
            inner = [g for g in child if is_function_element(g)]
            if inner:
                return parse_function(inner[0], where)
    return None


# axes (rotation x3, translation x3) and coordinate slots of the built-in joints
_X, _Y, _Z = np.eye(3)
_BUILTIN = {
    # type: (rotation axes, translation axes, {axis index: coordinate slot}, motion types)
    "PinJoint": ((_Z, _X, _Y), (_X, _Y, _Z), {0: 0}, ("rotational",)),
    "SliderJoint": ((_X, _Y, _Z), (_X, _Y, _Z), {3: 0}, ("translational",)),
    "UniversalJoint": ((_X, _Y, _Z), (_X, _Y, _Z), {0: 0, 1: 1}, ("rotational",) * 2),
    "GimbalJoint": ((_X, _Y, _Z), (_X, _Y, _Z), {0: 0, 1: 1, 2: 2}, ("rotational",) * 3),
    "BallJoint": ((_X, _Y, _Z), (_X, _Y, _Z), {0: 0, 1: 1, 2: 2}, ("rotational",) * 3),
    "FreeJoint": (
        (_X, _Y, _Z),
        (_X, _Y, _Z),
        {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
        ("rotational",) * 3 + ("translational",) * 3,
    ),
    "PlanarJoint": ((_Z, _X, _Y), (_X, _Y, _Z), {0: 0, 3: 1, 4: 2}, ("rotational",) + ("translational",) * 2),
    "WeldJoint": ((_X, _Y, _Z), (_X, _Y, _Z), {}, ()),
}


def load_osim(path: str | Path) -> Multibody:
    """Read an OpenSim 4.x ``.osim`` file into a :class:`Multibody` (no OpenSim needed).

    Parameters
    ----------
    path
        The model file.

    Returns
    -------
    Multibody
        Bodies, joints, coordinates (model order), enforced coordinate couplers, gravity.

    Raises
    ------
    InputError
        For a file that is not an OpenSim 4 model, an unsupported joint or function type
        (the message names the joint), bodies not connected to ground, or a closed loop.
    """
    p = Path(path)
    model, _version = read_osim_root(p)
    src = str(p)
    gravity = numbers(model, "gravity", src, 3, [0.0, -9.80665, 0.0])
    ground = model.find("Ground")
    ground_name = ground.get("name", "ground") if ground is not None else "ground"

    # -- bodies
    body_el: dict[str, ET.Element] = {}
    for b in _objects(model, "BodySet"):
        if b.tag != "Body":
            raise InputError(src, f"body '{b.get('name')}' has unsupported type {b.tag}")
        body_el[b.get("name", "")] = b
    names_all = [ground_name, *body_el]
    bodies = {n: i for i, n in enumerate(names_all)}

    # -- frames anywhere in the model (bodies' components, model components, joints)
    global_frames: dict[str, list[_Frame]] = {}
    for owner_name, el in [(n, e) for n, e in body_el.items()] + [(ground_name, ground)]:
        if el is None:
            continue
        for f in _offset_frames(el, owner_name, src):
            global_frames.setdefault(f.name, []).append(f)
    comps = model.find("components")
    if comps is not None:
        for f in _offset_frames(comps, ground_name, src):
            global_frames.setdefault(f.name, []).append(f)

    # -- joints
    joints = []
    for j in _objects(model, "JointSet"):
        jname = j.get("name", "")
        where = f"{src}: joint '{jname}'"
        if j.tag not in SUPPORTED_JOINTS:
            raise InputError(
                src,
                f"joint '{jname}' has type {j.tag}, which is not supported "
                f"(supported: {', '.join(SUPPORTED_JOINTS)})",
            )
        if truthy(child_text(j, "reverse", "false")):
            raise InputError(src, f"joint '{jname}' is reversed (<reverse>true), which is not supported")
        frames_el = j.find("frames")
        local = {} if frames_el is None else {f.name: f for f in _offset_frames(frames_el, jname, where)}
        for f in local.values():
            global_frames.setdefault(f.name, []).append(f)
        par = child_text(j, "socket_parent_frame") or child_text(j, "parent_frame")
        chi = child_text(j, "socket_child_frame") or child_text(j, "child_frame")
        joints.append((j, jname, where, local, par, chi))

    resolved = []
    for j, jname, where, local, par, chi in joints:
        pb, pR, pp = _resolve(par, jname, local, bodies, global_frames, where)
        cb, cR, cp = _resolve(chi, jname, local, bodies, global_frames, where)
        resolved.append((j, jname, where, pb, pR, pp, cb, cR, cp))

    # -- tree order (breadth first from ground)
    by_child: dict[str, int] = {}
    for k, r in enumerate(resolved):
        if r[6] in by_child:
            raise InputError(
                src, f"body '{r[6]}' is the child of two joints (closed loops are not supported)"
            )
        if r[6] == ground_name:
            raise InputError(
                src, f"joint '{r[1]}' has the ground as its child (reversed joints are not supported)"
            )
        by_child[r[6]] = k
    missing = [n for n in body_el if n not in by_child]
    if missing:
        raise InputError(src, f"body '{missing[0]}' is not connected to the ground by any joint")
    order: list[int] = []
    depth_of: dict[str, int] = {ground_name: 0}
    frontier = [ground_name]
    while frontier:
        nxt = []
        for parent_name in frontier:
            for k, r in enumerate(resolved):
                if r[3] == parent_name:
                    order.append(k)
                    depth_of[r[6]] = depth_of[parent_name] + 1
                    nxt.append(r[6])
        frontier = nxt
    if len(order) != len(resolved):
        lost = [r[1] for k, r in enumerate(resolved) if k not in order]
        raise InputError(src, f"joint '{lost[0]}' is not connected to the ground")

    tree_bodies = [ground_name] + [resolved[k][6] for k in order]
    tree_index = {n: i for i, n in enumerate(tree_bodies)}
    nb, nj = len(tree_bodies), len(order)

    mass = np.zeros(nb)
    com = np.zeros((nb, 3))
    inertia = np.zeros((nb, 3, 3))
    for i, n in enumerate(tree_bodies[1:], start=1):
        b = body_el[n]
        w = f"{src}: body '{n}'"
        mass[i] = float(numbers(b, "mass", w, 1)[0])
        com[i] = numbers(b, "mass_center", w, 3, [0, 0, 0])
        xx, yy, zz, xy, xz, yz = numbers(b, "inertia", w, 6, [0, 0, 0, 0, 0, 0])
        inertia[i] = [[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]

    # -- coordinates in model order (JointSet order), joint axes in tree order
    coord_records: list[dict] = []
    coord_joint: list[int] = []
    motion: list[str] = []
    axes = np.zeros((nj, 6, 3))
    axis_coord = -np.ones((nj, 6), dtype=int)
    slope = np.zeros((nj, 6))
    intercept = np.zeros((nj, 6))
    nonlinear: list[tuple[int, int, int, Function]] = []
    parent = np.zeros(nj, dtype=int)
    parent_R = np.zeros((nj, 3, 3))
    parent_p = np.zeros((nj, 3))
    child_R = np.zeros((nj, 3, 3))
    child_p = np.zeros((nj, 3))
    jnames, jtypes = [], []
    angvel = []
    tree_pos = {k: t for t, k in enumerate(order)}
    # first pass for names so coordinate indices follow the XML (model) order
    pending = []
    for k, (j, jname, where, pb, pR, pp, _cb, cR, cp) in enumerate(resolved):
        t = tree_pos[k]
        parent[t] = tree_index[pb]
        parent_R[t], parent_p[t], child_R[t], child_p[t] = pR, pp, cR, cp
        coords_el = j.find("coordinates")
        xml_coords = [] if coords_el is None else [_coordinate_record(c, where) for c in coords_el]
        if j.tag == "CustomJoint":
            st = j.find("SpatialTransform")
            if st is None:
                raise InputError(src, f"joint '{jname}' (CustomJoint) has no <SpatialTransform>")
            tas = {ta.get("name", ""): ta for ta in st.findall("TransformAxis")}
            axis_names = [
                "rotation1",
                "rotation2",
                "rotation3",
                "translation1",
                "translation2",
                "translation3",
            ]
            order_names: list[str] = []
            axis_info = []
            for i, an in enumerate(axis_names):
                ta = tas.get(an)
                default_axis = np.eye(3)[i % 3]
                if ta is None:
                    axis_info.append((default_axis, [], None))
                    continue
                a = numbers(ta, "axis", f"{where} {an}", 3, default_axis)
                cn = child_text(ta, "coordinates").split()
                fn = _axis_function(ta, f"{where} {an}")
                if len(cn) > 1:
                    raise InputError(
                        src,
                        f"joint '{jname}' axis {an} depends on {len(cn)} coordinates (only 1 is supported)",
                    )
                if fn is None:
                    fn = LinearFunction(1.0, 0.0) if cn else None
                axis_info.append((a, cn, fn))
                for c in cn:
                    if c not in order_names:
                        order_names.append(c)
            rec_by_name = {r["name"]: r for r in xml_coords}
            extra = [r["name"] for r in xml_coords if r["name"] not in order_names]
            if extra:
                raise InputError(
                    src, f"joint '{jname}' coordinate '{extra[0]}' drives no axis of its SpatialTransform"
                )
            recs = [
                rec_by_name.get(n) or _coordinate_record(ET.Element("Coordinate", name=n), where)
                for n in order_names
            ]
            mtypes = []
            for cname in order_names:
                mt = "undefined"
                for i, (_a, cn, fn) in enumerate(axis_info):
                    if cname in cn and fn is not None:
                        lin = fn.linear() if isinstance(fn, LinearFunction) else None
                        if lin is not None and lin[0] in (1.0, -1.0):
                            mt = "rotational" if i < 3 else "translational"
                        elif mt == "undefined":
                            mt = "coupled"
                mtypes.append(mt)
            pending.append((t, jname, j.tag, recs, mtypes, ("custom", axis_info, order_names)))
        else:
            rot, trans, slots, mtypes = _BUILTIN[j.tag]
            if len(xml_coords) != len(mtypes):
                raise InputError(
                    src,
                    f"joint '{jname}' ({j.tag}) lists {len(xml_coords)} coordinates, expected {len(mtypes)}",
                )
            pending.append((t, jname, j.tag, xml_coords, list(mtypes), ("builtin", rot, trans, slots)))

    jnames = [""] * nj
    jtypes = [""] * nj
    for t, jname, jtype, recs, mtypes, spec in pending:
        jnames[t], jtypes[t] = jname, jtype
        first = len(coord_records)
        coord_records.extend(recs)
        coord_joint.extend([t] * len(recs))
        motion.extend(mtypes)
        if spec[0] == "custom":
            _, axis_info, order_names = spec
            local_index = {n: first + i for i, n in enumerate(order_names)}
            for i, (a, cn, fn) in enumerate(axis_info):
                norm = np.linalg.norm(a)
                if norm == 0:
                    raise InputError(src, f"joint '{jname}' axis {i + 1} is zero")
                axes[t, i] = a / norm
                ci = local_index[cn[0]] if cn else -1
                axis_coord[t, i] = ci
                if fn is None:
                    continue
                lin = fn.linear()
                if lin is not None:
                    slope[t, i], intercept[t, i] = lin
                    if ci < 0:
                        slope[t, i] = 0.0
                elif ci < 0:
                    intercept[t, i] = float(fn(np.array(0.0)))
                else:
                    nonlinear.append((t, i, ci, fn))
            for start in (0, 3):
                a3 = axes[t, start : start + 3]
                if min(np.linalg.norm(np.cross(a3[0], a3[1])), np.linalg.norm(np.cross(a3[0], a3[2])),
                       np.linalg.norm(np.cross(a3[1], a3[2]))) < 1e-5:  # fmt: skip
                    raise InputError(src, f"joint '{jname}' has collinear axes")
        else:
            _, rot, trans, slots = spec
            axes[t, :3] = rot
            axes[t, 3:] = trans
            for i, slot in slots.items():
                axis_coord[t, i] = first + slot
                slope[t, i] = 1.0
            if jtype in ("BallJoint", "FreeJoint"):
                angvel.append(t)

    # Simbody's function-based mobilizer (CustomJoint) builds the velocity-product term
    # of the joint's angular acceleration with the angular velocities that its first
    # mobility alone gives (for the frame after rotation 1) and that all mobilities but the
    # third give (after rotation 2), rather than those of rotations 1 and 1-2. These agree
    # whenever rotation axis k is driven by the joint's k-th coordinate (or by none), and
    # differ when one coordinate drives several rotations (e.g. Rajagopal's knee and patella).
    hdot_masks = np.zeros((nj, 2, 3))
    hdot_masks[:, 0, 0] = 1.0
    hdot_masks[:, 1, :2] = 1.0
    for t in range(nj):
        if jtypes[t] != "CustomJoint":
            continue
        mine = np.flatnonzero(np.array(coord_joint) == t)
        first, n_mob = (int(mine[0]), mine.size) if mine.size else (-2, 0)
        ac = axis_coord[t, :3]
        hdot_masks[t, 0] = (ac == first) & (ac >= 0)
        hdot_masks[t, 1] = (ac >= 0) & ((ac != first + 2) if n_mob > 2 else True)

    # subtree membership and levels
    subtree = np.zeros((nj, nb))
    for t in range(nj):
        subtree[t, t + 1] = 1.0
    for t in range(nj - 1, -1, -1):  # children come after parents: accumulate upwards
        pb = parent[t]
        if pb > 0:
            subtree[pb - 1] += subtree[t]
    depth = np.array([depth_of[tree_bodies[t + 1]] for t in range(nj)])
    levels = [np.flatnonzero(depth == d) for d in range(1, int(depth.max(initial=0)) + 1)]

    # constraints
    cnames = [r["name"] for r in coord_records]
    couplers: list[CoordinateCoupler] = []
    others: list[str] = []
    for c in _objects(model, "ConstraintSet"):
        cname = c.get("name", "")
        enforced = truthy(child_text(c, "isEnforced", "true")) and not truthy(
            child_text(c, "isDisabled", "false")
        )
        if c.tag != "CoordinateCouplerConstraint":
            others.append(f"{cname} ({c.tag})")
            if enforced:
                warnings.warn(f"{src}: constraint '{cname}' ({c.tag}) is not modelled", stacklevel=2)
            continue
        if not enforced:
            continue
        where = f"{src}: constraint '{cname}'"
        indep = child_text(c, "independent_coordinate_names").split()
        dep = child_text(c, "dependent_coordinate_name")
        if len(indep) != 1:
            raise InputError(
                src, f"constraint '{cname}' has {len(indep)} independent coordinates (only 1 is supported)"
            )
        for n in [*indep, dep]:
            if n not in cnames:
                raise InputError(src, f"constraint '{cname}' names coordinate '{n}', which the model lacks")
        holder = c.find("coupled_coordinates_function")
        fels = [g for g in (holder if holder is not None else c) if is_function_element(g)]
        if not fels:
            raise InputError(src, f"constraint '{cname}' has no coupled_coordinates_function")
        couplers.append(
            CoordinateCoupler(
                cname,
                cnames.index(dep),
                cnames.index(indep[0]),
                parse_function(fels[0], where),
                float(numbers(c, "scale_factor", where, 1, [1.0])[0]),
            )
        )

    return Multibody(
        name=model.get("name", p.stem),
        source=src,
        gravity_m_s2=gravity,
        body_names=tree_bodies,
        mass_kg=mass,
        com_m=com,
        inertia_kg_m2=inertia,
        joint_names=jnames,
        joint_types=jtypes,
        parent=parent,
        parent_R=parent_R,
        parent_p_m=parent_p,
        child_R=child_R,
        child_p_m=child_p,
        axes=axes,
        axis_coordinate=axis_coord,
        axis_slope=slope,
        axis_intercept=intercept,
        nonlinear_axes=nonlinear,
        angular_velocity_joints=np.array(angvel, dtype=int),
        levels=levels,
        subtree=subtree,
        coordinate_names=cnames,
        motion_types=motion,
        default_values=np.array([r["default"] for r in coord_records]),
        ranges=np.array([r["range"] for r in coord_records]).reshape(-1, 2),
        locked=np.array([r["locked"] for r in coord_records], dtype=bool),
        clamped=np.array([r["clamped"] for r in coord_records], dtype=bool),
        coordinate_joint=np.array(coord_joint, dtype=int),
        hdot_masks=hdot_masks,
        couplers=couplers,
        other_constraints=others,
    )


# =============================================================================================
# Kinematics
# =============================================================================================
#
# Internally, arrays are laid out components first and frames last: vectors (3, n, F),
# rotation matrices (3, 3, n, F). NumPy then runs every operation over long contiguous
# rows of frames, which is several times faster than (F, n, 3) arrays with their
# length-3 inner loops; loops in Python run only over bodies (tree levels) and axes.

_EYE = np.eye(3)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross products of vectors stored components first, ``(3, ...)``."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    np.multiply(a[1], b[2], out=out[0])
    out[0] -= a[2] * b[1]
    np.multiply(a[2], b[0], out=out[1])
    out[1] -= a[0] * b[2]
    np.multiply(a[0], b[1], out=out[2])
    out[2] -= a[1] * b[0]
    return out


def _mv(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``R v`` for ``R`` of shape ``(3, 3, ...)`` and ``v`` of shape ``(3, ...)``."""
    return R[:, 0] * v[0] + R[:, 1] * v[1] + R[:, 2] * v[2]


def _mm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A B`` for matrices of shape ``(3, 3, ...)``."""
    return A[:, 0, None] * B[0][None] + A[:, 1, None] * B[1][None] + A[:, 2, None] * B[2][None]


def _tmat(M: np.ndarray) -> np.ndarray:
    """Per-item constant matrices ``(n, 3, 3)`` as ``(3, 3, n, 1)``."""
    return np.ascontiguousarray(np.moveaxis(M, 0, 2))[..., None]


def _tvec(v: np.ndarray) -> np.ndarray:
    """Per-item constant vectors ``(n, 3)`` as ``(3, n, 1)``."""
    return np.ascontiguousarray(v.T)[..., None]


def _as_frames(model: Multibody, x: np.ndarray | None, what: str) -> np.ndarray | None:
    if x is None:
        return None
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != model.n_coordinates:
        raise InputError(
            f"model '{model.name}'",
            f"{what} has shape {x.shape}, expected (n_frames, {model.n_coordinates}) in model order",
        )
    if not np.all(np.isfinite(x)):
        raise InputError(f"model '{model.name}'", f"{what} has NaN or infinite values")
    return x


@dataclass
class Kinematics:
    """Body poses and motion in ground, per frame.

    Stored components first and frames last (the ``*_t`` arrays); the properties give
    the usual ``(n_frames, n_bodies, ...)`` layout as views.

    Attributes
    ----------
    R_t
        Body orientations (body axes in ground), ``(3, 3, n_bodies, n_frames)``.
    p_t
        Body origins in ground, ``(3, n_bodies, n_frames)`` (m).
    w_t, alpha_t
        Angular velocity and acceleration in ground (``None`` when not computed).
    v0_t, a0_t
        Spatial (Featherstone) linear parts: velocity of the body-fixed point at the
        ground origin and its spatial acceleration (``v0 = v - w x p``,
        ``a0 = a - alpha x p - w x v`` for the origin velocity ``v`` and acceleration ``a``).
    joint_E_t
        Per joint: rotational partial-velocity axes of M relative to F, expressed in the
        parent body, ``(3, 3, n_joints, n_frames)`` (column ``i`` for rotation axis ``i``).
    joint_T
        Per joint: translation axes in the parent body (columns), ``(n_joints, 3, 3)``.
    joint_p_PM_t
        Per joint: origin of the child frame M in the parent body, ``(3, n_joints, n_frames)``.
    joint_ds
        Derivatives of the nonlinear axis functions, ``(len(nonlinear_axes), n_frames)``.
    """

    R_t: np.ndarray
    p_t: np.ndarray
    w_t: np.ndarray | None
    v0_t: np.ndarray | None
    alpha_t: np.ndarray | None
    a0_t: np.ndarray | None
    joint_E_t: np.ndarray
    joint_T: np.ndarray
    joint_p_PM_t: np.ndarray
    joint_ds: np.ndarray

    @property
    def R(self) -> np.ndarray:
        """Body orientations ``(n_frames, n_bodies, 3, 3)``."""
        return self.R_t.transpose(3, 2, 0, 1)

    @property
    def p_m(self) -> np.ndarray:
        """Body origins ``(n_frames, n_bodies, 3)``."""
        return self.p_t.transpose(2, 1, 0)

    @property
    def w_rad_s(self) -> np.ndarray | None:
        return None if self.w_t is None else self.w_t.transpose(2, 1, 0)

    @property
    def alpha_rad_s2(self) -> np.ndarray | None:
        return None if self.alpha_t is None else self.alpha_t.transpose(2, 1, 0)

    @property
    def v_m_s(self) -> np.ndarray | None:
        """Velocity of each body origin in ground ``(n_frames, n_bodies, 3)``."""
        if self.w_t is None:
            return None
        return (self.v0_t + _cross(self.w_t, self.p_t)).transpose(2, 1, 0)

    @property
    def a_m_s2(self) -> np.ndarray | None:
        """Acceleration of each body origin in ground ``(n_frames, n_bodies, 3)``."""
        if self.alpha_t is None:
            return None
        v = self.v0_t + _cross(self.w_t, self.p_t)
        return (self.a0_t + _cross(self.alpha_t, self.p_t) + _cross(self.w_t, v)).transpose(2, 1, 0)


def _padded_t(x: np.ndarray) -> np.ndarray:
    """``(F, n)`` as ``(n + 1, F)`` with a zero last row (the row of axes without a coordinate)."""
    out = np.empty((x.shape[1] + 1, x.shape[0]))
    out[:-1] = x.T
    out[-1] = 0.0
    return out


def _axis_values(model: Multibody, q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axis values ``s`` ``(6, n_joints, F)`` and the first and second derivatives of the
    nonlinear axes' functions, ``(len(nonlinear_axes), F)`` each."""
    plan = _plan(model)
    n = q.shape[0]
    qt = _padded_t(q)
    s = qt[plan.axis_index] * plan.slope_t + plan.intercept_t
    ds = np.zeros((len(model.nonlinear_axes), n))
    d2 = np.zeros((len(model.nonlinear_axes), n))
    for k, (j, i, c, fn) in enumerate(model.nonlinear_axes):
        s[i, j], ds[k], d2[k] = fn.evaluate(qt[c], 2)
    return s, ds, d2


def _axis_rates(model: Multibody, ds: np.ndarray, d2: np.ndarray, qd, qdd):
    """The axes' speeds and accelerations ``(6, n_joints, F)`` (``None`` without ``qd``/``qdd``)
    and the ``f'' qdot^2`` parts of the nonlinear axes' accelerations, from the functions'
    derivatives at the frames' coordinates."""
    plan = _plan(model)
    idx, slope = plan.axis_index, plan.slope_t
    sd = sdd = None
    quad = []  # (axis, joint, f'' qdot^2): the velocity-product part of sdd
    if qd is None:
        return sd, sdd, quad
    qdt = _padded_t(qd)
    sd = qdt[idx] * slope
    if qdd is not None:
        qddt = _padded_t(qdd)
        sdd = qddt[idx] * slope
    for k, (j, i, c, _fn) in enumerate(model.nonlinear_axes):
        sd[i, j] = ds[k] * qdt[c]
        if sdd is not None:
            quad.append((i, j, d2[k] * qdt[c] ** 2))
            sdd[i, j] = quad[-1][2] + ds[k] * qddt[c]
    return sd, sdd, quad


def _axis_rotations(axes_rot: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotations by ``angles`` ``(J, F)`` about unit ``axes_rot`` ``(J, 3)``: ``(3, 3, J, F)``.

    Rodrigues' formula, ``R = c I + (1 - c) a a^T + s [a]x``, written out per entry.
    """
    sn = np.sin(angles)
    cs = np.cos(angles)
    omc = 1.0 - cs
    x, y, z = (axes_rot[:, k, None] for k in range(3))
    R = np.empty((3, 3, *angles.shape))
    R[0, 0] = cs + omc * (x * x)
    R[1, 1] = cs + omc * (y * y)
    R[2, 2] = cs + omc * (z * z)
    oxy, oxz, oyz = omc * (x * y), omc * (x * z), omc * (y * z)
    sx, sy, sz = sn * x, sn * y, sn * z
    R[0, 1] = oxy - sz
    R[1, 0] = oxy + sz
    R[0, 2] = oxz + sy
    R[2, 0] = oxz - sy
    R[1, 2] = oyz - sx
    R[2, 1] = oyz + sx
    return R


@dataclass
class _Plan:
    """Per-model constants in the internal layout, and which joints need which work."""

    axis_index: np.ndarray
    slope_t: np.ndarray
    intercept_t: np.ndarray
    rot_active: list[np.ndarray]
    rot_after: list[np.ndarray]
    trans_active: np.ndarray
    parent_rotated: np.ndarray
    child_rotated: np.ndarray
    child_offset: np.ndarray
    axes_t: list[np.ndarray]
    parent_R_t: np.ndarray
    parent_p_t: np.ndarray
    child_R_inv_t: np.ndarray
    child_p_inv_t: np.ndarray
    trans_P: np.ndarray
    trans_P_t: np.ndarray
    hdot_t: list[np.ndarray]
    com_t: np.ndarray
    inertia_t: np.ndarray
    mass_t: np.ndarray
    gen_matrix: np.ndarray
    constant_rotation: np.ndarray
    level_slices: list[tuple]


_PLANS: dict[int, tuple[Multibody, _Plan]] = {}


def _level_slices(model: Multibody, J: np.ndarray) -> tuple:
    """``(joints, child bodies, parent bodies)`` of one tree level; slices (views) when the
    joints are consecutive, as they are in breadth-first tree order."""
    par = model.parent[J]
    if J.size and np.all(np.diff(J) == 1):
        lo, hi = int(J[0]), int(J[-1]) + 1
        return slice(lo, hi), slice(lo + 1, hi + 1), par
    return J, J + 1, par


def _plan(model: Multibody) -> _Plan:
    """Constants and work lists for :func:`forward_kinematics` (cached per model object)."""
    hit = _PLANS.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    nj, nc = model.n_joints, model.n_coordinates
    moving = (model.axis_coordinate >= 0) | (model.axis_intercept != 0)
    for j, i, _c, _fn in model.nonlinear_axes:
        moving[j, i] = True
    moving[model.angular_velocity_joints, :3] = True
    axis_index = np.where(model.axis_coordinate >= 0, model.axis_coordinate, nc).T.copy()
    R_MB = np.swapaxes(model.child_R, -1, -2)
    p_MB = -np.einsum("jab,jb->ja", R_MB, model.child_p_m)
    T = np.swapaxes(model.axes[:, 3:], -1, -2)
    trans_P = model.parent_R @ T
    gen = np.zeros((nc + 1, 6 * nj))
    np.add.at(gen, (axis_index.ravel(), np.arange(6 * nj)), model.axis_slope.T.ravel())
    plan = _Plan(
        axis_index=axis_index,
        slope_t=model.axis_slope.T[..., None].copy(),
        intercept_t=model.axis_intercept.T[..., None].copy(),
        rot_active=[np.flatnonzero(moving[:, k]) for k in range(3)],
        rot_after=[np.zeros(0, dtype=int)] + [np.flatnonzero(moving[:, :k].any(axis=1)) for k in (1, 2)],
        trans_active=np.flatnonzero(moving[:, 3:].any(axis=1)),
        parent_rotated=np.flatnonzero(np.abs(model.parent_R - _EYE).max(axis=(1, 2), initial=0) > 0),
        child_rotated=np.flatnonzero(np.abs(model.child_R - _EYE).max(axis=(1, 2), initial=0) > 0),
        child_offset=np.flatnonzero(np.abs(model.child_p_m).max(axis=1, initial=0) > 0),
        axes_t=[_tvec(model.axes[:, k]) for k in range(3)],
        parent_R_t=_tmat(model.parent_R),
        parent_p_t=_tvec(model.parent_p_m),
        child_R_inv_t=_tmat(R_MB),
        child_p_inv_t=_tvec(p_MB),
        trans_P=trans_P,
        trans_P_t=_tmat(trans_P),
        hdot_t=[_tvec(model.hdot_masks[:, 0]), _tvec(model.hdot_masks[:, 1])],
        com_t=_tvec(model.com_m[1:]),
        inertia_t=_tmat(model.inertia_kg_m2[1:]),
        mass_t=model.mass_kg[1:, None].copy(),
        gen_matrix=gen[:nc],
        level_slices=[_level_slices(model, J) for J in model.levels],
        constant_rotation=np.argwhere(
            ((model.axis_coordinate[:, :2] < 0) & (model.axis_intercept[:, :2] != 0)).T
        ),
    )
    if len(_PLANS) > 32:
        _PLANS.clear()
    _PLANS[id(model)] = (model, plan)
    return plan


def _rotation_chain(model: Multibody, plan: _Plan, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``R_FM`` ``(3, 3, J, F)`` and the rotation axes after the preceding rotations, ``E``
    (column ``k`` is axis ``k`` expressed in F; identity for Ball/Free joints)."""
    nj, n = s.shape[1], s.shape[2]
    R_FM = np.zeros((3, 3, nj, n))
    R_FM[0, 0] = R_FM[1, 1] = R_FM[2, 2] = 1.0
    E = np.empty((3, 3, nj, n))
    for k in range(3):
        E[:, k] = plan.axes_t[k]
    for k in range(3):
        if k > 0 and plan.rot_after[k].size:
            sub = plan.rot_after[k]  # joints where an earlier rotation moved this axis
            Ek = E[:, k]  # a view
            Ek[:, sub] = _mv(R_FM[:, :, sub], plan.axes_t[k][:, sub])
        idx = plan.rot_active[k]
        if idx.size:
            rot = _axis_rotations(model.axes[idx, k], s[k, idx])
            R_FM[:, :, idx] = rot if k == 0 else _mm(R_FM[:, :, idx], rot)
    av = model.angular_velocity_joints
    if av.size:
        E[:, :, av] = _EYE[:, :, None, None]
    return R_FM, E


@dataclass
class PositionKinematics:
    """The position-level part of :func:`forward_kinematics` (what depends on the coordinates
    only), to evaluate several speeds and accelerations at the same coordinates without
    recomputing it. Internal layout, frames last; see :class:`Kinematics`.
    """

    q: np.ndarray
    simbody_compatible: bool
    ds: np.ndarray
    d2: np.ndarray
    E: np.ndarray
    E_h: np.ndarray
    E_P: np.ndarray
    p_PM: np.ndarray
    R: np.ndarray
    P: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.q.shape[0]

    def take(self, frames: np.ndarray) -> PositionKinematics:
        """The same quantities at the given frame indices (repeats allowed)."""
        frames = np.asarray(frames, dtype=int)

        def pick(x: np.ndarray) -> np.ndarray:
            return np.take(x, frames, axis=-1)

        E = pick(self.E)
        E_h = E if self.E_h is self.E else pick(self.E_h)  # the same object where they are the same
        E_P = E_h if self.E_P is self.E_h else pick(self.E_P)
        return PositionKinematics(
            self.q[frames],
            self.simbody_compatible,
            pick(self.ds),
            pick(self.d2),
            E,
            E_h,
            E_P,
            pick(self.p_PM),
            pick(self.R),
            pick(self.P),
        )


def position_kinematics(
    model: Multibody, q: np.ndarray, *, simbody_compatible: bool = True
) -> PositionKinematics:
    """The position-level part of :func:`forward_kinematics` for coordinates ``q``
    ``(n_frames, n_coordinates)``: body poses and the joints' axes, reusable with
    ``forward_kinematics(..., positions=...)``."""
    q = _as_frames(model, q, "q")
    n = q.shape[0]
    nb, nj = model.n_bodies, model.n_joints
    plan = _plan(model)
    s, ds, d2 = _axis_values(model, q)
    # -- joint-local kinematics (M relative to F, in F), all joints at once; axes that
    # never move (no coordinate, zero offset), identity offset rotations and zero offsets
    # are skipped.
    R_FM, E = _rotation_chain(model, plan, s)
    # Simbody builds the joint's partial velocities (H) with the angles of rotation axes
    # that have no coordinate taken as zero, although the joint's pose uses their
    # (constant) values; OpenSim's results follow that H. E_h reproduces it.
    E_h = E
    if simbody_compatible and plan.constant_rotation.size:
        s_h = s.copy()
        for k, j in plan.constant_rotation:
            s_h[k, j] = 0.0
        E_h = _rotation_chain(model, plan, s_h)[1]
    # -- the same in the parent body P: X_PB = X_PF X_FM X_MB
    pr, cr, co, it = plan.parent_rotated, plan.child_rotated, plan.child_offset, plan.trans_active
    R_PF = plan.parent_R_t
    R_PM = R_FM.copy() if pr.size else R_FM
    if pr.size:
        R_PM[:, :, pr] = _mm(R_PF[:, :, pr], R_FM[:, :, pr])
    p_PM = np.empty((3, nj, n))
    p_PM[...] = plan.parent_p_t
    if it.size:
        p_PM[:, it] += _mv(plan.trans_P_t[:, :, it], s[3:, it])
    R_PB = R_PM.copy() if cr.size else R_PM
    if cr.size:
        R_PB[:, :, cr] = _mm(R_PM[:, :, cr], plan.child_R_inv_t[:, :, cr])
    p_PB = p_PM.copy()
    if co.size:
        p_PB[:, co] += _mv(R_PM[:, :, co], plan.child_p_inv_t[:, co])
    E_P = E_h.copy() if pr.size else E_h
    if pr.size:
        E_P[:, :, pr] = _mm(R_PF[:, :, pr], E_h[:, :, pr])
    # -- outward pass, level by level
    R = np.empty((3, 3, nb, n))
    P = np.empty((3, nb, n))
    R[:, :, 0] = _EYE[:, :, None]
    P[:, 0] = 0.0
    for J, C, par in plan.level_slices:
        Rp = R[:, :, par]
        R[:, :, C] = _mm(Rp, R_PB[:, :, J])
        P[:, C] = P[:, par] + _mv(Rp, p_PB[:, J])
    return PositionKinematics(q, simbody_compatible, ds, d2, E, E_h, E_P, p_PM, R, P)


def forward_kinematics(
    model: Multibody,
    q: np.ndarray,
    qdot: np.ndarray | None = None,
    qddot: np.ndarray | None = None,
    *,
    simbody_compatible: bool = True,
    positions: PositionKinematics | None = None,
) -> Kinematics:
    """Body poses (and velocities, accelerations) in ground for every frame.

    Joint-local quantities are computed for all joints at once; the outward pass then
    composes them level by level in spatial-vector form about the ground origin
    (Featherstone R, 2008, Rigid Body Dynamics Algorithms, Springer, ch. 2 and 5), where a
    child's spatial velocity is its parent's plus the joint's, and its spatial
    acceleration its parent's plus the joint's plus ``V_parent x V_joint``.

    Parameters
    ----------
    model
        The model.
    q
        Coordinates, ``(n_frames, n_coordinates)`` in model order (radians, metres).
    qdot, qddot
        Their speeds and accelerations (optional; Ball/Free joints: see module notes).
    simbody_compatible
        For CustomJoints in which one coordinate drives several rotation axes, reproduce
        Simbody's velocity-product term of the joint acceleration (what OpenSim computes;
        see ``Multibody.hdot_masks``) instead of the exact time derivative. Other joints
        are exact either way.
    positions
        The position-level part for these ``q`` (from :func:`position_kinematics`, or its
        :meth:`~PositionKinematics.take`), to reuse for other speeds and accelerations at the
        same coordinates; computed here when ``None``.

    Returns
    -------
    Kinematics
    """
    if positions is None:
        positions = position_kinematics(model, q, simbody_compatible=simbody_compatible)
    elif (
        positions.simbody_compatible != simbody_compatible
        or positions.n_frames != np.shape(np.atleast_2d(q))[0]
    ):
        raise InputError(f"model '{model.name}'", "the position kinematics were computed for other frames")
    pos = positions
    qd = _as_frames(model, qdot, "qdot")
    qdd = _as_frames(model, qddot, "qddot") if qd is not None else None
    n = pos.n_frames
    nb = model.n_bodies
    plan = _plan(model)
    sd, sdd, quad = _axis_rates(model, pos.ds, pos.d2, qd, qdd)
    with_vel = sd is not None
    with_acc = sdd is not None
    av = model.angular_velocity_joints
    E, E_h, p_PM, R, P = pos.E, pos.E_h, pos.p_PM, pos.R, pos.P
    pr, it = plan.parent_rotated, plan.trans_active
    R_PF = plan.parent_R_t
    if with_vel:
        w_FM = _mv(E_h, sd[:3])
        for t in av:
            w_FM[:, t] = qd[:, model.axis_coordinate[t, :3]].T
        wJ = w_FM.copy() if pr.size else w_FM
        if pr.size:
            wJ[:, pr] = _mv(R_PF[:, :, pr], w_FM[:, pr])
        vJ = _cross(p_PM, wJ)  # spatial joint velocity about P's origin, in P
        if it.size:
            vMo = _mv(plan.trans_P_t[:, :, it], sd[3:, it])
            vJ[:, it] += vMo
    if with_acc:
        alpha_FM = _mv(E_h, sdd[:3])
        if E_h is not E:  # Simbody: f'' qdot^2 terms go through the true-angle axes
            for i, j, v in quad:
                if i < 3:
                    alpha_FM[:, j] += (E[:, i, j] - E_h[:, i, j]) * v
        if simbody_compatible:
            w1 = _mv(E_h, sd[:3] * plan.hdot_t[0])
            w2 = _mv(E_h, sd[:3] * plan.hdot_t[1])
        else:
            w1 = E[:, 0] * sd[0]
            w2 = w1 + E[:, 1] * sd[1]
        alpha_FM += _cross(w1, E[:, 1]) * sd[1] + _cross(w2, E[:, 2]) * sd[2]
        for t in av:
            alpha_FM[:, t] = qdd[:, model.axis_coordinate[t, :3]].T
        alJ = alpha_FM.copy() if pr.size else alpha_FM
        if pr.size:
            alJ[:, pr] = _mv(R_PF[:, :, pr], alpha_FM[:, pr])
        aJ = _cross(p_PM, alJ)
        if it.size:
            aJ[:, it] += _mv(plan.trans_P_t[:, :, it], sdd[3:, it]) + _cross(vMo, wJ[:, it])

    # -- outward pass, level by level
    W = V0 = AL = A0 = None
    if with_vel:
        W = np.zeros((3, nb, n))
        V0 = np.zeros((3, nb, n))
    if with_acc:
        AL = np.zeros((3, nb, n))
        A0 = np.zeros((3, nb, n))
    if with_vel:
        for J, C, par in plan.level_slices:
            Rp = R[:, :, par]
            pp = P[:, par]
            wj = _mv(Rp, wJ[:, J])
            vj = _mv(Rp, vJ[:, J]) + _cross(pp, wj)
            wp = W[:, par]
            vp = V0[:, par]
            W[:, C] = wp + wj
            V0[:, C] = vp + vj
            if with_acc:
                alj = _mv(Rp, alJ[:, J])
                aj = _mv(Rp, aJ[:, J]) + _cross(pp, alj)
                AL[:, C] = AL[:, par] + alj + _cross(wp, wj)
                A0[:, C] = A0[:, par] + aj + _cross(wp, vj) + _cross(vp, wj)
    return Kinematics(R, P, W, V0, AL, A0, pos.E_P, plan.trans_P, p_PM, pos.ds)


def mass_center(
    model: Multibody,
    q: np.ndarray,
    qdot: np.ndarray | None = None,
    qddot: np.ndarray | None = None,
    *,
    kinematics: Kinematics | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Whole-body centre of mass position, velocity and acceleration in ground.

    Parameters
    ----------
    model
        The model.
    q, qdot, qddot
        ``(n_frames, n_coordinates)``; velocity/acceleration are ``None`` when not given.
    kinematics
        Reuse an existing :func:`forward_kinematics` result (then ``q``... are ignored).

    Returns
    -------
    position_m, velocity_m_s, acceleration_m_s2
        Each ``(n_frames, 3)`` (or ``None``).
    """
    kin = kinematics or forward_kinematics(model, q, qdot, qddot)
    plan = _plan(model)
    m = model.mass_kg[1:]
    M = m.sum()
    c = kin.p_t[:, 1:] + _mv(kin.R_t[:, :, 1:], plan.com_t)
    pos = np.einsum("b,kbf->kf", m, c) / M  # (3, F)
    vel = acc = None
    if kin.w_t is not None:
        w = kin.w_t[:, 1:]
        vc = kin.v0_t[:, 1:] + _cross(w, c)
        vel = np.einsum("b,kbf->kf", m, vc) / M
        if kin.alpha_t is not None:
            ac = kin.a0_t[:, 1:] + _cross(kin.alpha_t[:, 1:], c) + _cross(w, vc)
            acc = np.einsum("b,kbf->kf", m, ac) / M
    return pos.T, None if vel is None else vel.T, None if acc is None else acc.T


# =============================================================================================
# Coupled coordinates
# =============================================================================================


def fill_dependent_coordinates(
    model: Multibody,
    q: np.ndarray,
    qdot: np.ndarray | None = None,
    qddot: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Set coupler-dependent coordinates from their independent ones (chain rule).

    ``q_d = k f(q_i)``, ``qdot_d = k f'(q_i) qdot_i``, ``qddot_d = k (f''(q_i) qdot_i^2 + f'(q_i) qddot_i)``.

    Returns
    -------
    q, qdot, qddot
        Copies with the dependent columns replaced (``None`` stays ``None``).
    """
    q = _as_frames(model, q, "q").copy()
    qd = None if qdot is None else _as_frames(model, qdot, "qdot").copy()
    qdd = None if qddot is None else _as_frames(model, qddot, "qddot").copy()
    for c in model.couplers:
        f, d1, d2 = c.function.evaluate(q[:, c.independent], 2)
        q[:, c.dependent] = c.scale * f
        if qd is not None:
            qd[:, c.dependent] = c.scale * d1 * qd[:, c.independent]
            if qdd is not None:
                qdd[:, c.dependent] = c.scale * (d2 * qd[:, c.independent] ** 2 + d1 * qdd[:, c.independent])
    return q, qd, qdd


def coordinates_from_table(model: Multibody, table: TimeTable) -> np.ndarray:
    """Coordinate values in model order, radians and metres, from a ``.mot``/``.sto`` table.

    Rotational coordinates are converted from degrees when the table says
    ``inDegrees=yes`` or says nothing (OpenSim's own rule for headers without the line);
    translational and coupled coordinates are used as they are. Coordinates the table
    lacks take their default values; coupler-dependent ones are then computed from their
    independent coordinates when the table lacks them.

    Parameters
    ----------
    model
        The model.
    table
        E.g. from :func:`runmuscles.readers.read_storage` (inverse kinematics results).

    Returns
    -------
    numpy.ndarray
        ``(n_frames, n_coordinates)``.
    """
    degrees = table.in_degrees is not False
    q = np.tile(model.default_values, (table.n_frames, 1))
    present = np.zeros(model.n_coordinates, dtype=bool)
    for i, name in enumerate(model.coordinate_names):
        if name in table:
            col = table.column(name)
            q[:, i] = np.deg2rad(col) if degrees and model.motion_types[i] == "rotational" else col
            present[i] = True
    if not present.any():
        raise InputError(table.source, f"has none of the coordinates of model '{model.name}'")
    if not np.all(np.isfinite(q)):
        raise InputError(table.source, "coordinate values have NaN or infinite entries")
    missing_dep = [c for c in model.couplers if not present[c.dependent]]
    if missing_dep:
        filled = fill_dependent_coordinates(model, q)[0]
        for c in missing_dep:
            q[:, c.dependent] = filled[:, c.dependent]
    return q


def coupler_slopes(model: Multibody, q: np.ndarray) -> np.ndarray:
    """``dq_dependent / dq_independent`` per frame and coupler, ``(n_frames, n_couplers)``."""
    q = _as_frames(model, q, "q")
    out = np.empty((q.shape[0], len(model.couplers)))
    for k, c in enumerate(model.couplers):
        out[:, k] = c.scale * c.function.evaluate(q[:, c.independent], 1)[1]
    return out


def project_to_independent(model: Multibody, tau: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Add each dependent coordinate's generalized force to its independent coordinate.

    ``tau_i += tau_d * dq_d/dq_i`` (virtual work), and the dependent columns become zero:
    the generalized forces conjugate to the independent coordinates, as OpenSim's
    StaticOptimization effectively uses for coupled knees.
    """
    tau = np.array(tau, dtype=float, copy=True)
    slopes = coupler_slopes(model, q)
    for k, c in enumerate(model.couplers):
        tau[:, c.independent] += tau[:, c.dependent] * slopes[:, k]
        tau[:, c.dependent] = 0.0
    return tau
