"""The registry file: atomic, locked, readable by the model API, never overwritten when broken."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

from cogumi_eval.model import registry_entries
from cogumi_train import Registry
from cogumi_train._registry import RegistryError, RegistryNameTaken, dump_table


def _entry(path: str, **extra: object) -> dict[str, object]:
    return {"path": path, "weights_sha256": "ab" * 32, **extra}


def test_entries_resolve_through_the_model_api(tmp_path: Path) -> None:
    registry = tmp_path / "results" / "registry.toml"
    (tmp_path / "merged" / "v4").mkdir(parents=True)

    Registry(registry).add("gsm8k-v4", _entry("../merged/v4"))

    assert registry_entries(registry) == {"gsm8k-v4": registry.parent / "../merged/v4"}


def test_a_new_entry_keeps_the_files_comments_and_entries(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    original = '# hand-kept registry\n\n[models.old]\npath = "old"  # the first model\n'
    registry.write_text(original)

    Registry(registry).add("new", _entry("new"))

    text = registry.read_text()
    assert text.startswith(original.rstrip("\n"))
    assert set(tomllib.loads(text)["models"]) == {"old", "new"}


def test_invalid_toml_is_an_error_and_the_file_is_untouched(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_bytes(b'[models.a]\npath = "a"\n[models.b\n')
    before = registry.read_bytes()

    with pytest.raises(RegistryError, match="not valid TOML"):
        Registry(registry).add("c", _entry("c"))

    assert registry.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.toml", "registry.toml.lock"]


def test_promote_with_an_invalid_registry_exits_2_and_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cogumi_eval.cli import main

    registry = tmp_path / "registry.toml"
    registry.write_bytes(b"models = [unclosed\n")
    before = registry.read_bytes()

    code = main(
        [
            "promote",
            str(tmp_path),
            "--as",
            "v4",
            "--baseline",
            str(tmp_path),
            "--spec",
            str(tmp_path / "gate.toml"),
            "--registry",
            str(registry),
        ]
    )

    assert code == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert registry.read_bytes() == before


def test_existing_name_is_refused_without_replace(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.toml")
    registry.add("gsm8k-v4", _entry("first"))
    before = registry.path.read_bytes()

    with pytest.raises(RegistryNameTaken, match="--replace"):
        registry.add("gsm8k-v4", _entry("second"))

    assert registry.path.read_bytes() == before


def test_replace_overwrites_only_that_entry(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.toml")
    registry.add("a", _entry("a1"))
    registry.add("b", _entry("b1"))

    registry.add("a", _entry("a2"), replace=True)

    assert registry.get("a") == _entry("a2")
    assert registry.get("b") == _entry("b1")


def test_models_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text('models = "none"\n')

    with pytest.raises(RegistryError, match="must be a table"):
        Registry(path).read()


@pytest.mark.parametrize("name", ["", "a/b", "../x", "-lead", "has space"])
def test_names_that_could_read_as_folders_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not allowed"):
        Registry(tmp_path / "registry.toml").add(name, _entry("x"))


def test_values_survive_the_toml_writer(tmp_path: Path) -> None:
    entry = {
        "path": 'odd "quoted"\\path\nwith lines\t\u00e9\U0001f600\x7f',
        "n": 16,
        "ok": True,
        "share": 0.75,
        "missing": float("nan"),
        "tags": ["a", "b"],
        "empty": [],
        "none": None,
        "lineage": {"weights": {"sha256": "00", "files": 1}, "key with space": "v"},
        "rules": [{"name": "r1", "delta": -0.5}, {"name": "r2", "delta": 0.0}],
    }

    parsed = tomllib.loads(dump_table(("models", "m"), entry))["models"]["m"]

    assert parsed["path"] == entry["path"]
    assert parsed["lineage"] == entry["lineage"] and parsed["rules"] == entry["rules"]
    assert parsed["missing"] != parsed["missing"]  # nan
    assert "none" not in parsed and parsed["empty"] == [] and parsed["tags"] == ["a", "b"]


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cogumi_train import Registry

    registry, prefix, start = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    (start.parent / f"ready-{prefix}").touch()
    while not start.exists():
        time.sleep(0.005)
    for i in range(20):
        Registry(registry).add(f"{prefix}-{i}", {"path": f"{prefix}/{i}"})
    """
)


def test_two_processes_promoting_at_once_keep_every_entry(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    start = tmp_path / "start"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(registry), prefix, str(start)])
        for prefix in ("a", "b")
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{p}").exists() for p in ("a", "b")):
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.01)
    start.touch()  # both have imported everything and now write at the same moment

    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    names = set(tomllib.loads(registry.read_text())["models"])
    assert names == {f"{p}-{i}" for p in ("a", "b") for i in range(20)}
