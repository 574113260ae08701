"""Synthetic grade-school word problems in GSM8K's format, from a seed.

Each problem is worded from a template with random names, items and numbers and
comes with a worked solution ending in ``#### <answer>``, the way GSM8K writes
them. Two families:

- ``base``: one- and two-step problems (add, take away, packs of, share
  equally, pay per hour, packs then give away) — what the base model is taught.
- ``change``: three-step problems (two purchases, then change from a bill) —
  a skill the base model never saw, for fine-tuning.

Every record has a stable id (``<split>-<family>-<index>``), so runs pair
sample by sample. The same seed gives the same file on every machine.

    python examples/word_problems/problems.py --out data/word_problems --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Dev",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Iris",
    "Jack",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Wendy",
    "Xavier",
    "Yara",
    "Zoe",
)
ITEMS = (
    "apples",
    "pencils",
    "stickers",
    "marbles",
    "cookies",
    "books",
    "cards",
    "shells",
    "stamps",
    "balloons",
    "crayons",
    "buttons",
    "candies",
    "coins",
    "muffins",
    "rocks",
)
SHOPS = ("bakery", "market", "toy shop", "bookshop", "corner store", "stationery shop")


@dataclass(frozen=True)
class Problem:
    id: str
    family: str
    template: str
    question: str
    solution: str
    answer: str


Template = Callable[[random.Random], tuple[str, str, int]]


def _pick(rng: random.Random) -> tuple[str, str, str]:
    name, friend = rng.sample(NAMES, 2)
    return name, friend, rng.choice(ITEMS)


def add(rng: random.Random) -> tuple[str, str, int]:
    name, _, item = _pick(rng)
    a, b = rng.randint(3, 90), rng.randint(2, 60)
    q = (
        f"{name} has {a} {item}. Then {name} gets {b} more {item}. "
        f"How many {item} does {name} have now?"
    )
    s = f"{name} starts with {a} {item} and gets {b} more, so {a} + {b} = {a + b}."
    return q, s, a + b


def take_away(rng: random.Random) -> tuple[str, str, int]:
    name, friend, item = _pick(rng)
    a = rng.randint(10, 99)
    b = rng.randint(1, a - 1)
    q = (
        f"{name} had {a} {item} and gave {b} of them to {friend}. "
        f"How many {item} does {name} have left?"
    )
    s = f"{name} gives away {b} of {a} {item}, so {a} - {b} = {a - b} are left."
    return q, s, a - b


def packs(rng: random.Random) -> tuple[str, str, int]:
    name, _, item = _pick(rng)
    a, b = rng.randint(2, 12), rng.randint(2, 25)
    q = (
        f"{name} buys {a} packs of {item}. Each pack holds {b} {item}. "
        f"How many {item} does {name} buy?"
    )
    s = f"There are {a} packs of {b} {item}, so {a} * {b} = {a * b} {item}."
    return q, s, a * b


def share(rng: random.Random) -> tuple[str, str, int]:
    name, _, item = _pick(rng)
    each, people = rng.randint(2, 20), rng.randint(2, 9)
    total = each * people
    q = (
        f"{name} shares {total} {item} equally among {people} friends. "
        f"How many {item} does each friend get?"
    )
    s = f"{total} {item} shared by {people} friends is {total} / {people} = {each} each."
    return q, s, each


def wages(rng: random.Random) -> tuple[str, str, int]:
    name, _, _ = _pick(rng)
    rate, hours, days = rng.randint(5, 20), rng.randint(2, 8), rng.randint(2, 6)
    day = rate * hours
    q = (
        f"{name} earns ${rate} an hour and works {hours} hours a day. "
        f"How much does {name} earn in {days} days?"
    )
    s = (
        f"In one day {name} earns {rate} * {hours} = ${day}.\n"
        f"In {days} days that is {day} * {days} = ${day * days}."
    )
    return q, s, day * days


def packs_then_give(rng: random.Random) -> tuple[str, str, int]:
    name, friend, item = _pick(rng)
    a, b = rng.randint(2, 9), rng.randint(3, 15)
    total = a * b
    c = rng.randint(1, total - 1)
    q = (
        f"{name} buys {a} boxes of {item} with {b} {item} in each box, "
        f"then gives {c} {item} to {friend}. How many {item} does {name} keep?"
    )
    s = (
        f"{name} buys {a} * {b} = {total} {item}.\n"
        f"After giving {c} away, {total} - {c} = {total - c} are left."
    )
    return q, s, total - c


def change(rng: random.Random) -> tuple[str, str, int]:
    """Three steps: two purchases, their total, the change from a bill."""
    name, _, item = _pick(rng)
    item2 = rng.choice([i for i in ITEMS if i != item])
    shop = rng.choice(SHOPS)
    a, p = rng.randint(2, 6), rng.randint(2, 12)
    b, q_ = rng.randint(2, 6), rng.randint(2, 12)
    first, second = a * p, b * q_
    total = first + second
    bill = next(x for x in (20, 50, 100, 200) if x > total)
    q = (
        f"At the {shop}, {name} buys {a} {item} at ${p} each and {b} {item2} at ${q_} each. "
        f"{name} pays with a ${bill} bill. How much change does {name} get?"
    )
    s = (
        f"The {item} cost {a} * {p} = ${first}.\n"
        f"The {item2} cost {b} * {q_} = ${second}.\n"
        f"Together that is {first} + {second} = ${total}.\n"
        f"The change is {bill} - {total} = ${bill - total}."
    )
    return q, s, bill - total


FAMILIES: dict[str, tuple[Template, ...]] = {
    "base": (add, take_away, packs, share, wages, packs_then_give),
    "change": (change,),
}


def problems(family: str, count: int, seed: int, split: str) -> Iterator[Problem]:
    """``count`` problems of ``family``, the same for the same seed and split."""
    rng = random.Random(f"{seed}:{split}:{family}")
    templates = FAMILIES[family]
    for index in range(count):
        template = templates[index % len(templates)]
        question, steps, answer = template(rng)
        yield Problem(
            id=f"{split}-{family}-{index:05d}",
            family=family,
            template=template.__name__,
            question=question,
            solution=f"{steps}\n#### {answer}",
            answer=str(answer),
        )


def write(path: Path, records: Iterator[Problem]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(asdict(record)) + "\n")
            count += 1
    return count


# split -> (family, count); test questions never appear in train (different seeds per split)
LAYOUT: dict[str, list[tuple[str, int]]] = {
    "train": [("base", 100_000)],
    "skill": [("change", 4_000)],
    "test": [("base", 700), ("change", 300)],
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for train/skill/test .jsonl"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every count (e.g. 0.01 for a smoke test)"
    )
    args = parser.parse_args()
    for split, parts in LAYOUT.items():
        records = (
            p
            for family, count in parts
            for p in problems(family, max(1, int(count * args.scale)), args.seed, split)
        )
        n = write(args.out / f"{split}.jsonl", records)
        print(f"{split:6s} {n:7d} problems -> {args.out / f'{split}.jsonl'}")


if __name__ == "__main__":
    main()
