"""The benchmark loaders: counts, stable ids, checksums, malformed records, the hub fallback."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import pytest

from cogumi_eval.data import (
    ChecksumError,
    DataError,
    DataSourceError,
    RecordError,
    _hub,
    load_gsm8k,
    load_humaneval,
    load_mmlu,
    mmlu_subjects,
)


def test_gsm8k_splits_have_the_published_sizes(data_dir: Path) -> None:
    assert len(load_gsm8k("train", data_dir=data_dir)) == 7473
    assert len(load_gsm8k("test", data_dir=data_dir)) == 1319


def test_gsm8k_record_carries_question_and_final_answer(data_dir: Path) -> None:
    first = load_gsm8k("test", data_dir=data_dir)[0]
    assert first.id == "test-0000"
    assert first.question.startswith("Janet’s ducks lay 16 eggs")
    assert first.answer == "18"


def test_gsm8k_ids_are_unique_and_identical_across_loads(data_dir: Path) -> None:
    a = [r.id for r in load_gsm8k("test", data_dir=data_dir)]
    b = [r.id for r in load_gsm8k("test", data_dir=data_dir)]
    assert a == b and len(set(a)) == len(a)


def test_humaneval_has_164_problems_keyed_by_task_id(data_dir: Path) -> None:
    problems = load_humaneval(data_dir=data_dir)
    assert len(problems) == 164
    assert problems[0].id == "HumanEval/0" and problems[163].id == "HumanEval/163"
    assert problems[0].entry_point == "has_close_elements"


@pytest.mark.parametrize(("split", "count"), [("dev", 285), ("val", 1531), ("test", 14042)])
def test_mmlu_splits_have_the_published_sizes(data_dir: Path, split: str, count: int) -> None:
    assert len(load_mmlu(split, data_dir=data_dir)) == count  # type: ignore[arg-type]


def test_mmlu_has_57_subjects_and_subject_filter_applies(data_dir: Path) -> None:
    assert len(mmlu_subjects()) == 57
    records = load_mmlu("dev", subjects="anatomy, virology", data_dir=data_dir)
    assert {r.subject for r in records} == {"anatomy", "virology"}
    assert records[0].id == "anatomy-dev-0000"


def test_mmlu_row_with_quoted_newlines_parses_into_four_choices(data_dir: Path) -> None:
    records = load_mmlu("dev", subjects=["high_school_computer_science"], data_dir=data_dir)
    assert len(records) == 5
    assert all(len(r.choices) == 4 and r.answer in "ABCD" for r in records)
    assert any("\n" in r.question for r in records)


def test_unknown_mmlu_subject_lists_valid_ones(data_dir: Path) -> None:
    with pytest.raises(DataError) as error:
        load_mmlu("test", subjects=["anatomyy"], data_dir=data_dir)
    message = str(error.value)
    assert "anatomyy" in message and "Did you mean anatomy" in message
    assert "virology" in message  # the full list is there


def test_missing_data_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="is not a folder"):
        load_gsm8k("test", data_dir=tmp_path / "nope")


def test_folder_without_the_file_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"gsm8k/test\.jsonl"):
        load_gsm8k("test", data_dir=tmp_path)


def _copy_dataset(data_dir: Path, tmp_path: Path, name: str) -> Path:
    shutil.copytree(data_dir / name, tmp_path / name)
    for path in (tmp_path / name).rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return tmp_path


def test_checksum_mismatch_names_file_expected_and_actual(data_dir: Path, tmp_path: Path) -> None:
    folder = _copy_dataset(data_dir, tmp_path, "gsm8k")
    test_file = folder / "gsm8k" / "test.jsonl"
    test_file.write_bytes(test_file.read_bytes().replace(b"#### 18", b"#### 19", 1))
    with pytest.raises(ChecksumError) as error:
        load_gsm8k("test", data_dir=folder)
    message = str(error.value)
    assert str(test_file) in message
    assert "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14" in message
    assert "got " in message


def test_verify_false_loads_an_edited_file(data_dir: Path, tmp_path: Path) -> None:
    folder = _copy_dataset(data_dir, tmp_path, "gsm8k")
    test_file = folder / "gsm8k" / "test.jsonl"
    test_file.write_bytes(test_file.read_bytes().replace(b"#### 18", b"#### 19", 1))
    assert load_gsm8k("test", data_dir=folder, verify=False)[0].answer == "19"


def _gsm8k_with_bad_line(tmp_path: Path, bad: str) -> Path:
    (tmp_path / "gsm8k").mkdir()
    lines = [
        json.dumps({"question": "One plus one?", "answer": "1+1=2\n#### 2"}),
        bad,
        json.dumps({"question": "Two plus two?", "answer": "2+2=4\n#### 4"}),
    ]
    (tmp_path / "gsm8k" / "test.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ('{"question": "broken', "not valid JSON"),
        ('{"question": "no answer"}', "missing field 'answer'"),
        (
            '{"question": "q", "answer": "no final line"}',
            "field 'answer' has no '#### <number>' final line",
        ),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path, bad: str, reason: str) -> None:
    folder = _gsm8k_with_bad_line(tmp_path, bad)
    with pytest.raises(RecordError) as error:
        load_gsm8k("test", data_dir=folder, verify=False)
    assert f"test.jsonl:2: {reason}" in str(error.value)


def test_non_strict_skips_and_reports_the_bad_line(tmp_path: Path) -> None:
    folder = _gsm8k_with_bad_line(tmp_path, '{"question": "broken')
    records = load_gsm8k("test", data_dir=folder, strict=False, verify=False)
    assert [r.answer for r in records] == ["2", "4"]
    assert [r.id for r in records] == ["test-0000", "test-0001"]
    assert len(records.skipped) == 1 and records.skipped[0].line == 2


def test_jsonl_line_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    folder = _gsm8k_with_bad_line(tmp_path, "placeholder")
    path = folder / "gsm8k" / "test.jsonl"
    path.write_bytes(path.read_bytes().replace(b"placeholder", b'{"question": "\xff\xfe"}'))
    with pytest.raises(RecordError, match=r"test\.jsonl:2: not valid UTF-8"):
        load_gsm8k("test", data_dir=folder, verify=False)


def _mmlu_with_rows(tmp_path: Path, text: str) -> Path:
    (tmp_path / "mmlu" / "dev").mkdir(parents=True)
    (tmp_path / "mmlu" / "dev" / "anatomy_dev.csv").write_text(text)
    return tmp_path


def test_malformed_csv_row_names_file_and_starting_line(tmp_path: Path) -> None:
    folder = _mmlu_with_rows(tmp_path, 'Q1,a,b,c,d,A\n"Q2\nspans lines",a,b,c,d,B\nQ3,a,b,c,d,E\n')
    with pytest.raises(RecordError) as error:
        load_mmlu("dev", subjects=["anatomy"], data_dir=folder, verify=False)
    assert "anatomy_dev.csv:4: answer column is 'E'" in str(error.value)


def test_csv_row_with_missing_columns_is_skipped_when_not_strict(tmp_path: Path) -> None:
    folder = _mmlu_with_rows(tmp_path, "Q1,a,b,c,d,A\nQ2,a,b,C\nQ3,a,b,c,d,D\n")
    records = load_mmlu("dev", subjects=["anatomy"], data_dir=folder, strict=False, verify=False)
    assert [r.answer for r in records] == ["A", "D"]
    assert records.skipped[0].line == 2 and "expected 6 columns" in records.skipped[0].reason


def test_no_folder_and_no_hub_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COGUMI_DATA_DIR")

    def offline(*args: object, **kwargs: object) -> list[dict[str, object]]:
        raise ConnectionError("hub unreachable")

    monkeypatch.setattr(_hub, "fetch_rows", offline)
    with pytest.raises(DataSourceError) as error:
        load_gsm8k("test")
    assert "COGUMI_DATA_DIR" in str(error.value) and "hub unreachable" in str(error.value)


def _no_network_and_no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """No data folder, HF offline mode off, a hub that refuses connections, downloads trapped."""
    import datasets

    monkeypatch.delenv("COGUMI_DATA_DIR")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens

    def download(*args: object, **kwargs: object) -> None:
        raise AssertionError("the hub client was asked to download (and would retry for ~30 s)")

    monkeypatch.setattr(datasets, "load_dataset", download)


def test_offline_without_a_data_folder_fails_before_any_download(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_network_and_no_downloads(monkeypatch)
    with pytest.raises(DataSourceError) as error:
        load_gsm8k("test")
    message = str(error.value)
    assert message.startswith(
        "cannot load GSM8K test: no data folder is set and the Hugging Face hub is not reachable"
    )
    assert "Set COGUMI_DATA_DIR=/path/to/data" in message and "\n" not in message


def test_the_hub_extra_is_not_advertised_when_it_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_network_and_no_downloads(monkeypatch)
    with pytest.raises(DataSourceError) as error:
        load_humaneval()
    assert "cogumi[hub]" not in str(error.value)


def test_a_missing_hub_extra_is_named_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COGUMI_DATA_DIR")
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(
        DataSourceError, match=r"hub extra is not installed.*pip install 'cogumi\[hub\]'"
    ):
        load_mmlu("dev", subjects=["anatomy"])


def test_hub_rows_map_to_the_same_records_as_local_files(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COGUMI_DATA_DIR")
    calls: list[tuple[str, str, str | None, str]] = []
    local_gsm8k = [json.loads(line) for line in (data_dir / "gsm8k" / "test.jsonl").open()]
    with gzip.open(data_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as handle:
        local_humaneval = [json.loads(line) for line in handle]
    local_mmlu = load_mmlu("val", subjects=["virology"], data_dir=data_dir)

    def fake_hub(
        dataset: _hub.HubDataset, config: str | None, split: str
    ) -> list[dict[str, object]]:
        calls.append((dataset.repo, dataset.revision, config, split))
        if dataset is _hub.GSM8K_HUB:
            return local_gsm8k
        if dataset is _hub.HUMANEVAL_HUB:
            return local_humaneval
        return [
            {
                "question": r.question,
                "subject": r.subject,
                "choices": list(r.choices),
                "answer": "ABCD".index(r.answer),
            }
            for r in local_mmlu
        ]

    monkeypatch.setattr(_hub, "fetch_rows", fake_hub)
    assert load_gsm8k("test").records == load_gsm8k("test", data_dir=data_dir).records
    assert load_humaneval().records == load_humaneval(data_dir=data_dir).records
    hub_mmlu = load_mmlu("val", subjects=["virology"])
    assert hub_mmlu.records == local_mmlu.records
    assert hub_mmlu.source.startswith("hub:cais/mmlu@")
    assert calls == [
        ("openai/gsm8k", "cc7b047b6e5bb11b4f1af84efc572db110a51b3c", "main", "test"),
        ("openai/openai_humaneval", "7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544", None, "test"),
        ("cais/mmlu", "c30699e8356da336a370243923dbaf21066bb9fe", "virology", "validation"),
    ]


def test_relative_data_dir_resolves_against_the_shell_directory(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inspect changes into the task file's folder while building a task.
    shell_dir = data_dir.parent
    elsewhere = tmp_path / "tasks"
    elsewhere.mkdir()
    monkeypatch.setenv("PWD", str(shell_dir))
    monkeypatch.chdir(elsewhere)
    assert len(load_gsm8k("test", data_dir=data_dir.name)) == 1319


@pytest.mark.slow
def test_inside_inspect_eval_a_missing_data_folder_is_one_message(tmp_path: Path) -> None:
    import os
    import subprocess

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COGUMI_DATA_DIR", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    }
    env.update(HF_ENDPOINT="http://127.0.0.1:9", COLUMNS="200")
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspect_ai",
            "eval",
            "tasks/math.py",
            "--model",
            "mockllm/model",
            "--log-dir",
            str(tmp_path),
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in output
    assert "cannot load GSM8K test: no data folder is set" in output and "cogumi[hub]" not in output
    assert len(output.strip().splitlines()) <= 8, output
