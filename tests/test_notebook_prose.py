"""Numbers in a notebook's prose must be backed by that notebook's own outputs.

A student trusts a sentence such as "streams outnumber saves about 54 to 1" only if
the notebook printed something that says so. This test reads the committed
notebooks (``notebooks/*.ipynb``), takes every number written in a markdown cell
and looks for it among the numbers that the notebook's code cells printed or
displayed. A number is backed when some output, rounded to as many decimals as
the prose gives, equals it ("0.8 %" is backed by a printed 0.816).

What is not a claim about this run is left out by rule, not by list:

* formulas (``$...$``, ``$$...$$``), code spans and fenced code (names, paths,
  parameters such as ``K`` = 30 written as code), links and their targets, HTML tags;
* the numbers of headings ("## 7. The comparison") and of list items;
* chapter and notebook numbers ("chapter 02", "chapters 03–05", "notebook 05");
* numbers glued to letters or symbols ("NDCG@30", "n2", "x_u", "10⁵", "4/4", "ITU-R BS.1770").

Everything else that no output backs must be in :data:`WHITELIST` under its
notebook, with the reason it is allowed: a quotation of the lecture, a constant
of the course or of the world's design, a year, a hand example; a table quoted
from the lecture is named in :data:`QUOTED_TABLES`. Each list holds only what is
needed (a test checks it). Small integers are almost always printed somewhere,
so the test guards mostly against typed-in results (scores, counts, ratios); it
does not replace reading the prose against the outputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"

# notebook stem -> {number as written: why it needs no output}. Only numbers that the prose uses and
# that no output backs belong here (test_whitelist_is_minimal checks it).
WHITELIST: dict[str, dict[str, str]] = {
    "00_music_world": {
        "30": "the lecture's '30 songs' (the product's constant)",
    },
    "01_implicit_feedback": {
        "140": "the lecture's 140 million users",
        "2008": "Hu, Koren & Volinsky (2008), a citation",
        "200": "question 3's hand example: one track streamed 200 times",
        "30": "the lecture's 30 million songs",
    },
    "02_matrix_factorization": {
        "2008": "Hu, Koren & Volinsky (2008), a citation",
        "2011": "Takács, Pilászy & Tikk (2011), a citation",
    },
    "03_cultural_vectors": {
        "4,000": "question 2's hand example: a term in 4,000 documents",
    },
    "04_raw_audio": {
        "22,050": "the sample rate of the rendered audio, audio.SR (a constant of the course)",
        "0.58": "the network's receptive field, 25 frames of 23 ms (a constant of the design)",
    },
    "05_discover_weekly": {
        "300": "the candidate pool, CF's 300 best per listener (DiscoverWeekly(pool=300), a setting)",
        "140": "the lecture's 140 million users",
    },
    "06_scaling_out": {
        "140": "the lecture's 140 million users",
        "100,000": "the large world's 100,000 tracks, rounded (its printed 97,826 song vectors)",
        "80": "question 7's input: 80 plays per user",
    },
}

# Tables quoted from the lecture: notebook stem -> (first line of the table, source).
QUOTED_TABLES: dict[str, tuple[str, str]] = {
    "03_cultural_vectors": ("| rank | n2 term | score | np term | score | adj term | score |",
                            "the lecture's ABBA top-terms table (Brian Whitman, The Echo Nest)"),
}

_STRIP = [
    re.compile(r"```.*?```", re.S),                 # fenced code
    re.compile(r"\$\$.*?\$\$", re.S),               # display math
    re.compile(r"\$[^$\n]+\$"),                     # inline math
    re.compile(r"`[^`\n]+`"),                       # code spans
    re.compile(r"!?\[([^\]]*)\]\([^)]*\)"),         # links and images: keep nothing of the target
    re.compile(r"<[^>\n]+>"),                       # HTML tags
    re.compile(r"https?://\S+"),                    # bare URLs
    re.compile(r"^\s*#+\s*\d+(\.\d+)*\.?", re.M),   # heading numbers
    re.compile(r"^\s*\d+\.\s", re.M),               # numbered list items
    re.compile(r"\b(?:chapters?|notebooks?)\s+\d\d(?:\s*(?:[–-]|and|,|or)\s*\d\d)*", re.I),
    re.compile(r"\b\d\d_[a-z_]+(?:\.ipynb)?"),      # notebook file names
]
# A number: digits with optional thousands separators and decimals, not glued to a word or symbol.
_NUMBER = re.compile(r"(?<![\w.@/^_\\-])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w/@]|\.\d)")
_OUTPUT_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:e[+-]?\d+)?", re.I)


def prose_numbers(markdown: str) -> list[str]:
    """The numbers written in a markdown cell, as written (``"8,823"``, ``"0.142"``)."""
    text = markdown
    for pattern in _STRIP:
        text = pattern.sub(lambda m: " " + (m.group(1) or "" if m.groups() else "") + " ", text)
    return [m.group(0) for m in _NUMBER.finditer(text)]


def output_numbers(cells) -> list[float]:
    """Every number in the text of the code cells' outputs (streams, text/plain, text/html)."""
    found = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for out in cell.get("outputs", []):
            texts = [out.get("text", "")]
            data = out.get("data", {})
            texts += [data.get("text/plain", ""), data.get("text/html", ""), data.get("text/markdown", "")]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else text
                found += [float(m.group(0).replace(",", "")) for m in _OUTPUT_NUMBER.finditer(text)]
    return found


def is_backed(number: str, outputs) -> bool:
    """True if some output, rounded to the number's decimals, equals it."""
    value = float(number.replace(",", ""))
    decimals = len(number.split(".")[1]) if "." in number else 0
    return any(round(abs(y), decimals) == value for y in outputs)


def without_quoted_table(text: str, header: str | None) -> str:
    """``text`` without the markdown table that starts with the line ``header``."""
    if not header or header not in text:
        return text
    lines = text.split("\n")
    start = next(k for k, line in enumerate(lines) if line.startswith(header))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[:start] + lines[end:])


def markdown_cells(notebook: Path):
    """(index, text) of the notebook's markdown cells, quoted lecture tables removed; and its cells."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    header = QUOTED_TABLES.get(notebook.stem, (None, ""))[0]
    cells = [(k, without_quoted_table("".join(c["source"]), header))
             for k, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]
    return cells, nb["cells"]


def unbacked_numbers(notebook: Path) -> list[tuple[int, str, str]]:
    """(cell index, number, context) for every prose number that nothing backs or excuses."""
    cells, all_cells = markdown_cells(notebook)
    outputs = output_numbers(all_cells)
    allowed = WHITELIST.get(notebook.stem, {})
    missing = []
    for k, text in cells:
        for number in prose_numbers(text):
            if number in allowed or is_backed(number, outputs):
                continue
            at = text.find(number)
            missing.append((k, number, " ".join(text[max(0, at - 50): at + 40].split())))
    return missing


NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_every_notebook_has_a_whitelist_entry():
    assert {nb.stem for nb in NOTEBOOKS} <= set(WHITELIST), "add the new notebook to WHITELIST (even if empty)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_numbers_are_backed_by_outputs(notebook):
    missing = unbacked_numbers(notebook)
    assert not missing, (
        f"{notebook.name}: numbers in the prose that no output of the notebook prints "
        "(print them from a cell, say the point without the number, or whitelist a constant with a reason):\n"
        + "\n".join(f"  cell {k}: {number!r} in '…{context}…'" for k, number, context in missing)
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_whitelist_is_minimal(notebook):
    """A whitelisted number is still written in the prose: the list stays short.

    (Whether some output happens to print it too is not checked: a re-execution that
    prints the number by coincidence must not fail the notebook.)"""
    cells, _ = markdown_cells(notebook)
    written = {n for _, text in cells for n in prose_numbers(text)}
    stale = sorted(n for n in WHITELIST.get(notebook.stem, {}) if n not in written)
    assert not stale, f"{notebook.name}: whitelisted numbers no longer written in the prose: {stale}"


# --- the checker itself, on hand-made cells --------------------------------------------------------------
def test_prose_numbers_skips_formulas_code_links_headings_and_chapters():
    md = ("## 7. The comparison\n1. Streams outnumber saves 54 to 1 in chapter 02, see `K = 30` and "
          "$x_u$, $$c = 1 + 5 r$$ [badge](https://x.org/v2/05.ipynb) NDCG@30 of 0.142 and 8,823 pairs, 10⁵ plays, 4/4.")
    assert prose_numbers(md) == ["54", "1", "0.142", "8,823"]


def test_is_backed_rounds_to_the_prose_precision():
    assert is_backed("0.8", [0.816]) and is_backed("8,823", [8823.0]) and is_backed("54", [54.4])
    assert not is_backed("0.14", [0.1488]) and not is_backed("20", [54.5, 27.1])
