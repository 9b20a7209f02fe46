"""Benchmarks: `python -m devtools bench` and its parts (run: the order and the saved results; measure: the
shared measuring and the serving parts; report: tables, Markdown, plot), the store and fault benches, and the
synthetic corpora the scale part builds."""
