"""Compression as a consumer of the Cogumi harness (AWQ, GPTQ, 2:4 recipes, gated promotion).

Nothing is compressed here yet. A compressed checkpoint is evaluated like any
other through ``--model cogumi/<folder>``; its lineage records the quantization
method and bits, and it is promoted only when the gate finds no regression.
"""
