"""Synthetic grade-school word problems: bringing your own benchmark to Cogumi.

A task of your own, scored with Cogumi's GSM8K prompt and final-number scorer,
is gated, judged and analysed like the built-in tasks: ``cogumi_task`` records
the task's descriptor in every log, so ``cogumi gate`` (rules with
``task = "word_problems"``), ``cogumi judge --objective`` and
``cogumi_eval.analysis`` read it with no change to Cogumi.

    python examples/word_problems/problems.py --out data/word_problems
    inspect eval examples/word_problems/word_problems.py --model cogumi/./checkpoints/base \\
        -T data=data/word_problems/test.jsonl --epochs 3 --temperature 0.7

Each record is ``{"id", "family", "template", "question", "solution", "answer"}``
(``problems.py`` writes them); ids are stable, so runs pair sample by sample.
"""

import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import generate

from cogumi_eval.tasks import TaskDescriptor, cogumi_task, final_number, gsm8k_prompt

DESCRIPTOR = TaskDescriptor(
    scorer="final_number",
    answer="number",
    judge_template="pairwise-math",
    judge_reference="metadata:reference_solution",
    columns=("family", "template"),
)


def record_to_sample(record: dict) -> Sample:
    return Sample(
        id=record["id"],
        input=record["question"],
        target=record["answer"],
        metadata={
            "reference_solution": record["solution"],
            "family": record["family"],
            "template": record["template"],
        },
    )


@task
def word_problems(
    data: str = "data/word_problems/test.jsonl",
    family: str | None = None,
    judge: str | None = None,
    baseline: str | None = None,
    baselines: str | None = None,
    allow_missing: bool = False,
) -> Task:
    """Generated GSM8K-style problems from ``data`` (a .jsonl), zero-shot.

    Args:
        data: the problems file written by ``problems.py``.
        family: keep one family only (``base`` or ``change``).
        judge: "pairwise" to judge answers against stored baseline answers.
        baseline: the model whose stored answers are the baseline.
        baselines: baseline store folder, .jsonl file or eval log.
        allow_missing: score samples without a baseline answer 'error' instead of failing.
    """
    path = Path(data)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no problems file; write one with "
            "`python examples/word_problems/problems.py --out data/word_problems` "
            "or pass -T data=<file>"
        )
    records = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    samples = [record_to_sample(r) for r in records if family is None or r["family"] == family]
    return cogumi_task(
        "word_problems",
        dataset=MemoryDataset(samples, name=f"word_problems-{path.stem}"),
        solver=[gsm8k_prompt(), generate()],
        scorer=final_number(),
        descriptor=DESCRIPTOR,
        judge=judge,
        baseline=baseline,
        baselines=baselines,
        allow_missing=allow_missing,
    )
