"""Dedup speed and accuracy: Cogumi's ``dedup`` against a per-document datasketch loop.

Data: generated instruction/response records (``--field instruction+response``) whose words
follow a Zipf law over a 30,000-word made-up vocabulary, instructions drawn from 40 shared
templates, 40-300 words a record. About 10% of the records are planted duplicates of an
earlier record (their cluster's root, which comes first in the file): a third are exact
duplicates with changed case, punctuation and spacing, the rest near-duplicates with 0-2% of
their words substituted, inserted or deleted. The true Jaccard similarity of each planted
record's 3-word shingle set to its root's is computed exactly; a planted record whose true
Jaccard is below the threshold (0.8) is not a duplicate by definition and is left out of both
precision and recall (the run counts them: there are almost none).

Compared in the same run, on the same file:

- Cogumi: ``cogumi_train.data.dedup`` with its defaults (128 permutations, threshold 0.8,
  3-word shingles, LSH banding by datasketch's optimiser) and ``--workers`` processes, run in
  a child process so that its peak memory (the main process, and the largest worker) is its
  own. Timed in full on ``--docs`` records, and again on ``--large`` records (measured, not
  extrapolated).
- The straightforward loop: for each record, parse, ``MinHash(num_perm=128)``, one
  ``update`` per shingle, ``MinHashLSH.query``, confirm by ``MinHash.jaccard``, ``insert``
  (``MinHashLSH(threshold=0.8, num_perm=128)``: datasketch's default banding, 9 x 13).
  One process. Timed on the first ``--naive`` records only (its cost per record does not grow
  with the index), and stated per record; the ratio is of records per second.

Signatures alone, on one core and the first ``--naive`` records: datasketch's
``MinHash.bulk`` (its batch constructor, SHA-1 per shingle) against Cogumi's batch hashing.

Precision = planted duplicates removed / records removed; recall = planted duplicates
removed / planted duplicates. Index memory: bytes a kept record adds to datasketch's
``MinHashLSH`` (dict storage, the same banding as Cogumi's) and to Cogumi's index, by
tracemalloc on 50,000 random signatures. The machine's load average is recorded: other
work on the same cores slows both sides.

Run: ``python benchmarks/dedup.py [--docs N] [--large N] [--naive N] [--workers N]``;
writes ``benchmarks/results/dedup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "dedup.json"
THRESHOLD = 0.8
NUM_PERM = 128
NGRAM = 3
FIELD = "instruction+response"
PLANTED_SHARE = 0.10
EXACT_SHARE = 1 / 3
MAX_EDIT_RATE = 0.02
_WORD = re.compile(r"\w+")

TEMPLATES = [
    "Write a short essay about",
    "Explain to a beginner how",
    "Summarise the following passage on",
    "Give three reasons why",
    "Translate into plain language the idea that",
    "What is the difference between",
    "Draft an email to a colleague about",
    "List the steps needed to",
    "Describe the history of",
    "Argue for and against the claim that",
] + [f"Task {i}: respond in detail about" for i in range(30)]


def vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    return sorted(words)


def generate(path: Path, count: int, seed: int) -> dict[str, tuple[str, str]]:
    """Write ``count`` records; return planted id -> (root id, kind)."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vocab = vocabulary(rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    weights /= weights.sum()
    lengths = np.clip(nrng.lognormal(np.log(110), 0.5, size=count), 40, 300).astype(int)
    draws = iter(nrng.choice(len(vocab), size=int(lengths.sum()), p=weights))
    planted: dict[str, tuple[str, str]] = {}
    roots: list[tuple[str, list[str], list[str]]] = []
    with path.open("w") as out:
        for i in range(count):
            key = f"doc{i:07d}"
            if roots and rng.random() < PLANTED_SHARE:
                root_key, instruction, response = rng.choice(roots)
                if rng.random() < EXACT_SHARE:
                    kind = "exact"
                    instruction, response = _restyle(instruction, rng), _restyle(response, rng)
                else:
                    kind = "near"
                    rate = rng.uniform(0.0, MAX_EDIT_RATE)
                    response = _edit(response, rate, rng, vocab)
                planted[key] = (root_key, kind)
            else:
                n = int(lengths[i])
                topic = [vocab[next(draws)] for _ in range(min(12, n // 4))]
                instruction = rng.choice(TEMPLATES).split() + topic
                response = [vocab[next(draws)] for _ in range(n - len(topic))]
                roots.append((key, instruction, response))
            record = {
                "id": key,
                "instruction": " ".join(instruction),
                "response": " ".join(response),
            }
            out.write(json.dumps(record) + "\n")
    return planted


def _restyle(words: list[str], rng: random.Random) -> list[str]:
    """The same words, differently cased and punctuated."""
    out = []
    for w in words:
        r = rng.random()
        out.append(w.upper() if r < 0.05 else w.capitalize() if r < 0.15 else w)
        if rng.random() < 0.05:
            out[-1] += rng.choice((",", ".", "!", ";"))
    return out


def _edit(words: list[str], rate: float, rng: random.Random, vocab: list[str]) -> list[str]:
    out = list(words)
    for _ in range(max(1, round(rate * len(words)))):
        j = rng.randrange(len(out))
        op = rng.random()
        if op < 0.5:
            out[j] = rng.choice(vocab)
        elif op < 0.75:
            out.insert(j, rng.choice(vocab))
        elif len(out) > 1:
            del out[j]
    return out


def shingles(record: dict[str, str]) -> set[str]:
    words = _WORD.findall((record["instruction"] + "\n" + record["response"]).casefold())
    return {" ".join(words[i : i + NGRAM]) for i in range(max(len(words) - NGRAM + 1, 1))}


def truth(path: Path, planted: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Planted ids with their true Jaccard to the root; the duplicates at the threshold."""
    roots = {root for root, _ in planted.values()}
    sets: dict[str, set[str]] = {}
    with path.open() as handle:
        for line in handle:
            record = json.loads(line)
            if record["id"] in roots or record["id"] in planted:
                sets[record["id"]] = shingles(record)
    jaccard = {
        key: len(sets[key] & sets[root]) / len(sets[key] | sets[root])
        for key, (root, _) in planted.items()
    }
    duplicates = {k for k, j in jaccard.items() if j >= THRESHOLD}
    near = [jaccard[k] for k, (_, kind) in planted.items() if kind == "near"]
    return {
        "duplicates": duplicates,
        "below_threshold": sorted(set(planted) - duplicates),
        "summary": {
            "planted": len(planted),
            "planted_exact": sum(1 for _, kind in planted.values() if kind == "exact"),
            "planted_near": len(near),
            "near_true_jaccard_min": round(min(near), 4) if near else None,
            "near_true_jaccard_median": round(float(np.median(near)), 4) if near else None,
            "planted_below_threshold_left_out": len(planted) - len(duplicates),
        },
    }


def score(removed: set[str], truth_: dict[str, Any]) -> dict[str, Any]:
    duplicates: set[str] = truth_["duplicates"]
    removed = removed - set(truth_["below_threshold"])
    hit = len(removed & duplicates)
    return {
        "removed": len(removed),
        "true_positives": hit,
        "precision": hit / len(removed) if removed else 1.0,
        "recall": hit / len(duplicates) if duplicates else 1.0,
    }


def run_cogumi(source: Path, workers: int, folder: Path) -> dict[str, Any]:
    """Cogumi's dedup in a child process; its times, counts, peak memory and removed ids."""
    out, report = folder / "kept.jsonl", folder / "removed.jsonl"
    start = time.perf_counter()
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(source), str(out), str(report), str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    result = json.loads(child.stdout)
    with report.open() as handle:
        result["removed_ids"] = {json.loads(line)["id"] for line in handle}
    result["wall_s_with_interpreter_start"] = wall
    return result


def child(source: str, out: str, report: str, workers: int) -> None:
    from cogumi_train.data import dedup

    result = dedup(source, out, field=FIELD, report=report, workers=workers)
    kib = 1024  # ru_maxrss is in KiB on Linux
    print(
        json.dumps(
            {
                "seconds": result.seconds,
                "read": result.read,
                "kept": result.kept,
                "exact_duplicates": result.exact_duplicates,
                "near_duplicates": result.near_duplicates,
                "bands": result.bands,
                "rows": result.rows,
                "workers": result.workers,
                "cpu_s_main_and_workers": _cpu_seconds(resource.RUSAGE_SELF)
                + _cpu_seconds(resource.RUSAGE_CHILDREN),
                "peak_rss_main_mib": _own_peak_rss_kib() / kib,
                "peak_rss_largest_worker_mib": resource.getrusage(
                    resource.RUSAGE_CHILDREN
                ).ru_maxrss
                / kib,
            }
        )
    )


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _own_peak_rss_kib() -> int:
    # VmHWM belongs to this process image; ru_maxrss would keep the parent's peak across exec
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_naive(source: Path, limit: int) -> dict[str, Any]:
    """The straightforward loop over the first ``limit`` records, one process."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    kept: dict[str, MinHash] = {}
    removed: set[str] = set()
    start, cpu_start = time.perf_counter(), time.process_time()
    with source.open() as handle, open(os.devnull, "w") as sink:
        for n, line in enumerate(handle):
            if n == limit:
                break
            record = json.loads(line)
            m = MinHash(num_perm=NUM_PERM)
            for shingle in shingles(record):
                m.update(shingle.encode("utf-8"))
            if any(m.jaccard(kept[k]) >= THRESHOLD for k in lsh.query(m)):
                removed.add(record["id"])
                continue
            lsh.insert(record["id"], m)
            kept[record["id"]] = m
            sink.write(line)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "records": min(limit, n + 1),
        "seconds": seconds,
        "us_per_record": seconds / min(limit, n + 1) * 1e6,
        "cpu_us_per_record": cpu / min(limit, n + 1) * 1e6,
        "removed_ids": removed,
        "index_records": len(kept),
    }


def signatures_only(source: Path, limit: int) -> dict[str, Any]:
    """Signatures alone on one core: datasketch's ``MinHash.bulk`` against Cogumi's batch."""
    from datasketch import MinHash

    from cogumi_train.data import MinHasher, normalise

    with source.open() as handle:
        records = [json.loads(line) for _, line in zip(range(limit), handle, strict=False)]
    start = time.process_time()
    MinHash.bulk([[s.encode("utf-8") for s in shingles(r)] for r in records], num_perm=NUM_PERM)
    bulk = time.process_time() - start
    hasher = MinHasher(NUM_PERM, NGRAM)
    start = time.process_time()
    for i in range(0, len(records), 1000):
        texts = [normalise(r["instruction"] + "\n" + r["response"]) for r in records[i : i + 1000]]
        hasher.signatures(texts)
    ours = time.process_time() - start
    return {
        "records": len(records),
        "datasketch_bulk_cpu_us_per_record": bulk / len(records) * 1e6,
        "cogumi_batch_cpu_us_per_record": ours / len(records) * 1e6,
    }


def index_memory(records: int = 50_000) -> dict[str, Any]:
    """Bytes a record costs in datasketch's MinHashLSH (dict storage) and in Cogumi's index."""
    import tracemalloc

    from datasketch import LeanMinHash, MinHashLSH

    from cogumi_train.data._dedup import BANDING_WEIGHTS
    from cogumi_train.data._index import Kept, SortedRuns
    from cogumi_train.data._minhash import MinHasher

    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, size=(records, NUM_PERM), dtype=np.uint64).astype(np.uint32)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, weights=BANDING_WEIGHTS)
    minhashes = [LeanMinHash(seed=1, hashvalues=s, scheme="affine32") for s in sigs]
    tracemalloc.start()
    for i, m in enumerate(minhashes):
        lsh.insert(i, m, check_duplication=False)
    datasketch_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    bands, rows = lsh.b, lsh.r
    del lsh, minhashes
    keys = MinHasher(NUM_PERM).band_keys(sigs, bands, rows)
    tracemalloc.start()
    kept, band_runs, exact = Kept(NUM_PERM), SortedRuns(), SortedRuns()
    for start in range(0, records, 1000):
        numbers = np.arange(start, min(start + 1000, records))
        for n in numbers:
            kept.add(int(n), int(n), sigs[n])
        band_runs.add(keys[numbers].ravel(), np.repeat(numbers, bands))
        exact.add(keys[numbers, 0], numbers)
    cogumi_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "records": records,
        "banding": [bands, rows],
        "datasketch_minhashlsh_dict_bytes_per_record": datasketch_bytes / records,
        "cogumi_index_bytes_per_record": cogumi_bytes / records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--large", type=int, default=640_000, help="0 to skip")
    parser.add_argument("--naive", type=int, default=5_000, help="records the naive loop times")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child[:3], int(args.child[3]))
        return

    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "records.jsonl"
        t = time.perf_counter()
        planted = generate(source, args.docs, seed=0)
        truth_ = truth(source, planted)
        print(f"generated {args.docs:,} records in {time.perf_counter() - t:.0f} s", flush=True)

        naive = run_naive(source, args.naive)
        first = {f"doc{i:07d}" for i in range(naive["records"])}
        naive_truth = {
            "duplicates": truth_["duplicates"] & first,
            "below_threshold": truth_["below_threshold"],
        }
        naive["accuracy_on_its_records"] = score(naive.pop("removed_ids"), naive_truth)
        signatures = signatures_only(source, args.naive)

        cogumi = run_cogumi(source, args.workers, folder)
        removed = cogumi.pop("removed_ids")
        cogumi["accuracy"] = score(removed, truth_)
        cogumi["accuracy_on_naive_records"] = score(removed & first, naive_truth)
        cogumi["us_per_record"] = cogumi["seconds"] / args.docs * 1e6
        cogumi["cpu_us_per_record"] = cogumi["cpu_s_main_and_workers"] / args.docs * 1e6
        source.unlink()

        large: dict[str, Any] | None = None
        if args.large:
            t = time.perf_counter()
            planted_large = generate(source, args.large, seed=1)
            truth_large = truth(source, planted_large)
            print(
                f"generated {args.large:,} records in {time.perf_counter() - t:.0f} s", flush=True
            )
            large = run_cogumi(source, args.workers, folder)
            large["accuracy"] = score(large.pop("removed_ids"), truth_large)
            large["truth"] = truth_large["summary"]
    memory = index_memory()
    load_at_end = os.getloadavg()

    ratio = naive["us_per_record"] / cogumi["us_per_record"]
    results: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1_5_15_min_at_start": [round(x, 2) for x in load_at_start],
            "load_average_1_5_15_min_at_end": [round(x, 2) for x in load_at_end],
        },
        "command": "python benchmarks/dedup.py " + " ".join(sys.argv[1:]),
        "settings": {
            "threshold": THRESHOLD,
            "num_perm": NUM_PERM,
            "ngram": NGRAM,
            "field": FIELD,
            "workers": args.workers,
        },
        "data": {"records": args.docs, **truth_["summary"]},
        "naive_per_record_loop": naive,
        "cogumi": cogumi,
        "throughput_ratio_cogumi_over_naive": ratio,
        "cpu_time_ratio_naive_over_cogumi": naive["cpu_us_per_record"]
        / cogumi["cpu_us_per_record"],
        "signatures_only_one_core": signatures,
        "index_memory": memory,
        "large": {"records": args.large, **(large or {})},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    acc = cogumi["accuracy"]
    print(
        f"\n{'':34}{'records':>10}{'us/record':>11}{'precision':>11}{'recall':>8}{'peak MiB':>10}"
    )
    nacc = naive["accuracy_on_its_records"]
    print(
        f"{'naive loop (first records)':34}{naive['records']:>10,}{naive['us_per_record']:>11.0f}"
        f"{nacc['precision']:>11.4f}{nacc['recall']:>8.4f}{'-':>10}"
    )
    print(
        f"{'cogumi dedup, ' + str(args.workers) + ' workers':34}{args.docs:>10,}"
        f"{cogumi['us_per_record']:>11.1f}{acc['precision']:>11.4f}{acc['recall']:>8.4f}"
        f"{cogumi['peak_rss_main_mib']:>10.0f}"
    )
    if large:
        lacc = large["accuracy"]
        print(
            f"{'cogumi dedup, ' + str(args.workers) + ' workers':34}{args.large:>10,}"
            f"{large['seconds'] / args.large * 1e6:>11.1f}{lacc['precision']:>11.4f}"
            f"{lacc['recall']:>8.4f}{large['peak_rss_main_mib']:>10.0f}"
        )
        print(f"\n{args.large:,} records: {large['seconds']:.1f} s measured")
    print(f"throughput ratio (records/s, cogumi over naive loop): {ratio:.1f}x")
    print(
        f"CPU time per record: naive {naive['cpu_us_per_record']:.0f} us, cogumi "
        f"{cogumi['cpu_us_per_record']:.0f} us (main and workers together)"
    )
    print(
        f"signatures alone, CPU per record: datasketch MinHash.bulk "
        f"{signatures['datasketch_bulk_cpu_us_per_record']:.0f} us, cogumi "
        f"{signatures['cogumi_batch_cpu_us_per_record']:.0f} us"
    )
    print(
        f"index bytes per kept record: datasketch MinHashLSH "
        f"{memory['datasketch_minhashlsh_dict_bytes_per_record']:.0f}, "
        f"cogumi {memory['cogumi_index_bytes_per_record']:.0f}"
    )
    print(f"load average at start / end: {load_at_start[0]:.2f} / {load_at_end[0]:.2f}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
