"""GSM8K: grade-school math word problems, scored on the exact final number.

    inspect eval tasks/math.py --model <model> [-T fewshot=8] [-T data_dir=...]
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
) -> Task:
    """GSM8K test split, zero-shot by default; see ``cogumi_eval.tasks.gsm8k`` for the options."""
    return gsm8k_task(
        fewshot=fewshot,
        fewshot_seed=fewshot_seed,
        split=split,
        data_dir=data_dir,
        strict=strict,
        verify=verify,
    )
