"""`inspect eval tasks/code.py` with a replayed model that attacks the harness on some problems.

The eval must end with status success, score exactly the attacking answers as
failures (each with its kind) and every other answer as a pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log

from cogumi_eval.data import load_humaneval

REPO = Path(__file__).resolve().parents[2]
INSPECT = str(Path(sys.executable).with_name("inspect"))
PROBLEMS = 10

ALWAYS_EQUAL = (
    "class Yes:\n"
    "    def __eq__(self, other):\n"
    "        return True\n"
    "def {name}(*args, **kwargs):\n"
    "    return Yes()\n"
)
FRAME_WALK = (
    "import sys\n"
    "def {name}(*args, **kwargs):\n"
    "    frame = sys._getframe()\n"
    "    while frame.f_back is not None:\n"
    "        frame = frame.f_back\n"
    "    report = frame.f_globals.get('report')\n"
    "    if callable(report):\n"
    "        report(4, 'proof', nonce='0' * 32)\n"
    "    return None\n"
)
CLOSE_CHANNEL = "import os\nos.close(3)\nos.close(4)\ndef {name}(*args):\n    return None\n"
CLAIM_SANDBOX_ERROR = (
    "import os, struct\n"
    'body = b\'{{"fail": "sandbox_error", "detail": "not my fault"}}\'\n'
    "os.write(4, struct.pack('>I', len(body)) + body)\n"
    "def {name}(*args):\n"
    "    return None\n"
)
DEEP_TREE_THEN_EXIT = (
    "import os\nfor _ in range(2000):\n    os.mkdir('d')\n    os.chdir('d')\nos._exit(0)\n"
)
HOSTILE = {  # problem index -> (answer template, expected failure kind)
    1: (ALWAYS_EQUAL, "not_data"),
    3: (FRAME_WALK, "assertion"),
    4: (CLOSE_CHANNEL, "not_data"),
    6: (CLAIM_SANDBOX_ERROR, "exception"),
    8: (DEEP_TREE_THEN_EXIT, "exit"),
}


def test_hostile_answers_are_failures_and_the_eval_succeeds(tmp_path: Path, data_dir: Path) -> None:
    problems = load_humaneval(data_dir=data_dir).records[:PROBLEMS]
    answers = tmp_path / "answers.jsonl"
    with answers.open("w", encoding="utf-8") as f:
        for index, problem in enumerate(problems):
            if index in HOSTILE:
                text = HOSTILE[index][0].format(name=problem.entry_point)
            else:
                text = problem.prompt + problem.canonical_solution
            answer = f"```python\n{text}```\n"
            f.write(json.dumps({"task_id": problem.id, "answer": answer}) + "\n")
    log_dir = tmp_path / "logs"
    done = subprocess.run(
        [
            INSPECT,
            "eval",
            "tasks/code.py",
            "--model",
            "cogumi/replay",
            "-M",
            f"source={answers}",
            "-M",
            "response=answer",
            "-M",
            "id=task_id",
            "--limit",
            str(PROBLEMS),
            "--log-dir",
            str(log_dir),
            "--display",
            "plain",
        ],
        cwd=REPO,
        env={**os.environ, "COGUMI_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [info] = list_eval_logs(str(log_dir))
    log = read_eval_log(info.name)
    assert log.status == "success"
    answers_by_id = {s.id: s.scores["humaneval_tests"].answer for s in log.samples or []}
    expected = {
        problem.id: HOSTILE[index][1] if index in HOSTILE else "pass"
        for index, problem in enumerate(problems)
    }
    assert answers_by_id == expected
    isolation = (log.samples or [])[0].scores["humaneval_tests"].metadata["isolation"]
    assert isolation["checker"].startswith("separate process")
