"""The size report: bytes on disk, effective bits per parameter, and the sparsity of every layer.

Sizes come from the safetensors headers of the parent and the output (what is
actually stored: packed int4, scales, zero points), so "4-bit" is checked, not
assumed: a W4A16 layer in groups of 128 costs 4 + 16/128 bits per weight with
its bf16 scales. Sparsity is the fraction of exactly-zero weights each Linear
layer holds once its quantization is applied (the values a loader
reconstructs), and whether every row keeps two zeros in each four weights.

Note that compressed-tensors 0.19 stores a 2:4-sparse layer dense (its sparse
bitmask formats are gone), so sparsity alone does not shrink the files; the
report says so by its numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cogumi_eval.model._weights import safetensors_header, weight_files


@dataclass(frozen=True)
class LayerSize:
    """One Linear layer of the compressed model."""

    name: str
    parameters: int
    """Weights (and bias) of the layer in the parent."""
    bytes: int
    """Bytes its tensors take in the output (packed weights, scales, zero points, bias)."""
    bits_per_parameter: float
    sparsity: float
    """Fraction of its weights that are exactly zero after compression."""
    follows_2of4: bool
    """Every group of four consecutive weights in a row holds at least two zeros."""


@dataclass(frozen=True)
class SizeReport:
    """How much smaller the output is than its parent, and where the zeros are."""

    bytes_on_disk: int
    """The output's weight files."""
    parent_bytes: int
    """The parent's weight files."""
    parameters: int
    """Parameters of the parent (tied tensors counted once)."""
    effective_bits_per_parameter: float
    """8 x bytes on disk / parameters: everything stored (headers, unquantized layers)."""
    parent_bits_per_parameter: float
    size_ratio: float
    """parent bytes / output bytes."""
    targeted_bits_per_parameter: float
    """Bits per parameter over the Linear layers the recipe targets (all but lm_head)."""
    sparsity: float
    """Zero fraction over the Linear layers that the recipe targets (all but lm_head)."""
    layers_following_2of4: int
    layers: tuple[LayerSize, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.bytes_on_disk:,} bytes on disk (parent {self.parent_bytes:,}; "
            f"{self.size_ratio:.2f}x smaller), {self.effective_bits_per_parameter:.2f} bits per "
            f"parameter overall, {self.targeted_bits_per_parameter:.2f} in the compressed layers; "
            f"sparsity {self.sparsity:.1%} ({self.layers_following_2of4}/"
            f"{sum(1 for layer in self.layers if layer.name != 'lm_head')} targeted layers 2:4)"
        )


def _tensor_bytes(entry: dict[str, Any]) -> int:
    start, end = entry["data_offsets"]
    return int(end) - int(start)


def _numel(entry: dict[str, Any]) -> int:
    count = 1
    for dim in entry.get("shape", []):
        count *= int(dim)
    return count


def folder_tensors(folder: Path) -> dict[str, dict[str, Any]]:
    """Every tensor's header entry across the folder's safetensors shards."""
    tensors: dict[str, dict[str, Any]] = {}
    for path in weight_files(folder):
        if path.suffix == ".safetensors":
            header = safetensors_header(path)
            tensors.update({k: v for k, v in header.items() if k != "__metadata__"})
    return tensors


def folder_weight_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in weight_files(folder))


def layer_zeros(model: Any) -> dict[str, tuple[float, bool]]:
    """Per Linear layer: zero fraction and 2:4 compliance of the weights as a loader rebuilds them.

    Args:
        model: the model after ``oneshot`` and before saving (weights not yet packed).
    """
    import torch
    from compressed_tensors.quantization import forward_quantize

    found: dict[str, tuple[float, bool]] = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            if not isinstance(module, torch.nn.Linear):
                continue
            weight = module.weight.detach()
            scheme = getattr(module, "quantization_scheme", None)
            if (
                scheme is not None
                and scheme.weights is not None
                and hasattr(module, "weight_scale")
            ):
                weight = forward_quantize(module, weight, "weight", scheme.weights)
            zero = weight == 0
            follows = weight.shape[-1] % 4 == 0 and bool((zero.reshape(-1, 4).sum(-1) >= 2).all())
            found[name] = (float(zero.float().mean()), follows)
    return found


def size_report(
    parent: Path,
    output: Path,
    zeros: dict[str, tuple[float, bool]],
    ignore: tuple[str, ...] = ("lm_head",),
) -> SizeReport:
    """Compare the output's stored tensors with its parent's.

    Args:
        parent: the uncompressed checkpoint folder.
        output: the compressed checkpoint folder.
        zeros: ``layer_zeros`` of the compressed model.
        ignore: layers the recipe leaves alone (excluded from the sparsity figure).
    """
    before = folder_tensors(parent)
    after = folder_tensors(output)
    by_module: dict[str, int] = {}
    for name, entry in after.items():
        prefix = name.rsplit(".", 1)[0]
        by_module[prefix] = by_module.get(prefix, 0) + _tensor_bytes(entry)
    layers = []
    for name, (sparsity, follows) in zeros.items():
        weight = before.get(f"{name}.weight")
        if weight is None:
            continue  # not stored on its own (tied to the embeddings)
        params = _numel(weight) + (
            _numel(before[f"{name}.bias"]) if f"{name}.bias" in before else 0
        )
        size = by_module.get(name, 0)
        layers.append(
            LayerSize(
                name,
                params,
                size,
                8 * size / params if params else 0.0,
                round(sparsity, 6),
                follows,
            )
        )
    parameters = sum(_numel(e) for e in before.values())
    on_disk = folder_weight_bytes(output)
    parent_bytes = folder_weight_bytes(parent)
    targeted = [layer for layer in layers if layer.name.rsplit(".", 1)[-1] not in ignore]
    targeted_params = sum(layer.parameters for layer in targeted)
    return SizeReport(
        bytes_on_disk=on_disk,
        parent_bytes=parent_bytes,
        parameters=parameters,
        effective_bits_per_parameter=round(8 * on_disk / parameters, 4) if parameters else 0.0,
        parent_bits_per_parameter=round(8 * parent_bytes / parameters, 4) if parameters else 0.0,
        size_ratio=round(parent_bytes / on_disk, 4) if on_disk else 0.0,
        targeted_bits_per_parameter=round(
            8 * sum(layer.bytes for layer in targeted) / targeted_params, 4
        )
        if targeted_params
        else 0.0,
        sparsity=round(
            sum(layer.sparsity * layer.parameters for layer in targeted) / targeted_params, 6
        )
        if targeted_params
        else 0.0,
        layers_following_2of4=sum(1 for layer in targeted if layer.follows_2of4),
        layers=tuple(layers),
    )


def estimate_output_bytes(
    parent: Path,
    weight_bits: int | None,
    group_size: int | None,
    ignore: tuple[str, ...] = ("lm_head",),
) -> int:
    """An upper estimate of the output's size, from the parent's headers (nothing is loaded).

    Linear weights (2-D tensors under ``layers``) shrink to ``weight_bits`` plus one 16-bit
    scale and zero point per group (per row without groups); everything else keeps its size.
    """
    total = 0
    for name, entry in folder_tensors(parent).items():
        size = _tensor_bytes(entry)
        shape = entry.get("shape", [])
        module = name.rsplit(".", 1)[0]
        quantized = (
            name.endswith(".weight")
            and len(shape) == 2
            and ".layers." in f".{module}."
            and module.rsplit(".", 1)[-1] not in ignore
        )
        if quantized and weight_bits is not None:
            rows, cols = int(shape[0]), int(shape[1])
            groups = -(-cols // group_size) if group_size else 1
            size = min(size, rows * cols * weight_bits // 8 + rows * groups * 4)
        total += size
    # config, tokenizer, recipe and the report itself
    return total + (8 << 20)
