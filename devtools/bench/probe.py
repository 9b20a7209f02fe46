"""The bench's serving probe, ``python -m devtools probe``: a fresh process that loads the engine as `serve`
does and reports start-up phases, resident memory, answer timings and the vector index's recall, so memory
figures are the server's own, not the benchmark's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .measure import answer_timings, proc_status_mb


def hnsw_recall(index: Any, vectors: Any, k_values: tuple[int, ...] = (10,)) -> dict[str, Any]:
    """Recall@k of the served vector index against exact inner-product search over the same vectors."""
    if len(vectors) == 0:
        return {}
    exact_scores = vectors @ np.asarray(index.chunk_vectors).T
    result: dict[str, Any] = {"index": type(index.vectors).__name__, "queries": int(len(vectors))}
    for k in k_values:
        k = min(k, exact_scores.shape[1])
        exact = np.argpartition(-exact_scores, k - 1, axis=1)[:, :k]
        _, found = index.vectors.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        hits = [len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(exact, found)]
        result[f"recall@{k}"] = round(float(np.mean(hits)), 4)
    return result


def query_vectors(engine: Any, questions: list[str]) -> Any:
    """The dense query vectors the search uses for these questions (normalized text plus expansions)."""
    searcher = engine.state.searcher
    texts = []
    for question in questions:
        query = searcher.analyse(question)
        texts.append(" ".join([query.normalized, *query.expansions]))
    return np.stack([engine.embedder.encode_query(t) for t in texts]) if texts else np.zeros((0, 1))


def probe_main(argv: list[str]) -> int:
    """``python -m devtools probe``: load the engine, report phases, memory, answer timings, recall."""
    from bot.cli import add_settings_flags

    parser = argparse.ArgumentParser(prog="python -m devtools probe")
    add_settings_flags(parser)
    parser.add_argument("--questions", help="JSON file: a list of questions to time")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--recall", action="store_true", help="also measure vector-index recall@10 vs exact")
    parser.add_argument("--launched", type=float, required=True,
                        help="time.time() when the bench started this process: start-up counts from there")
    args = parser.parse_args(argv)
    rss_start = proc_status_mb()

    from bot.config import load_settings
    from bot.embedding import load_embedder
    from bot.engine import Engine
    from bot.search import Searcher

    imported = time.perf_counter()
    imports_seconds = time.time() - args.launched  # the interpreter, this module's imports and the ones above
    settings = load_settings(args.settings)
    overrides = dict(args.set or [])
    settings = settings.replace(**overrides) if overrides else settings
    embedder = load_embedder(settings)
    embedder.encode_query("预热")
    model_loaded = time.perf_counter()
    rss_model = proc_status_mb()
    engine = Engine(settings, embedder)
    engine_loaded = time.perf_counter()
    rss_loaded = proc_status_mb()
    peak_loaded = proc_status_mb("VmHWM")
    again = time.perf_counter()
    Searcher(engine.index, embedder, settings)  # the searcher's own start-up share (homophone table…)
    searcher_seconds = time.perf_counter() - again
    report: dict[str, Any] = {
        "phases_s": {"python_and_imports": round(imports_seconds, 3), "model": round(model_loaded - imported, 3),
                     "index_and_searcher": round(engine_loaded - model_loaded, 3),
                     "searcher_init": round(searcher_seconds, 3)},
        "passages": len(engine.index.chunks), "sentences": int(len(engine.index.sentence_vectors)),
        "vector_index": type(engine.index.vectors).__name__,
        "lexical_vocabulary": len(engine.index.lexical.vocabulary),
        "rss_mb": {"interpreter": rss_start, "model_loaded": rss_model, "engine_loaded": rss_loaded,
                   "peak_loading": peak_loaded},
    }
    if args.questions:
        questions = json.loads(Path(args.questions).read_text(encoding="utf-8"))
        report["answers"] = answer_timings(engine, questions, args.rounds)
    report["rss_mb"]["after_queries"] = proc_status_mb()
    report["rss_mb"]["peak"] = proc_status_mb("VmHWM")  # before the recall check, which is not serving work
    if args.questions and args.recall:
        report["recall"] = hnsw_recall(engine.index, query_vectors(engine, questions), (10, 50))
    print(json.dumps(report))
    return 0
