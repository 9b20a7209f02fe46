import pytest

from bot.chunking import Chunk, chunk_knowledge, pack, split_sentences
from bot.figures import figure_spans
from bot.knowledge import load_knowledge
from tests.helpers import KNOWLEDGE


def test_sentences_are_verbatim_and_lossless():
    paragraph = "温州有“城市书房”。它24小时开放！你去过吗？还有;更多"
    sentences = split_sentences(paragraph)
    assert "".join(sentences) == paragraph
    assert sentences[:3] == ["温州有“城市书房”。", "它24小时开放！", "你去过吗？"]


def test_closing_quote_stays_with_its_sentence():
    assert split_sentences("他说“好。”然后走了。") == ["他说“好。”", "然后走了。"]


def test_real_content_chunks_fit_and_keep_their_section():
    knowledge = load_knowledge(KNOWLEDGE)
    for limit in (80, 160, 300):
        chunks = chunk_knowledge(knowledge, limit)
        assert all(len(c.text) <= limit for c in chunks)
        for section in knowledge.sections:
            own = [c for c in chunks if c.section == section.id]
            assert own and all(c.title == section.title and c.heading == section.heading for c in own)
            # nothing lost or reordered: the passages give back the body text
            assert "".join(c.text for c in own) == "".join(p.strip() for p in section.paragraphs)
        assert len({c.id for c in chunks}) == len(chunks)


def test_long_sentence_is_never_cut_inside_a_figure():
    figures = ["15.2%", "1+1+1", "3/4", "第1、第3和第5位", "120多万册", "1.94"]
    sentence = "，".join(f"这一项的数字是{f}而且还有很多说明文字" for f in figures * 4) + "。"
    spans = figure_spans(sentence)
    for limit in (20, 33, 47, 60):
        pieces = pack([sentence], limit)
        assert "".join(pieces) == sentence
        assert all(len(p) <= limit for p in pieces)
        cuts, position = [], 0
        for piece in pieces[:-1]:
            position += len(piece)
            cuts.append(position)
        assert not [c for c in cuts for start, end in spans if start < c < end]


def test_last_passage_is_not_a_stub():
    sentences = ["一二三四五六七八九十。"] * 5  # 55 characters
    passages = pack(sentences, 50)
    assert len(passages) == 2 and min(len(p) for p in passages) >= 20


def test_a_passage_written_to_the_index_reads_back_the_same() -> None:
    for chunk in chunk_knowledge(load_knowledge(KNOWLEDGE), 90):
        assert "".join(chunk.sentences).strip() == chunk.text.strip()
        again = Chunk(**chunk.to_dict())
        assert again == chunk and again.sentences == chunk.sentences and hash(again) == hash(chunk)


def test_stored_sentences_that_are_not_the_passage_text_are_refused() -> None:
    with pytest.raises(ValueError):
        Chunk("s-1", "s", "标题", "标题", "城市书房110家。", sentences=("总藏书120多万册！",))
