import numpy as np
import pytest

from bot.config import available_cores
from bot.embedding import load_embedder
from bot.errors import EmbeddingError
from tests.helpers import make_settings


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    return load_embedder(make_settings(tmp_path_factory.mktemp("emb")))


def test_bundled_model_is_a_sentence_transformer(bundled):
    from sentence_transformers import SentenceTransformer

    assert isinstance(bundled.model, SentenceTransformer)
    assert bundled.model_id.startswith("usem3@") and bundled.dimension == 512
    assert bundled.model[0].threads == available_cores()


def test_vectors_are_unit_length_and_meaningful(bundled):
    vectors = bundled.encode(["城市书房有多少家", "城市書房有多少家", "温州公积金怎么贷款", ""])
    assert vectors.shape == (4, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-4)
    # the same question in Traditional characters is closer than an unrelated one
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_saved_model_loads_back_from_a_local_folder(bundled, tmp_path):
    folder = tmp_path / "my-model"
    bundled.model.save(str(folder))
    # the folder names a module class outside sentence-transformers: code runs only when trusted explicitly
    with pytest.raises(EmbeddingError, match="embedding_trust_remote_code"):
        load_embedder(make_settings(tmp_path, embedding_model=str(folder)))
    loaded = load_embedder(make_settings(tmp_path, embedding_model=str(folder), embedding_trust_remote_code=True))
    assert loaded.model_id == str(folder) and loaded.fingerprint.startswith("sha256:")
    text = ["苍南折股量化"]
    assert np.allclose(loaded.encode(text), bundled.encode(text), atol=1e-5)


def test_unloadable_model_gives_a_clear_fix(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network here: fail fast
    with pytest.raises(EmbeddingError) as info:
        load_embedder(make_settings(tmp_path, embedding_model="BAAI/bge-small-zh-v1.5"))
    message = str(info.value)
    assert "BAAI/bge-small-zh-v1.5" in message and "embedding_model: usem3" in message
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(EmbeddingError, match="not a sentence-transformers model"):
        load_embedder(make_settings(tmp_path, embedding_model=str(tmp_path / "empty-model")))


def test_bundled_fingerprint_follows_its_tokenizer_library(monkeypatch):
    """Vectors depend on the library that tokenizes for the bundled encoder: another sentencepiece release is
    another model, so an index built with the old one is refused (rebuild) rather than mixed with new vectors."""
    import bot.embedding as embedding

    before = embedding.model_fingerprint("usem3")
    real = embedding.version
    monkeypatch.setattr(embedding, "version", lambda name: "0.0.0" if name == "sentencepiece" else real(name))
    after = embedding.model_fingerprint("usem3")
    assert before.startswith("sha256:") and after != before and "sentencepiece" in after
