"""The compression recipes: which llmcompressor modifiers each name stands for, and why.

A ``Recipe`` is data (method, scheme, bits, group size, sparsity) plus the
modifier list it hands to llmcompressor's ``oneshot``; llmcompressor is
imported only when the modifiers are built, so listing or validating recipes
costs nothing.

Two facts of llmcompressor 0.14.0.1 shape the table:

- AWQ's smoothing step pins its cached activations in page-locked memory
  (``IntermediatesCache.pin_memory``), which torch refuses without an
  accelerator; ``awq-w4a16`` therefore needs a GPU. The other recipes run on
  the CPU (slowly for real models: GPTQ and SparseGPT invert one Hessian per
  layer).
- GPTQ's error feedback rewrites the weights that SparseGPT zeroed (a 2:4
  model comes out ~44% zeros with no 2:4 pattern left), so ``sparse-2of4+w4a16``
  quantizes after pruning with round-to-nearest symmetric int4, which maps zero
  to zero and keeps the 2:4 mask exactly. The size report checks the mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._errors import UnknownRecipeError

IGNORE = ["lm_head"]
"""Never compressed: the output head is small next to the body and sensitive to error."""

AWQ_NEEDS_ACCELERATOR = (
    "llmcompressor 0.14.0.1's AWQ pins its cached activations in page-locked memory, "
    "which torch allows only when a GPU (or another accelerator) is present"
)


@dataclass(frozen=True)
class Recipe:
    """One named compression recipe.

    Attributes:
        name: what ``--recipe`` takes.
        method: the algorithms, in the order they run.
        scheme: the compressed-tensors preset of the quantization step (None: no quantization).
        weight_bits: bits per quantized weight (None: weights stay at the stored dtype).
        activation_bits: bits of the activations at run time (None: not quantized).
        group_size: weights per quantization scale (None: one scale per output channel).
        sparsity: the fraction of each targeted layer's weights set to zero.
        mask_structure: ``"2:4"`` (two zeros in every four consecutive weights of a row).
        needs_accelerator: why the recipe cannot run on a CPU-only machine (None: it can).
        description: one line for ``--help`` and the lineage.
    """

    name: str
    method: str
    scheme: str | None
    weight_bits: int | None
    activation_bits: int | None
    group_size: int | None
    sparsity: float | None
    mask_structure: str | None
    needs_accelerator: str | None
    description: str

    def with_group_size(self, group_size: int | None) -> Recipe:
        """The same recipe with another group size (grouped schemes only)."""
        from dataclasses import replace

        if group_size is None or group_size == self.group_size:
            return self
        if self.group_size is None:
            raise UnknownRecipeError(
                f"recipe {self.name} quantizes per output channel; it takes no group size "
                f"(got {group_size})."
            )
        if group_size <= 0:
            raise UnknownRecipeError(f"group size must be positive (got {group_size}).")
        return replace(self, group_size=group_size)

    def modifiers(self) -> list[Any]:
        """The llmcompressor modifiers, built now (this imports llmcompressor)."""
        from llmcompressor.modifiers.pruning import SparseGPTModifier
        from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier
        from llmcompressor.modifiers.transform import AWQModifier, SmoothQuantModifier

        steps: list[Any] = []
        if self.mask_structure is not None:
            steps.append(
                SparseGPTModifier(
                    sparsity=self.sparsity,
                    mask_structure=self.mask_structure,
                    targets=["Linear"],
                    # SparseGPT matches ignore entries against "<name>." (its target's own
                    # name plus a dot), so a bare "lm_head" would not stop it pruning the head
                    ignore=[rf"re:(.*\.)?{name}\.?$" for name in IGNORE],
                )
            )
        if self.scheme is None:
            return steps
        groups = {"group_0": self._scheme()}
        if self.name == "awq-w4a16":
            steps += [
                AWQModifier(),
                QuantizationModifier(config_groups=groups, ignore=list(IGNORE)),
            ]
        elif self.name == "gptq-w4a16":
            steps.append(GPTQModifier(config_groups=groups, ignore=list(IGNORE)))
        elif self.name == "w8a8":
            # SmoothQuant moves activation outliers into the weights, where int8 per-channel copes
            steps += [
                SmoothQuantModifier(smoothing_strength=0.8),
                GPTQModifier(config_groups=groups, ignore=list(IGNORE)),
            ]
        else:
            steps.append(QuantizationModifier(config_groups=groups, ignore=list(IGNORE)))
        return steps

    def _scheme(self) -> Any:
        from compressed_tensors.quantization import preset_name_to_scheme

        assert self.scheme is not None
        scheme = preset_name_to_scheme(self.scheme, ["Linear"])
        if self.group_size is not None and scheme.weights is not None:
            scheme.weights.group_size = self.group_size
        return scheme

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "scheme": self.scheme,
            "weight_bits": self.weight_bits,
            "activation_bits": self.activation_bits,
            "group_size": self.group_size,
            "sparsity": self.sparsity,
            "mask_structure": self.mask_structure,
            "ignore": list(IGNORE),
        }


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            name="awq-w4a16",
            method="AWQ",
            scheme="W4A16_ASYM",
            weight_bits=4,
            activation_bits=None,
            group_size=128,
            sparsity=None,
            mask_structure=None,
            needs_accelerator=AWQ_NEEDS_ACCELERATOR,
            description="activation-aware scaling, then asymmetric int4 weights in groups of 128",
        ),
        Recipe(
            name="gptq-w4a16",
            method="GPTQ",
            scheme="W4A16",
            weight_bits=4,
            activation_bits=None,
            group_size=128,
            sparsity=None,
            mask_structure=None,
            needs_accelerator=None,
            description="GPTQ (Hessian error feedback) to symmetric int4 weights in groups of 128",
        ),
        Recipe(
            name="w8a8",
            method="SmoothQuant + GPTQ",
            scheme="W8A8",
            weight_bits=8,
            activation_bits=8,
            group_size=None,
            sparsity=None,
            mask_structure=None,
            needs_accelerator=None,
            description="int8 weights per channel and int8 activations per token (dynamic)",
        ),
        Recipe(
            name="sparse-2of4",
            method="SparseGPT",
            scheme=None,
            weight_bits=None,
            activation_bits=None,
            group_size=None,
            sparsity=0.5,
            mask_structure="2:4",
            needs_accelerator=None,
            description="SparseGPT to 2:4 structured sparsity; weights keep their dtype",
        ),
        Recipe(
            name="sparse-2of4+w4a16",
            method="SparseGPT + round-to-nearest",
            scheme="W4A16",
            weight_bits=4,
            activation_bits=None,
            group_size=128,
            sparsity=0.5,
            mask_structure="2:4",
            needs_accelerator=None,
            description="2:4 sparsity, then symmetric int4 in groups of 128 (zeros stay zero)",
        ),
    )
}


def get_recipe(name: str | Recipe) -> Recipe:
    """The recipe called ``name``.

    Raises:
        UnknownRecipeError: the name is not a recipe; the message lists the valid ones.
    """
    if isinstance(name, Recipe):
        return name
    recipe = RECIPES.get(str(name).strip().lower())
    if recipe is None:
        raise UnknownRecipeError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}.")
    return recipe
