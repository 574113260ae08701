"""The candidate process: runs the model-written code, then answers calls with plain data.

Standard library only. In a jail the worker starts it as a fresh interpreter
(``python -S -s -P _candidate.py -- SYS_PATH...``), so its memory holds nothing of
the worker (no tests, no earlier programs); without a jail it is called in the
forked child (``serve``). Either way the tests are not in this process: they run
in the checker, which sends calls on fd 3 and reads answers on fd 4
(``_channel`` framing). Nothing this process does can make a test pass: the
checker only ever receives data, and decides the verdict from it.

Messages in: the code's text first, then literals ``("get", n)`` (what is the
global ``n``?) or ``("call", n, [args...], {kwargs...})``.
Messages out: ``{"ready": true}`` or ``{"fail": kind, "detail": text}`` for the
code itself; per request ``{"value": data}``, ``{"callable": true}``,
``{"missing": true}``, ``{"raised": type, "message": m, "kind": k, "detail": d}``,
``{"not_data": why}``, or ``{"fail": ...}`` when the code ended the process.
"""

from __future__ import annotations

import _signal as signal  # the C module: ``signal`` imports enum and collections (~2.5 ms)
import builtins
import posix  # not os (~0.8 ms more start-up); the code imports what it uses
import sys

TYPE_CHECKING = False  # no typing import: this starts in a fresh interpreter every execution
if TYPE_CHECKING:
    from typing import Any, NoReturn

CALL_FD = 3
ANSWER_FD = 4
CANDIDATE_NAME = "__cogumi_candidate__"
"""``__name__`` the code runs under: ``if __name__ == "__main__":`` blocks are skipped."""


def _load_sibling(name: str) -> Any:
    """A module of this folder, by path (no importlib machinery: each import costs start-up)."""
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    module = type(sys)(f"cogumi_sandbox{name}")
    module.__file__ = path
    sys.modules[module.__name__] = module
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), module.__dict__)
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
    write, read, exit_, encode, parse = (
        channel.write_message,
        channel.read_exact,
        posix._exit,
        channel.encode,
        channel.read_request,
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

    def receive() -> str:
        header = read(CALL_FD, 4)
        body = None if header is None else read(CALL_FD, unpack(header, "big"))
        while body is None:  # the checker is done: wait to be killed, so that an exit of
            signal.pause()  # this process always means the code ended it
        return str(body.decode("utf-8", "surrogatepass"))

    code = receive()
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
        request = parse(receive())
        op, name = request[0], str(request[1])
        if name not in namespace:
            answer({"missing": True})
            continue
        target = namespace[name]
        if op == "get":
            if callable(target):
                answer({"callable": True})
                continue
            value = target
        else:
            try:
                value = target(*request[2], **request[3])
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
    sys.path[:] = argv[argv.index("--") + 1 :]
    for name in ("PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE"):
        # Read at start-up; the code sees only the allow-list (os.environ is built from
        # posix.environ if the code imports os, as os.environ.pop would leave it).
        posix.unsetenv(name)
        posix.environ.pop(name.encode(), None)
    sys.argv = ["<code>"]
    sys.dont_write_bytecode = True
    # Precompiled by the worker (``BOOTSTRAP``), or else read from this folder.
    channel = sys.modules.get("cogumi_sandbox_channel") or _load_sibling("_channel")
    runner = sys.modules.get("cogumi_sandbox_runner") or _load_sibling("_runner")
    serve(channel, runner)


BOOTSTRAP = """import marshal, sys
with open(sys.argv[1], "rb") as f:
    modules = marshal.loads(f.read())
for name, code in modules:
    module = sys.modules[name] = type(sys)(name)
    exec(code, module.__dict__)
module.main(sys.argv)
"""
"""``python -c BOOTSTRAP MODULES_FILE -- SYS_PATH...``: runs the candidate from code objects the
worker compiled once into a root-owned file of the jail (``precompiled``): a fresh interpreter
then compiles nothing of ours."""


def precompiled(folder: str) -> bytes:
    """The marshalled code of ``_channel``, ``_runner`` and this module, for ``BOOTSTRAP``."""
    import marshal
    import os

    modules = []
    for name in ("_channel", "_runner", "_candidate"):
        path = os.path.join(folder, f"{name}.py")
        with open(path, encoding="utf-8") as f:
            modules.append((f"cogumi_sandbox{name}", compile(f.read(), path, "exec")))
    return marshal.dumps(modules)


if __name__ == "__main__":
    main(sys.argv)
