"""Which model muscles an EMG channel records: abbreviations -> roles -> the model's muscles.

One table, :data:`ABBREVIATIONS`, maps the names labs give EMG channels (SENIAM's muscle
list and common lab short forms: TA, SOL, MG/GM/GASMED, LG/GASLAT, VL, VM, RF, BF/BFLH,
ST, SM, GMAX, GMED, ADD, ...) to a muscle *role*. A second table, :data:`ROLE_PATTERNS`,
finds each role's muscles in a model by name patterns that cover the Hamner et al. (2010)
names (``med_gas_r``, ``glut_max1_r``, ``bifemlh_r``) and the Rajagopal et al. (2016) /
Lai et al. (2017) names (``gasmed_r``, ``glmax1_r``, ``bflh_r``). A channel whose label is
itself a model muscle's name (separators and case ignored: ``gasmedr`` is ``gasmed_r``)
records that muscle.

The side comes from the label (``R``/``L``/``right``/``left`` as a word, or an ``R``/``L``
letter before or after the abbreviation: ``RTA``, ``TA_L``), else the default side.

Sources: Hermens HJ, Freriks B, Disselhorst-Klug C, Rau G (2000) Development of
recommendations for SEMG sensors and sensor placement procedures. J Electromyogr Kinesiol
10:361-374 (SENIAM's muscle list); Hamner SR, Seth A, Delp SL (2010) J Biomech
43:2709-2716; Rajagopal A et al. (2016) IEEE TBME 63:2068-2079.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = [
    "ABBREVIATIONS",
    "IGNORE",
    "ROLE_PATTERNS",
    "ChannelMapping",
    "map_channels",
    "read_emg_map",
]

#: What a map file writes for a channel to leave it out.
IGNORE = "ignore"

#: Lab abbreviations and long names (lower case, letters and digits only) -> roles.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {}


def _abbr(role: str | tuple[str, ...], *names: str) -> None:
    roles = (role,) if isinstance(role, str) else role
    for n in names:
        ABBREVIATIONS[n] = roles


_abbr("soleus", "sol", "so", "soleus")
_abbr("gas_med", "mg", "gm", "gasmed", "mgas", "medgas", "gastrocmed", "gastrocnemiusmedialis",
      "medialgastrocnemius", "gastrocnemiusmedial", "gastrocm", "gastmed", "gasm")  # fmt: skip
_abbr("gas_lat", "lg", "gaslat", "lgas", "latgas", "gastroclat", "gastrocnemiuslateralis",
      "lateralgastrocnemius", "gastrocnemiuslateral", "gastrocl", "gastlat", "gasl")  # fmt: skip
_abbr(("gas_med", "gas_lat"), "gas", "gastroc", "gastrocnemius")
_abbr("tib_ant", "ta", "tibant", "tibialisanterior", "tibant", "tibialis")
_abbr("tib_post", "tp", "tibpost", "tibialisposterior")
_abbr("per_long", "pl", "perlong", "peroneuslongus", "fibularislongus", "pel")
_abbr("per_brev", "pb", "perbrev", "peroneusbrevis", "fibularisbrevis")
_abbr("vas_lat", "vl", "vaslat", "vastuslateralis", "vlat")
_abbr("vas_med", "vm", "vmo", "vasmed", "vastusmedialis", "vmed")
_abbr("vas_int", "vi", "vasint", "vastusintermedius")
_abbr("rect_fem", "rf", "recfem", "rectfem", "rectusfemoris", "rectus")
_abbr("bf_lh", "bf", "bflh", "bfl", "bfll", "bicepsfemoris", "bicepsfemorislonghead", "bifemlh", "lh",
      "lateralhamstring", "lateralhamstrings")  # fmt: skip
_abbr("bf_sh", "bfsh", "bicepsfemorisshorthead", "bifemsh")
_abbr("semiten", "st", "semiten", "semitendinosus", "semit")
_abbr("semimem", "sm", "semimem", "semimembranosus", "semim")
_abbr(("semimem", "semiten"), "mh", "medham", "medialhamstring", "medialhamstrings")
_abbr(("bf_lh", "semimem", "semiten"), "ham", "hams", "hamstring", "hamstrings")
_abbr("glut_max", "gmax", "glmax", "glutmax", "gluteusmaximus")
_abbr("glut_med", "gmed", "glmed", "glutmed", "gluteusmedius", "gmd")
_abbr("glut_min", "gmin", "glmin", "glutmin", "gluteusminimus")
_abbr(("add_long", "add_brev", "add_mag"), "add", "adductor", "adductors")
_abbr("add_long", "al", "addl", "addlong", "adductorlongus")
_abbr("add_mag", "am", "addm", "addmag", "adductormagnus")
_abbr("tfl", "tfl", "tensorfascialatae", "tensorfascialata")
_abbr("sartorius", "sar", "sart", "sartorius")
_abbr("gracilis", "gr", "gra", "grac", "gracilis")
_abbr(("iliacus", "psoas"), "ip", "ilio", "iliopsoas")
_abbr("iliacus", "iliacus", "il")
_abbr("psoas", "psoas", "ps")
_abbr("erector_spinae", "es", "ercspn", "erectorspinae", "erector")

#: Role -> regular expression on a model muscle's name without its side suffix.
ROLE_PATTERNS: dict[str, str] = {
    "soleus": r"soleus|sol",
    "gas_med": r"gasmed|med_gas|gastroc_?med|gas_med|medgas",
    "gas_lat": r"gaslat|lat_gas|gastroc_?lat|gas_lat|latgas",
    "tib_ant": r"tibant|tib_ant|tibialis_?anterior",
    "tib_post": r"tibpost|tib_post|tibialis_?posterior",
    "per_long": r"perlong|per_long|peroneus_?longus",
    "per_brev": r"perbrev|per_brev|peroneus_?brevis",
    "vas_lat": r"vaslat|vas_lat|vastus_?lateralis",
    "vas_med": r"vasmed|vas_med|vastus_?medialis",
    "vas_int": r"vasint|vas_int|vastus_?intermedius",
    "rect_fem": r"recfem|rect_fem|rectus_?femoris",
    "bf_lh": r"bflh|bifemlh|bf_lh|biceps_?femoris_?lh",
    "bf_sh": r"bfsh|bifemsh|bf_sh|biceps_?femoris_?sh",
    "semiten": r"semiten|semitendinosus",
    "semimem": r"semimem|semimembranosus",
    "glut_max": r"(glmax|glut_max|glutmax|gmax)\d*",
    "glut_med": r"(glmed|glut_med|glutmed|gmed)\d*",
    "glut_min": r"(glmin|glut_min|glutmin|gmin)\d*",
    "add_long": r"addlong|add_long",
    "add_brev": r"addbrev|add_brev",
    "add_mag": r"(addmag|add_mag)\w*",
    "tfl": r"tfl",
    "sartorius": r"sart|sar",
    "gracilis": r"grac|gracilis",
    "iliacus": r"iliacus|ilacus",
    "psoas": r"psoas",
    "erector_spinae": r"ercspn|erector_?spinae",
}

_SIDE_WORDS = {"r": "right", "right": "right", "rt": "right", "l": "left", "left": "left", "lt": "left"}
_NOISE = {
    "emg",
    "raw",
    "env",
    "envelope",
    "ch",
    "channel",
    "muscle",
    "mv",
    "v",
    "uv",
    "voltage",
    "analog",
    "sensor",
}


@dataclass
class ChannelMapping:
    """One EMG channel and the model muscles it is compared with."""

    channel: str
    muscles: list[str]
    side: str
    role: str
    how: str  # "model name", "abbreviation", "map file"


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _muscle_side(name: str) -> str | None:
    n = name.lower()
    if n.endswith("_r") or n.startswith("r_"):
        return "right"
    if n.endswith("_l") or n.startswith("l_"):
        return "left"
    return None


def _base(name: str) -> str:
    n = name.lower()
    return re.sub(r"(_[rl]$)|(^[rl]_)", "", n)


def role_muscles(role: str, side: str, muscle_names: list[str]) -> list[str]:
    """The model's muscles of ``role`` on ``side`` (by :data:`ROLE_PATTERNS`)."""
    pat = re.compile(rf"^({ROLE_PATTERNS[role]})$")
    return [m for m in muscle_names if _muscle_side(m) in (side, None) and pat.match(_base(m))]


def parse_label(label: str) -> tuple[tuple[str, ...] | None, str | None]:
    """``(roles, side)`` a channel label names (``None`` for what it does not say)."""
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", label).lower()) if w]
    side = None
    kept = []
    for w in words:
        if w in _SIDE_WORDS and side is None and len(words) > 1:
            side = _SIDE_WORDS[w]
        elif w in _NOISE or w.isdigit():
            continue
        else:
            w = re.sub(r"^emg\d*|\d+$", "", w)
            if w:
                kept.append(w)
    # all remaining words joined, then shorter runs of consecutive words (longest first), so
    # that a device prefix ("Delsys 3 TA") does not hide the muscle
    runs = [kept[i:j] for n in range(len(kept), 0, -1) for i in range(len(kept) - n + 1) for j in [i + n]]
    for words_run in runs:
        joined = "".join(words_run)
        candidates = [(joined, side)]
        if side is None and len(joined) > 2:
            if joined[0] in "rl":
                candidates.append((joined[1:], _SIDE_WORDS[joined[0]]))
            if joined[-1] in "rl":
                candidates.append((joined[:-1], _SIDE_WORDS[joined[-1]]))
        for text, s in candidates:
            for t in (text, text.rstrip("0123456789")):
                if t in ABBREVIATIONS:
                    return ABBREVIATIONS[t], s
    return None, side


def read_emg_map(path: str | Path) -> dict[str, str]:
    """A map file: lines ``channel, target`` (``#`` comments), target a model muscle name,
    several joined by ``+``, an abbreviation of :data:`ABBREVIATIONS` (``TA``, ``R GMAX``), or
    ``ignore``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "EMG map file not found")
    out: dict[str, str] = {}
    for k, line in enumerate(p.read_text(encoding="utf-8-sig").splitlines(), 1):
        s = line.split("#", 1)[0].strip()
        if not s:
            continue
        parts = [x.strip() for x in re.split(r"[,;\t]", s) if x.strip()]
        if len(parts) != 2:
            raise InputError(p, f"line {k}: expected 'channel, muscle' (or 'channel, ignore'), got '{s}'")
        out[parts[0]] = parts[1]
    if not out:
        raise InputError(p, "has no 'channel, muscle' lines")
    return out


def _from_target(
    target: str, channel: str, muscle_names: list[str], default_side: str, where
) -> ChannelMapping:
    by_norm = {_norm(m): m for m in muscle_names}
    names = [x.strip() for x in target.split("+") if x.strip()]
    if all(_norm(n) in by_norm for n in names):
        ms = [by_norm[_norm(n)] for n in names]
        side = _muscle_side(ms[0]) or default_side
        return ChannelMapping(channel, ms, side, "as mapped", "map file")
    roles, side = parse_label(target)
    if roles is None:
        raise InputError(
            where,
            f"'{channel}' is mapped to '{target}', which is neither a model muscle nor a known abbreviation",
        )
    side = side or parse_label(channel)[1] or default_side
    ms = [m for r in roles for m in role_muscles(r, side, muscle_names)]
    if not ms:
        raise InputError(
            where, f"'{channel}' is mapped to '{target}': the model has no such muscle on the {side}"
        )
    return ChannelMapping(channel, ms, side, "+".join(roles), "map file")


def map_channels(
    channels: list[str],
    muscle_names: list[str],
    *,
    default_side: str = "right",
    mapping: dict[str, str] | None = None,
    ignore: tuple[str, ...] = (),
    where: str | Path = "EMG",
) -> tuple[list[ChannelMapping], list[str]]:
    """Map every channel to model muscles.

    Returns
    -------
    tuple
        ``(mappings, ignored channel names)``.

    Raises
    ------
    InputError
        Naming every channel that matches no muscle of the model (unless mapped or ignored).
    """
    mapping = dict(mapping or {})
    by_norm = {_norm(m): m for m in muscle_names}
    out: list[ChannelMapping] = []
    ignored: list[str] = []
    unmatched: list[str] = []
    ignore_set = {_norm(x) for x in ignore}
    for ch in channels:
        target = mapping.get(ch)
        if target is not None and target.lower() == IGNORE or _norm(ch) in ignore_set:
            ignored.append(ch)
            continue
        if target is not None:
            out.append(_from_target(target, ch, muscle_names, default_side, where))
            continue
        if _norm(ch) in by_norm:
            m = by_norm[_norm(ch)]
            out.append(ChannelMapping(ch, [m], _muscle_side(m) or default_side, "model name", "model name"))
            continue
        roles, side = parse_label(ch)
        if roles is None:
            unmatched.append(ch)
            continue
        side = side or default_side
        ms = [m for r in roles for m in role_muscles(r, side, muscle_names)]
        if not ms:
            unmatched.append(f"{ch} ({'+'.join(roles)}: none in the model on the {side})")
            continue
        out.append(ChannelMapping(ch, ms, side, "+".join(roles), "abbreviation"))
    if unmatched:
        raise InputError(
            where,
            f"EMG channel(s) match no muscle of the model: {', '.join(unmatched)} (map them with --emg-map, "
            "lines 'channel, muscle', or 'channel, ignore')",
        )
    if not out:
        raise InputError(where, "no EMG channel is left to compare (all ignored)")
    return out, ignored
