"""The final number of a worked answer: which rule found it, and its normalised form.

Rules, tried in this order; the first that yields a number wins, and its name is
recorded so a user can see *why* a number was taken:

``hash``      the number after the last ``####`` (GSM8K's own format).
``answer``    the number after the last ``ANSWER:``, ``Final answer:``, ``Answer:``
              or a line that starts with ``A:`` (the format of the GSM8K paper's
              released model solutions).
``boxed``     the contents of the last ``\\boxed{...}``.
``answer_is`` the first number after the last "the answer is" / "answer is",
              skipping numbers that are negated ("the answer is not 5, it is 7" → 7).
``last``      the last number in the text that is not negated.

Normalisation (``normalise_number``): currency symbols, thousands separators and a
trailing full stop are dropped; a Unicode minus becomes ``-`` and a leading ``+``
goes; ``12.0`` and ``12.00`` become ``12``, ``.5`` becomes ``0.5``. Percent: the
``%`` sign is dropped and the number kept (``25%`` → ``25``) because GSM8K states
percentage answers as bare numbers; it is never divided by 100. Fractions ``a/b``
(and LaTeX ``\\frac{a}{b}``) are evaluated exactly: a terminating decimal is
written as a decimal (``3/4`` → ``0.75``), any other as the reduced fraction
(``2/6`` → ``1/3``). Numbers written as words and mixed numbers (``1 1/2``) are
not recognised. Comparison is exact, on rationals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_NUMBER = re.compile(
    r"(?<![\w./])"  # not the tail of a word, decimal or fraction
    r"(?P<sign>[-\u2212+])?"
    r"(?P<currency>[$\u20ac\u00a3\u00a5])?"
    r"(?P<sign2>[-\u2212])?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)?"
    r"(?P<frac>\.\d+)?"
    r"(?:\s?/\s?(?P<den>\d+(?:\.\d+)?))?"
    r"(?P<percent>\s?%)?"
)
_NEGATION = re.compile(
    r"(?:\bnot|\bisn't|\bisn’t|\bnever|\u2260|!=)\s*(?:equal\s+to\s+|be\s+)?$", re.IGNORECASE
)
_HASH = re.compile(r"####")
_ANSWER = re.compile(r"(?im)(?:\b(?:final\s+answer|answer)\s*[:\uff1a]|^[ \t]*A\s*:)")
_ANSWER_IS = re.compile(r"(?i)\banswer\s+(?:is|will\s+be|would\s+be|=)\s*:?")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")


@dataclass(frozen=True)
class ExtractedNumber:
    """The outcome of extraction.

    Attributes:
        value: the normalised number (``"1080"``, ``"0.75"``, ``"1/3"``), or None.
        rule: which rule found it (``hash``, ``answer``, ``boxed``, ``answer_is``,
            ``last``), ``"none"`` when the text holds no number, ``"empty"`` when
            the text is empty.
        raw: the text the number was read from.
    """

    value: str | None
    rule: str
    raw: str


def _canonical(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    # Terminating decimal: scale to an integer and place the point.
    digits = 0
    scaled = value
    while scaled.denominator != 1:
        scaled *= 10
        digits += 1
    sign = "-" if scaled < 0 else ""
    text = str(abs(scaled.numerator)).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


def _match_value(match: re.Match[str]) -> Fraction | None:
    if match.group("int") is None and match.group("frac") is None:
        return None
    number = Fraction((match.group("int") or "0").replace(",", "") + (match.group("frac") or ""))
    if match.group("den") is not None:
        den = Fraction(match.group("den"))
        if den == 0:
            return None
        number /= den
    if match.group("sign") in ("-", "\u2212") or match.group("sign2") is not None:
        number = -number
    return number


def _numbers(text: str) -> list[tuple[re.Match[str], Fraction]]:
    """Every number in ``text`` with its value, skipping ones that are negated."""
    found = []
    for match in _NUMBER.finditer(text):
        value = _match_value(match)
        if value is None:
            continue
        if _NEGATION.search(text[max(0, match.start() - 24) : match.start()]):
            continue
        found.append((match, value))
    return found


def parse_number(text: str) -> Fraction | None:
    """The value of a text that should be a single number (a target), or None."""
    cleaned = _LATEX_FRAC.sub(r"\1/\2", text).replace("\\$", "$").replace("\\%", "%")
    numbers = _numbers(cleaned.strip())
    return numbers[0][1] if numbers else None


def normalise_number(text: str) -> str | None:
    """Canonical string for a number as written (``"$1,080.00"`` → ``"1080"``), or None."""
    value = parse_number(text)
    return None if value is None else _canonical(value)


def _first_after(text: str, start: int) -> tuple[str, str] | None:
    # The rest of the line the marker is on; if that is blank, the next non-blank line.
    rest = text[start:]
    lines = rest.split("\n")
    segment = next((line for line in lines if line.strip()), "")
    numbers = _numbers(segment)
    if not numbers:
        return None
    return _canonical(numbers[0][1]), segment.strip()


def _boxed_contents(text: str) -> str | None:
    matches = list(_BOXED.finditer(text))
    if not matches:
        return None
    start = matches[-1].end()
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    return text[start:]


def extract_final_number(text: str | None) -> ExtractedNumber:
    """Find the final numeric answer in a model's response (see the module docstring)."""
    if text is None or not text.strip():
        return ExtractedNumber(None, "empty", "")
    text = text.replace("\r\n", "\n")

    marker = None
    for match in _HASH.finditer(text):
        marker = match
    if marker is not None:
        found = _first_after(text, marker.end())
        if found:
            return ExtractedNumber(found[0], "hash", found[1])

    markers = list(_ANSWER.finditer(text))
    if markers:
        found = _first_after(text, markers[-1].end())
        if found:
            return ExtractedNumber(found[0], "answer", found[1])

    boxed = _boxed_contents(text)
    if boxed is not None:
        value = normalise_number(boxed.replace("\\!", "").replace("\\,", ""))
        if value is not None:
            return ExtractedNumber(value, "boxed", boxed)

    markers = list(_ANSWER_IS.finditer(text))
    if markers:
        # The rest of the sentence after the last "answer is".
        tail = text[markers[-1].end() :]
        sentence = re.split(r"(?<!\d)[.!?](?!\d)|\n", tail, maxsplit=1)[0]
        numbers = _numbers(sentence)
        if numbers:
            return ExtractedNumber(_canonical(numbers[0][1]), "answer_is", sentence.strip())

    numbers = _numbers(text)
    if numbers:
        last, last_value = numbers[-1]
        return ExtractedNumber(_canonical(last_value), "last", last.group(0))
    return ExtractedNumber(None, "none", "")


def numbers_equal(a: str | None, b: str | None) -> bool:
    """Exact equality of two normalised numbers (``"0.5"`` equals ``"1/2"``)."""
    if a is None or b is None:
        return False
    x, y = parse_number(a), parse_number(b)
    return x is not None and x == y
