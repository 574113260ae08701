"""MMLU: 57 subjects of four-choice questions, scored on the option letter.

    inspect eval tasks/reasoning.py --model <model> [-T fewshot=5] [-T subjects=anatomy,virology]

Judged against stored GPT-4 answers (build them once with `cogumi baseline build`):

    inspect eval tasks/reasoning.py --model <model> -T judge=pairwise \
        -T baseline=openai/gpt-4-turbo --model-role grader=openai/gpt-4-turbo
"""

from inspect_ai import Task, task

from cogumi_eval.tasks import mmlu as mmlu_task


@task
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
    """MMLU test split, zero-shot, all subjects by default; see ``cogumi_eval.tasks.mmlu``."""
    # every option above, passed on unchanged
    return mmlu_task(**locals())
