"""Real scores: the notes and the stated attributes of a written composition (music21's corpus).

One job: read a score that people wrote, so that the attribute estimators of
:mod:`coursekit.audio` can be checked on real music. :func:`notes_from_score`
lists its notes in seconds at a steady tempo (to be played by
:func:`coursekit.synth.render_notes`) and :func:`score_attributes` gives the
key, mode and metre the score states: the answers. Neither imports music21;
they work on any music21 score object.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["notes_from_score", "score_attributes"]


def notes_from_score(score, *, bpm: float, max_seconds: float | None = None) -> pd.DataFrame:
    """The notes of a written score, in seconds at a steady tempo.

    Works on any music21 score (``music21.corpus.parse(...)``) without
    importing music21: each part's notes and chords are read with their
    offsets and lengths in quarter notes; ties are kept as written (a tied
    note sounds twice) and fermatas are ignored, as a plain sequencer plays.

    Parameters
    ----------
    score : music21.stream.Score
        The score.
    bpm : float
        Quarter notes per minute.
    max_seconds : float or None, optional
        Keep only the notes that start before this time, seconds.

    Returns
    -------
    pandas.DataFrame
        ``voice`` (part number, str), ``onset`` and ``length`` (s), ``midi``
        (note number) and ``velocity`` (0.7 for every note: no accents are
        added, so the metre must be heard from the composition itself).
    """
    if not 20.0 <= float(bpm) <= 400.0:
        raise ValueError(f"bpm must be 20..400 quarter notes per minute, got {bpm!r}")
    seconds = 60.0 / float(bpm)
    rows = []
    for k, part in enumerate(getattr(score, "parts", [score])):
        for n in part.flatten().notes:
            onset, length = float(n.offset) * seconds, float(n.quarterLength) * seconds
            if length <= 0 or (max_seconds is not None and onset >= max_seconds):
                continue
            for j, pitch in enumerate(n.pitches):  # a chord plays as several lines
                rows.append((f"{k}.{j}", onset, length, int(pitch.midi), 0.7))
    return pd.DataFrame(rows, columns=["voice", "onset", "length", "midi", "velocity"])


def score_attributes(score) -> dict:
    """Key, mode and metre as a written score states them: the answers for the estimators.

    Read from a music21 score without importing music21. The metre comes
    from the time signature (one for the whole piece, else unknown):
    ``duple`` for 2 or 4 beats a bar (2/4, 4/4, 2/2, 6/8, 12/8), ``triple``
    for 3 (3/4, 3/2, 9/8); the beat divides in 2 (simple) or 3 (compound).
    The key comes from the key signature, and is kept only where the piece
    confirms it: its lowest last note must be the tonic of the signature's
    major or relative minor key (a chorale ending on the dominant, or a
    modal tune, is left unknown rather than guessed).

    Parameters
    ----------
    score : music21.stream.Score
        The score.

    Returns
    -------
    dict
        ``key`` (0 = C, -1 unknown), ``mode`` (1 major, 0 minor, -1),
        ``time_signature`` (e.g. ``"6/8"``, ``""``), ``metre``
        (``"duple"``, ``"triple"`` or ``""``), ``beat_division`` (2, 3 or
        -1) and ``beat_quarters`` (quarter notes per beat, NaN when unknown).
    """
    out = dict(key=-1, mode=-1, time_signature="", metre="", beat_division=-1, beat_quarters=float("nan"))
    signatures = {t.ratioString: t for t in score.recurse().getElementsByClass("TimeSignature")}
    if len(signatures) == 1:
        ts = next(iter(signatures.values()))
        metre = {2: "duple", 4: "duple", 3: "triple"}.get(int(ts.beatCount), "")
        if metre:
            out.update(time_signature=ts.ratioString, metre=metre, beat_division=int(ts.beatDivisionCount),
                       beat_quarters=float(ts.beatDuration.quarterLength))
    keys = list(score.recurse().getElementsByClass("KeySignature"))
    notes = list(score.flatten().notes)
    if keys and notes and len({k.sharps for k in keys}) == 1:
        end = max(float(n.offset) for n in notes)
        last = min((p.midi for n in notes if float(n.offset) == end for p in n.pitches))
        major_tonic = (7 * keys[0].sharps) % 12  # C plus a fifth per sharp
        stated = getattr(keys[0], "mode", None)
        for tonic, mode, name in ((major_tonic, 1, "major"), ((major_tonic + 9) % 12, 0, "minor")):
            if last % 12 == tonic and stated in (None, name):
                out.update(key=tonic, mode=mode)
    return out
