"""GSM8K: step-by-step prompt, optional seeded few-shot exemplars, final-number scorer."""

from __future__ import annotations

import random
import re
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
    scorer,
    stderr,
)
from inspect_ai.solver import Solver, TaskState, generate, solver

from .._inspect_errors import user_errors_shown_by_inspect
from .._task_descriptor import GSM8K
from ..data import GSM8KRecord, RecordSet, load_gsm8k
from ..judge import judge_scorers
from ..metrics import agreement, consistency, majority_accuracy
from ._common import dataset_metadata
from ._numeric import extract_final_number, normalise_number, numbers_equal

PROMPT = (
    "Solve the following math problem step by step. Show your reasoning, then give the "
    'final answer on the last line in the form "ANSWER: $ANSWER" (without quotes), where '
    "$ANSWER is just the final number.\n"
    "\n"
    "{fewshot}Question: {question}"
)

FEWSHOT_HEADER = "Here are some worked examples.\n\n"

_CALCULATOR = re.compile(r"<<[^>]*>>")


def fewshot_exemplar(record: GSM8KRecord) -> str:
    """A train problem worked in the format the prompt asks for (calculator annotations removed)."""
    reasoning = _CALCULATOR.sub("", record.solution.rsplit("####", 1)[0]).strip()
    answer = normalise_number(record.answer) or record.answer
    return f"Question: {record.question}\n\n{reasoning}\nANSWER: {answer}"


def fewshot_block(train: Sequence[GSM8KRecord], count: int, seed: int) -> str:
    """``count`` train exemplars drawn with ``seed``: the same block on every machine."""
    if count <= 0:
        return ""
    if count > len(train):
        raise ValueError(f"fewshot={count} exceeds the {len(train)} train problems")
    chosen = random.Random(seed).sample(range(len(train)), count)
    return FEWSHOT_HEADER + "\n\n".join(fewshot_exemplar(train[i]) for i in chosen) + "\n\n"


def gsm8k_samples(records: RecordSet[GSM8KRecord]) -> list[Sample]:
    """One sample per problem; ``input`` is the bare question, ``target`` the normalised answer."""
    return [
        Sample(
            id=record.id,
            input=record.question,
            target=normalise_number(record.answer) or record.answer,
            metadata={"reference_solution": record.solution, "answer_as_written": record.answer},
        )
        for record in records
    ]


@solver
def gsm8k_prompt(fewshot: str = "") -> Solver:
    """Wrap the question in the step-by-step prompt (plain substitution: braces are safe).

    Args:
        fewshot: the exemplar block to put before the question ("" for zero-shot).
    """

    async def solve(state: TaskState, generate: object) -> TaskState:
        text = PROMPT.replace("{fewshot}", fewshot).replace("{question}", state.input_text)
        state.user_prompt.text = text
        return state

    return solve


@scorer(metrics=[accuracy(), stderr(), consistency(), agreement(), majority_accuracy()])
def final_number() -> Scorer:
    """Correct when the response's final number equals the target exactly (as rationals).

    With ``--epochs N`` the run also reports ``consistency`` (share of problems
    whose N answers are identical), ``agreement`` and ``majority_accuracy``
    (self-consistency voting); with one epoch they are NaN.

    The score's ``answer`` is the normalised extracted number (None when there is
    none); ``metadata["rule"]`` names the rule that found it (see
    ``cogumi_eval.tasks._numeric``), so extraction failures can be told apart from
    wrong arithmetic.
    """

    async def score(state: TaskState, target: Target) -> Score:
        response = state.output.completion if state.output else ""
        found = extract_final_number(response)
        if found.rule == "empty":
            explanation = "empty answer: the model returned no text"
        elif found.value is None:
            explanation = "no number found in the response"
        else:
            explanation = f"rule {found.rule!r} read {found.raw!r} as {found.value}"
        correct = numbers_equal(found.value, target.text)
        return Score(
            value=CORRECT if correct else INCORRECT,
            answer=found.value,
            explanation=explanation,
            metadata={"rule": found.rule, "extracted_from": found.raw},
        )

    return score


@task
@user_errors_shown_by_inspect
def gsm8k(
    fewshot: int = 0,
    fewshot_seed: int = 42,
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
    """GSM8K with a step-by-step prompt and exact final-number scoring.

    Args:
        fewshot: number of worked train-split exemplars before each question (0 = zero-shot).
        fewshot_seed: seed that picks the exemplars; fixed so every run sees the same prompt.
        split: ``"test"`` (1,319 problems) or ``"train"``.
        data_dir: data folder (default ``$COGUMI_DATA_DIR``; without one, the hub).
        strict: fail on a malformed record (True) or skip and report it (False).
        verify: check data files against the pinned sha256 checksums.
        judge: "pairwise" to also judge each answer against a stored baseline answer
            (grader: the ``grader`` model role); see ``cogumi_eval.judge.judge_scorers``.
        baseline: the model whose stored answers are the baseline (default openai/gpt-4-turbo).
        judge_template: judge definition under ``judges/`` (default pairwise-math).
        judge_repeats: grader calls per order, to measure the judge's own noise (kappa).
        judge_swap: judge both orders, MT-Bench rule (True) or one order (False).
        allow_missing: score samples without a baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls pass this many dollars.
        baselines: baseline store folder, .jsonl file or eval log (default results/baselines).
    """
    records = load_gsm8k(split, data_dir=data_dir, strict=strict, verify=verify)  # type: ignore[arg-type]
    train = (
        load_gsm8k("train", data_dir=data_dir, strict=strict, verify=verify) if fewshot else None
    )
    block = fewshot_block(train.records, fewshot, fewshot_seed) if train else ""
    return Task(
        dataset=MemoryDataset(gsm8k_samples(records), name=f"gsm8k-{split}"),
        solver=[gsm8k_prompt(block), generate()],
        scorer=[
            final_number(),
            *judge_scorers(
                "gsm8k",
                judge,
                baseline,
                judge_template=judge_template,
                judge_repeats=judge_repeats,
                judge_swap=judge_swap,
                allow_missing=allow_missing,
                budget_usd=budget_usd,
                baselines=baselines,
                descriptor=GSM8K,
            ),
        ],
        metadata=dataset_metadata(
            "gsm8k", records, GSM8K, fewshot=fewshot, fewshot_seed=fewshot_seed
        ),
    )
