"""The candidate process: runs the model-written code, then answers calls with plain data.

Standard library only. In a jail the worker starts it as a fresh interpreter
(``python -S -s _candidate.py SYS_PATH_JSON``), so its memory holds nothing of
the worker (no tests, no earlier programs); without a jail it is called in the
forked child (``serve``). Either way the tests are not in this process: they run
in the checker, which sends calls on fd 3 and reads answers on fd 4
(``_channel`` framing). Nothing this process does can make a test pass: the
checker only ever receives data, and decides the verdict from it.

Messages in: ``{"code": text}`` first, then ``{"op": "get", "name": n}`` (what is
the global ``n``?) or ``{"op": "call", "name": n, "args": [...], "kwargs": {...}}``.
Messages out: ``{"ready": true}`` or ``{"fail": kind, "detail": text}`` for the
code itself; per request ``{"value": data}``, ``{"callable": true}``,
``{"missing": true}``, ``{"raised": type, "message": m, "kind": k, "detail": d}``,
``{"not_data": why}``, or ``{"fail": ...}`` when the code ended the process.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

CALL_FD = 3
ANSWER_FD = 4
CANDIDATE_NAME = "__cogumi_candidate__"
"""``__name__`` the code runs under: ``if __name__ == "__main__":`` blocks are skipped."""


def _load_sibling(name: str) -> Any:
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"cogumi_sandbox{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the code may have replaced or closed them
            pass


def serve(channel: Any, runner: Any) -> NoReturn:
    """Receive the code, run it, then answer the checker's requests until it hangs up."""
    # Bound now: the code may replace these names in its own process (which only hurts itself).
    write, read, exit_, encode, decode = (
        channel.write_message,
        channel.read_exact,
        os._exit,
        channel.encode,
        channel.decode,
    )
    not_data, classify, safe_text, unpack = (
        channel.NotData,
        runner.classify,
        runner._safe_text,
        int.from_bytes,
    )

    def answer(message: dict[str, Any]) -> None:
        _flush()
        try:
            write(ANSWER_FD, message)
        except OSError:  # the code closed or broke its channel: wait to be killed
            while True:
                signal.pause()

    def receive() -> Any:
        header = read(CALL_FD, 4)
        body = None if header is None else read(CALL_FD, unpack(header, "big"))
        while body is None:  # the checker is done: wait to be killed, so that an exit of
            signal.pause()  # this process always means the code ended it
        return json.loads(body)

    code = receive()["code"]
    sources = {"<code>": code}
    try:
        compiled = compile(code, "<code>", "exec", dont_inherit=True)
    except BaseException as exc:  # SyntaxError, ValueError (null bytes), RecursionError...
        lineno = getattr(exc, "lineno", None)
        where = f" (code line {lineno})" if lineno else " (in the code)"
        detail = f"{type(exc).__name__}: {safe_text(getattr(exc, 'msg', exc))}{where}"
        answer({"fail": "syntax", "detail": detail})
        exit_(1)
    namespace: dict[str, Any] = {"__name__": CANDIDATE_NAME, "__builtins__": builtins}
    try:
        exec(compiled, namespace)
    except BaseException as exc:
        kind, detail = classify(exc, "code", sources)
        answer({"fail": kind, "detail": detail})
        exit_(1)
    answer({"ready": True})
    while True:
        request = receive()
        name = str(request.get("name"))
        if name not in namespace:
            answer({"missing": True})
            continue
        target = namespace[name]
        if request.get("op") == "get":
            if callable(target):
                answer({"callable": True})
                continue
            value = target
        else:
            try:
                args, kwargs = decode(request["args"]), decode(request["kwargs"])
                value = target(*args, **kwargs)
            except (SystemExit, KeyboardInterrupt) as exc:
                kind, detail = classify(exc, "code", sources)
                answer({"fail": kind, "detail": detail})
                exit_(1)
            except BaseException as exc:
                kind, detail = classify(exc, "code", sources)
                answer(
                    {
                        "raised": type(exc).__name__,
                        "message": safe_text(exc),
                        "kind": kind,
                        "detail": detail,
                    }
                )
                continue
        try:
            answer({"value": encode(value)})
        except not_data as exc:
            answer({"not_data": f"returned {exc}"})
        except BaseException as exc:  # a hostile iterator, RecursionError...
            answer({"not_data": f"returned a value that could not be read ({type(exc).__name__})"})


def main(argv: list[str]) -> NoReturn:
    """Fresh-interpreter entry: the import path comes from the worker, nothing else."""
    sys.path[:] = json.loads(argv[1])
    for name in ("PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE"):
        os.environ.pop(name, None)  # read at start-up; the code sees only the allow-list
    sys.argv = ["<code>"]
    sys.dont_write_bytecode = True
    channel = _load_sibling("_channel")
    runner = _load_sibling("_runner")
    serve(channel, runner)


if __name__ == "__main__":
    main(sys.argv)
