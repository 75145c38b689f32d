"""Runner-specific muscle strength from body mass and height (optional).

Generic and linearly scaled OpenSim models are too weak for running (OpenSim's static
optimization saturates most muscles at 3-5 m/s). Rajagopal et al. (2016, IEEE Trans
Biomed Eng 63:2068-2079) set each muscle's maximum isometric force from its volume:

    F0 = sigma * V / l_opt,

with a specific tension ``sigma = 60 N/cm^2`` (Rajagopal et al. 2016) and volumes from
Handsfield et al. (2014, J Biomech 47:631-638): the total muscle volume of one lower limb
is ``V_total = 47 * mass * height + 1285`` cm^3 (mass in kg, height in m; their Fig. 2
regression), and each muscle has a roughly constant share of it (their supplementary
table of fractional volumes, :data:`HANDSFIELD_VOLUME_FRACTION`).

Model muscles are matched to Handsfield's muscles by name (Rajagopal/Uhlrich/LaiArnold,
DeGroote-Fregly and Hamner/Gait2392 spellings). A Handsfield muscle that a model splits in
several compartments (``glmax1..3``, ``addmagDist/Isch/Mid/Prox``) or that Handsfield
reports as a group (peroneals; EDL with EHL) shares its volume among the model muscles in
proportion to their volumes in the model (``F0 * l_opt``). Unmatched muscles keep their
force and are listed in the provenance. The result is a force per muscle; apply it to a
geometry surrogate with
:meth:`runmuscles.model.geometry.MuscleGeometry.with_max_isometric_force` (strength is
linear in ``F0``, no rebuild needed).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "HANDSFIELD_VOLUME_FRACTION",
    "SPECIFIC_TENSION_N_CM2",
    "handsfield_muscle",
    "lower_limb_muscle_volume_cm3",
    "volume_scaled_max_isometric_force",
]

#: Specific tension used by Rajagopal et al. (2016) IEEE TBME 63:2068-2079 (N/cm^2).
SPECIFIC_TENSION_N_CM2 = 60.0

#: Share of the total muscle volume of one lower limb, Handsfield et al. (2014) J Biomech
#: 47:631-638, supplementary table (mean over 24 subjects). "peroneals" is peroneus longus
#: and brevis together; "edl_ehl" is extensor digitorum and hallucis longus together.
HANDSFIELD_VOLUME_FRACTION: dict[str, float] = {
    "gluteus_maximus": 0.1193,
    "adductor_magnus": 0.0786,
    "gluteus_medius": 0.0454,
    "psoas": 0.0380,
    "iliacus": 0.0248,
    "sartorius": 0.0229,
    "adductor_longus": 0.0226,
    "gluteus_minimus": 0.0147,
    "adductor_brevis": 0.0147,
    "gracilis": 0.0146,
    "tensor_fasciae_latae": 0.0089,
    "piriformis": 0.0061,
    "vastus_lateralis": 0.1166,
    "vastus_medialis": 0.0606,
    "vastus_intermedius": 0.0384,
    "rectus_femoris": 0.0379,
    "semimembranosus": 0.0346,
    "biceps_femoris_long": 0.0292,
    "semitendinosus": 0.0260,
    "biceps_femoris_short": 0.0140,
    "soleus": 0.0621,
    "gastrocnemius_medial": 0.0362,
    "gastrocnemius_lateral": 0.0211,
    "tibialis_anterior": 0.0191,
    "peroneals": 0.0183,
    "tibialis_posterior": 0.0149,
    "edl_ehl": 0.0144,
    "flexor_hallucis_longus": 0.0109,
    "flexor_digitorum_longus": 0.0043,
}

# Model muscle base names (side suffix and compartment digits removed) -> Handsfield muscle.
_ALIASES: dict[str, str] = {
    # Rajagopal 2016 / RajagopalLaiUhlrich 2023 / LaiArnold 2017 / DeGroote-Fregly models
    "glmax": "gluteus_maximus",
    "addmagdist": "adductor_magnus",
    "addmagisch": "adductor_magnus",
    "addmagmid": "adductor_magnus",
    "addmagprox": "adductor_magnus",
    "glmed": "gluteus_medius",
    "psoas": "psoas",
    "iliacus": "iliacus",
    "sart": "sartorius",
    "addlong": "adductor_longus",
    "glmin": "gluteus_minimus",
    "addbrev": "adductor_brevis",
    "grac": "gracilis",
    "tfl": "tensor_fasciae_latae",
    "piri": "piriformis",
    "vaslat": "vastus_lateralis",
    "vasmed": "vastus_medialis",
    "vasint": "vastus_intermedius",
    "recfem": "rectus_femoris",
    "semimem": "semimembranosus",
    "bflh": "biceps_femoris_long",
    "semiten": "semitendinosus",
    "bfsh": "biceps_femoris_short",
    "soleus": "soleus",
    "gasmed": "gastrocnemius_medial",
    "gaslat": "gastrocnemius_lateral",
    "tibant": "tibialis_anterior",
    "perbrev": "peroneals",
    "perlong": "peroneals",
    "tibpost": "tibialis_posterior",
    "edl": "edl_ehl",
    "ehl": "edl_ehl",
    "fhl": "flexor_hallucis_longus",
    "fdl": "flexor_digitorum_longus",
    # Hamner 2010 / Gait2392 spellings
    "glut_max": "gluteus_maximus",
    "add_mag": "adductor_magnus",
    "glut_med": "gluteus_medius",
    "sar": "sartorius",
    "add_long": "adductor_longus",
    "glut_min": "gluteus_minimus",
    "add_brev": "adductor_brevis",
    "peri": "piriformis",
    "vas_lat": "vastus_lateralis",
    "vas_med": "vastus_medialis",
    "vas_int": "vastus_intermedius",
    "rect_fem": "rectus_femoris",
    "bifemlh": "biceps_femoris_long",
    "bifemsh": "biceps_femoris_short",
    "med_gas": "gastrocnemius_medial",
    "lat_gas": "gastrocnemius_lateral",
    "tib_ant": "tibialis_anterior",
    "per_brev": "peroneals",
    "per_long": "peroneals",
    "per_tert": "peroneals",
    "tib_post": "tibialis_posterior",
    "ext_dig": "edl_ehl",
    "ext_hal": "edl_ehl",
    "flex_hal": "flexor_hallucis_longus",
    "flex_dig": "flexor_digitorum_longus",
}


def lower_limb_muscle_volume_cm3(mass_kg: float, height_m: float) -> float:
    """Total muscle volume of one lower limb, ``47 m h + 1285`` cm^3 (Handsfield et al. 2014)."""
    if not (np.isfinite(mass_kg) and 20.0 <= mass_kg <= 250.0):
        raise InputError("mass_kg", f"body mass {mass_kg!r} kg is not a plausible adult mass (20-250 kg)")
    if not (np.isfinite(height_m) and 1.0 <= height_m <= 2.5):
        raise InputError("height_m", f"height {height_m!r} m is not a plausible adult height (1.0-2.5 m)")
    return 47.0 * mass_kg * height_m + 1285.0


def handsfield_muscle(name: str) -> str | None:
    """The Handsfield muscle a model muscle belongs to, or None (e.g. ``glmax2_l`` -> gluteus_maximus)."""
    base = re.sub(r"_(r|l)$", "", name.lower())
    base = re.sub(r"\d+$", "", base)  # compartments: glmax1, add_mag3, bflh140
    return _ALIASES.get(base) or _ALIASES.get(base.rstrip("_"))


def volume_scaled_max_isometric_force(
    muscle_names: list[str],
    max_isometric_force_n: np.ndarray,
    params: dict[str, np.ndarray] | np.ndarray,
    mass_kg: float,
    height_m: float,
    *,
    specific_tension_n_cm2: float = SPECIFIC_TENSION_N_CM2,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Maximum isometric forces from the runner's mass and height.

    Parameters
    ----------
    muscle_names
        Model muscle names (both legs; each leg gets one limb's volume).
    max_isometric_force_n
        The model's forces, shape ``(M,)``: kept for unmatched muscles, and they set how a
        Handsfield muscle's volume is shared among model compartments.
    params
        The muscles' parameters (``MuscleGeometry.params``, with ``optimal_fiber_length_m``)
        or directly the optimal fibre lengths in metres, shape ``(M,)``.
    mass_kg, height_m
        The runner's body mass and height.
    specific_tension_n_cm2
        Specific tension (default 60 N/cm^2, Rajagopal et al. 2016).

    Returns
    -------
    force_n
        New maximum isometric forces, shape ``(M,)``.
    provenance
        ``total_volume_cm3``, ``specific_tension_n_cm2``, ``source``, ``unmatched`` (names
        kept at the model's force) and ``muscles``: per muscle its ``handsfield`` muscle,
        ``volume_cm3``, ``old_force_n`` and ``new_force_n``.
    """
    names = list(muscle_names)
    lopt = np.asarray(params["optimal_fiber_length_m"] if isinstance(params, dict) else params, dtype=float)
    f0 = np.asarray(max_isometric_force_n, dtype=float)
    if lopt.shape != (len(names),) or f0.shape != (len(names),):
        raise InputError("muscles", "names, optimal fibre lengths and forces differ in length")
    if not (np.isfinite(specific_tension_n_cm2) and specific_tension_n_cm2 > 0):
        raise InputError("specific_tension_n_cm2", "must be a positive number")
    total = lower_limb_muscle_volume_cm3(mass_kg, height_m)
    model_volume = f0 * lopt  # proportional to the model's own volumes
    keys: dict[tuple[str, str], list[int]] = {}
    matched: list[str | None] = []
    for i, n in enumerate(names):
        h = handsfield_muscle(n)
        matched.append(h)
        if h is not None:
            side = "l" if n.lower().endswith("_l") else "r"
            keys.setdefault((h, side), []).append(i)
    out = f0.copy()
    per_muscle: dict[str, dict[str, Any]] = {}
    volumes = np.full(len(names), np.nan)
    for (h, _side), idx in keys.items():
        share = model_volume[idx]
        share = share / share.sum() if share.sum() > 0 else np.full(len(idx), 1.0 / len(idx))
        vol = HANDSFIELD_VOLUME_FRACTION[h] * total * share
        volumes[idx] = vol
        out[idx] = specific_tension_n_cm2 * vol / (lopt[idx] * 100.0)
    for i, n in enumerate(names):
        per_muscle[n] = {
            "handsfield": matched[i],
            "volume_cm3": None if np.isnan(volumes[i]) else float(volumes[i]),
            "old_force_n": float(f0[i]),
            "new_force_n": float(out[i]),
        }
    provenance = {
        "source": (
            "Handsfield et al. (2014) J Biomech 47:631-638; Rajagopal et al. (2016) IEEE TBME 63:2068-2079"
        ),
        "total_volume_cm3": total,
        "mass_kg": float(mass_kg),
        "height_m": float(height_m),
        "specific_tension_n_cm2": float(specific_tension_n_cm2),
        "unmatched": [n for n, h in zip(names, matched, strict=True) if h is None],
        "muscles": per_muscle,
    }
    return out, provenance
