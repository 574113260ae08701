"""MMLU: 57 subjects of four-choice questions, scored on the option letter.

    inspect eval tasks/reasoning.py --model <model> [-T fewshot=5] [-T subjects=anatomy,virology]
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
) -> Task:
    """MMLU test split, zero-shot, all subjects by default; see ``cogumi_eval.tasks.mmlu``."""
    return mmlu_task(
        fewshot=fewshot,
        subjects=subjects,
        split=split,
        data_dir=data_dir,
        strict=strict,
        verify=verify,
    )
