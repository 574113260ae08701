"""The judge options every Cogumi task accepts, turned into scorers in one place.

A task factory adds ``*judge_scorers(name, judge=..., baseline=..., ...)`` to its
scorers, so ``-T judge=pairwise -T baseline=openai/gpt-4-turbo`` works the
same for every task.
"""

from __future__ import annotations

from inspect_ai.scorer import Scorer

from ._baseline import task_key
from ._baseline_sources import open_baselines
from ._errors import BaselineMissingError, JudgeDefinitionError
from ._scorer import DEFAULT_BASELINE, pairwise

JUDGE_KINDS = ("pairwise",)

# task -> (judge definition, reference shown to the judge)
TASK_JUDGES: dict[str, tuple[str, str | None]] = {
    "gsm8k": ("pairwise-math", "metadata:reference_solution"),
    "humaneval": ("pairwise-code", None),
    "mmlu": ("pairwise", "target"),
}


def judge_scorers(
    task_name: str,
    judge: str | None = None,
    baseline: str | None = None,
    *,
    judge_template: str | None = None,
    judge_repeats: int = 1,
    judge_swap: bool = True,
    judge_reference: str | None = "default",
    allow_missing: bool = False,
    budget_usd: float | None = None,
    baselines: str | None = None,
    baseline_config: str | None = None,
) -> list[Scorer]:
    """Scorers for a task's judge options (an empty list when ``judge`` is not set).

    Args:
        task_name: the task ("gsm8k", "humaneval", "mmlu"; "cogumi/" is dropped).
        judge: "pairwise" to judge against stored baseline answers; None for no judge.
        baseline: the model whose stored answers are the baseline (default openai/gpt-4-turbo).
        judge_template: judge definition (default per task: pairwise-math, pairwise-code, pairwise).
        judge_repeats: grader calls per order, to measure the judge's own noise.
        judge_swap: judge both orders (MT-Bench rule) or one.
        judge_reference: reference shown to the judge ("target", "metadata:<key>", None);
            "default" picks the task's own.
        allow_missing: score samples without a baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls pass this many dollars.
        baselines: baseline store folder, ``.jsonl`` file or eval log.
        baseline_config: ``config_sha256`` prefix when several generation configs are stored.
    """
    name = task_key(task_name)
    if judge in (None, "", "none"):
        if baseline:
            raise JudgeDefinitionError(
                f"baseline={baseline} was given without a judge: add -T judge=pairwise"
            )
        return []
    if judge not in JUDGE_KINDS:
        raise JudgeDefinitionError(
            f"judge={judge!r} is not a judge kind; use one of: {', '.join(JUDGE_KINDS)}"
        )
    template, task_reference = TASK_JUDGES.get(name, ("pairwise", "target"))
    model = baseline or DEFAULT_BASELINE
    store = open_baselines(baselines)
    if not allow_missing and not store.records(name, model):
        where = store.describe() if store.root is None else str(store.file_for(name, model))
        raise BaselineMissingError(
            f"no baseline answers for {name} from {model} in {where}: run "
            f"`cogumi baseline build <task file> --model {model}` with the same -T options first "
            "(or pass -T allow_missing=true to score every sample 'error')"
        )
    return [
        pairwise(
            task_name=name,
            baseline=model,
            template=judge_template or template,
            swap=judge_swap,
            repeats=judge_repeats,
            reference=task_reference if judge_reference == "default" else judge_reference,
            allow_missing=allow_missing,
            budget_usd=budget_usd,
            baselines=baselines,
            baseline_config=baseline_config,
        )
    ]
