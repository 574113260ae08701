"""``cogumi lineage <ref | log>``: which weights a ref names, or which produced a log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "lineage",
        help="print a model's lineage: base, adapter, quantization, weight hash",
        description="Print the lineage of a checkpoint folder, adapter folder or registry name "
        "(read from its files; nothing is loaded), or the lineage recorded in an eval log.",
    )
    parser.add_argument(
        "ref", help="checkpoint or adapter folder, registry name, or .eval/.json log"
    )
    parser.add_argument(
        "--base", help="an adapter's base, instead of the one in adapter_config.json"
    )
    parser.add_argument("--no-hash", action="store_true", help="skip the weights' content hash")
    parser.add_argument("--json", action="store_true", help="print the full record as JSON")
    parser.set_defaults(run=run_lineage)


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{count} B"
        count /= 1024  # type: ignore[assignment]
    return str(count)


def _digest(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "-"
    return f"sha256 {entry['sha256'][:16]}  ({entry['files']} file(s), {_size(entry['bytes'])})"


def _training_line(record: dict[str, Any]) -> str:
    """One line from a ``cogumi train lora|merge`` record (``cogumi_lineage.json``)."""
    if record.get("step") == "merge":
        check = record.get("check") or {}
        flag = (
            "; QUANTIZED BASE MERGED ANYWAY (--allow-quantized-base)"
            if record.get("allowed_quantized_base")
            else ""
        )
        return (
            f"cogumi train merge into {record.get('merged_into')}{flag}; check vs "
            f"{check.get('reference')}: max |logit diff| {check.get('max_abs_logit_diff'):.3g}, "
            f"greedy agreement {check.get('greedy_agreement', 0):.1%}"
        )
    q, hyper = record.get("quantization"), record.get("hyperparameters") or {}
    data, training = record.get("data") or {}, record.get("training") or {}
    on = f"QLoRA on a {q.get('method')} {q.get('quant_type')} base" if q else "LoRA"
    return (
        f"cogumi train {record.get('step')}: {on}, r={hyper.get('rank')}, "
        f"{hyper.get('steps')} steps, data sha256 {str(data.get('sha256'))[:16]}, "
        f"final loss {training.get('final_loss')}"
    )


def _compression_line(record: dict[str, Any]) -> str:
    """One line from a ``cogumi compress`` record: recipe, parent, calibration, size."""
    size, calib = record.get("size") or {}, record.get("calibration") or {}
    parent = record.get("parent") or {}
    return (
        f"{record.get('recipe')} ({record.get('method')}, {record.get('scheme') or 'unquantized'}, "
        f"group {record.get('group_size') or '-'}); parent sha256 "
        f"{str(parent.get('weights_sha256'))[:16]}; calibration {calib.get('samples')} samples "
        f"sha256 {str(calib.get('sha256'))[:16]}; {size.get('effective_bits_per_parameter')} "
        f"bits/param, {size.get('size_ratio')}x smaller, sparsity {size.get('sparsity')}"
    )


def describe(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The lineage as (label, value) lines for a terminal."""
    q = record.get("quantization")
    check = record.get("base_check")
    rows = [("ref", record["ref"]), ("kind", record["kind"])]
    if record.get("registry"):
        rows.append(("registry", record["registry"]))
    if record["kind"] == "replay":
        replay = record.get("replay") or {}
        rows += [
            ("source", f"{replay.get('source')}  (sha256 {str(replay.get('sha256'))[:16]})"),
            ("recorded model", str(replay.get("recorded_model") or "-")),
        ]
        rows += [(k, str(replay[k])) for k in ("input", "response", "id") if replay.get(k)]
    else:
        if record.get("adapter"):
            rows.append(
                ("adapter", f"{record['adapter']}  {_digest(record.get('adapter_weights'))}")
            )
        base = record.get("base") or "-"
        rows.append(
            ("base", f"{base}  ({record['base_path']})" if record.get("base_path") else base)
        )
        rows.append(("weights", _digest(record.get("weights"))))
        rows.append(("stored dtype", record.get("stored_dtype") or "-"))
        rows.append(
            (
                "quantization",
                f"{q['method']} {q['bits'] or '?'}-bit ({q['evidence']})" if q else "none",
            )
        )
        if check is not None:
            verdict = (
                "QUANTIZED: " + "; ".join(check["reasons"]) if check["quantization"] else "clean"
            )
            rows.append(("adapter base", verdict))
        compression = record.get("compression")
        if compression:
            rows.append(("compression", _compression_line(compression)))
        if record.get("training"):
            rows.append(("produced by", _training_line(record["training"])))
        loaded = record.get("base_loaded_as")
        if loaded:
            rows.append(
                (
                    "base loaded as",
                    f"{loaded.get('method')} {loaded.get('quant_type')} (as in training)",
                )
            )
    determinism = record.get("determinism")
    if determinism:
        shown = {k: v for k, v in determinism.items() if v not in (None, {}, "")}
        rows.append(("determinism", ", ".join(f"{k}={v}" for k, v in shown.items())))
    rows.append(("cogumi", record.get("cogumi_version", "?")))
    return rows


def run_lineage(args: argparse.Namespace) -> int:
    path = Path(args.ref)
    if path.is_file() and path.suffix in (".eval", ".json"):
        from .._log_problem import read_log
        from ._read import read_lineage

        record = read_lineage(read_log(path, header_only=True))
        if record is None:
            raise ModelError(
                f"{path} records no cogumi lineage: it was not produced by a cogumi/ model."
            )
    else:
        from ._lineage import lineage

        record = lineage(args.ref, base=args.base, hash_weights=not args.no_hash).to_dict()
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    rows = describe(record)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0
