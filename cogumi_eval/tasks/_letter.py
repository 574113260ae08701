"""The chosen option of a multiple-choice response, and which rule found it.

Rules, in order; the first that finds a letter wins:

``answer``     the letter after the last ``ANSWER:`` / ``Answer:`` / ``Final answer:``.
``boxed``      the letter in the last ``\\boxed{X}`` (or ``\\boxed{\\text{X}}``).
``answer_is``  the first non-negated letter after the last "answer is" / "correct
               option is" / "I choose"… ("the answer is not A, it is C" → C).
``bare``       the first line is a letter, decorated or not: ``B``, ``(B)``,
               ``B.``, ``**B**``, ``B) <option text>``.
``leading``    the response starts with ``C. ...`` or ``C: ...``.
``choice_text`` the response contains the text of exactly one option.
``marked``     exactly one distinct letter appears as ``(X)`` or ``X)`` in the text.

Anything else gives no letter (``rule="none"``), never a guess: a lone capital
"A" in prose is usually the article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_LETTER = "ABCD"
_ANSWER = re.compile(r"(?i)\b(?:final\s+answer|answer)\s*[:\uff1a]")
_ANSWER_IS = re.compile(
    r"(?i)\b(?:answer|option|choice)\s+(?:is|would\s+be|will\s+be|=)\s*:?|\bI(?:\s+would|\s+will|'ll|'d)?\s+(?:choose|pick|select|go\s+with)\b"
)
# A letter opening a segment: upper case, or lower case only when it stands alone.
_OPENING = re.compile(r"^[\s\*_\"'\(\[]*(?:([A-D])(?![\w'])|([a-d])[\)\]\*_\"'\.\s]*$)")
_LETTER_TOKEN = re.compile(r"(?<![\w'])[\*_\"'\(\[]*([A-D])(?![\w'])[\*_\"'\)\]]*")
_NEGATION = re.compile(
    r"(?i)(?:\bnot|\bisn't|\bisn’t|\bnever|\bnor)\s*(?:option\s+|choice\s+)?[\*_\"'\(\[]*$"
)
_BARE = re.compile(r"^[\s\*_\"'\(\[]*([A-D])[\s\*_\"'\)\]\.:]*(?:\)\s*.*)?$")
_LEADING = re.compile(r"^[\s\*_]*(?:\(([A-D])\)|([A-D])[\)\.:](?=\s))")
_BOXED = re.compile(r"\\boxed\s*\{\s*(?:\\text(?:bf)?\s*\{\s*)?\(?([A-Da-d])\)?\s*\}")
_MARKED = re.compile(r"(?<![\w'])\(?([A-D])\)")


@dataclass(frozen=True)
class ExtractedLetter:
    """The outcome of letter extraction.

    Attributes:
        value: ``"A"``-``"D"``, or None.
        rule: the rule that found it, ``"none"``, or ``"empty"`` for an empty response.
    """

    value: str | None
    rule: str


def _first_unnegated(text: str) -> str | None:
    for match in _LETTER_TOKEN.finditer(text):
        if _NEGATION.search(text[max(0, match.start() - 16) : match.start()]):
            continue
        return match.group(1).upper()
    return None


def _normalise_space(text: str) -> str:
    return " ".join(text.lower().split())


def extract_letter(text: str | None, choices: Sequence[str] = ()) -> ExtractedLetter:
    """Find the chosen option letter in a response (see the module docstring).

    Args:
        text: the model's response.
        choices: the option texts in A-D order, for the ``choice_text`` rule.
    """
    if text is None or not text.strip():
        return ExtractedLetter(None, "empty")
    stripped = text.strip()

    answers = list(_ANSWER.finditer(stripped))
    if answers:
        line = stripped[answers[-1].end() :].split("\n", 1)[0]
        opening = _OPENING.match(line)
        if opening:
            return ExtractedLetter((opening.group(1) or opening.group(2)).upper(), "answer")

    boxed = list(_BOXED.finditer(stripped))
    if boxed:
        return ExtractedLetter(boxed[-1].group(1).upper(), "boxed")

    markers = list(_ANSWER_IS.finditer(stripped))
    if markers:
        tail = stripped[markers[-1].end() :]
        sentence = re.split(r"[.!?\n](?:\s|$)", tail, maxsplit=1)[0]
        letter = _first_unnegated(sentence)
        if letter:
            return ExtractedLetter(letter, "answer_is")

    bare = _BARE.match(stripped.split("\n", 1)[0])
    if bare:
        return ExtractedLetter(bare.group(1), "bare")

    leading = _LEADING.match(stripped)
    if leading:
        return ExtractedLetter((leading.group(1) or leading.group(2)).upper(), "leading")

    if choices:
        said = _normalise_space(stripped)
        hits = [
            _LETTER[i]
            for i, choice in enumerate(choices)
            if _normalise_space(choice)
            and re.search(r"(?<!\w)" + re.escape(_normalise_space(choice)) + r"(?!\w)", said)
        ]
        if len(hits) == 1:
            return ExtractedLetter(hits[0], "choice_text")

    marked = {m.group(1).upper() for m in _MARKED.finditer(stripped)}
    if len(marked) == 1:
        return ExtractedLetter(marked.pop(), "marked")
    return ExtractedLetter(None, "none")
