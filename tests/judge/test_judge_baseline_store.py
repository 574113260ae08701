"""The baseline store: format, validation that names the line, lookup by exact input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cogumi_eval.judge import (
    BaselineError,
    BaselineMissingError,
    BaselineRecord,
    BaselineStaleError,
    BaselineStore,
    input_sha256,
    records_from_jsonl,
)


def _record(
    sample_id: str, prompt: str = "q", answer: str = "a", **extra: object
) -> BaselineRecord:
    return BaselineRecord(
        task="gsm8k",
        sample_id=sample_id,
        input_sha256=input_sha256(prompt),
        model="openai/gpt-4-turbo",
        answer=answer,
        config={"temperature": 0.0},
        **extra,  # type: ignore[arg-type]
    )


def test_a_store_file_is_one_sorted_record_per_line_with_sorted_keys(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    store.add([_record("test-0010"), _record("test-0002"), _record("test-0001")])
    path = tmp_path / "gsm8k" / "openai__gpt-4-turbo.jsonl"
    lines = path.read_text().splitlines()
    assert [json.loads(line)["sample_id"] for line in lines] == [
        "test-0001",
        "test-0002",
        "test-0010",
    ]
    assert all(list(json.loads(line)) == sorted(json.loads(line)) for line in lines)


def test_records_read_back_equal_what_was_stored(tmp_path: Path) -> None:
    record = _record("test-0001", answer="ANSWER: 7", model_version="gpt-4-turbo-2024-04-09")
    BaselineStore(tmp_path).add([record])
    assert BaselineStore(tmp_path).records("gsm8k", "openai/gpt-4-turbo") == [record]


def test_adding_a_stored_record_again_adds_nothing(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    store.add([_record("test-0001")])
    result = store.add([_record("test-0001"), _record("test-0002")])
    assert (result.added, result.already_stored) == (1, 1)


def _write(tmp_path: Path, lines: list[str]) -> BaselineStore:
    path = tmp_path / "gsm8k" / "openai__gpt-4-turbo.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    return BaselineStore(tmp_path)


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    line = _record("test-0001").to_json()
    store = _write(tmp_path, [line, _record("test-0002").to_json(), line])
    with pytest.raises(BaselineError, match=r"line 3: duplicate of line 1"):
        store.records("gsm8k", "openai/gpt-4-turbo")


def test_a_missing_field_names_the_line_and_the_field(tmp_path: Path) -> None:
    data = json.loads(_record("test-0002").to_json())
    del data["input_sha256"]
    store = _write(tmp_path, [_record("test-0001").to_json(), json.dumps(data)])
    with pytest.raises(BaselineError, match=r"line 2: missing field\(s\) input_sha256"):
        store.records("gsm8k", "openai/gpt-4-turbo")


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    store = _write(tmp_path, [_record("test-0001").to_json(), "{oops"])
    with pytest.raises(BaselineError, match="line 2: not valid JSON"):
        store.records("gsm8k", "openai/gpt-4-turbo")


def test_a_hand_edited_config_is_caught_by_its_hash(tmp_path: Path) -> None:
    data = json.loads(_record("test-0001").to_json())
    data["config"]["temperature"] = 0.7
    store = _write(tmp_path, [json.dumps(data)])
    with pytest.raises(BaselineError, match="line 1: config_sha256"):
        store.records("gsm8k", "openai/gpt-4-turbo")


def test_lookup_returns_the_answer_for_the_same_input(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    store.add([_record("test-0001", prompt="Question one", answer="ANSWER: 3")])
    found = store.lookup(
        "cogumi/gsm8k", "test-0001", "openai/gpt-4-turbo", input_sha256("Question one")
    )
    assert found.answer == "ANSWER: 3"


def test_an_answer_for_a_changed_input_is_refused(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    store.add([_record("test-0001", prompt="Question one")])
    with pytest.raises(BaselineStaleError, match="generated for a different input"):
        store.lookup(
            "gsm8k", "test-0001", "openai/gpt-4-turbo", input_sha256("Question one, edited")
        )


def test_a_sample_without_an_answer_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(BaselineMissingError, match="cogumi baseline build"):
        BaselineStore(tmp_path).lookup("gsm8k", "test-0001", "openai/gpt-4-turbo", "0" * 64)


def test_answers_from_two_configs_need_a_choice(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    hot = BaselineRecord(
        "gsm8k", "test-0001", input_sha256("q"), "openai/gpt-4-turbo", "hot", {"temperature": 1.0}
    )
    store.add([_record("test-0001"), hot])
    with pytest.raises(BaselineError, match="baseline_config=<sha prefix>"):
        store.lookup("gsm8k", "test-0001", "openai/gpt-4-turbo", input_sha256("q"))
    chosen = store.lookup(
        "gsm8k", "test-0001", "openai/gpt-4-turbo", input_sha256("q"), hot.config_sha256[:8]
    )
    assert chosen.answer == "hot"


def test_jsonl_import_may_give_the_input_instead_of_its_hash(tmp_path: Path) -> None:
    source = tmp_path / "answers.jsonl"
    source.write_text(
        json.dumps({"sample_id": "test-0001", "input": "Question one", "answer": "x"}) + "\n"
    )
    (record,) = records_from_jsonl(source, task="gsm8k", model="openai/gpt-4-turbo")
    assert record.input_sha256 == input_sha256("Question one")
