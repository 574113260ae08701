"""Training as a consumer of the Cogumi harness (data pipeline, LoRA, merge, gated promotion).

Nothing is trained here yet. The contract it will keep: every merge path calls
``cogumi_eval.model.refuse_quantized_base`` first, and a model is promoted only
when ``cogumi_eval.gate.evaluate_gate`` finds no regression.
"""
