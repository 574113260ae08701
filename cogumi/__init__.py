"""Inspect's namespace for Cogumi: ``inspect eval cogumi/gsm8k`` and ``--model cogumi/<ref>``.

The library itself is ``cogumi_eval``; this package only registers its tasks and
model API with Inspect under the name ``cogumi``.
"""
