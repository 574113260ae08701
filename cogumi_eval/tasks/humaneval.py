"""HumanEval: complete a Python function; scored by running its unit tests in the sandbox."""

from __future__ import annotations

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import Solver, TaskState, generate, solver

from .._inspect_errors import user_errors_shown_by_inspect
from .._task_descriptor import HUMANEVAL
from ..data import HumanEvalProblem, RecordSet, load_humaneval
from ..judge import judge_scorers
from ..metrics import (
    agreement,
    check_k,
    consistency,
    majority_accuracy,
    parse_k,
    with_pass_at_k,
)
from ..sandbox import ExecutionResult, Limits, Outcome, Program, SandboxError
from ._code_extract import ExtractedCode, extract_code
from ._code_run import check_sandbox, run_program, task_sandbox
from ._common import dataset_metadata

CHAT_PROMPT = (
    "Complete the following Python function. Reply with the complete function, signature "
    "included, in a single ```python code block.\n\n```python\n{prompt}```"
)

STYLES = ("chat", "completion")
EMPTY = "empty"
"""The score's ``answer`` for an empty model answer (nothing is run)."""


def humaneval_samples(records: RecordSet[HumanEvalProblem]) -> list[Sample]:
    """One sample per problem; id = task_id; the tests travel in metadata."""
    return [
        Sample(
            id=problem.id,
            input=problem.prompt,
            target=problem.canonical_solution,
            metadata={
                "prompt": problem.prompt,
                "test": problem.test,
                "entry_point": problem.entry_point,
            },
        )
        for problem in records
    ]


def humaneval_checks(test: str, entry_point: str) -> str:
    """The trusted part of the program: the problem's ``check`` and its call."""
    return f"{test}\n\ncheck({entry_point})\n"


def humaneval_program(code: str, problem_prompt: str, test: str, entry_point: str) -> Program:
    """The program for one answer: the tests run in the checker, against ``entry_point`` only.

    The prompt is the checker's trusted prelude: helpers the tests call (``poly``,
    ``encode_cyclic``...) come from the dataset, never from the answer.
    """
    return Program(
        code, humaneval_checks(test, entry_point), prelude=problem_prompt, entry_point=entry_point
    )


@solver
def humaneval_prompt(style: str = "chat") -> Solver:
    """Ask for the function.

    Args:
        style: ``"chat"`` asks for the whole function in a fenced block (instruction
            models); ``"completion"`` sends the bare prompt to be continued (base models).
    """
    if style not in STYLES:
        raise ValueError(f"style={style!r} is not one of {', '.join(STYLES)}")

    async def solve(state: TaskState, generate: object) -> TaskState:
        if style == "chat":
            state.user_prompt.text = CHAT_PROMPT.replace("{prompt}", state.input_text)
        return state

    return solve


def _printable(text: str) -> str:
    """Text safe for a JSON log (lone surrogates escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _score(extracted: ExtractedCode, result: ExecutionResult, limits: Limits) -> Score:
    outcome = result.outcome.value
    explanation = f"{outcome}: {result.detail}"
    if result.stdout or result.stderr:
        explanation += f"\n\nstdout:\n{result.stdout[-1000:]}\nstderr:\n{result.stderr[-1000:]}"
    return Score(
        value=CORRECT if result.passed else INCORRECT,
        answer=outcome,
        explanation=_printable(explanation),
        metadata={
            "program": _printable(extracted.code),
            "extraction": extracted.rule,
            "detail": _printable(result.detail),
            "limits": limits.as_dict(),
            "isolation": result.isolation.as_dict(),
            "duration_s": result.duration_s,
            "cpu_s": result.cpu_s,
        },
    )


@scorer(metrics=[accuracy(), stderr(), consistency(), agreement(), majority_accuracy()])
def humaneval_tests(timeout: float = 10.0, memory_mb: int = 1024, sandbox: str = "local") -> Scorer:
    """Correct when the extracted program's tests run to their end in the sandbox.

    The score's ``answer`` is ``"pass"`` or the failure kind (``assertion``,
    ``exception``, ``syntax``, ``encoding``, ``timeout``, ``memory``, ``exit``,
    ``crash``, ``killed``, ``file_size``, ``not_data``; ``empty`` when the model returned no
    text); the explanation gives the detail; metadata holds the program that ran,
    how it was extracted, the limits and the isolation in force. Whatever the code
    does, it is scored (``not_data`` when what came back was not plain data); only a
    failure of the sandbox itself (it could not start) is raised as an error.

    Args:
        timeout: wall-clock seconds per program (CPU time is limited to the same).
        memory_mb: address-space limit per process.
        sandbox: ``"local"`` (Cogumi's process sandbox) or ``"docker"`` (Inspect's).
    """
    limits = Limits(timeout_s=timeout, memory_mb=memory_mb)
    check_sandbox(sandbox)

    async def score(state: TaskState, target: Target) -> Score:
        answer = state.output.completion if state.output else ""
        metadata = state.metadata
        extracted = extract_code(answer, metadata["prompt"], metadata["entry_point"])
        if extracted.rule == EMPTY:
            return Score(
                value=INCORRECT,
                answer=EMPTY,
                explanation="empty answer: the model returned no text, so there was nothing to run",
                metadata={"program": "", "extraction": EMPTY, "limits": limits.as_dict()},
            )
        program = humaneval_program(
            extracted.code, metadata["prompt"], metadata["test"], metadata["entry_point"]
        )
        result = await run_program(program, limits, sandbox)
        if result.outcome is Outcome.SANDBOX_ERROR:
            # Not the model's fault: an error (retryable with `inspect eval-retry`), not a wrong
            # answer.
            raise SandboxError(f"the sandbox could not run {state.sample_id}: {result.detail}")
        return _score(extracted, result, limits)

    return score


@task
@user_errors_shown_by_inspect
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
    """HumanEval (164 problems): the model writes the function, the sandbox runs its tests.

    Args:
        style: ``"chat"`` (fenced whole function) or ``"completion"`` (continue the prompt).
        epochs: samples per problem (default 1; Inspect's ``--epochs`` also sets it).
        k: the k of pass@k, e.g. ``1,10``; each k <= epochs; reported as metrics ``pass@<k>``
            (Inspect's ``pass_at`` estimator over each problem's epochs).
        sandbox: ``"local"`` (Cogumi's process sandbox) or ``"docker"`` (Inspect's docker
            sandbox; needs a running Docker engine).
        timeout: wall-clock seconds per program.
        memory_mb: address-space limit per process.
        data_dir: data folder (default ``$COGUMI_DATA_DIR``; without one, the hub).
        strict: fail on a malformed record (True) or skip and report it (False).
        verify: check the data file against its pinned sha256 checksum.
        judge: "pairwise" to also judge each answer against a stored baseline answer
            (grader: the ``grader`` model role); see ``cogumi_eval.judge.judge_scorers``.
        baseline: the model whose stored answers are the baseline (default openai/gpt-4-turbo).
        judge_template: judge definition under ``judges/`` (default pairwise-code).
        judge_repeats: grader calls per order, to measure the judge's own noise (kappa).
        judge_swap: judge both orders, MT-Bench rule (True) or one order (False).
        allow_missing: score samples without a baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls pass this many dollars.
        baselines: baseline store folder, .jsonl file or eval log (default results/baselines).
    """
    ks = parse_k(k)
    check_k(ks, epochs)
    check_sandbox(sandbox)
    records = load_humaneval(data_dir=data_dir, strict=strict, verify=verify)
    limits = Limits(timeout_s=timeout, memory_mb=memory_mb)
    return Task(
        dataset=MemoryDataset(humaneval_samples(records), name="humaneval"),
        solver=[humaneval_prompt(style), generate()],
        scorer=[
            with_pass_at_k(
                humaneval_tests(timeout=timeout, memory_mb=memory_mb, sandbox=sandbox), ks
            ),
            *judge_scorers(
                "humaneval",
                judge,
                baseline,
                judge_template=judge_template,
                judge_repeats=judge_repeats,
                judge_swap=judge_swap,
                allow_missing=allow_missing,
                budget_usd=budget_usd,
                baselines=baselines,
                descriptor=HUMANEVAL,
            ),
        ],
        epochs=Epochs(epochs or 1),
        sandbox=task_sandbox(sandbox, limits),
        metadata=dataset_metadata(
            "humaneval",
            records,
            HUMANEVAL,
            style=style,
            k=ks,
            sandbox=sandbox,
            timeout=timeout,
            memory_mb=memory_mb,
        ),
    )
