"""Unicode normalisation for *matching*, never for display.

Articles carry non-breaking spaces (around "11th" in the bundled one), curly
quotes, dashes and the odd zero-width character. Matching (BM25, term overlap,
key-fact checks, the grounding check) works on `normalise(text)`; citations
keep offsets into the original text, so nothing here has to preserve length.
"""

from __future__ import annotations

import re
import unicodedata

# Characters NFKC leaves alone but that should match their ASCII cousins.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
# Zero-width and bidi control characters carry no meaning for matching.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, fold quotes and dashes, drop invisible characters, squeeze spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text.translate(_FOLD))
    return _SPACE.sub(" ", text).strip()


def fold_case(text: str) -> str:
    """`normalise` plus case folding: the form key facts are compared in."""
    return normalise(text).casefold()
