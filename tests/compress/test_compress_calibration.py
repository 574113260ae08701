"""Calibration samples: one spec and seed give the same samples, never from the scored split."""

from __future__ import annotations

import json
from pathlib import Path

from cogumi_compress import calibration_set
from cogumi_eval.data import load_gsm8k
from cogumi_eval.tasks.gsm8k import PROMPT


def test_same_spec_and_seed_draw_the_same_samples_and_hash(data_dir: Path) -> None:
    first = calibration_set("gsm8k:12,mmlu:12", seed=3, data_dir=data_dir)
    again = calibration_set("gsm8k:12,mmlu:12", seed=3, data_dir=data_dir)
    other = calibration_set("gsm8k:12,mmlu:12", seed=4, data_dir=data_dir)

    assert first.texts == again.texts and first.sha256 == again.sha256
    assert first.texts != other.texts and first.sha256 != other.sha256
    assert first.sources == {"gsm8k": 12, "mmlu": 12}


def test_adding_a_source_leaves_the_other_sources_draw_unchanged(data_dir: Path) -> None:
    alone = calibration_set("gsm8k:10", seed=0, data_dir=data_dir)
    with_mmlu = calibration_set("gsm8k:10,mmlu:5", seed=0, data_dir=data_dir)

    assert with_mmlu.texts[:10] == alone.texts


def test_task_samples_come_from_train_and_validation_splits_in_the_task_prompt(
    data_dir: Path,
) -> None:
    calibration = calibration_set("gsm8k:64,mmlu:16", seed=0, data_dir=data_dir)

    assert calibration.splits == {"gsm8k": "train", "mmlu": "val"}
    test_questions = {r.question for r in load_gsm8k("test", data_dir=data_dir)}
    gsm8k_texts = calibration.texts[:64]
    assert not any(q in text for text in gsm8k_texts for q in list(test_questions)[:200])
    assert all(text.startswith(PROMPT.split("{fewshot}")[0]) for text in gsm8k_texts)
    assert all("\nANSWER: " in text for text in calibration.texts)
    assert all("multiple choice question about" in text for text in calibration.texts[64:])


def test_jsonl_source_reads_text_and_prompt_completion_records(tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    rows = [{"text": f"plain {i}"} for i in range(6)] + [
        {"prompt": f"Q{i}: ", "completion": f"A{i}"} for i in range(6)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    everything = calibration_set(str(data))
    drawn = calibration_set(f"{data}:8", seed=1)

    assert everything.texts[:2] == ("plain 0", "plain 1") and everything.texts[-1] == "Q5: A5"
    assert len(drawn.texts) == 8 and set(drawn.texts) <= set(everything.texts)
    assert drawn.to_dict()["sources"] == {str(data): 8}
