"""Overground trials made from treadmill trials, for the overground tests.

A Fukuchi 2017 treadmill trial (one plate under a single belt) becomes an overground runway
trial of another lab:

* **moved**: the belt speed times the time is added to the fore-aft coordinate of every
  marker and of the centre of pressure, so the runner moves forward over fixed ground (on
  the treadmill the stance foot stays in place under the runner);
* **plates**: the single belt plate is cut into separate plates, each seeing a foot contact
  only when that contact's centre of pressure (median over its loaded samples) lies inside
  the plate's area; the other contacts land beside the plates and are not measured;
* **another lab's axes**: running along -X with Z up (Fukuchi's lab runs along +X, Y up);
* **another convention's names**: Plug-in Gait names (Davis et al. 1991: ``RASI``,
  ``RKNE``, ``RANK``, ``RHEE``, ``RTOE``, ``RTHI``, ``RTIB``), the model's own names for
  the medial landmarks Plug-in Gait lacks, and segment words for the cluster markers;
* **gaps**: a few markers go missing for less than the gap limit.

The treadmill reference goes through the same writer (same window, Fukuchi's names and
axes, the belt plate whole), so both versions take the same lab path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runmuscles.kinematics.forceplates import detect_contacts
from runmuscles.readers.c3d import C3DTrial, read_c3d

#: OpenSim axes (X forward, Y up, Z right) to the other lab's (forward = -X, up = +Z,
#: right = +Y): columns are where OpenSim's X, Y, Z go. A proper rotation (det +1).
LAB_FROM_OSIM = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


def _both(table: dict[str, str]) -> dict[str, str]:
    return {k.format(s=s): v.format(s=s) for k, v in table.items() for s in "RL"}


#: Fukuchi 2017 name -> the other lab's name.
RENAME = _both(
    {
        "{s}.ASIS": "{s}ASI",
        "{s}.PSIS": "{s}PSI",
        "{s}.Knee": "{s}KNE",
        "{s}.Ankle": "{s}ANK",
        "{s}.Heel.Top": "{s}HEE",
        "{s}.MT1": "{s}TOE",
        "{s}.Knee.Medial": "{s}MFC",
        "{s}.Ankle.Medial": "{s}MMAL",
        "{s}.MT5": "{s}MT5",
        "{s}.MT2": "{s}MT2",
        "{s}.Thigh.Top.Lateral": "{s}THI",
        "{s}.Thigh.Top.Medial": "{s}THIGH2",
        "{s}.Thigh.Bottom.Lateral": "{s}THIGH3",
        "{s}.Thigh.Bottom.Medial": "{s}THIGH4",
        "{s}.Shank.Top.Lateral": "{s}TIB",
        "{s}.Shank.Top.Medial": "{s}TIB2",
        "{s}.Shank.Bottom.Lateral": "{s}TIB3",
        "{s}.Shank.Bottom.Medial": "{s}TIB4",
        "{s}.Heel.Bottom": "{s}HEEL_BOTTOM",
        "{s}.Heel.Lateral": "{s}HEEL_LAT",
        "{s}.Iliac.Crest": "{s}ILIAC",
        "{s}.GTR": "{s}TROCH",
        "{s}.HF": "{s}FIBHEAD",
        "{s}.TT": "{s}TIBTUB",
    }
)


@dataclass
class PlateSignal:
    """One plate to write: corners and ground reaction in OpenSim axes (before moving to the lab)."""

    corners_m: np.ndarray  # (4, 3)
    force_n: np.ndarray  # (n, 3) ground reaction on the body
    moment_nm: np.ndarray  # (n, 3) about the OpenSim origin


def write_c3d(
    path: Path,
    names: list[str],
    xyz_m: np.ndarray,
    rate_hz: float,
    plates: list[PlateSignal],
    analog_rate_hz: float,
    lab_from_osim: np.ndarray,
) -> Path:
    """Write markers (OpenSim axes, metres, NaN gaps) and plates as a C3D file in lab axes (mm).

    Each plate is TYPE 2, its origin at the centre of its surface, its z axis down (C3D
    convention); the signals are the force and moment the body exerts on the plate.
    """
    import ezc3d

    r = lab_from_osim
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [rate_hz]
    c["parameters"]["POINT"]["LABELS"]["value"] = list(names)
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    lab = np.nan_to_num(xyz_m @ r.T * 1000.0)  # NaN -> (0, 0, 0): a gap in C3D
    pts = np.ones((4, len(names), xyz_m.shape[0]))
    pts[:3] = np.transpose(lab, (2, 1, 0))
    c["data"]["points"] = pts
    if plates:
        signals, corners, origins = [], [], []
        up = r @ np.array([0.0, 1.0, 0.0])
        for pl in plates:
            cn = pl.corners_m @ r.T  # lab, metres
            # corner order giving plate z = (c1 - c2) x (c1 - c4) pointing down
            ax_z = np.cross(cn[0] - cn[1], cn[0] - cn[3])
            if ax_z @ up > 0:
                cn = cn[[0, 3, 2, 1]]
                ax_z = np.cross(cn[0] - cn[1], cn[0] - cn[3])
            ax_x = (cn[0] - cn[1]) / np.linalg.norm(cn[0] - cn[1])
            ax_z = ax_z / np.linalg.norm(ax_z)
            axes = np.column_stack([ax_x, np.cross(ax_z, ax_x), ax_z])
            centre = cn.mean(axis=0)
            f_lab = -(pl.force_n @ r.T)  # on the plate
            m_lab = -(pl.moment_nm @ r.T) - np.cross(centre, f_lab)  # about the plate's centre
            signals.append(np.vstack([(f_lab @ axes).T, 1000.0 * (m_lab @ axes).T]))  # N, N mm
            corners.append(cn.T * 1000.0)
            origins.append(np.zeros(3))
        n_pl = len(plates)
        labels = [f"{q}{k + 1}" for k in range(n_pl) for q in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]
        c["parameters"]["ANALOG"]["RATE"]["value"] = [analog_rate_hz]
        c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
        c["parameters"]["ANALOG"]["UNITS"]["value"] = ["N", "N", "N", "Nmm", "Nmm", "Nmm"] * n_pl
        c["parameters"]["ANALOG"]["SCALE"]["value"] = [1.0] * 6 * n_pl
        c["parameters"]["ANALOG"]["OFFSET"]["value"] = [0] * 6 * n_pl
        c["data"]["analogs"] = np.vstack(signals)[None]
        c.add_parameter("FORCE_PLATFORM", "USED", [n_pl])
        c.add_parameter("FORCE_PLATFORM", "TYPE", [2] * n_pl)
        c.add_parameter("FORCE_PLATFORM", "CORNERS", np.stack(corners, axis=2))
        c.add_parameter("FORCE_PLATFORM", "ORIGIN", np.stack(origins, axis=1))
        c.add_parameter("FORCE_PLATFORM", "CHANNEL", np.arange(1, 6 * n_pl + 1).reshape(n_pl, 6).T.tolist())
    else:
        c.add_parameter("FORCE_PLATFORM", "USED", [0])
    path.parent.mkdir(parents=True, exist_ok=True)
    c.write(str(path))
    return path


@dataclass
class Source:
    """A treadmill trial cut to a window, in OpenSim axes."""

    trial: C3DTrial
    keep: np.ndarray  # marker frames
    keep_an: np.ndarray  # plate samples
    belt_m_s: float


def cut(c3d: Path, start_s: float, end_s: float) -> Source:
    trial = read_c3d(c3d)
    assert trial.belt_speed_m_s is not None, "a treadmill trial is needed"
    t, ta = trial.markers.time_s, trial.plates[0].time_s
    return Source(
        trial, (t >= start_s) & (t < end_s), (ta >= start_s) & (ta < end_s), float(trial.belt_speed_m_s)
    )


def treadmill_version(src: Source, path: Path) -> Path:
    """The window as it was: Fukuchi's names and axes, the belt plate whole."""
    tr, pl = src.trial, src.trial.plates[0]
    plate = PlateSignal(pl.corners_m, pl.force_n[src.keep_an], pl.moment_nm[src.keep_an])
    return write_c3d(
        path,
        tr.markers.names,
        tr.markers.positions_m[src.keep],
        tr.markers.rate_hz,
        [plate],
        pl.rate_hz,
        np.eye(3),
    )


def contacts_overground(src: Source) -> list[tuple[int, int, np.ndarray]]:
    """The belt plate's contacts in the window: ``(start, end, median COP moved overground)``."""
    pl = src.trial.plates[0]
    f = pl.force_n[src.keep_an]
    cop = pl.cop_m[src.keep_an].copy()
    t = pl.time_s[src.keep_an] - pl.time_s[src.keep_an][0]
    cop[:, 0] += src.belt_m_s * t
    out = []
    for a, b in detect_contacts(f[:, 1], pl.rate_hz, drop_partial=False):
        firm = f[a:b, 1] > 0.3 * f[a:b, 1].max()
        out.append((a, b, np.nanmedian(cop[a:b][firm], axis=0)))
    return out


def overground_version(
    src: Source,
    path: Path,
    plate_steps: list[int],
    *,
    plate_size_m: tuple[float, float] = (0.6, 0.4),
    gaps: dict[str, tuple[float, float]] | None = None,
) -> Path:
    """The window moved over fixed ground, plates under the contacts ``plate_steps`` (indices
    into :func:`contacts_overground`), renamed, in another lab's axes, with marker gaps
    ``{fukuchi name: (start, end) s from the window's start}``."""
    tr, pl = src.trial, src.trial.plates[0]
    t = tr.markers.time_s[src.keep] - tr.markers.time_s[src.keep][0]
    xyz = tr.markers.positions_m[src.keep].copy()
    xyz[:, :, 0] += src.belt_m_s * t[:, None]
    for name, (a, b) in (gaps or {}).items():
        xyz[(t >= a) & (t < b), tr.markers.names.index(name)] = np.nan
    ta = pl.time_s[src.keep_an] - pl.time_s[src.keep_an][0]
    force = pl.force_n[src.keep_an]
    shift = np.column_stack([src.belt_m_s * ta, np.zeros_like(ta), np.zeros_like(ta)])
    moment = pl.moment_nm[src.keep_an] + np.cross(shift, force)  # the point of application moved
    contacts = contacts_overground(src)
    surface_y = float(pl.corners_m[:, 1].mean())
    lateral = float(np.mean([c[2][2] for c in contacts]))
    plates = []
    half_x, half_z = plate_size_m[0] / 2, plate_size_m[1] / 2
    for k in plate_steps:
        cx = float(contacts[k][2][0])
        corners = np.array(
            [
                [cx + half_x, surface_y, lateral + half_z],
                [cx - half_x, surface_y, lateral + half_z],
                [cx - half_x, surface_y, lateral - half_z],
                [cx + half_x, surface_y, lateral - half_z],
            ]
        )
        on = np.zeros(ta.size, dtype=bool)
        for a, b, cop in contacts:  # each contact whose COP lies on this plate
            if abs(cop[0] - cx) <= half_x and abs(cop[2] - lateral) <= half_z:
                on[max(0, a - 3) : b + 3] = True
        plates.append(
            PlateSignal(corners, np.where(on[:, None], force, 0.0), np.where(on[:, None], moment, 0.0))
        )
    names = [RENAME.get(n, n) for n in tr.markers.names]
    return write_c3d(path, names, xyz, tr.markers.rate_hz, plates, pl.rate_hz, LAB_FROM_OSIM)


def static_version(static: Path, path: Path) -> Path:
    """The static trial renamed and in the other lab's axes (standing beside the plates)."""
    st = read_c3d(static)
    names = [RENAME.get(n, n) for n in st.markers.names]
    return write_c3d(path, names, st.markers.positions_m, st.markers.rate_hz, [], 0.0, LAB_FROM_OSIM)


def mean_vertical_force_kg(mot: Path) -> float:
    """Mean total vertical force of a force ``.mot`` over the whole file, over g (kg)."""
    from runmuscles.readers.opensim_files import read_storage

    table = read_storage(mot)
    fy = sum(table.column(c) for c in table.labels if c.endswith("_vy"))
    return float(np.mean(fy)) / 9.80665
