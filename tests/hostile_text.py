"""Hypothesis strategies for hostile questions, shared by the fuzz tests.

`questions()` mixes plain text with what breaks text handling: empty and
whitespace-only input, control characters, lone surrogates (what Python makes
of undecodable bytes in argv), right-to-left overrides, zero-width characters,
emoji (with joiners and skin tones), combining marks, characters that NFKC
expands many-fold, mixed scripts, and huge inputs. `OUTCOMES` are the only
two results a question may have: an `Answer` or a documented `QuestionError`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# CI runs the same examples every time (a failure there reproduces locally with
# CI=1); local runs explore new ones.
IN_CI = bool(os.environ.get("CI"))


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=IN_CI,
        deadline=None,  # the first example builds an index
        database=None if IN_CI else settings.default.database,
        # The autouse data-folder fixture is shared by a test's examples on
        # purpose: they all use one index.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


WHITESPACE = " \t\n\r\x0b\x0c\u00a0\u1680\u2000\u2003\u2028\u2029\u3000"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
# Characters NFKC turns into many: one of these can become 18 letters.
EXPANDING = "\ufdfa\ufdfb\u3300\u33ff\u2474\u00bd\ufb03"
PLAIN_QUESTIONS = (
    "Where was the summit held?",
    "Who chaired the summit?",
    "Which country did not attend?",
    "And who chairs the next one?",
    "What did Belarus say about Oreshnik?",
    "When is the next summit?",
)

control = st.characters(categories=["Cc"])
surrogate = st.characters(categories=["Cs"])
emoji = st.one_of(
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.sampled_from(
        [
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            "\U0001f44d\U0001f3fd",
            "\U0001f1f0\U0001f1ec",
            "\u2764\ufe0f",
            "#\ufe0f\u20e3",
        ]
    ),
)
scripts = st.one_of(
    st.characters(min_codepoint=0x0400, max_codepoint=0x04FF),  # Cyrillic
    st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),  # Arabic
    st.characters(min_codepoint=0x05D0, max_codepoint=0x05EA),  # Hebrew
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.characters(min_codepoint=0x0900, max_codepoint=0x097F),  # Devanagari
    st.characters(min_codepoint=0x0E00, max_codepoint=0x0E7F),  # Thai
    st.characters(min_codepoint=0x0370, max_codepoint=0x03FF),  # Greek
)
combining = st.characters(categories=["Mn", "Me"])
any_char = st.characters(codec=None, exclude_categories=[])  # everything, surrogates too

piece = st.one_of(
    st.sampled_from(PLAIN_QUESTIONS),
    st.text(min_size=1, max_size=30),
    st.text(st.sampled_from(WHITESPACE), min_size=1, max_size=5),
    st.text(control, min_size=1, max_size=5),
    st.text(surrogate, min_size=1, max_size=3),
    st.text(st.sampled_from(BIDI), min_size=1, max_size=4),
    st.text(st.sampled_from(ZERO_WIDTH), min_size=1, max_size=4),
    st.lists(emoji, min_size=1, max_size=6).map("".join),
    st.text(scripts, min_size=1, max_size=20),
    st.text(combining, min_size=1, max_size=30),
    st.text(st.sampled_from(EXPANDING), min_size=1, max_size=10),
    st.text(any_char, min_size=1, max_size=20),
    st.sampled_from(
        [
            "<|endoftext|>",
            "<script>alert(1)</script>",
            "[1]",
            "%s%n{0}",
            "\\",
            "'\"",
            "</passages>",
            "```",
            "-h",
            "--json",
            "-",
            "?" * 3,
        ]
    ),
)


def huge() -> st.SearchStrategy[str]:
    """Long to far over the question limit: a piece repeated to 300 chars .. 1 MB."""
    return st.builds(lambda p, n: (p * (n // len(p) + 1))[:n], piece, st.integers(300, 1_000_000))


def questions() -> st.SearchStrategy[str]:
    """Everything above, alone or mixed, plus empty and huge inputs."""
    return st.one_of(
        st.just(""),
        st.lists(piece, min_size=1, max_size=8).map("".join),
        st.lists(piece, min_size=1, max_size=3).map(" ".join),
        st.text(),  # hypothesis's own plain text
        huge(),
    )


def history() -> st.SearchStrategy[list[dict]]:
    """Chat histories in the OpenAI/Gradio message format, with hostile contents."""
    message = st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "system"]),
            "content": st.one_of(
                st.lists(piece, max_size=4).map("".join),
                st.none(),
                st.lists(st.fixed_dictionaries({"text": piece}), max_size=2),
            ),
        }
    )
    return st.lists(message, max_size=6)


# The documented input errors (QuestionError messages), as the API shows them.
DOCUMENTED_INPUT_ERRORS = (
    "question is empty",
    "tokens long; the limit is",
    "invalid characters",
    "must be text",
)
