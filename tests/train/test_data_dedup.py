"""cogumi_train.data.dedup: exact then near duplicates, the first kept, every removal reported."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH

from cogumi_train.data import DataError, dedup
from cogumi_train.data._index import SortedRuns
from cogumi_train.data._minhash import MinHasher, normalise
from cogumi_train.data._records import BadLineError

WORDS = [f"{a}{b}{c}" for a in "bdfgklmnprst" for b in "aeiou" for c in "lnrst"]


def prose(seed: int, n: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def substitute(text: str, positions: list[int]) -> str:
    words = text.split()
    for p in positions:
        words[p] = "changed"
    return " ".join(words)


def write(path: Path, records: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(tmp_path: Path, records: list[Any], **options: Any) -> tuple[Any, list, list]:
    source = write(tmp_path / "in.jsonl", records)
    result = dedup(
        source, tmp_path / "out.jsonl", report=tmp_path / "removed.jsonl", workers=1, **options
    )
    return result, read(tmp_path / "out.jsonl"), read(tmp_path / "removed.jsonl")


def test_exact_duplicates_differing_only_in_case_punctuation_and_spacing_keep_the_first(
    tmp_path: Path,
) -> None:
    text = prose(1)
    restyled = "  " + text.upper().replace(" ", ",   ", 5) + "!"
    result, kept, removed = run(
        tmp_path, [{"id": "a", "text": text}, {"id": "b", "text": restyled}]
    )
    assert [r["id"] for r in kept] == ["a"]
    assert result.exact_duplicates == 1 and result.near_duplicates == 0
    assert removed[0] | {"record": None} == {
        "id": "b",
        "line": 2,
        "kind": "exact",
        "duplicate_of": "a",
        "duplicate_of_line": 1,
        "jaccard": 1.0,
        "record": None,
    }


def test_near_duplicate_is_removed_naming_the_record_it_duplicates_and_its_jaccard(
    tmp_path: Path,
) -> None:
    original = prose(2)
    near = substitute(original, [40])  # 3 of 118 shingles change: Jaccard 115/121 = 0.95
    result, kept, removed = run(
        tmp_path,
        [
            {"id": "orig", "text": original},
            {"id": "other", "text": prose(3)},
            {"id": "copy", "text": near},
        ],
    )
    assert [r["id"] for r in kept] == ["orig", "other"]
    assert result.near_duplicates == 1
    (entry,) = removed
    assert (entry["id"], entry["kind"], entry["duplicate_of"]) == ("copy", "near", "orig")
    assert entry["jaccard"] == pytest.approx(115 / 121, abs=0.1)
    assert entry["record"] == {"id": "copy", "text": near}


def test_records_below_the_threshold_are_kept(tmp_path: Path) -> None:
    original = prose(4)
    far = substitute(original, list(range(0, 120, 6)))  # every 6th word: Jaccard ~0.3
    result, kept, removed = run(tmp_path, [{"text": original}, {"text": far}])
    assert len(kept) == 2 and removed == []
    assert result.kept == 2


def test_a_cluster_keeps_only_its_first_record(tmp_path: Path) -> None:
    root = prose(5)
    cluster = [root] + [substitute(root, [10 * i + 5]) for i in range(1, 6)]
    result, kept, removed = run(tmp_path, [{"id": i, "text": t} for i, t in enumerate(cluster)])
    assert [r["id"] for r in kept] == [0]
    assert {r["duplicate_of"] for r in removed} == {0}
    assert result.removed == 5


def test_signatures_stored_in_many_blocks_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cogumi_train.data._index.Kept.BLOCK", 4)
    texts = [prose(60 + i) for i in range(10)]
    records = [{"id": i, "text": t} for i, t in enumerate(texts)]
    records += [{"id": 10 + i, "text": substitute(t, [30])} for i, t in enumerate(texts)]
    result, kept, removed = run(tmp_path, records)
    assert [r["duplicate_of"] for r in removed] == list(range(10))
    assert result.kept == 10


def test_kept_lines_are_written_exactly_as_read_in_input_order(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": prose(10 + i), "n": i}, indent=None, separators=(",", ":"))
        for i in range(5)
    ]
    source = write(tmp_path / "in.jsonl", lines)
    dedup(source, tmp_path / "out.jsonl", workers=1)
    assert (tmp_path / "out.jsonl").read_text() == "\n".join(lines) + "\n"


def test_two_workers_give_the_same_output_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cogumi_train.data._pool.BATCH", 7)  # many batches in flight
    texts = [prose(i) for i in range(30)]
    records = [{"text": t} for t in texts] + [{"text": substitute(t, [50])} for t in texts[:10]]
    source = write(tmp_path / "in.jsonl", records * 2)
    one = dedup(source, tmp_path / "one.jsonl", workers=1)
    two = dedup(source, tmp_path / "two.jsonl", workers=2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    # exact duplicates are of kept records: a removed near-duplicate's copy is near too
    assert (one.kept, one.exact_duplicates, one.near_duplicates) == (30, 30, 20)
    assert (two.kept, two.exact_duplicates, two.near_duplicates) == (30, 30, 20)


def test_field_takes_a_dotted_path(tmp_path: Path) -> None:
    text = prose(20)
    records = [{"meta": {"body": text}}, {"meta": {"body": text.upper()}}]
    result, kept, _ = run(tmp_path, records, field="meta.body")
    assert result.exact_duplicates == 1 and len(kept) == 1


def test_field_joins_fields_with_plus(tmp_path: Path) -> None:
    q = "What is the capital of France"
    records = [
        {"instruction": q, "response": "Paris"},
        {"instruction": q, "response": "Lyon"},
        {"instruction": q, "response": "paris."},
    ]
    result, kept, removed = run(tmp_path, records, field="instruction+response")
    assert [r["response"] for r in kept] == ["Paris", "Lyon"]
    assert removed[0]["duplicate_of"] == 1  # named by line: these records have no id


def test_a_number_in_a_dotted_path_indexes_a_list(tmp_path: Path) -> None:
    records = [
        {"messages": [{"content": "hello world again"}]},
        {"messages": [{"content": "Hello, world: again!"}]},
    ]
    result, _, _ = run(tmp_path, records, field="messages.0.content")
    assert result.exact_duplicates == 1


def test_records_without_an_id_field_are_named_by_line_number(tmp_path: Path) -> None:
    text = prose(21)
    result, _, removed = run(tmp_path, [{"text": text}, {"text": text}])
    assert (removed[0]["id"], removed[0]["duplicate_of"]) == (2, 1)
    assert result.ids_from_lines == 2


def test_id_field_names_the_field_that_identifies_records(tmp_path: Path) -> None:
    text = prose(22)
    records = [{"uid": "x1", "text": text}, {"uid": "x2", "text": text}]
    _, _, removed = run(tmp_path, records, id_field="uid")
    assert (removed[0]["id"], removed[0]["duplicate_of"]) == ("x2", "x1")


def test_bad_lines_are_counted_named_with_file_and_line_and_skipped(tmp_path: Path) -> None:
    records = [
        {"text": prose(30)},
        "not json {",
        {"body": "no text field"},
        "[1, 2]",
        {"text": {"nested": "dict"}},
        {"text": prose(31)},
    ]
    result, kept, _ = run(tmp_path, records)
    assert len(kept) == 2 and result.bad_lines == 4
    assert [(b.line, b.reason.split(" (")[0]) for b in result.first_bad] == [
        (2, "not JSON"),
        (3, "no field text"),
        (4, "not a JSON object"),
        (5, "no field text"),
    ]
    assert str(result.first_bad[0]).startswith(f"{tmp_path / 'in.jsonl'}:2: not JSON")


def test_strict_stops_at_the_first_bad_line_naming_file_and_line(tmp_path: Path) -> None:
    source = write(tmp_path / "in.jsonl", [{"text": prose(32)}, {"body": "x"}])
    with pytest.raises(BadLineError, match=r"in\.jsonl:2: no field text"):
        dedup(source, tmp_path / "out.jsonl", workers=1, strict=True)


def test_empty_documents_are_removed_and_reported(tmp_path: Path) -> None:
    result, kept, removed = run(tmp_path, [{"text": "  "}, {"text": "?!"}, {"text": prose(33)}])
    assert result.empty == 2 and len(kept) == 1
    assert [(r["line"], r["kind"]) for r in removed] == [(1, "empty"), (2, "empty")]


def test_short_documents_are_compared_as_one_shingle(tmp_path: Path) -> None:
    result, kept, _ = run(
        tmp_path, [{"text": "hi there"}, {"text": "bye now"}, {"text": "Hi there"}]
    )
    assert [r["text"] for r in kept] == ["hi there", "bye now"]
    assert result.exact_duplicates == 1


def test_lsh_banding_is_datasketchs_choice_for_the_threshold_weighing_misses(
    tmp_path: Path,
) -> None:
    result, _, _ = run(tmp_path, [{"text": prose(34)}])
    chosen = MinHashLSH(threshold=0.8, num_perm=128, weights=(0.1, 0.9))
    assert (result.bands, result.rows) == (chosen.b, chosen.r) == (14, 9)
    assert (result.num_perm, result.threshold, result.ngram) == (128, 0.8, 3)


def test_output_over_the_input_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "in.jsonl", [{"text": "x"}])
    with pytest.raises(DataError, match="is the input file"):
        dedup(source, source, workers=1)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"threshold": 1.5}, "threshold"), ({"workers": 0}, "workers"), ({"field": "a..b"}, "field")],
)
def test_invalid_options_are_refused_by_name(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    source = write(tmp_path / "in.jsonl", [{"text": "x"}])
    with pytest.raises(DataError, match=message):
        dedup(source, tmp_path / "out.jsonl", **options)


def test_missing_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing.jsonl does not exist"):
        dedup(tmp_path / "missing.jsonl", tmp_path / "out.jsonl")


def test_signatures_are_datasketchs_minhash_of_the_same_shingle_hashes() -> None:
    hasher = MinHasher(num_perm=128, ngram=3)
    texts = [normalise(prose(40, n)) for n in (1, 2, 3, 50)]
    hashes, offsets = hasher.shingle_hashes(texts)
    bounds = [*offsets[1:], len(hashes)]
    signatures = hasher.signatures(texts)
    for row, (start, end) in enumerate(zip(offsets, bounds, strict=True)):
        reference = MinHash(num_perm=128, hashfunc=int)
        reference.update_batch(hashes[start:end])
        assert np.array_equal(signatures[row], reference.hashvalues)
    assert [int(e - s) for s, e in zip(offsets, bounds, strict=True)] == [1, 1, 1, 48]


def test_a_shingle_hash_depends_on_its_words_not_on_its_place_in_the_batch() -> None:
    hasher = MinHasher()
    alone, _ = hasher.shingle_hashes(["alpha beta gamma"])
    later, offsets = hasher.shingle_hashes(["some other words first", "alpha beta gamma"])
    assert later[offsets[1]] == alone[0]


def test_sorted_runs_find_every_entry_under_a_key_across_runs() -> None:
    runs = SortedRuns()
    for start in range(0, 40, 5):  # eight batches, merged into fewer runs as they grow
        numbers = np.arange(start, start + 5)
        runs.add((numbers % 7).astype(np.uint64), numbers)
    positions, numbers = runs.find(np.array([3, 99, 0], dtype=np.uint64))
    found = sorted(zip(positions.tolist(), numbers.tolist(), strict=True))
    assert found == [(0, n) for n in range(3, 40, 7)] + [(2, n) for n in range(0, 40, 7)]
    assert len(runs) == 40


def test_banding_finds_the_candidates_datasketchs_minhashlsh_finds() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**32, size=(200, 128), dtype=np.uint64).astype(np.uint32)
    similar = base.copy()
    for row in similar:  # about 70% of values shared: some bands equal, some not
        change = rng.random(128) < 0.3
        row[change] = rng.integers(0, 2**32, size=int(change.sum()), dtype=np.uint64)
    lsh = MinHashLSH(threshold=0.8, num_perm=128, weights=(0.1, 0.9))
    for i, sig in enumerate(base):
        lsh.insert(i, LeanMinHash(seed=1, hashvalues=sig, scheme="affine32"))
    runs = SortedRuns()
    hasher = MinHasher()
    runs.add(hasher.band_keys(base, lsh.b, lsh.r).ravel(), np.repeat(np.arange(200), lsh.b))
    positions, numbers = runs.find(hasher.band_keys(similar, lsh.b, lsh.r).ravel())
    ours: dict[int, set[int]] = {}
    for position, number in zip((positions // lsh.b).tolist(), numbers.tolist(), strict=True):
        ours.setdefault(position, set()).add(number)
    theirs = {
        i: set(found)
        for i, sig in enumerate(similar)
        if (found := lsh.query(LeanMinHash(seed=1, hashvalues=sig, scheme="affine32")))
    }
    assert ours == theirs
    assert 50 < len(theirs) < 200  # the test has both kinds of record


def test_signatures_go_into_a_datasketch_index_as_lean_minhashes() -> None:
    original = prose(50)
    texts = [normalise(t) for t in (original, substitute(original, [60]), prose(51))]
    rows = MinHasher().signatures(texts)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    lsh.insert("original", LeanMinHash(seed=1, hashvalues=rows[0], scheme="affine32"))
    assert lsh.query(LeanMinHash(seed=1, hashvalues=rows[1], scheme="affine32")) == ["original"]
    assert lsh.query(LeanMinHash(seed=1, hashvalues=rows[2], scheme="affine32")) == []
