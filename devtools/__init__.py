"""Development tooling beside the product: benchmarks, soak runs, synthetic corpora, the fake Bot API.

Nothing in ``bot/`` imports this package (a test checks), and the Docker image leaves it out.
"""
