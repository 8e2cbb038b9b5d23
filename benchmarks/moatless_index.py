"""The fork-faithful code index on a real code base: build time per phase, chunks, search latency.

Indexes the Python files of an installed package (default: ``_pytest``, about 40k lines) as the
moatless scaffold indexes a task repository, with the embedder given (default ``hashing``: no
model), then times the searches SearchCode runs.

Usage::

    python benchmarks/moatless_index.py [--package _pytest] [--embedder hashing|minilm]

Last line: one JSON object (files, lines, chunks, seconds per phase, search milliseconds).
"""
from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", default="_pytest")
    ap.add_argument("--embedder", default="hashing")
    args = ap.parse_args()

    from swegym_moatless.chunking import split_file
    from swegym_moatless.code_index import CodeIndex, initial_context, resolve_embedder
    from swegym_moatless.codeblocks import parse_python

    root = Path(importlib.import_module(args.package).__file__).parent
    files = {str(p.relative_to(root.parent)): p.read_text(errors="replace") for p in sorted(root.rglob("*.py"))}
    lines = sum(t.count("\n") for t in files.values())

    t0 = time.perf_counter()
    modules = {}
    for path, text in files.items():
        try:
            modules[path] = parse_python(text, path)
        except ValueError:
            pass
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    chunks = [c for path, m in modules.items() for c in split_file(m, path)]
    t_chunk = time.perf_counter() - t0
    embedder = resolve_embedder(args.embedder)
    t0 = time.perf_counter()
    index = CodeIndex.build(files, embedder)
    t_build = time.perf_counter() - t0

    queries = [dict(query="how are fixtures with autouse resolved"), dict(class_names=["FixtureRequest"]),
               dict(function_names=["getfixturevalue"], class_names=["FixtureRequest"]),
               dict(query="parse ini options", file_pattern="**/config/*.py"), dict(code_snippet="def pytest_addoption(")]
    t0 = time.perf_counter()
    for q in queries:
        index.search(**q)
    t_search = (time.perf_counter() - t0) / len(queries) * 1000
    t0 = time.perf_counter()
    text = initial_context(index, "Fixtures with autouse=True defined in a conftest are not applied to doctests.")
    t_initial = (time.perf_counter() - t0) * 1000

    rows = [("files", len(files)), ("lines", lines), ("parsed files", len(modules)), ("chunks", len(chunks)),
            ("parse s", f"{t_parse:.2f}"), ("chunk s", f"{t_chunk:.2f}"),
            (f"build s (parse+chunk+embed, {embedder.name})", f"{t_build:.2f}"),
            ("search ms (mean of 5)", f"{t_search:.0f}"), ("initial context ms", f"{t_initial:.0f}"),
            ("initial context chars", len(text))]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(json.dumps({"package": args.package, "embedder": embedder.name, "files": len(files), "lines": lines,
                      "chunks": len(chunks), "parse_s": round(t_parse, 2), "chunk_s": round(t_chunk, 2),
                      "build_s": round(t_build, 2), "search_ms": round(t_search), "initial_context_ms": round(t_initial)}))


if __name__ == "__main__":
    main()
