"""HumanEval: 164 Python functions, scored by running their unit tests in a sandbox.

    inspect eval tasks/code.py --model <model> [-T style=completion] [-T sandbox=docker]

pass@k from several samples per problem (unbiased estimator, Chen et al. 2021):

    inspect eval tasks/code.py --model <model> -T epochs=10 -T k=1,10

Judged against stored GPT-4 answers (build them once with `cogumi baseline build`):

    inspect eval tasks/code.py --model <model> -T judge=pairwise \
        -T baseline=openai/gpt-4-turbo --model-role grader=openai/gpt-4-turbo
"""

from inspect_ai import Task, task

from cogumi_eval.tasks import humaneval as humaneval_task


@task
def humaneval(
    style: str = "chat",
    epochs: int | None = None,
    k: int | str | list[int] = 1,
    sandbox: str = "local",
    timeout: float = 10.0,
    memory_mb: int = 1024,
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
    """HumanEval, chat prompt, local sandbox by default; see ``cogumi_eval.tasks.humaneval``."""
    # every option above, passed on unchanged
    return humaneval_task(**locals())
