"""Retrieval-quality evaluations (``memoryd eval ...``).

* :mod:`memoryd.eval.locomo`: turn-level recall@k of the evidence on LoCoMo.
"""
