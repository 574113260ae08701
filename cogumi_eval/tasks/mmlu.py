"""MMLU: four-choice questions in 57 subjects, 0- or 5-shot from the dev split, letter scorer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Score,
    Scorer,
    Target,
    accuracy,
    grouped,
    scorer,
    stderr,
)
from inspect_ai.solver import Solver, TaskState, generate, solver

from .._inspect_errors import user_errors_shown_by_inspect
from .._task_descriptor import MMLU
from ..data import LETTERS, MMLURecord, RecordSet, check_subjects, load_mmlu
from ..judge import judge_scorers
from ..metrics import agreement, consistency, majority_accuracy
from ._common import dataset_metadata
from ._letter import extract_letter

PROMPT = (
    "The following is a multiple choice question about {subject}. Think it through if you"
    ' need to, then give your final answer on the last line in the form "ANSWER: $LETTER"'
    " (without quotes), where $LETTER is one of A, B, C or D.\n"
    "\n"
    "{fewshot}{question}"
)


def subject_title(subject: str) -> str:
    """``"high_school_us_history"`` → ``"high school us history"``."""
    return subject.replace("_", " ")


def format_question(record: MMLURecord) -> str:
    """The question followed by its options, one per line as ``A) ...``."""
    options = "\n".join(
        f"{letter}) {text}" for letter, text in zip(LETTERS, record.choices, strict=False)
    )
    return f"Question: {record.question}\n{options}"


def fewshot_blocks(dev: RecordSet[MMLURecord], count: int) -> dict[str, str]:
    """Per subject, its first ``count`` dev questions answered (MMLU's own 5-shot convention)."""
    if count <= 0:
        return {}
    by_subject: dict[str, list[MMLURecord]] = defaultdict(list)
    for record in dev:
        by_subject[record.subject].append(record)
    blocks = {}
    for subject, records in by_subject.items():
        if count > len(records):
            raise ValueError(
                f"fewshot={count} exceeds the {len(records)} dev questions of {subject}"
            )
        shots = [f"{format_question(r)}\nANSWER: {r.answer}" for r in records[:count]]
        blocks[subject] = "\n\n".join(shots) + "\n\n"
    return blocks


def mmlu_samples(records: Sequence[MMLURecord]) -> list[Sample]:
    """One sample per question; ``input``: the question with its options, ``target``: the letter."""
    return [
        Sample(
            id=record.id,
            input=format_question(record),
            choices=list(record.choices),
            target=record.answer,
            metadata={"subject": record.subject},
        )
        for record in records
    ]


@solver
def mmlu_prompt(fewshot: dict[str, str] | None = None) -> Solver:
    """Wrap the question in the instruction, after the subject's exemplars.

    Args:
        fewshot: exemplar block per subject ({} for zero-shot).
    """
    blocks = fewshot or {}

    async def solve(state: TaskState, generate: object) -> TaskState:
        subject = state.metadata["subject"]
        state.user_prompt.text = (
            PROMPT.replace("{subject}", subject_title(subject))
            .replace("{fewshot}", blocks.get(subject, ""))
            .replace("{question}", state.input_text)
        )
        return state

    return solve


@scorer(
    metrics=[
        accuracy(),
        stderr(cluster="subject"),
        grouped(accuracy(), "subject", all="groups", all_label="macro_accuracy"),
        consistency(),
        agreement(),
        majority_accuracy(),
    ]
)
def choice_letter() -> Scorer:
    """Correct when the chosen letter is the answer.

    Metrics: ``accuracy`` (micro: every question weighs the same), ``stderr``
    clustered by subject (questions within a subject are not independent),
    per-subject accuracy and ``macro_accuracy`` (every subject weighs the same);
    with ``--epochs N``, ``consistency``, ``agreement`` and ``majority_accuracy``
    across the N answers (NaN with one epoch).
    The score's ``answer`` is the extracted letter (None if none was found) and
    ``metadata["rule"]`` names the extraction rule.
    """

    async def score(state: TaskState, target: Target) -> Score:
        response = state.output.completion if state.output else ""
        choices = [choice.value for choice in state.choices] if state.choices else []
        found = extract_letter(response, choices)
        if found.rule == "empty":
            explanation = "empty answer: the model returned no text"
        elif found.value is None:
            explanation = "no option letter found in the response"
        else:
            explanation = f"rule {found.rule!r} chose {found.value}"
        return Score(
            value=CORRECT if found.value == target.text else INCORRECT,
            answer=found.value,
            explanation=explanation,
            metadata={"rule": found.rule},
        )

    return score


@task
@user_errors_shown_by_inspect
def mmlu(
    fewshot: int = 0,
    subjects: str | list[str] | None = None,
    split: str = "test",
    data_dir: str | None = None,
    strict: bool = True,
    verify: bool = True,
    judge: str | None = None,
    baseline: str | None = None,
    judge_template: str | None = None,
    judge_repeats: int = 1,
    judge_swap: bool = True,
    allow_missing: bool = False,
    budget_usd: float | None = None,
    baselines: str | None = None,
) -> Task:
    """MMLU, generated answers scored on the option letter.

    Args:
        fewshot: dev-split exemplars per question, from the same subject (0 to 5; 5 is the
            paper's setting).
        subjects: subjects to include (a list, or a comma-separated string); all 57 by default.
        split: ``"test"`` (14,042 questions) or ``"val"`` (1,531).
        data_dir: data folder (default ``$COGUMI_DATA_DIR``; without one, the hub).
        strict: fail on a malformed row (True) or skip and report it (False).
        verify: check data files against the pinned sha256 checksums.
        judge: "pairwise" to also judge each answer against a stored baseline answer
            (grader: the ``grader`` model role); see ``cogumi_eval.judge.judge_scorers``.
        baseline: the model whose stored answers are the baseline (default openai/gpt-4-turbo).
        judge_template: judge definition id (default pairwise, with the answer as reference).
        judge_repeats: grader calls per order, to measure the judge's own noise (kappa).
        judge_swap: judge both orders, MT-Bench rule (True) or one order (False).
        allow_missing: score samples without a baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls pass this many dollars.
        baselines: baseline store folder, .jsonl file or eval log (default results/baselines).
    """
    chosen = check_subjects(subjects)
    records = load_mmlu(split, subjects=chosen, data_dir=data_dir, strict=strict, verify=verify)  # type: ignore[arg-type]
    dev = (
        load_mmlu("dev", subjects=chosen, data_dir=data_dir, strict=strict, verify=verify)
        if fewshot
        else None
    )
    return Task(
        dataset=MemoryDataset(mmlu_samples(records.records), name=f"mmlu-{split}"),
        solver=[mmlu_prompt(fewshot_blocks(dev, fewshot) if dev else {}), generate()],
        scorer=[
            choice_letter(),
            *judge_scorers(
                "mmlu",
                judge,
                baseline,
                judge_template=judge_template,
                judge_repeats=judge_repeats,
                judge_swap=judge_swap,
                allow_missing=allow_missing,
                budget_usd=budget_usd,
                baselines=baselines,
                descriptor=MMLU,
            ),
        ],
        metadata=dataset_metadata(
            "mmlu", records, MMLU, fewshot=fewshot, subjects=list(chosen), split=split
        ),
    )
