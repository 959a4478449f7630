"""Retrieval-quality evaluations (``memoryd eval ...``).

* :mod:`memoryd.eval.locomo`: recall@k of the evidence on LoCoMo, turn and
  session level, against the original and the corrected key.
* :mod:`memoryd.eval.longmemeval`: session recall_any/all@k, turn recall@k and
  NDCG@10 on LongMemEval, per question type.
* :mod:`memoryd.eval.metrics` (the formulas) and :mod:`memoryd.eval.harness`
  (target, progress, ingest, timed search, the figures of a run) are shared.
"""
