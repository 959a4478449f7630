"""Client-side cost of checking MCP results against the published output schemas.

Method
------
The official Python client validates every structured tool result against
the tool's ``outputSchema`` with a cached ``jsonschema`` validator
(``ClientSession._output_schema_validator``, then ``best_match(iter_errors(...))``).
This script does exactly that for realistic results, A/B interleaved in one
run, for two spellings of the same schemas:

* ``anyof`` — what ``tools/list`` publishes now (``memoryd.mcp.schema``):
  nullable fields as ``anyOf`` with one ``type`` per branch.
* ``type-array`` — the spelling before (issue 12): every ``anyOf`` whose
  branches are all bare ``{"type": T}`` flattened into ``"type": [T, ...]``.

Results: a ``memory_search`` result with ``--hits`` hits (realistic
``MemoryView``s, ~200-character contents, null fields left out as the
server sends them) and a 10-item ``memory_list`` page. Each round times
``--calls`` validations per spelling and result, alternating which spelling
goes first; the per-call median over rounds is reported.

Usage::

    .venv/bin/python benchmarks/mcp_schema_validation.py [--rounds 30] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema.validators import validator_for
from referencing import Registry

from memoryd.mcp.models import ListOutput, SearchOutput
from memoryd.mcp.schema import compact_schema


def _type_array(node: Any) -> Any:
    """The earlier spelling: ``anyOf`` of bare single types as a ``type`` list."""
    if isinstance(node, list):
        return [_type_array(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _type_array(value) for key, value in node.items()}
    branches = out.get("anyOf")
    if (
        isinstance(branches, list)
        and "type" not in out
        and all(isinstance(b, dict) and set(b) == {"type"} for b in branches)
    ):
        del out["anyOf"]
        out["type"] = [b["type"] for b in branches]
    return out


def _view(i: int) -> dict[str, Any]:
    return {
        "id": f"6f1c0a9e-0000-4000-8000-{i:012d}",
        "content": f"Memory {i}: " + "Alice moved to Berlin in the spring and took the train. " * 4,
        "kind": "fact",
        "namespace": "default",
        "tags": ["move", "travel"],
        "metadata": {"speaker": "Alice", "turn": i},
        "importance": 0.5,
        "created_at": "2026-11-22T01:02:03+00:00",
        "session_id": "s1",
    }


def _results(hits: int) -> dict[str, tuple[type[Any], dict[str, Any]]]:
    served = {"served_by": "daemon", "degraded": False, "truncated": False, "omitted": 0}
    search = {
        **served,
        "hits": [{"memory": _view(i), "score": 1 - i / 100} for i in range(hits)],
        "mode": "hybrid",
        "took_ms": 9.5,
        "notes": [],
    }
    page = {**served, "items": [_view(i) for i in range(10)], "next_cursor": "'x':10"}
    return {
        f"memory_search ({hits} hits)": (SearchOutput, search),
        "memory_list (10)": (ListOutput, page),
    }


def _validator(schema: dict[str, Any]) -> Any:
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=Registry())


def _time(validator: Any, instance: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        error = jsonschema_exceptions.best_match(validator.iter_errors(instance))
        assert error is None, error
    return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    """Run the interleaved A/B and print the per-call medians in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--hits", type=int, default=10)
    args = parser.parse_args()
    for label, (model, instance) in _results(args.hits).items():
        published = compact_schema(model.model_json_schema())
        spellings = {
            "anyof": _validator(published),
            "type-array": _validator(_type_array(published)),
        }
        times: dict[str, list[float]] = {name: [] for name in spellings}
        for round_ in range(args.rounds):
            order = list(spellings) if round_ % 2 == 0 else list(reversed(spellings))
            for name in order:
                times[name].append(_time(spellings[name], instance, args.calls))
        medians = {name: statistics.median(values) for name, values in times.items()}
        ratio = medians["anyof"] / medians["type-array"]
        print(
            f"{label}: anyof {medians['anyof']:.3f} ms, type-array {medians['type-array']:.3f} ms"
            f" per validation (anyof/type-array {ratio:.2f}; {args.rounds} rounds x {args.calls})"
        )


if __name__ == "__main__":
    main()
