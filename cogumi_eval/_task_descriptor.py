"""What gate, judge and analysis need to know about a task, in one record that travels in its log.

A task's descriptor names its correctness scorer, the kind of answer that
scorer extracts, the judge definition and reference the pairwise judge uses,
and the sample metadata worth a column in analysis frames. Cogumi's tasks write
it into the log's task metadata under ``"cogumi_task"``; readers take it from
there, so a user's own task is gated, judged and analysed with no change to
Cogumi. Logs written before descriptors existed fall back to the built-in
descriptor of their task name (gsm8k, humaneval, mmlu) or of a known scorer.

This module imports nothing heavy, and sits outside ``cogumi_eval.tasks`` so the
gate, judge and analysis read it without building any task; users import it
from ``cogumi_eval.tasks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from ._task_name import task_name as _task_name

METADATA_KEY = "cogumi_task"
"""Key of the descriptor in a log's task metadata (``log.eval.metadata``)."""

AnswerKind = Literal["number", "letter", "outcome", "text"]
_ANSWER_KINDS: tuple[str, ...] = get_args(AnswerKind)


@dataclass(frozen=True)
class TaskDescriptor:
    """The facts about a task that its logs' readers need.

    Attributes:
        scorer: name of the correctness scorer in the log (value "C"/"I"; e.g.
            ``"final_number"``); gate rules, objective judging and the analysis
            ``correct`` column read it.
        answer: what the score's ``answer`` holds: ``"number"`` (normalised
            number), ``"letter"`` (choice letter), ``"outcome"`` (pass or a
            failure kind) or ``"text"``.
        judge_template: judge definition the pairwise judge uses by default
            (an id under the judge definitions, or a path to a ``.toml``).
        judge_reference: reference shown to the judge: ``"target"``,
            ``"metadata:<key>"`` or None for no reference.
        columns: sample metadata keys shown as columns of ``analysis.samples``
            (MMLU: ``("subject",)``).
    """

    scorer: str
    answer: AnswerKind = "text"
    judge_template: str = "pairwise"
    judge_reference: str | None = "target"
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.scorer:
            raise ValueError("TaskDescriptor needs the name of the task's correctness scorer")
        if self.answer not in _ANSWER_KINDS:
            raise ValueError(
                f"TaskDescriptor answer={self.answer!r}: use one of {', '.join(_ANSWER_KINDS)}"
            )
        reference = self.judge_reference
        if reference not in (None, "target") and not str(reference).startswith("metadata:"):
            raise ValueError(
                f"TaskDescriptor judge_reference={reference!r}: "
                "use 'target', 'metadata:<key>' or None"
            )

    def to_metadata(self) -> dict[str, Any]:
        """The descriptor as plain JSON values, for a log's task metadata."""
        return {
            "scorer": self.scorer,
            "answer": self.answer,
            "judge_template": self.judge_template,
            "judge_reference": self.judge_reference,
            "columns": list(self.columns),
        }

    @classmethod
    def from_metadata(cls, data: Mapping[str, Any]) -> TaskDescriptor:
        """The descriptor ``to_metadata`` wrote (unknown keys, from a newer Cogumi, are ignored)."""
        return cls(
            scorer=str(data["scorer"]),
            answer=cast(AnswerKind, data.get("answer", "text")),
            judge_template=str(data.get("judge_template") or "pairwise"),
            judge_reference=data.get("judge_reference", "target"),
            columns=tuple(str(c) for c in data.get("columns") or ()),
        )


GSM8K = TaskDescriptor(
    scorer="final_number",
    answer="number",
    judge_template="pairwise-math",
    judge_reference="metadata:reference_solution",
)
HUMANEVAL = TaskDescriptor(
    scorer="humaneval_tests", answer="outcome", judge_template="pairwise-code", judge_reference=None
)
MMLU = TaskDescriptor(scorer="choice_letter", answer="letter", columns=("subject",))

BUILTIN_TASKS: dict[str, TaskDescriptor] = {"gsm8k": GSM8K, "humaneval": HUMANEVAL, "mmlu": MMLU}
"""Descriptors of Cogumi's own tasks, by task name: the fallback for logs written without one."""

SCORER_DESCRIPTORS: dict[str, TaskDescriptor] = {d.scorer: d for d in BUILTIN_TASKS.values()}
"""The descriptor that goes with each of Cogumi's scorers, so a task reusing one needs no other."""


def descriptor_for_scorer(scorer: str) -> TaskDescriptor | None:
    """The descriptor of a task scored by Cogumi's scorer ``scorer`` (None for another scorer)."""
    return SCORER_DESCRIPTORS.get(scorer.rsplit("/", 1)[-1])


def task_descriptor(
    metadata: Mapping[str, Any] | None, task: str = "", scorers: Iterable[str] = ()
) -> TaskDescriptor | None:
    """The descriptor of a logged task: its own, else the built-in one its name or scorers imply.

    Args:
        metadata: the log's task metadata (``log.eval.metadata``).
        task: the log's task name (``log.eval.task``), for logs written before descriptors.
        scorers: the score names in the log, for a task that reuses a Cogumi scorer.
    """
    recorded = (metadata or {}).get(METADATA_KEY)
    if isinstance(recorded, Mapping) and recorded.get("scorer"):
        return TaskDescriptor.from_metadata(recorded)
    builtin = BUILTIN_TASKS.get(_task_name(task))
    if builtin is not None:
        return builtin
    for name in scorers:
        found = descriptor_for_scorer(name)
        if found is not None:
            return found
    return None


def log_descriptor(log: Any) -> TaskDescriptor | None:
    """The descriptor of the task an ``EvalLog`` (or its header) records (``task_descriptor``)."""
    scorers = [s.name for s in log.eval.scorers or []]
    scorers += [s.scorer for s in (log.results.scores if log.results else [])]
    return task_descriptor(log.eval.metadata, log.eval.task, scorers)
