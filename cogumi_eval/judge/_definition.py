"""Judges as data: a TOML file holds the prompt, the verdict grammar and the version.

Definitions ship inside the package (``cogumi_eval/judge/definitions/``, read
with ``importlib.resources``, so a wheel install judges as a checkout does); a
folder named by ``$COGUMI_JUDGES_DIR`` is looked in first, so a user can add a
judge or replace a shipped one without touching the install.

A definition is identified by ``id`` and ``version``; both, together with a
sha256 of the whole definition, enter every verdict cache key, so editing a
prompt (even without bumping the version) never reuses verdicts given to the
old wording.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from ._errors import JudgeDefinitionError

PositionVerdict = Literal["A", "B", "tie"]
"""A verdict about positions: the answer shown first (A), second (B), or neither."""

_PLACEHOLDER = re.compile(r"\{(question|reference_block|answer_a|answer_b)\}")
_REQUIRED_PLACEHOLDERS = ("{question}", "{answer_a}", "{answer_b}")


def shipped_judges() -> Traversable:
    """The judge definitions and price table shipped inside the package."""
    return resources.files("cogumi_eval.judge").joinpath("definitions")


def user_judges() -> Path | None:
    """The folder named by ``$COGUMI_JUDGES_DIR`` (looked in before the shipped ones), if set."""
    configured = os.environ.get("COGUMI_JUDGES_DIR")
    return Path(configured) if configured else None


def judges_dir() -> Traversable:
    """Where judge definitions are read first: ``$COGUMI_JUDGES_DIR``, else the shipped ones."""
    return user_judges() or shipped_judges()


def judge_folders() -> list[Traversable]:
    """The folders searched for a judge id, first match wins."""
    user = user_judges()
    return [user, shipped_judges()] if user is not None else [shipped_judges()]


def _known_judges() -> list[str]:
    names: set[str] = set()
    for folder in judge_folders():
        if folder.is_dir():
            names.update(
                entry.name.removesuffix(".toml")
                for entry in folder.iterdir()
                if entry.name.endswith(".toml") and entry.name != "prices.toml"
            )
    return sorted(names)


@dataclass(frozen=True)
class VerdictGrammar:
    """How a grader's reply becomes a position verdict.

    ``pattern`` has one group; its text is looked up in ``tokens``. With
    ``select="last"`` the last match counts (the prompt asks for the verdict at
    the end); with ``"only"`` every match must agree. Anything else is
    unparseable, which is never read as a tie.
    """

    pattern: str
    tokens: dict[str, PositionVerdict]
    select: Literal["last", "only"] = "last"

    def parse(self, reply: str) -> PositionVerdict | None:
        found = [self.tokens.get(m) for m in re.findall(self.pattern, reply)]
        if not found or any(v is None for v in found):
            return None
        if self.select == "only" and len(set(found)) > 1:
            return None
        return found[-1]


@dataclass(frozen=True)
class JudgeDefinition:
    """A pairwise judge: prompt template, verdict grammar, generation settings, identity."""

    id: str
    version: str
    user: str
    grammar: VerdictGrammar
    system: str | None = None
    reference: Literal["required", "optional", "none"] = "optional"
    reference_block: str = "{reference}"
    temperature: float = 0.0
    max_tokens: int = 1024
    description: str = ""
    source: str = ""
    fingerprint: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def render(
        self, question: str, answer_a: str, answer_b: str, reference: str | None = None
    ) -> str:
        """The user prompt, filled in one pass (braces inside answers are never re-expanded)."""
        if self.reference == "required" and not reference:
            raise JudgeDefinitionError(
                f"judge {self.label} needs a reference answer, but the sample has none; "
                "pick a judge that does not need one (e.g. template='pairwise')"
            )
        use_reference = reference if self.reference != "none" else None
        block = self.reference_block.replace("{reference}", use_reference) if use_reference else ""
        values = {
            "question": question,
            "reference_block": block,
            "answer_a": answer_a,
            "answer_b": answer_b,
        }
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.user)


def _require(table: dict[str, Any], key: str, kind: type, source: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind):
        raise JudgeDefinitionError(
            f"{source}: '{key}' must be a {kind.__name__} (found {type(value).__name__})"
        )
    return value


def parse_judge(text: str, source: str = "<judge>") -> JudgeDefinition:
    """Build a definition from TOML text; errors name the file and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as ex:
        raise JudgeDefinitionError(f"{source}: not valid TOML ({ex})") from ex
    judge_id = _require(data, "id", str, source)
    version = data.get("version")
    if not isinstance(version, (str, int)) or isinstance(version, bool):
        raise JudgeDefinitionError(f"{source}: 'version' must be a string or an integer")
    prompt = _require(data, "prompt", dict, source)
    user = _require(prompt, "user", str, source)
    missing = [p for p in _REQUIRED_PLACEHOLDERS if p not in user]
    if missing:
        raise JudgeDefinitionError(f"{source}: prompt.user lacks {', '.join(missing)}")
    verdict = _require(data, "verdict", dict, source)
    pattern = _require(verdict, "pattern", str, source)
    try:
        if re.compile(pattern).groups != 1:
            raise JudgeDefinitionError(f"{source}: verdict.pattern needs exactly one group")
    except re.error as ex:
        raise JudgeDefinitionError(f"{source}: verdict.pattern is not a regex ({ex})") from ex
    tokens = _require(verdict, "tokens", dict, source)
    if set(tokens.values()) != {"A", "B", "tie"}:
        raise JudgeDefinitionError(
            f"{source}: verdict.tokens must map reply tokens onto all of 'A', 'B' and 'tie'"
        )
    select = verdict.get("select", "last")
    if select not in ("last", "only"):
        raise JudgeDefinitionError(f"{source}: verdict.select must be 'last' or 'only'")
    reference = data.get("reference", "optional")
    if reference not in ("required", "optional", "none"):
        raise JudgeDefinitionError(
            f"{source}: 'reference' must be 'required', 'optional' or 'none'"
        )
    generate = data.get("generate", {})
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return JudgeDefinition(
        id=judge_id,
        version=str(version),
        user=user,
        system=prompt.get("system"),
        reference=reference,
        reference_block=prompt.get("reference_block", "{reference}"),
        grammar=VerdictGrammar(pattern=pattern, tokens=dict(tokens), select=select),
        temperature=float(generate.get("temperature", 0.0)),
        max_tokens=int(generate.get("max_tokens", 1024)),
        description=str(data.get("description", "")),
        source=source,
        fingerprint=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
    )


def load_judge(name: str | Path) -> JudgeDefinition:
    """A judge by id (``$COGUMI_JUDGES_DIR/<id>.toml``, else the shipped one) or a TOML path.

    Args:
        name: a judge id such as ``"pairwise-math"``, or a path to a ``.toml`` definition.
    """
    path = Path(name)
    if path.suffix == ".toml":
        if not path.is_file():
            raise JudgeDefinitionError(f"no judge definition at {path}: the file does not exist")
        return parse_judge(path.read_text(encoding="utf-8"), source=str(path))
    looked: list[str] = []
    for folder in judge_folders():
        entry = folder.joinpath(f"{name}.toml")
        looked.append(str(entry))
        if entry.is_file():
            definition = parse_judge(entry.read_text(encoding="utf-8"), source=str(entry))
            if definition.id != str(name):
                raise JudgeDefinitionError(
                    f"{entry}: id {definition.id!r} does not match the file name {name!r}"
                )
            return definition
    raise JudgeDefinitionError(
        f"no judge definition {str(name)!r} (looked for {' and '.join(looked)}); "
        f"known judges: {', '.join(_known_judges()) or 'none'}. "
        "Add <id>.toml to the folder named by COGUMI_JUDGES_DIR, or pass a .toml path."
    )
