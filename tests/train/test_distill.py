"""Self-consistency distillation keeps exactly the answers a majority and the reference back."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import _taught  # registered by conftest.py
import pytest
from inspect_ai.log import read_eval_log

from cogumi_eval.cli import main
from cogumi_eval.testing import scripted_model
from cogumi_train import DistillResult, distill
from cogumi_train._distill import DistillError, load_categories
from cogumi_train.data._records import BadLineError

CONFIG = """
[category.math]
n = 3
temperature = 0.0
compare = "final_number"

[category.tally]
n = 4
compare = "final_number"

[category.creative]
n = 3
temperature = 0.9
compare = "text"
"""

# prompt id -> (category, reference, the answers the model gives, in call order)
SCRIPT: dict[str, tuple[str, str | None, list[str]]] = {
    "agree-right": ("math", "4", ["2 + 2 = 4.\nANSWER: 4", "ANSWER: 4", "ANSWER: 5"]),
    "agree-wrong": ("math", "10", ["ANSWER: 7", "It is 7. ANSWER: 7", "ANSWER: 7"]),
    "all-differ": ("math", None, ["ANSWER: 1", "ANSWER: 2", "ANSWER: 3"]),
    "agree-no-ref": ("math", None, ["ANSWER: 8", "ANSWER: 8", "ANSWER: 9"]),
    "no-number": ("math", "3", ["no idea", "none", "?"]),
    "tie": ("tally", None, ["ANSWER: 1", "ANSWER: 1", "ANSWER: 2", "ANSWER: 2"]),
    "poem": ("creative", None, ["A small poem", "a  small\npoem", "Another one"]),
}
KEPT = {
    "agree-right": {"2 + 2 = 4.\nANSWER: 4", "ANSWER: 4"},
    "agree-no-ref": {"ANSWER: 8"},
    "poem": {"A small poem", "a  small\npoem"},
}


def _prompt(sample_id: str) -> str:
    return f"Question {sample_id}: answer it."


def _write_prompts(path: Path, extra_lines: tuple[str, ...] = ()) -> Path:
    lines = []
    for sample_id, (category, reference, _) in SCRIPT.items():
        record: dict[str, object] = {
            "id": sample_id,
            "prompt": _prompt(sample_id),
            "category": category,
        }
        if reference is not None:
            record["reference"] = reference
        lines.append(json.dumps(record))
    path.write_text("\n".join([*lines, *extra_lines]) + "\n")
    return path


def _scripted() -> object:
    queues: dict[str, Iterator[str]] = {
        _prompt(sample_id): iter(answers) for sample_id, (_, _, answers) in SCRIPT.items()
    }
    return scripted_model(lambda prompt: next(queues[prompt]))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "categories.toml"
    path.write_text(CONFIG)
    return path


def _run(tmp_path: Path, config: Path, **kwargs: object) -> DistillResult:
    return distill(
        _write_prompts(tmp_path / "prompts.jsonl"),
        model=_scripted(),  # type: ignore[arg-type]
        out=tmp_path / "sft.jsonl",
        categories=config,
        log_dir=tmp_path / "logs",
        **kwargs,  # type: ignore[arg-type]
    )


def _written(path: Path) -> dict[str, set[str]]:
    kept: dict[str, set[str]] = defaultdict(set)
    for line in path.read_text().splitlines():
        record = json.loads(line)
        kept[record["id"]].add(record["response"])
    return dict(kept)


def test_keeps_exactly_the_consistent_answers(tmp_path: Path, config: Path) -> None:
    result = _run(tmp_path, config)

    assert _written(result.out) == KEPT
    reasons = {d.id: d.reason for d in result.decisions}
    assert reasons == {
        "agree-right": "kept",
        "agree-wrong": "wrong",
        "all-differ": "no_majority",
        "agree-no-ref": "kept",
        "no-number": "no_answer",
        "tie": "no_majority",
        "poem": "kept",
    }


def test_counts_per_category(tmp_path: Path, config: Path) -> None:
    result = _run(tmp_path, config)

    math = result.counts["math"]
    assert (math.prompts, math.answers, math.consistent) == (5, 15, 3)
    assert (math.with_reference, math.correct) == (3, 1)
    assert (math.kept_prompts, math.kept_answers) == (2, 3)
    assert math.dropped == {"wrong": 1, "no_majority": 1, "no_answer": 1}
    assert result.counts["creative"].kept_answers == 2
    assert result.total.kept_answers == 5


def test_answers_land_in_an_eval_log_with_n_epochs(tmp_path: Path, config: Path) -> None:
    result = _run(tmp_path, config)

    log = read_eval_log(result.logs["math"])
    assert log.eval.config.epochs == 3
    assert len(log.samples or []) == 5 * 3
    assert {
        s.scores["final_number_key"].answer for s in log.samples or [] if s.id == "agree-wrong"
    } == {"7"}


def test_greedy_and_sampled_categories_run_at_their_temperatures(
    tmp_path: Path, config: Path
) -> None:
    result = _run(tmp_path, config)

    assert read_eval_log(result.logs["math"], header_only=True).plan.config.temperature == 0.0
    creative = read_eval_log(result.logs["creative"], header_only=True)
    assert creative.plan.config.temperature == 0.9


def test_messages_format(tmp_path: Path, config: Path) -> None:
    result = _run(tmp_path, config, record_format="messages")

    record = json.loads(result.out.read_text().splitlines()[0])
    assert record["messages"] == [
        {"role": "user", "content": _prompt("agree-right")},
        {"role": "assistant", "content": "2 + 2 = 4.\nANSWER: 4"},
    ]


def test_bad_lines_are_named_and_skipped_or_fatal_when_strict(tmp_path: Path, config: Path) -> None:
    prompts = _write_prompts(tmp_path / "prompts.jsonl", ("{not json", '{"prompt": ""}'))

    result = distill(
        prompts,
        model=_scripted(),
        out=tmp_path / "sft.jsonl",  # type: ignore[arg-type]
        categories=config,
        log_dir=tmp_path / "logs",
    )

    assert [b.line for b in result.bad_lines] == [8, 9]
    assert _written(result.out) == KEPT
    with pytest.raises(BadLineError, match="prompts.jsonl:8"):
        distill(
            prompts,
            model=_scripted(),
            out=tmp_path / "strict.jsonl",  # type: ignore[arg-type]
            categories=config,
            strict=True,
        )


def test_unknown_category_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[category.math]\nsamples = 3\n")

    with pytest.raises(DistillError, match="unknown key"):
        load_categories(path)


def test_defaults_are_greedy_for_math_and_code_sampled_for_creative() -> None:
    categories = load_categories(None)

    assert categories["math"].temperature == 0 and categories["math"].compare == "final_number"
    assert categories["code"].temperature == 0 and categories["code"].compare == "code"
    assert categories["creative"].temperature > 0


def test_taught_model_distils_the_questions_it_answers_right(
    taught_checkpoint: Path,
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table on one line per row
    asked = {*_taught.TAUGHT_IDS[:4], *_taught.OTHER_IDS[:2]}
    problems = [p for p in _taught._problems(data_dir) if p[0] in asked]
    prompts = tmp_path / "gsm8k.jsonl"
    prompts.write_text(
        "".join(
            json.dumps({"id": sid, "prompt": prompt, "category": "math", "reference": answer})
            + "\n"
            for sid, prompt, answer in problems
        )
    )
    config = tmp_path / "math.toml"
    config.write_text('[category.math]\nn = 2\nmax_tokens = 12\ncompare = "final_number"\n')

    code = main(
        [
            "train",
            "distill",
            str(prompts),
            "--model",
            f"cogumi/{taught_checkpoint}",
            "--out",
            str(tmp_path / "sft.jsonl"),
            "--categories",
            str(config),
            "--log-dir",
            str(tmp_path / "logs"),
        ]
    )

    assert code == 0
    kept = {json.loads(line)["id"] for line in (tmp_path / "sft.jsonl").read_text().splitlines()}
    assert kept == set(_taught.TAUGHT_IDS[:4])
    assert "SFT records" in capsys.readouterr().out
