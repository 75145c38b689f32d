"""Anatomical landmarks recognised by name, whatever the lab's marker convention.

A lab's marker name says two things: which bony landmark the marker is on, and which side.
Conventions spell both differently (``RKNE``, ``R.Knee.Lat``, ``R_FLE``, ``Right Lateral
Epicondyle``, ``DFLE``...). :func:`recognise` splits a name into a side and a landmark by
**synonyms**, not by per-convention tables: the name is stripped of a lab prefix
(``Subject1:``), cut into words at separators and case changes, its side taken from a prefix
or suffix (:data:`SIDE_WORDS`), and the remaining words are compared, in any order and with
common abbreviations unified (:data:`WORD_FORMS`), with every landmark's synonyms.

:data:`LANDMARKS` is the one table. Each landmark names the model marker it corresponds to
(Rajagopal 2016 family names, which the default model shares; ``{S}`` is the side letter)
and the body it is on; a model with other marker names is matched the same way, by
recognising its own marker names (:func:`model_landmarks`). A landmark the model has no
marker for (sacrum, greater trochanter, toe tip) becomes a marker tracking its body.

The synonyms cover the marker names of

* Plug-in Gait and Helen Hayes: Davis RB, Ounpuu S, Tyburski D, Gage JR (1991) A gait analysis
  data collection and reduction technique. Hum Mov Sci 10:575-587; Kadaba MP, Ramakrishnan HK,
  Wootten ME (1990) Measurement of lower extremity kinematics during level walking. J Orthop
  Res 8:383-392 (``RASI``, ``SACR``, ``RKNE``, ``RANK``, ``RHEE``, ``RTOE``, ``RSHO``, ``C7``);
* CAST: Cappozzo A, Catani F, Croce UD, Leardini A (1995) Position and orientation in space of
  bones during movement: anatomical frame definition and determination. Clin Biomech
  10:171-178 (``ASIS``, ``PSIS``, ``LE``/``ME``, ``LM``/``MM``, ``CA``, ``FMH``/``SMH``/``VMH``,
  ``GT``);
* IOR gait: Leardini A, Sawacha Z, Paolini G et al. (2007) A new anatomically based protocol
  for gait analysis in children. Gait Posture 26:560-571 (``IAS``, ``IPS``, ``FLE``, ``FME``,
  ``FAL``, ``TAM``, ``FCC``, ``FM1``, ``FM2``, ``FM5``, ``GT``; Italian labs' ``D``/``S``
  for right/left, *destra*/*sinistra*);
* Cleveland Clinic (as in OpenSim's Gait2354 example data: ``R.Knee.Lat``, ``R.Ankle.Med``,
  ``V.Sacral``, ``R.Toe.Lat``/``R.Toe.Med`` on the fifth/first metatarsal heads);
* Fukuchi RK, Fukuchi CA, Duarte M (2017) PeerJ 5:e3298 (``R.Knee``, ``R.Ankle.Medial``,
  ``R.Heel.Top``, ``R.MT1``, ``R.MT5``);
* the OpenSim models' own names (Rajagopal et al. 2016: ``RLFC``, ``RMMAL``, ``RCAL``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "LANDMARKS",
    "Landmark",
    "SIDE_WORDS",
    "WORD_FORMS",
    "describe",
    "model_landmarks",
    "recognise",
    "words",
]


@dataclass(frozen=True)
class Landmark:
    """A bony landmark and how labs name it.

    Attributes
    ----------
    key
        Identifier (``lateral_femoral_epicondyle``).
    description
        In words, for messages.
    marker
        The Rajagopal-family model marker on it (``{S}`` = ``R``/``L``), or ``None``.
    body
        The model body it is on (``{s}`` = ``r``/``l``).
    synonyms
        Names without the side, as space-separated words after :data:`WORD_FORMS`; a lab
        name matches when its words are these words in any order, or glued together.
    sided
        Whether the landmark has a right and a left.
    rank
        When several lab landmarks correspond to one model marker (the model's single
        forefoot marker), the lowest rank gets it and the others track the body.
    """

    key: str
    description: str
    marker: str | None
    body: str
    synonyms: tuple[str, ...]
    sided: bool = True
    rank: int = 0


#: Abbreviations and spellings unified before matching (word -> canonical word).
WORD_FORMS: dict[str, str] = {
    "lateral": "lat",
    "later": "lat",
    "lt": "lat",
    "medial": "med",
    "mid": "med",
    "anterior": "ant",
    "posterior": "post",
    "superior": "sup",
    "malleolus": "mal",
    "malleoli": "mal",
    "mall": "mal",
    "malleol": "mal",
    "epicondyle": "epi",
    "epicondylus": "epi",
    "epicondyl": "epi",
    "ep": "epi",
    "condyle": "epi",
    "metatarsal": "mt",
    "metatarsus": "mt",
    "meta": "mt",
    "met": "mt",
    "mth": "mt",
    "mh": "mt",
    "femoral": "femur",
    "fem": "femur",
    "humeral": "humerus",
    "hum": "humerus",
    "calcaneus": "heel",
    "calcaneal": "heel",
    "calc": "heel",
    "cal": "heel",
    "hee": "heel",
    "iliac": "ilium",
    "ili": "ilium",
    "spine": "spine",
    "sacral": "sacrum",
    "sacr": "sacrum",
    "sac": "sacrum",
    "acromium": "acromion",
    "acrom": "acromion",
    "acr": "acromion",
    "shoulder": "sho",
    "knee": "kne",
    "ankle": "ank",
    "elbow": "elb",
    "wrist": "wr",
    "styloid": "sty",
    "first": "1",
    "1st": "1",
    "second": "2",
    "2nd": "2",
    "fifth": "5",
    "5th": "5",
    "head": "head",
}

#: Words that give the side, at the start or end of a name (``R.``, ``_l``, ``Right``,
#: ``RT``; ``D``/``S`` and ``DX``/``SX``: Italian *destra*/*sinistra*, used by IOR labs).
SIDE_WORDS: dict[str, str] = {
    "r": "r",
    "right": "r",
    "rt": "r",
    "d": "r",
    "dx": "r",
    "dex": "r",
    "l": "l",
    "left": "l",
    "lt": "l",
    "s": "l",
    "sx": "l",
    "sin": "l",
}
# prefixes glued to the landmark (``RASI``, ``LTOE``, ``RTKNEE``, ``DFLE``), longest first
_GLUED_SIDES = ("right", "left", "rt", "lt", "dx", "sx", "r", "l", "d", "s")
# words that only say "on the midline" (``V.Sacral``, ``M.C7``)
_MIDLINE_WORDS = {"v", "m", "c", "mid", "centre", "center", "med"}

LANDMARKS: tuple[Landmark, ...] = (
    Landmark(
        "asis", "anterior superior iliac spine", "{S}ASI", "pelvis",
        ("asi", "asis", "ias", "ant sup ilium spine", "ant ilium spine", "ilium ant sup", "sias", "eias"),
    ),
    Landmark(
        "psis", "posterior superior iliac spine", "{S}PSI", "pelvis",
        ("psi", "psis", "ips", "post sup ilium spine", "post ilium spine", "ilium post sup", "sips", "eips"),
    ),
    Landmark(
        "sacrum", "sacrum (midway between the PSIS)", None, "pelvis",
        ("sacrum", "sacrum v", "s1", "s2", "mpsis", "med psis", "psis med"), sided=False,
    ),
    Landmark(
        "greater_trochanter", "greater trochanter", None, "femur_{s}",
        ("gt", "gtr", "troch", "trochanter", "greater trochanter", "gr troch", "great troch", "tro", "ftc"),
    ),
    Landmark(
        "lateral_femoral_epicondyle", "lateral femoral epicondyle", "{S}LFC", "femur_{s}",
        (
            "kne", "lfc", "fle", "lfe", "le", "kne lat", "lat kne", "lat epi", "lat femur epi",
            "femur lat epi", "kne lat epi", "lat epi femur", "lkne", "kne out",
        ),
    ),
    Landmark(
        "medial_femoral_epicondyle", "medial femoral epicondyle", "{S}MFC", "femur_{s}",
        (
            "mfc", "fme", "mfe", "me", "kne med", "med kne", "med epi", "med femur epi", "femur med epi",
            "kne med epi", "med epi femur", "mkne", "knem", "knm", "kne in",
        ),
    ),
    Landmark(
        "lateral_malleolus", "lateral malleolus", "{S}LMAL", "tibia_{s}",
        ("ank", "lmal", "fal", "lm", "lat mal", "mal lat", "ank lat", "lat ank", "lank", "ank out"),
    ),
    Landmark(
        "medial_malleolus", "medial malleolus", "{S}MMAL", "tibia_{s}",
        ("mmal", "tam", "mm", "med mal", "mal med", "ank med", "med ank", "mank", "ankm", "anm", "ank in"),
    ),
    Landmark(
        "heel", "posterior calcaneus (heel)", "{S}CAL", "calcn_{s}",
        ("heel", "fcc", "ca", "heel post", "post heel", "heel top", "heel back", "back heel"),
    ),
    Landmark(
        "first_metatarsal_head", "first metatarsal head", "{S}TOE", "calcn_{s}",
        ("fm1", "fmh", "mt 1", "1 mt", "mt 1 head", "1 mt head", "toe med", "med toe", "mt med"),
    ),
    Landmark(
        "second_metatarsal_head", "second metatarsal head (the Plug-in Gait toe marker)", "{S}TOE",
        "calcn_{s}", ("toe", "fm2", "smh", "mt 2", "2 mt", "mt 2 head", "2 mt head"), rank=1,
    ),
    Landmark(
        "fifth_metatarsal_head", "fifth metatarsal head", "{S}MT5", "calcn_{s}",
        ("fm5", "vmh", "mt 5", "5 mt", "mt 5 head", "5 mt head", "toe lat", "lat toe", "mt lat"),
    ),
    Landmark("toe_tip", "tip of the big toe", None, "toes_{s}", ("toe tip", "tip toe", "hallux", "toe end")),
    Landmark(
        "acromion", "acromion", "{S}ACR", "torso",
        ("acromion", "sho", "sae", "ac", "acj", "saj", "sho acromion", "acromion sho"),
    ),
    Landmark(
        "c7", "seventh cervical vertebra", "C7", "torso", ("c7", "cv7", "vc7", "c7 spinous"), sided=False
    ),
    Landmark(
        "jugular_notch", "jugular notch (clavicles)", "CLAV", "torso",
        ("clav", "ij", "snj", "sjn", "jugular", "jugular notch", "sternal notch", "incisura jugularis"),
        sided=False,
    ),
    Landmark(
        "lateral_humeral_epicondyle", "lateral humeral epicondyle", "{S}LEL", "humerus_{s}",
        ("elb", "lel", "lhe", "hle", "ele", "elb lat", "lat elb", "lat epi humerus", "humerus lat epi"),
    ),
    Landmark(
        "medial_humeral_epicondyle", "medial humeral epicondyle", "{S}MEL", "humerus_{s}",
        ("mel", "mhe", "hme", "elm", "elb med", "med elb", "med epi humerus", "humerus med epi"),
    ),
    Landmark(
        "radial_styloid", "radial styloid (wrist, thumb side)", "{S}FAradius", "radius_{s}",
        ("wra", "rs", "rsp", "wr lat", "lat wr", "radius sty", "radial sty", "wr radial", "radius"),
    ),
    Landmark(
        "ulnar_styloid", "ulnar styloid (wrist, little-finger side)", "{S}FAulna", "radius_{s}",
        ("wrb", "us", "usp", "uhe", "wr med", "med wr", "ulna sty", "ulnar sty", "wr ulnar", "ulna"),
    ),
    # landmarks the Rajagopal model has no marker on: tracking markers on their segment
    Landmark("fibular_head", "fibular head", None, "tibia_{s}", ("fax", "hf", "fib head", "fh")),
    Landmark("tibial_tuberosity", "tibial tuberosity", None, "tibia_{s}", ("ttc", "tt", "tib tub")),
    Landmark(
        "xiphoid", "xiphoid process", None, "torso", ("sxs", "xiph", "xp", "strn", "sternum"), sided=False
    ),
    Landmark("t8", "eighth thoracic vertebra", None, "torso", ("tv8", "t8"), sided=False),
    Landmark("t10", "tenth thoracic vertebra", None, "torso", ("tv10", "t10"), sided=False),
    Landmark("metacarpal_2", "second metacarpal head", None, "hand_{s}", ("hm2", "mcp2", "mc2")),
    Landmark("metacarpal_5", "fifth metacarpal head", None, "hand_{s}", ("hm5", "mcp5", "mc5")),
)  # fmt: skip

_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def words(name: str) -> list[str]:
    """Lower-case words of a marker name: lab prefix (``Subject1:``) dropped, cut at separators
    and lower-to-upper case changes (``KneeLat`` -> ``knee``, ``lat``)."""
    name = name.rsplit(":", 1)[-1]
    out = []
    for part in _SPLIT.split(name):
        out += [w.lower() for w in _CAMEL.split(part) if w]
    return out


def _canonical(ws: list[str]) -> tuple[str, ...]:
    return tuple(WORD_FORMS.get(w, w) for w in ws)


def _synonym_index() -> dict[tuple[str, ...] | str, Landmark]:
    index: dict[tuple[str, ...] | str, Landmark] = {}
    for lm in LANDMARKS:
        for syn in lm.synonyms:
            ws = _canonical(syn.split())
            index.setdefault(tuple(sorted(ws)), lm)
            index.setdefault("".join(ws), lm)
            index.setdefault("".join(syn.split()), lm)
    return index


_INDEX = _synonym_index()


def _match(ws: list[str]) -> Landmark | None:
    if not ws:
        return None
    can = _canonical(ws)
    return _INDEX.get(tuple(sorted(can))) or _INDEX.get("".join(can)) or _INDEX.get("".join(ws))


def recognise(name: str) -> tuple[Landmark, str | None] | None:
    """The landmark a marker name is on and its side (``"r"``/``"l"``; ``None`` on the midline).

    Returns ``None`` when the name is no known landmark (or a sided landmark without a side).
    """
    ws = words(name)
    if not ws:
        return None
    # most explicit first: a separate side word, the whole name (``SACR``, ``C7``), a glued prefix
    candidates: list[tuple[str | None, list[str]]] = []
    if ws[0] in SIDE_WORDS:
        candidates.append((SIDE_WORDS[ws[0]], ws[1:]))
    if ws[-1] in SIDE_WORDS:
        candidates.append((SIDE_WORDS[ws[-1]], ws[:-1]))
    candidates.append((None, ws))
    candidates.append((None, [w for w in ws if w not in _MIDLINE_WORDS]))
    for pre in _GLUED_SIDES:
        if ws[0].startswith(pre) and len(ws[0]) > len(pre):
            candidates.append((SIDE_WORDS[pre], [ws[0][len(pre) :], *ws[1:]]))
    for side, rest in candidates:
        lm = _match(rest)
        if lm is None:
            continue
        if lm.sided and side is not None:
            return lm, side
        if not lm.sided and side is None:
            return lm, None
    return None


def marker_name(lm: Landmark, side: str | None) -> str | None:
    """The Rajagopal-family model marker of a landmark on a side (``RLFC``), or None."""
    if lm.marker is None:
        return None
    return lm.marker.format(S=(side or "").upper())


def body_name(lm: Landmark, side: str | None) -> str:
    """The model body of a landmark on a side (``femur_r``)."""
    return lm.body.format(s=side or "")


def describe(name: str) -> str | None:
    """``"right lateral femoral epicondyle"`` for a recognised name, else None."""
    hit = recognise(name)
    if hit is None:
        return None
    lm, side = hit
    return ({"r": "right ", "l": "left "}.get(side or "", "")) + lm.description


def model_landmarks(model_markers: dict[str, str]) -> dict[tuple[str, str | None], str]:
    """The model's own markers by landmark: ``(key, side) -> model marker``.

    A model marker is taken for a landmark when its name is the landmark's declared marker
    or is recognised as that landmark (another model's names, e.g. ``R.Knee.Lat``) on the
    same side and body side. The declared marker wins over a recognised name.
    """
    out: dict[tuple[str, str | None], str] = {}
    for lm in LANDMARKS:
        for side in ("r", "l") if lm.sided else (None,):
            declared = marker_name(lm, side)
            if declared is not None and declared in model_markers and (lm.key, side) not in out:
                # a shared marker (RTOE: first or second metatarsal head) belongs to the lowest rank
                out[(lm.key, side)] = declared
    for m in model_markers:
        hit = recognise(m)
        if hit is not None:
            out.setdefault((hit[0].key, hit[1]), m)
    return out
