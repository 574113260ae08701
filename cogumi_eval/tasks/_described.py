"""A user's own task with Cogumi's judge options and its descriptor in the log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai import Task
from inspect_ai._util.registry import registry_unqualified_name
from inspect_ai.dataset import Dataset, Sample
from inspect_ai.scorer import Scorer
from inspect_ai.solver import Solver

from .._task_descriptor import METADATA_KEY, TaskDescriptor, descriptor_for_scorer


def cogumi_task(
    name: str,
    *,
    dataset: Dataset | Sequence[Sample],
    solver: Solver | Sequence[Solver],
    scorer: Scorer,
    descriptor: TaskDescriptor | None = None,
    judge: str | None = None,
    baseline: str | None = None,
    judge_template: str | None = None,
    judge_repeats: int = 1,
    judge_swap: bool = True,
    allow_missing: bool = False,
    budget_usd: float | None = None,
    baselines: str | None = None,
    metadata: dict[str, Any] | None = None,
    **task_options: Any,
) -> Task:
    """An Inspect ``Task`` that Cogumi's gate, judge and analysis read with no change to Cogumi.

    Its descriptor is written into the log's task metadata, so ``cogumi gate``
    (a rule with ``task = "<name>"``), ``cogumi judge`` (``--objective`` or
    pairwise) and ``analysis.samples`` read the correctness scorer, judge
    definition and reference from the log. The judge options are the ones every
    Cogumi task takes (``-T judge=pairwise -T baseline=...``).

    Args:
        name: the task's name, as the ``@task`` factory is named (baselines are stored under it).
        dataset: the samples.
        solver: the solver chain (e.g. ``[gsm8k_prompt(), generate()]``).
        scorer: the correctness scorer (value "C"/"I"; e.g. ``final_number()``).
        descriptor: what Cogumi needs to know about the task; default the one that goes
            with a Cogumi scorer (``final_number``, ``choice_letter``, ``humaneval_tests``).
        judge: "pairwise" to also judge each answer against a stored baseline answer.
        baseline: the model whose stored answers are the baseline (default openai/gpt-4-turbo).
        judge_template: judge definition (default the descriptor's).
        judge_repeats: grader calls per order, to measure the judge's own noise (kappa).
        judge_swap: judge both orders, MT-Bench rule (True) or one order (False).
        allow_missing: score samples without a baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls pass this many dollars.
        baselines: baseline store folder, .jsonl file or eval log (default results/baselines).
        metadata: more task metadata to record in the log.
        task_options: passed on to ``Task`` (``epochs``, ``config``, ``sandbox``, ...).
    """
    from ..judge import judge_scorers

    scorer_name = registry_unqualified_name(scorer)
    described = descriptor or descriptor_for_scorer(scorer_name)
    if described is None:
        raise ValueError(
            f"cogumi_task {name!r}: scorer {scorer_name!r} is not one of Cogumi's, so pass "
            f"descriptor=TaskDescriptor(scorer={scorer_name!r}, ...) to say how to read its scores"
        )
    if described.scorer != scorer_name:
        raise ValueError(
            f"cogumi_task {name!r}: the descriptor names scorer {described.scorer!r} but the task "
            f"scores with {scorer_name!r}; they must agree for the log to be read"
        )
    judges = judge_scorers(
        name,
        judge,
        baseline,
        judge_template=judge_template,
        judge_repeats=judge_repeats,
        judge_swap=judge_swap,
        allow_missing=allow_missing,
        budget_usd=budget_usd,
        baselines=baselines,
        descriptor=described,
    )
    return Task(
        dataset=dataset,
        solver=solver,
        scorer=[scorer, *judges],
        metadata={**(metadata or {}), METADATA_KEY: described.to_metadata()},
        **task_options,
    )
