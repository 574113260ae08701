"""Self-consistency distillation: N answers per prompt, keep those the majority and reference back.

``distill(prompts, model=..., out=...)`` runs every prompt through the harness
(one Inspect task per category, ``epochs=N``, the category's temperature; any
Inspect model or ``cogumi/<folder>``), so all answers land in an eval log.
Each answer is reduced to a comparison key by its category's ``compare``
(the final number for math, the code block for code, ...). A prompt is
*consistent* when one key is held by a strict majority of its N answers (or by
at least ``min_agreement`` of them); it is *kept* when it is consistent and,
where the record has a reference, the majority key equals the reference's key.
The answers with the majority key are written as SFT records
(``instruction``/``response`` or ``messages``), which ``cogumi train lora`` reads.

Category config (TOML), every key optional; unnamed categories use ``[default]``::

    [category.math]
    temperature = 0.0        # greedy
    n = 5
    compare = "final_number" # final_number | letter | code | text | exact
    keep = "distinct"        # distinct | one | all  (of the majority's answers)

    [category.creative]
    temperature = 0.9
    n = 5
    compare = "text"
    min_agreement = 0.4
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cogumi_eval._errors import CogumiError

from .data._records import BadLine, check_bad, read_lines

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.model import Model

Compare = Literal["final_number", "letter", "code", "text", "exact"]
Keep = Literal["distinct", "one", "all"]
COMPARES: tuple[str, ...] = ("final_number", "letter", "code", "text", "exact")
KEEPS: tuple[str, ...] = ("distinct", "one", "all")


class DistillError(CogumiError):
    """A prompt file, category config or model run that distillation cannot use."""


@dataclass(frozen=True)
class Category:
    """How one category's prompts are answered and compared.

    Attributes:
        name: the category.
        temperature: 0 is greedy; above 0 samples.
        n: answers per prompt (Inspect epochs).
        compare: how two answers are told equal: ``final_number`` (the normalised
            final number, as the GSM8K scorer reads it), ``letter`` (a multiple-choice
            letter), ``code`` (the first fenced code block, else the text, blank lines
            and trailing spaces dropped), ``text`` (case and whitespace folded),
            ``exact``.
        keep: of the answers holding the majority key, ``distinct`` texts, ``one``,
            or ``all`` (duplicates included).
        min_agreement: share of the N answers the majority key needs; None means a
            strict majority (more than half).
        max_tokens: longest answer generated.
    """

    name: str
    temperature: float = 0.0
    n: int = 5
    compare: Compare = "text"
    keep: Keep = "distinct"
    min_agreement: float | None = None
    max_tokens: int | None = None

    @property
    def decoding(self) -> str:
        return "greedy" if self.temperature <= 0 else f"sampled T={self.temperature:g}"

    def consistent(self, votes: int, answers: int) -> bool:
        if answers == 0 or votes == 0:
            return False
        if self.min_agreement is None:
            return 2 * votes > answers
        return votes / answers >= self.min_agreement - 1e-12


DEFAULT_CATEGORIES: dict[str, Category] = {
    "math": Category("math", temperature=0.0, n=5, compare="final_number"),
    "code": Category("code", temperature=0.0, n=5, compare="code"),
    "creative": Category("creative", temperature=0.9, n=5, compare="text"),
    "default": Category("default", temperature=0.0, n=5, compare="text"),
}
"""Greedy for math and code, sampled for creative prompts."""


def load_categories(path: str | os.PathLike[str] | None) -> dict[str, Category]:
    """The built-in categories, overridden and extended by the TOML file at ``path``."""
    categories = dict(DEFAULT_CATEGORIES)
    if path is None:
        return categories
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as ex:
        raise DistillError(f"category config {source} cannot be read ({ex}).") from ex
    except tomllib.TOMLDecodeError as ex:
        raise DistillError(f"category config {source} is not valid TOML ({ex}).") from ex
    tables = dict(data.get("category", {}))
    if "default" in data:
        tables["default"] = data["default"]
    unknown_top = sorted(set(data) - {"category", "default"})
    if unknown_top:
        raise DistillError(
            f"category config {source}: unknown table(s) {unknown_top}; use [category.<name>] "
            "and [default]."
        )
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise DistillError(f"category config {source}: [category.{name}] must be a table.")
        base = categories.get(name, replace(categories["default"], name=name))
        categories[name] = _category(base, table, source)
    return categories


def _category(base: Category, table: Mapping[str, Any], source: Path) -> Category:
    keys = {"temperature", "n", "compare", "keep", "min_agreement", "max_tokens"}
    unknown = sorted(set(table) - keys)
    where = f"category config {source}, [category.{base.name}]"
    if unknown:
        raise DistillError(f"{where}: unknown key(s) {unknown}; valid: {sorted(keys)}.")
    category = replace(base, **table)
    if not isinstance(category.n, int) or category.n < 1:
        raise DistillError(f"{where}: n = {category.n!r} must be an integer >= 1.")
    if not isinstance(category.temperature, int | float) or category.temperature < 0:
        raise DistillError(f"{where}: temperature = {category.temperature!r} must be >= 0.")
    if category.compare not in COMPARES:
        raise DistillError(f"{where}: compare = {category.compare!r} is not one of {COMPARES}.")
    if category.keep not in KEEPS:
        raise DistillError(f"{where}: keep = {category.keep!r} is not one of {KEEPS}.")
    agreement = category.min_agreement
    if agreement is not None and not (isinstance(agreement, int | float) and 0 < agreement <= 1):
        raise DistillError(f"{where}: min_agreement = {agreement!r} must be in (0, 1].")
    return category


# --- comparison keys ---


def _key_final_number(text: str) -> str | None:
    from cogumi_eval.tasks._numeric import extract_final_number

    return extract_final_number(text).value


def _key_letter(text: str) -> str | None:
    from cogumi_eval.tasks._letter import extract_letter

    return extract_letter(text).value


def _key_code(text: str) -> str | None:
    from cogumi_eval.tasks._code_extract import fenced_blocks

    blocks = fenced_blocks(text)
    code = blocks[0][1] if blocks else text
    lines = [line.rstrip() for line in code.splitlines() if line.strip()]
    return "\n".join(lines) or None


def _key_text(text: str) -> str | None:
    folded = re.sub(r"\s+", " ", text).strip().casefold()
    return folded or None


def _key_exact(text: str) -> str | None:
    return text if text.strip() else None


KEYS: dict[str, Callable[[str], str | None]] = {
    "final_number": _key_final_number,
    "letter": _key_letter,
    "code": _key_code,
    "text": _key_text,
    "exact": _key_exact,
}
"""Comparison key of an answer, by ``compare``; None when the answer has none (never agrees)."""


def _reference_key(compare: str, reference: str) -> str | None:
    if compare == "final_number":
        from cogumi_eval.tasks._numeric import normalise_number

        return normalise_number(reference) or _key_final_number(reference)
    return KEYS[compare](reference)


# --- records, decisions, result ---


@dataclass(frozen=True)
class Prompt:
    """One prompt to distil."""

    id: str
    text: str
    category: str
    reference: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Decision:
    """What happened to one prompt's N answers.

    Attributes:
        reason: ``kept``, ``no_majority`` (no key held by enough answers),
            ``no_answer`` (no answer had a key), ``wrong`` (the majority disagrees
            with the reference) or ``error`` (the sample failed).
    """

    id: str
    category: str
    answers: int
    majority: str | None
    votes: int
    reference: str | None
    reason: str
    kept_answers: int = 0

    @property
    def agreement(self) -> float:
        return self.votes / self.answers if self.answers else math.nan

    @property
    def kept(self) -> bool:
        return self.reason == "kept"


@dataclass
class CategoryCounts:
    """Counts of one category (or of all, for the total row)."""

    prompts: int = 0
    answers: int = 0
    consistent: int = 0
    with_reference: int = 0
    correct: int = 0
    kept_prompts: int = 0
    kept_answers: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def add(self, decision: Decision) -> None:
        self.prompts += 1
        self.answers += decision.answers
        consistent = decision.reason in ("kept", "wrong")
        self.consistent += consistent
        if decision.reference is not None:
            self.with_reference += 1
            self.correct += decision.kept
        self.kept_prompts += decision.kept
        self.kept_answers += decision.kept_answers
        if not decision.kept:
            self.dropped[decision.reason] = self.dropped.get(decision.reason, 0) + 1


@dataclass
class DistillResult:
    """The outcome of ``distill``.

    Attributes:
        out: the SFT JSONL written.
        logs: the eval log of each category's answers.
        categories: the settings each category ran with.
        counts: per category.
        decisions: per prompt, in input order.
        bad_lines: input lines that were not usable prompts (skipped).
    """

    out: Path
    logs: dict[str, str]
    categories: dict[str, Category]
    counts: dict[str, CategoryCounts]
    decisions: list[Decision]
    bad_lines: list[BadLine] = field(default_factory=list)

    @property
    def total(self) -> CategoryCounts:
        total = CategoryCounts()
        for decision in self.decisions:
            total.add(decision)
        return total

    @property
    def kept_ids(self) -> list[str]:
        return [d.id for d in self.decisions if d.kept]

    def print_table(self, console: Any | None = None) -> None:
        from rich.console import Console
        from rich.table import Table

        console = console or Console(soft_wrap=True)
        table = Table(title=f"Distillation -> {self.out}")
        headers = (
            "category",
            "decoding",
            "n",
            "prompts",
            "consistent",
            "correct/ref",
            "kept",
            "SFT records",
            "dropped",
        )
        for header in headers:
            left = header in ("category", "decoding", "dropped")
            table.add_column(header, justify="left" if left else "right")
        rows = [(name, self.counts[name]) for name in self.counts]
        for name, counts in [*rows, ("total", self.total)]:
            category = self.categories.get(name)
            dropped = ", ".join(f"{k} {v}" for k, v in sorted(counts.dropped.items())) or "-"
            table.add_row(
                name,
                category.decoding if category else "",
                str(category.n) if category else "",
                str(counts.prompts),
                str(counts.consistent),
                f"{counts.correct}/{counts.with_reference}" if counts.with_reference else "-",
                str(counts.kept_prompts),
                str(counts.kept_answers),
                dropped,
            )
        console.print(table)
        if self.bad_lines:
            console.print(
                f"{len(self.bad_lines)} input line(s) skipped, first: {self.bad_lines[0]}"
            )
        for name, log in self.logs.items():
            console.print(f"answers of {name}: {log}", highlight=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "logs": dict(self.logs),
            "counts": {name: vars(c) for name, c in self.counts.items()},
            "total": vars(self.total),
            "bad_lines": [str(b) for b in self.bad_lines],
        }


def read_prompts(
    path: str | os.PathLike[str],
    *,
    prompt_field: str = "prompt",
    category_field: str = "category",
    reference_field: str = "reference",
    id_field: str = "id",
    default_category: str = "default",
    strict: bool = False,
) -> tuple[list[Prompt], list[BadLine]]:
    """Prompts from a JSONL file; lines that are not usable are returned as ``BadLine``."""
    source = Path(path)
    if not source.is_file():
        raise DistillError(f"prompt file {source} does not exist or is not a file.")
    prompts: list[Prompt] = []
    bad: list[BadLine] = []
    seen: set[str] = set()
    with source.open("rb") as handle:
        for number, raw in read_lines(handle):
            reason, prompt = _parse(
                raw,
                number,
                prompt_field,
                category_field,
                reference_field,
                id_field,
                default_category,
            )
            if prompt is not None and prompt.id in seen:
                reason, prompt = f"repeats id {prompt.id!r}", None
            if prompt is None:
                line = BadLine(str(source), number, reason)
                check_bad(line, strict)
                bad.append(line)
                continue
            seen.add(prompt.id)
            prompts.append(prompt)
    return prompts, bad


def _parse(
    raw: bytes,
    number: int,
    prompt_field: str,
    category_field: str,
    reference_field: str,
    id_field: str,
    default_category: str,
) -> tuple[str, Prompt | None]:
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as ex:
        return f"not JSON ({ex})", None
    if not isinstance(record, dict):
        return f"not a JSON object (a {type(record).__name__})", None
    text = record.get(prompt_field)
    if not isinstance(text, str) or not text.strip():
        return f"no text in field {prompt_field!r}", None
    category = record.get(category_field, default_category)
    if not isinstance(category, str) or not category:
        return f"field {category_field!r} is not a category name", None
    reference = record.get(reference_field)
    if reference is not None and not isinstance(reference, str | int | float):
        return f"field {reference_field!r} is not text or a number", None
    key = record.get(id_field)
    sample_id = (
        str(key) if isinstance(key, str | int) and not isinstance(key, bool) else str(number)
    )
    ref = None if reference is None else str(reference)
    return "", Prompt(sample_id, text, category, ref, number)


def _task(name: str, category: Category, prompts: Sequence[Prompt]) -> Task:
    from inspect_ai import Task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import GenerateConfig
    from inspect_ai.solver import generate

    samples = [
        Sample(id=p.id, input=p.text, target=p.reference or "", metadata={"category": p.category})
        for p in prompts
    ]
    return Task(
        dataset=MemoryDataset(samples, name=f"distill-{name}"),
        solver=[generate()],
        scorer=comparison_key(category.compare),
        epochs=category.n,
        config=GenerateConfig(temperature=category.temperature, max_tokens=category.max_tokens),
        name=f"distill_{name}",
        metadata={"distill": {"category": name, "compare": category.compare, "n": category.n}},
    )


def comparison_key(compare: str) -> Any:
    """A scorer recording each answer's comparison key as its ``answer`` (value 1 if it has one)."""
    from inspect_ai.scorer import Score, Target, mean, scorer
    from inspect_ai.solver import TaskState

    extract = KEYS[compare]

    @scorer(metrics=[mean()], name=f"{compare}_key")
    def key_scorer() -> Any:
        async def score(state: TaskState, target: Target) -> Score:
            answer = state.output.completion if state.output else ""
            key = extract(answer)
            return Score(value=0 if key is None else 1, answer=key, explanation=f"{compare} key")

        return score

    return key_scorer()


def distill(
    prompts: str | os.PathLike[str],
    *,
    model: str | Model,
    out: str | os.PathLike[str],
    categories: str | os.PathLike[str] | Mapping[str, Category] | None = None,
    record_format: Literal["instruction", "messages"] = "instruction",
    prompt_field: str = "prompt",
    category_field: str = "category",
    reference_field: str = "reference",
    id_field: str = "id",
    model_args: Mapping[str, Any] | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    strict: bool = False,
    display: str | None = "none",
) -> DistillResult:
    """Distil the self-consistent answers of ``model`` on ``prompts`` into SFT JSONL at ``out``.

    Args:
        prompts: JSONL, one prompt per line (``prompt``, optional ``category``,
            ``reference`` and ``id`` fields; names set by the ``*_field`` arguments).
        model: any Inspect model name (``cogumi/<folder>``, ``openai/gpt-4o``) or ``Model``.
        out: the SFT JSONL to write.
        categories: a TOML category config, or categories by name (default built in).
        record_format: ``instruction`` (``instruction``/``response``) or ``messages`` (chat).
        model_args: ``-M`` options for a model given by name.
        log_dir: where the eval logs of the answers go (default Inspect's).
        limit: use at most this many prompts (in file order).
        strict: raise on the first unusable line instead of skipping it.
        display: Inspect's display while generating.

    Raises:
        DistillError: unreadable prompts or config, or a generation run that failed.
    """
    from inspect_ai import eval as inspect_eval

    if record_format not in ("instruction", "messages"):
        raise DistillError(f"record_format {record_format!r} must be 'instruction' or 'messages'.")
    settings = dict(categories) if isinstance(categories, Mapping) else load_categories(categories)
    rows, bad = read_prompts(
        prompts,
        prompt_field=prompt_field,
        category_field=category_field,
        reference_field=reference_field,
        id_field=id_field,
        strict=strict,
    )
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise DistillError(f"prompt file {prompts} holds no usable prompt ({len(bad)} bad lines).")
    groups: dict[str, list[Prompt]] = {}
    for row in rows:
        groups.setdefault(row.category, []).append(row)
    used = {name: settings.get(name) or replace(settings["default"], name=name) for name in groups}
    tasks = [_task(name, used[name], group) for name, group in groups.items()]
    try:
        logs = inspect_eval(
            tasks,
            model=model,
            model_args=dict(model_args or {}),
            log_dir=os.fspath(log_dir) if log_dir is not None else None,
            display=display,  # type: ignore[arg-type]
        )
    except CogumiError:
        raise
    except Exception as ex:  # noqa: BLE001 - Inspect's model and option errors become one line
        raise DistillError(f"generating answers failed: {type(ex).__name__}: {ex}") from ex
    answers: dict[tuple[str, str], list[tuple[str, str | None, bool]]] = {}
    log_files: dict[str, str] = {}
    by_task = {log.eval.task: log for log in logs}
    for name in groups:
        log = by_task.get(f"distill_{name}")
        if log is None:
            raise DistillError(f"Inspect returned no log for category {name!r}.")
        if log.status != "success":
            error = log.error.message if log.error else log.status
            raise DistillError(
                f"generating answers for category {name!r} failed ({error}); see {log.location}."
            )
        log_files[name] = log.location
        for sample in log.samples or []:
            text = sample.output.completion if sample.output else ""
            score = next(iter((sample.scores or {}).values()), None)
            key = score.answer if score is not None else None
            answers.setdefault((name, str(sample.id)), []).append((text, key, sample.error is None))

    destination = Path(out)
    destination.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, CategoryCounts] = {name: CategoryCounts() for name in groups}
    decisions: list[Decision] = []
    with destination.open("w", encoding="utf-8") as handle:
        for row in rows:
            category = used[row.category]
            decision, kept = decide(row, category, answers.get((row.category, row.id), []))
            for text in kept:
                handle.write(
                    json.dumps(_sft_record(row, text, decision, record_format), ensure_ascii=False)
                    + "\n"
                )
            counts[row.category].add(decision)
            decisions.append(decision)
    return DistillResult(
        out=destination,
        logs=log_files,
        categories=used,
        counts=counts,
        decisions=decisions,
        bad_lines=bad,
    )


def decide(
    prompt: Prompt, category: Category, answers: Sequence[tuple[str, str | None, bool]]
) -> tuple[Decision, list[str]]:
    """The decision for one prompt and the answer texts to keep.

    Args:
        prompt: the prompt.
        category: its category's settings.
        answers: ``(text, comparison key, sample succeeded)`` for each of its N answers.
    """
    reference = None
    if prompt.reference is not None:
        reference = _reference_key(category.compare, prompt.reference) or prompt.reference

    def decision(
        reason: str, majority: str | None = None, votes: int = 0, kept: int = 0
    ) -> Decision:
        return Decision(
            prompt.id, prompt.category, len(answers), majority, votes, reference, reason, kept
        )

    if not answers or not all(ok for _, _, ok in answers):
        return decision("error"), []
    tally = Counter(key for _, key, _ in answers if key is not None)
    if not tally:
        return decision("no_answer"), []
    (majority, votes), *rest = tally.most_common()
    if rest and rest[0][1] == votes:  # a tie has no majority, whatever the threshold
        return decision("no_majority", None, votes), []
    if not category.consistent(votes, len(answers)):
        return decision("no_majority", majority, votes), []
    if reference is not None and not _same(category.compare, majority, reference):
        return decision("wrong", majority, votes), []
    texts = [text for text, key, _ in answers if key == majority]
    if category.keep == "one":
        texts = texts[:1]
    elif category.keep == "distinct":
        texts = list(dict.fromkeys(texts))
    return decision("kept", majority, votes, len(texts)), texts


def _same(compare: str, key: str, reference: str) -> bool:
    if compare == "final_number":
        from cogumi_eval.tasks._numeric import numbers_equal

        return numbers_equal(key, reference)
    return key == reference


def _sft_record(
    prompt: Prompt, text: str, decision: Decision, record_format: str
) -> dict[str, Any]:
    meta = {
        "id": prompt.id,
        "category": prompt.category,
        "votes": decision.votes,
        "n": decision.answers,
        "majority": decision.majority,
    }
    if record_format == "messages":
        return {
            "messages": [
                {"role": "user", "content": prompt.text},
                {"role": "assistant", "content": text},
            ],
            **meta,
        }
    return {"instruction": prompt.text, "response": text, **meta}
