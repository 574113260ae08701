"""From a model's answer to the code to run for one HumanEval problem.

Chat models wrap code in markdown fences, repeat the signature or the whole
function, add prose before and after, or give only the body; completion models
continue the prompt with a body and then keep going. Every case ends as
``prompt + something``:

- a whole function (the answer defines ``def <entry_point>(``): the prompt, then
  the answer's code. The prompt alone is valid Python (its function's body is
  the docstring), so the answer's definition simply replaces it, while imports
  and helper functions the prompt defines stay available.
- a body: the prompt, then the body re-indented to the prompt's body indent.

Nothing here compiles model text in the harness process (a pathological
program can crash a parser); a wrong guess shows up as a ``syntax`` failure from
the sandbox, with the program in the score's metadata.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n"
    r"(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)
_PYTHON_LANGS = {"", "python", "py", "python3", "py3", "pycon", "ipython"}
# A top-level line that reads as code: keywords, decorators, comments, assignments, calls.
_CODE_LINE = re.compile(
    r"^(def |async def |class |import |from |@|#|if |elif |else:|for |while |try:|except|"
    r"finally:|with |return\b|"
    r"print\(|assert |[A-Za-z_][\w.]*(\(|\[|\s*(=[^=]|\+=|-=)))"
)


@dataclass(frozen=True)
class ExtractedCode:
    """The code to run for one answer.

    Attributes:
        code: the program's code part: the prompt followed by the answer's code.
        snippet: what was taken from the answer.
        rule: how: ``fenced_function``, ``fenced_body``, ``function``, ``body`` or ``empty``.
    """

    code: str
    snippet: str
    rule: str


def _indent_unit(prompt: str) -> str:
    """The indentation of the prompt function's body (that of its last non-blank line)."""
    for line in reversed(prompt.splitlines()):
        if line.strip():
            return line[: len(line) - len(line.lstrip())] or "    "
    return "    "


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, an unterminated last block included."""
    return [(m.group("lang").lower(), m.group("body")) for m in _FENCE.finditer(text)]


def _defines(code: str, entry_point: str) -> bool:
    return (
        re.search(rf"^[ \t]*(async[ \t]+)?def[ \t]+{re.escape(entry_point)}[ \t]*\(", code, re.M)
        is not None
    )


def _reads_as_code(line: str) -> bool:
    """Blank, indented, or a top-level line that reads as code (prose does not)."""
    return not line.strip() or line[0].isspace() or _CODE_LINE.match(line) is not None


def _function_from_prose(text: str, entry_point: str) -> str:
    """The code region of unfenced text holding ``def entry_point``: prose before and after cut."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if _defines(line, entry_point))
    start = at
    while start > 0 and _reads_as_code(lines[start - 1]):
        start -= 1
    end = at + 1
    while end < len(lines) and _reads_as_code(lines[end]):
        end += 1
    return "\n".join(lines[start:end]).strip("\n")


def _body_lines(snippet: str) -> list[str]:
    lines = snippet.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _truncate_continuation(lines: list[str]) -> list[str]:
    """A completion model's continuation ends at its first top-level line (the usual stop rule)."""
    if not lines or not lines[0][:1].isspace():
        return lines
    for i, line in enumerate(lines):
        if line.strip() and not line[0].isspace():
            return lines[:i]
    return lines


def normalise_body(snippet: str, indent: str, *, continuation: bool) -> str:
    """Re-indent a function body to ``indent``.

    Handles a body indented by any amount, an unindented body, and a body whose
    first line lost its indentation (``return x`` then deeper lines).
    """
    lines = _body_lines(snippet)
    if continuation:
        lines = _truncate_continuation(lines)
    if not lines:
        return ""
    rest = [line for line in lines[1:] if line.strip()]
    if rest and not lines[0][:1].isspace() and all(line[:1].isspace() for line in rest):
        depth = [len(line) - len(line.lstrip()) for line in rest]
        # The first line belongs at the shallowest depth of the rest ("x = 1" then lines
        # at 4), unless it opens a block whose content is that shallowest depth
        # ("for x in y:" then only lines at 8): then one level above it.
        lost = min(depth)
        if lines[0].rstrip().endswith(":") and depth[0] == lost:
            lost -= 4
        if lost > 0:
            lines[0] = " " * lost + lines[0]
    body = textwrap.dedent("\n".join(lines))
    return textwrap.indent(body, indent, lambda line: bool(line.strip())) + "\n"


def extract_code(answer: str, prompt: str, entry_point: str) -> ExtractedCode:
    """The code to run for ``answer`` to the HumanEval ``prompt`` (see the module docstring)."""
    if not answer.strip():
        return ExtractedCode(code=prompt, snippet="", rule="empty")
    blocks = [body for lang, body in fenced_blocks(answer) if lang in _PYTHON_LANGS]
    if blocks:
        defining = [b for b in blocks if _defines(b, entry_point)]
        snippet = defining[0] if defining else max(blocks, key=len)
        if defining:
            return ExtractedCode(
                prompt + "\n\n" + textwrap.dedent(snippet).strip("\n") + "\n",
                snippet,
                "fenced_function",
            )
        body = normalise_body(snippet, _indent_unit(prompt), continuation=False)
        return ExtractedCode(prompt + body, snippet, "fenced_body")
    if _defines(answer, entry_point):
        snippet = _function_from_prose(answer, entry_point)
        return ExtractedCode(
            prompt + "\n\n" + textwrap.dedent(snippet).strip("\n") + "\n", snippet, "function"
        )
    body = normalise_body(answer, _indent_unit(prompt), continuation=True)
    return ExtractedCode(prompt + body, answer, "body")
