"""Readers and writers for the files memoryd imports and exports.

* :mod:`memoryd.formats.jsonl`: one JSON object per line — exported
  :class:`~memoryd.types.MemoryEntry` records (lossless, with vectors) or
  :class:`~memoryd.types.MemoryInput`-like dicts.
* :mod:`memoryd.formats.locomo`: the LoCoMo benchmark file (Maharana et al.,
  "Evaluating Very Long-Term Conversational Memory of LLM Agents", ACL 2024);
  :mod:`memoryd.formats.locomo_corrections` its audited answer key.
* :mod:`memoryd.formats.longmemeval`: LongMemEval files (Wu et al., ICLR 2025),
  streamed by :mod:`memoryd.formats.json_stream` (plain, gzip or xz).
"""
