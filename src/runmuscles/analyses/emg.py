"""EMG beside the model's activations: envelopes, normalisation, and their comparison.

Steps, each with its setting declared here:

1. **Read** the channels (:func:`runmuscles.readers.emg.read_emg`; the time rule is there)
   and **map** them to model muscles (:mod:`runmuscles.analyses.emg_channels`).
2. **Raw or envelope** (:func:`detect_kind`, unless the user says): raw surface EMG has both
   signs about its mean and most of its power above 20 Hz (its spectrum lies at about
   20-250 Hz, De Luca 1997); an envelope is non-negative and smooth (almost no power above
   20 Hz).
3. **Raw -> envelope** (:func:`emg_envelope`): band-pass :data:`BAND_PASS_HZ` (the 20 Hz
   high-pass corner of De Luca et al. 2010, which removes movement artefact with little
   loss of EMG; the upper corner below half the 1000 Hz SENIAM sampling rate, Hermens et al.
   2000), full-wave rectification, and a :data:`ENVELOPE_LOWPASS_HZ` low-pass (the linear
   envelope of gait EMG, Winter 2009), all Butterworth filters of order
   :data:`FILTER_ORDER` run forwards and backwards (no phase lag: the timing is what is
   compared).
4. **Normalise** each envelope (:data:`NORMALISATIONS`): by default to the mean of its
   per-stride peaks over the compared strides (one spike in one stride then does not set
   the scale), or to its peak over the whole recording. Pearson's r does not depend on it;
   the plots and amplitudes do.
5. **Compare** (:func:`compare_emg`): per stride of the channel's own side (foot strike to
   foot strike of that foot), both the envelope and the mapped muscles' mean activation
   are time-normalised to 0-100 % (101 points) and averaged over the strides. The envelope
   is shifted later by the electromechanical delay :data:`ELECTROMECHANICAL_DELAY_S`: the
   model's activation here has no activation dynamics (static optimisation makes force
   proportional to activation at each instant), so it corresponds to force, which follows
   the EMG by that delay. Then Pearson's r between the two mean curves, and onsets and
   offsets by :func:`main_burst`.

Sources: Hermens HJ, Freriks B, Disselhorst-Klug C, Rau G (2000) J Electromyogr Kinesiol
10:361-374 (SENIAM); De Luca CJ (1997) The use of surface electromyography in
biomechanics. J Appl Biomech 13:135-163; De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH
(2010) Filtering the surface EMG signal: movement artifact and baseline noise
contamination. J Biomech 43:1573-1579; Winter DA (2009) Biomechanics and Motor Control of
Human Movement, 4th ed., Wiley; Cavanagh PR, Komi PV (1979) Electromechanical delay in
human skeletal muscle under concentric and eccentric contractions. Eur J Appl Physiol
42:159-163; Hodges PW, Bui BH (1996) A comparison of computer-based methods for the
determination of onset of muscle contraction using electromyography. Electroencephalogr
Clin Neurophysiol 101:511-519.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..tables import TimeTable
from ..validation import MAX_GAP_S, check
from .emg_channels import ChannelMapping, map_channels, read_emg_map

__all__ = [
    "BAND_PASS_HZ",
    "ELECTROMECHANICAL_DELAY_S",
    "ENVELOPE_LOWPASS_HZ",
    "NORMALISATIONS",
    "ONSET_THRESHOLD_FRACTION",
    "EmgOptions",
    "EmgRecording",
    "compare_emg",
    "detect_kind",
    "emg_envelope",
    "main_burst",
    "prepare_emg",
]

#: Band-pass of raw EMG (Hz): the 20 Hz high-pass corner recommended by De Luca et al.
#: (2010, J Biomech 43:1573-1579); 450 Hz keeps the EMG spectrum (De Luca 1997) below
#: the Nyquist frequency of 1000 Hz sampling (SENIAM, Hermens et al. 2000).
BAND_PASS_HZ = (20.0, 450.0)
#: Low-pass of the rectified signal (Hz): the linear envelope of gait EMG (Winter 2009, ch. 10).
ENVELOPE_LOWPASS_HZ = 6.0
#: Butterworth order of each filter pass (2nd order as De Luca et al. 2010); run forwards and
#: backwards (zero phase).
FILTER_ORDER = 2
#: Electromechanical delay (s): Cavanagh & Komi (1979) measured 49.5 ms (eccentric),
#: 53.9 ms (isometric) and 55.5 ms (concentric) in elbow flexors and cite 30-100 ms from
#: earlier studies; 50 ms rounds their values. The EMG is compared 50 ms later.
ELECTROMECHANICAL_DELAY_S = 0.05
#: Onset threshold: a burst is where a mean curve exceeds its minimum plus this fraction of
#: its range (peak - minimum), on both the EMG and the activation. A relative threshold is
#: needed because a model's activation has no resting baseline for the rest-based rules
#: (Hodges & Bui 1996 compare those on EMG); 25 % sits above envelope noise and below the
#: bursts' plateaus.
ONSET_THRESHOLD_FRACTION = 0.25
#: Power fraction above 20 Hz (of the signal about its mean) above which a channel is raw or
#: rectified EMG (an envelope low-passed at 6 Hz has almost none; raw EMG nearly all).
RAW_HF_FRACTION = 0.3
#: :func:`_symmetry` above which a high-frequency signal is raw (both signs), below rectified.
SYMMETRY_RAW = 0.3
#: Normalisations of an envelope, by name.
NORMALISATIONS = {
    "stride_peaks": "the mean of its per-stride peaks over the compared strides",
    "trial_peak": "its peak over the whole recording",
}
#: Points of the time-normalised gait cycle (0-100 %, as :func:`runmuscles.analyses.stride.time_normalize`).
N_POINTS = 101


@dataclass
class EmgOptions:
    """How to read and compare an EMG recording (all recorded in ``summary.json``'s ``emg``).

    Attributes
    ----------
    path
        The EMG file (``.c3d``, ``.csv``, ``.sto``/``.mot``).
    map_path
        Optional map file (lines ``channel, muscle``; see
        :func:`runmuscles.analyses.emg_channels.read_emg_map`).
    rate_hz
        Sample rate as the user knows it (checked against the file's time column).
    kind
        ``auto`` (detected), ``raw``, ``rectified`` (low-pass only) or ``envelope``.
    default_side
        Side of channels whose names do not say it (``None``: the analysis' reference side).
    delay_s
        Electromechanical delay: the EMG is compared this much later.
    normalisation
        One of :data:`NORMALISATIONS`.
    ignore
        Channels to leave out.
    """

    path: Path
    map_path: Path | None = None
    rate_hz: float | None = None
    kind: str = "auto"
    default_side: str | None = None
    delay_s: float = ELECTROMECHANICAL_DELAY_S
    normalisation: str = "stride_peaks"
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.map_path = Path(self.map_path) if self.map_path is not None else None
        check("emg_rate_hz", self.rate_hz, "--emg-rate")
        check("emg_delay_s", self.delay_s, "emg delay")
        if self.kind not in ("auto", "raw", "rectified", "envelope"):
            raise InputError("--emg-kind", f"'{self.kind}' is not one of auto, raw, rectified, envelope")
        if self.default_side not in (None, "right", "left"):
            raise InputError("--emg-side", f"'{self.default_side}' is not one of right, left")
        if self.normalisation not in NORMALISATIONS:
            raise InputError(
                "emg normalisation", f"'{self.normalisation}' is not one of {', '.join(NORMALISATIONS)}"
            )


@dataclass
class EmgRecording:
    """EMG channels ready to compare: envelopes (file units) and their muscles."""

    options: EmgOptions
    envelopes: TimeTable
    mappings: list[ChannelMapping]
    ignored: list[str]
    kind: str
    kind_basis: str
    processing: str
    notes: list[str] = field(default_factory=list)


def _fill_gaps(table: TimeTable) -> tuple[np.ndarray, list[str]]:
    """Linear interpolation over NaN runs up to :data:`MAX_GAP_S`; longer gaps are refused."""
    data = np.array(table.data, dtype=float)
    t = table.time_s
    notes = []
    for j, name in enumerate(table.labels):
        bad = ~np.isfinite(data[:, j])
        if not bad.any():
            continue
        if bad.all():
            raise InputError(table.source, f"EMG channel '{name}' has no values")
        edges = np.diff(np.r_[0, bad.astype(int), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        longest = max((t[min(e, t.size - 1)] - t[max(s - 1, 0)]) for s, e in zip(starts, ends, strict=True))
        if longest > MAX_GAP_S:
            raise InputError(
                table.source,
                f"EMG channel '{name}' has a gap of {longest:.3g} s, longer than {MAX_GAP_S:g} s: cut the "
                "recording or leave the channel out",
            )
        data[bad, j] = np.interp(t[bad], t[~bad], data[~bad, j])
        notes.append(f"EMG channel '{name}': {int(bad.sum())} missing samples interpolated")
    return data, notes


def _hf_fraction(x: np.ndarray, rate_hz: float) -> float:
    """Fraction of the power (about the mean) above 20 Hz."""
    from scipy.signal import welch  # noqa: PLC0415

    if rate_hz <= 2 * BAND_PASS_HZ[0]:
        return 0.0
    f, p = welch(x - np.mean(x), fs=rate_hz, nperseg=min(x.size, int(rate_hz)))
    total = float(p.sum())
    return float(p[f > BAND_PASS_HZ[0]].sum() / total) if total > 0 else 0.0


def _symmetry(x: np.ndarray) -> float:
    """Where the median lies between the 1st and 99th percentiles (0..1).

    About 0.5 for a signal with both signs about its baseline (raw EMG, even with a DC offset);
    near 0 for a rectified one, whose baseline is its floor (measured on the shared Rajagopal
    runner's 16 raw channels: 0.46-0.57 raw, 0.01-0.08 rectified).
    """
    q01, q50, q99 = np.quantile(x, [0.01, 0.5, 0.99])
    return float((q50 - q01) / (q99 - q01)) if q99 > q01 else 0.0


def detect_kind(data: np.ndarray, rate_hz: float, labels: list[str], where: str | Path) -> tuple[str, str]:
    """``('raw' | 'rectified' | 'envelope', why)`` for a recording (all channels of one kind).

    Raw: most power above 20 Hz and both signs about its baseline (:func:`_symmetry` above
    :data:`SYMMETRY_RAW`); rectified: most power above 20 Hz, non-negative, its baseline its
    floor; envelope: smooth (little power above 20 Hz) and non-negative.
    """
    n = data.shape[1]
    hf = np.array([_hf_fraction(data[:, j], rate_hz) for j in range(n)])
    sym = np.array([_symmetry(data[:, j]) for j in range(n)])
    span = np.abs(data).max(axis=0)
    neg = np.array([(-data[:, j].min()) / span[j] if span[j] > 0 else 0.0 for j in range(n)])
    busy = hf > RAW_HF_FRACTION
    kinds = np.where(
        busy & (sym > SYMMETRY_RAW),
        "raw",
        np.where(busy & (neg <= 0.05), "rectified", np.where(~busy & (neg <= 0.05), "envelope", "")),
    )
    found = set(kinds.tolist())
    if len(found) == 1 and "" not in found:
        kind = kinds[0]
        what = {
            "raw": f"{100 * float(np.median(hf)):.0f} % of the power above {BAND_PASS_HZ[0]:g} Hz and both "
            "signs about the baseline",
            "rectified": f"{100 * float(np.median(hf)):.0f} % of the power above {BAND_PASS_HZ[0]:g} Hz, "
            "non-negative from its baseline",
            "envelope": f"non-negative and smooth ({100 * float(np.max(hf)):.1f} % of the power above "
            f"{BAND_PASS_HZ[0]:g} Hz at most)",
        }[kind]
        return str(kind), f"detected {kind}: {what} (median over channels)"
    odd = [lab for lab, k in zip(labels, kinds, strict=True) if not k]
    why = (
        f"channel(s) {', '.join(odd)} are neither raw EMG nor envelopes (smooth but negative)"
        if odd
        else "channels are of mixed kinds ("
        + "; ".join(
            f"{k}: {', '.join(lab for lab, x in zip(labels, kinds, strict=True) if x == k)}"
            for k in sorted(found)
        )
        + ")"
    )
    raise InputError(where, f"{why}: say which with --emg-kind raw|rectified|envelope")


def emg_envelope(data: np.ndarray, rate_hz: float, *, rectified: bool = False) -> tuple[np.ndarray, str]:
    """Linear envelope of raw EMG (channels in columns): band-pass, rectify, low-pass.

    ``rectified``: the signal is already band-passed and rectified; only the low-pass is
    applied. Returns the envelopes and a one-line description of the processing.
    """
    from scipy.signal import butter, sosfiltfilt  # noqa: PLC0415

    if rectified:
        low = butter(FILTER_ORDER, ENVELOPE_LOWPASS_HZ, btype="lowpass", fs=rate_hz, output="sos")
        env = sosfiltfilt(low, data, axis=0)
        desc = (
            f"rectified EMG low-passed at {ENVELOPE_LOWPASS_HZ:g} Hz (Butterworth order {FILTER_ORDER}, "
            "zero phase; Winter 2009)"
        )
        return np.maximum(env, 0.0), desc

    nyq = rate_hz / 2.0
    lo, hi = BAND_PASS_HZ
    if nyq <= 2 * lo:
        raise InputError(
            "EMG", f"raw EMG sampled at {rate_hz:g} Hz cannot be band-passed from {lo:g} Hz (SENIAM: 1000 Hz)"
        )
    hi_used = hi if hi < 0.95 * nyq else 0.9 * nyq  # a corner at the Nyquist frequency is no filter
    band = butter(FILTER_ORDER, [lo, hi_used], btype="bandpass", fs=rate_hz, output="sos")
    low = butter(FILTER_ORDER, ENVELOPE_LOWPASS_HZ, btype="lowpass", fs=rate_hz, output="sos")
    x = data - data.mean(axis=0)
    env = sosfiltfilt(low, np.abs(sosfiltfilt(band, x, axis=0)), axis=0)
    desc = (
        f"band-pass {lo:g}-{hi_used:g} Hz, full-wave rectification, low-pass {ENVELOPE_LOWPASS_HZ:g} Hz "
        f"(Butterworth order {FILTER_ORDER}, zero phase; De Luca et al. 2010, SENIAM, Winter 2009)"
    )
    if hi_used < hi:
        desc += f"; upper corner lowered from {hi:g} Hz to 0.9 x Nyquist"
    return np.maximum(env, 0.0), desc


def prepare_emg(options: EmgOptions, muscle_names: list[str], *, default_side: str = "right") -> EmgRecording:
    """Read, map and (for raw EMG) envelope a recording; refuses unmatched channels early."""
    from ..readers.emg import read_emg  # noqa: PLC0415

    mapping = read_emg_map(options.map_path) if options.map_path is not None else None
    table = read_emg(options.path, rate_hz=options.rate_hz, analog_channels=list(mapping or {}))
    if mapping:
        unknown = [c for c in mapping if c not in table.labels]
        if unknown:
            raise InputError(options.map_path, f"maps channel(s) the EMG file lacks: {', '.join(unknown)}")
    maps, ignored = map_channels(
        list(table.labels),
        muscle_names,
        default_side=options.default_side or default_side,
        mapping=mapping,
        ignore=options.ignore,
        where=options.path,
    )
    keep = [m.channel for m in maps]
    sub = table.select(keep)
    data, notes = _fill_gaps(sub)
    rate = float(table.meta["rate_hz"])
    if options.kind == "auto":
        kind, basis = detect_kind(data, rate, keep, options.path)
    else:
        kind, basis = options.kind, "as given (--emg-kind)"
    if kind in ("raw", "rectified"):
        env, processing = emg_envelope(data, rate, rectified=kind == "rectified")
    else:
        env, processing = data, "used as given (envelopes)"
    envelopes = TimeTable(sub.time_s, env, keep, None, dict(table.meta))
    return EmgRecording(options, envelopes, maps, ignored, kind, basis, processing, notes)


def main_burst(curve: np.ndarray, fraction: float = ONSET_THRESHOLD_FRACTION) -> tuple[float, float] | None:
    """Onset and offset (% of the cycle) of a cyclic mean curve's main burst.

    Above threshold = above ``min + fraction x (max - min)``. The cycle wraps (100 % is
    0 %), so a burst across foot strike is one burst; the main burst is the one with the
    largest area above the threshold. ``None`` for a flat curve or one above threshold
    throughout.
    """
    y = np.asarray(curve, float)[:-1]  # 0..99 %: the 100 % point repeats 0 %
    n = y.size
    lo, hi = float(y.min()), float(y.max())
    if not hi - lo > 1e-9 * max(abs(hi), 1.0):
        return None
    thr = lo + fraction * (hi - lo)
    on = y > thr
    if on.all():
        return None
    # rotate so that index 0 is below threshold: bursts never wrap in the rotated order
    k0 = int(np.argmin(on))
    r_on, r_y = np.roll(on, -k0), np.roll(y, -k0)
    edges = np.diff(np.r_[0, r_on.astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    areas = [float(np.sum(r_y[s:e] - thr)) for s, e in zip(starts, ends, strict=True)]
    b = int(np.argmax(areas))
    step = 100.0 / n
    onset = ((starts[b] + k0) % n) * step
    offset = ((ends[b] + k0) % n) * step
    return float(onset), float(offset)


def _wrap_pct(d: float) -> float:
    """A difference of cycle percentages folded into -50..50 %."""
    return float((d + 50.0) % 100.0 - 50.0)


def _channel_curves(rec: EmgRecording, j: int, act: np.ndarray, time_s: np.ndarray, cycles) -> tuple:
    env_t = rec.envelopes.time_s
    env = rec.envelopes.data[:, j]
    delay = rec.options.delay_s
    pct = np.linspace(0.0, 100.0, N_POINTS)
    e_curves, a_curves = [], []
    for c in cycles:
        tq = c.start_s + (c.end_s - c.start_s) * pct / 100.0
        e_curves.append(np.interp(tq - delay, env_t, env))
        a_curves.append(np.interp(tq, time_s, act))
    return pct, np.array(e_curves), np.array(a_curves)


def compare_emg(
    rec: EmgRecording, time_s: np.ndarray, activation: np.ndarray, muscle_names: list[str], events
) -> dict:
    """The ``emg`` block of ``summary.json``: per channel, r and onset/offset differences.

    Parameters
    ----------
    rec
        The prepared recording (:func:`prepare_emg`).
    time_s, activation, muscle_names
        The analysis' frame times, ``(F, M)`` activations and muscle order.
    events
        Gait events (:class:`runmuscles.kinematics.events.GaitEvents`): each channel is
        compared over the complete strides of its own side inside the analysed frames and
        the (delayed) EMG.
    """
    opts = rec.options
    env_t = rec.envelopes.time_s
    lo_t = max(float(time_s[0]), float(env_t[0]) + opts.delay_s)
    hi_t = min(float(time_s[-1]), float(env_t[-1]) + opts.delay_s)
    # a stride whose strikes (at the force rate) lie within one frame of the analysed frames
    tol = 1.01 * float(np.max(np.diff(time_s))) if time_s.size > 1 else 1e-6
    channels = []
    for j, m in enumerate(rec.mappings):
        cycles = [
            c for c in events.cycles.get(m.side, []) if c.start_s >= lo_t - tol and c.end_s <= hi_t + tol
        ]
        idx = [muscle_names.index(x) for x in m.muscles]
        entry: dict = {
            "channel": m.channel,
            "muscles": m.muscles,
            "side": m.side,
            "role": m.role,
            "mapped_by": m.how,
            "n_strides": len(cycles),
            "strides_s": [[c.start_s, c.end_s] for c in cycles],
        }
        if not cycles:
            entry.update(r=None, note=f"no complete {m.side} stride in both the analysis and the EMG")
            channels.append(entry)
            continue
        act = activation[:, idx].mean(axis=1)
        pct, e_cur, a_cur = _channel_curves(rec, j, act, time_s, cycles)
        if opts.normalisation == "stride_peaks":
            scale = float(np.mean(e_cur.max(axis=1)))
        else:
            scale = float(rec.envelopes.data[:, j].max())
        e_mean = e_cur.mean(axis=0) / scale if scale > 0 else e_cur.mean(axis=0)
        a_mean = a_cur.mean(axis=0)
        r = float(np.corrcoef(e_mean, a_mean)[0, 1]) if e_mean.std() > 0 and a_mean.std() > 0 else None
        be, ba = main_burst(e_mean), main_burst(a_mean)
        stride_s = float(np.mean([c.end_s - c.start_s for c in cycles]))
        entry.update(
            r=r,
            emg_onset_pct=be[0] if be else None,
            emg_offset_pct=be[1] if be else None,
            activation_onset_pct=ba[0] if ba else None,
            activation_offset_pct=ba[1] if ba else None,
            onset_difference_pct=_wrap_pct(ba[0] - be[0]) if be and ba else None,
            offset_difference_pct=_wrap_pct(ba[1] - be[1]) if be and ba else None,
            stride_time_s=stride_s,
            emg_normalised_by=scale,
            emg_curve=[round(float(v), 5) for v in e_mean],
            activation_curve=[round(float(v), 5) for v in a_mean],
        )
        for k in ("onset", "offset"):
            d = entry[f"{k}_difference_pct"]
            entry[f"{k}_difference_s"] = d * stride_s / 100.0 if d is not None else None
        channels.append(entry)
    rs = [c["r"] for c in channels if c.get("r") is not None]
    return {
        "source": str(opts.path),
        "map_file": str(opts.map_path) if opts.map_path else None,
        "rate_hz": float(rec.envelopes.meta.get("rate_hz", 0.0)),
        "rate_source": rec.envelopes.meta.get("rate_source", ""),
        "kind": rec.kind,
        "kind_basis": rec.kind_basis,
        "processing": rec.processing,
        "normalisation": f"{opts.normalisation}: each envelope divided by "
        + NORMALISATIONS[opts.normalisation],
        "delay_s": opts.delay_s,
        "delay_basis": "EMG compared this much later: electromechanical delay (Cavanagh & Komi 1979, "
        "Eur J Appl Physiol 42:159-163: 50-56 ms); the model's activation has no activation dynamics",
        "comparison": "per stride of the channel's side, 0-100 % of the cycle, mean over strides; Pearson "
        "r of the mean curves; activation of several mapped muscles is their mean",
        "onset_rule": f"main burst above min + {ONSET_THRESHOLD_FRACTION:g} x (peak - min) of each mean "
        "curve; differences are activation minus EMG (% of the cycle, and s)",
        "ignored_channels": rec.ignored,
        "notes": rec.notes,
        "median_r": float(np.median(rs)) if rs else None,
        "channels": channels,
    }
