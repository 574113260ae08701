"""GSM8K: grade-school math word problems, scored on the exact final number.

    inspect eval tasks/math.py --model <model> [-T fewshot=8] [-T data_dir=...]

Judged against stored GPT-4 answers (build them once with `cogumi baseline build`):

    inspect eval tasks/math.py --model <model> -T judge=pairwise \
        -T baseline=openai/gpt-4-turbo --model-role grader=openai/gpt-4-turbo
"""

from inspect_ai import Task, task

from cogumi_eval.tasks import gsm8k as gsm8k_task


@task
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
    """GSM8K test split, zero-shot by default; see ``cogumi_eval.tasks.gsm8k`` for the options."""
    # every option above, passed on unchanged
    return gsm8k_task(**locals())
