"""The index: FAISS vectors, BM25 matrices, passages and a manifest, one folder per build.

``build`` makes a build (named steps), ``builds`` keeps the build folders (the ``CURRENT`` pointer, the
publish lock, pruning, verification), ``reuse`` takes unchanged vectors and counts from the previous build,
``load`` reads a build whole or not at all, ``vectors`` holds the FAISS side. The names callers use are
re-exported here.
"""

from .build import BuildReport, build_index, corpus_terms, lexical_text, sentence_units, user_words
from .builds import BUILDS, FORMAT_VERSION, LOCK, POINTER, current_build, verify_build
from .load import Index, check_current_build, check_model, load_index, read_manifest
from .vectors import stored_vectors, vector_index

__all__ = [
    "BUILDS", "FORMAT_VERSION", "LOCK", "POINTER", "BuildReport", "Index", "build_index", "check_current_build",
    "check_model", "corpus_terms", "current_build", "lexical_text", "load_index", "read_manifest",
    "sentence_units", "stored_vectors", "user_words", "verify_build", "vector_index",
]
