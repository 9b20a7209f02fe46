"""The fitted part of the answer step: which sentence is quoted, which figure is bold, whether it is given.

Three logistic regressions over features the answer step computes (``bot/answer/reading.py``), fitted by
``python -m devtools fit-answer`` on halves of public reading-comprehension sets and the article's dev set, and
shipped as the reviewed file ``bot/answer.json`` with what they were fitted on and how they did on the halves
they were not fitted on. No weight or threshold is set by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..ranking import LinearModel

# per sentence of the shown passages: "this sentence holds the answer"
SENTENCE_FEATURES = (
    "passage_rank",  # 0 for the first shown passage, 1, 2 for the next
    "passage_score",  # the passage's rank probability over the first passage's
    "passage_lacks",  # the rarest question word another shown passage has and this sentence's passage lacks
    "lexical",  # the sentence's BM25 against the question (0…~1)
    "lexical_gap",  # lexical minus the best sentence's
    "dense",  # cosine of sentence and question embeddings
    "dense_gap",  # dense minus the best sentence's
    "coverage",  # share of the question's tokens (IDF-weighted) the sentence has
    "words",  # share of the question's words (IDF-weighted) written in the sentence
    "words_gap",  # words minus the best sentence's
    "characters",  # share of the question's characters in the sentence
    "bigrams",  # share of the question's character pairs in the sentence
    "trigrams",  # share of the question's runs of three characters in the sentence (its wording, in order)
    "numbers",  # share of the question's own numbers (2005年 …) the sentence writes, each whole (not 1984's 19)
    "attribute",  # share of the question's words not in the passage's title (what is asked of the topic)
    "attribute_bigrams",  # share of the question's character pairs not in the title
    "attribute_gap",  # attribute minus the best sentence's
    "asked_before",  # the question's words right before its question word (获得 in 获得第几名) are in the sentence
    "asked_after",  # the question's words right after it (多少 人口 → 人口) are in the sentence
    "subject",  # share of the question's subject (its nouns, IDF-weighted) in the sentence
    "gives_kind",  # the question asks a kind of figure (money, date, rank …) and the sentence gives one
    "gives_unit",  # the question asks in a unit (多少家) and the sentence gives a figure in it
    "gives_figure",  # the question asks an amount and the sentence gives a figure of any kind
    "has_figure",  # the sentence gives a figure
    "position",  # the sentence's place in its passage (0 first)
    "neighbours",  # the words share of the sentences before and after it (the larger)
    "length",  # log of its length in characters
    "restates",  # share of its character pairs the question has: a sentence that only restates it answers nothing
    "new_characters",  # log of the number of its distinct characters the question lacks: what it adds
)
# per figure of the shown passages: "this figure is the answer"
FIGURE_FEATURES = (
    "sentence",  # the sentence model's log-odds for the figure's sentence
    "sentence_gap",  # that minus the best sentence's
    "sentence_unasked",  # the sentence's log-odds for a question asking no figure (its answer merely holds one)
    "kind",  # the figure is of a kind the question asks for
    "unit",  # the figure is in a unit the question asks in
    "bare",  # a number without unit
    "date_unasked",  # a date where the question asks no date
    "clause_words",  # share of the question's words (IDF-weighted) in the figure's clause
    "before_words",  # … in the few characters right before it (为涉农主体减负485万元 ← 减负)
    "after_words",  # … right after it (514个村社 ← 村社)
    "clause_rarest",  # the rarest question word in the figure's clause, as a share of the rarest of the question
    "before_rarest",  # … right before it (亲民党获得3席 ← 亲民党)
    "after_rarest",  # … right after it
    "clause_bigrams",  # share of the question's character pairs in the figure's clause
    "window_bigrams",  # share of them within a few characters on either side of it
    "asked_before",  # the question's words right before its question word stand right before the figure
    "asked_after",  # the question's words right after its question word stand right after the figure
    "subject_clause",  # share of the question's subject in the figure's clause
    "distance",  # log of the characters between it and the nearest question word in its sentence
    "role_fits",  # the current value of a change asked now (现在, 提高到多少), the earlier one asked before (以前)
    "role_misfits",  # the other way round
    "earlier",  # the earlier value of a change
    "qualified",  # written with a qualifier (近, 超过, 以上 …)
    "in_question",  # its number is written in the question itself (签约于1935年 … 多少年的合约): not the answer
    "order",  # its place among its sentence's figures (0 first)
    "left_context",  # share of the question's character pairs before its question word found right before it
    "right_context",  # … after its question word found right after it (何年加入联盟 ← 1913年加入全印穆斯林联盟)
    "proximity",  # the question's words in its sentence, IDF-weighted, each by exp(-its distance / a few chars)
    "date_part",  # a date writing the part asked (1978年 for 哪一年, not 2月)
    "kind_first",  # the first figure of an asked kind in its sentence
    "kind_alone",  # the only figure of an asked kind in its sentence
    "kind_rarity",  # of an asked kind, by log(shown figures / shown figures of an asked kind): a share among dates
)
# per question asking a figure: "the shown passages give the asked figure"
GIVEN_FEATURES = (
    "figure",  # the best figure's log-odds (figure model)
    "figure_kind",  # the best figure is of an asked kind (0.5 when the question names no kind)
    "kind_anywhere",  # some figure of the shown passages is of an asked kind
    "sentence",  # the best sentence's log-odds (sentence model)
    "clause_words",  # the best figure's clause words share
    "sentence_words",  # the best figure's sentence words share
    "subject_missing",  # share of the question's subject the best figure's sentence lacks
    "answerable",  # the search's answerability (bot/ranking.json)
    "coverage",  # share of the question's words found in the best passages
    "figures",  # log of the number of figures shown
    "attribute",  # the largest share of the question's non-title words any shown sentence has
    "trigrams",  # the largest share of the question's runs of three characters any shown sentence has
    "asked_context",  # a shown sentence has the words around the question's question word
    "window",  # the best figure's surroundings: share of the question's character pairs
    "clause_rarest",  # the rarest question word in the best figure's clause (share of the rarest possible)
    "passage_lacks",  # passage_lacks of the best figure's passage (乐清 is in another passage, not in this one)
    "best_gives",  # the best sentence (sentence model) gives a figure of an asked kind (any figure, if none asked)
    "figure_in_best",  # the best figure stands in the best sentence
    "figure_share",  # the best figure's share of the figure model's softmax: one clear answer, or several alike
    "figure_margin",  # its log-odds minus the second best figure's (capped; the cap when it is the only one)
    "sentence_share",  # the best sentence's share of the sentence model's softmax
    "figure_sentence_rank",  # log of the rank of the best figure's sentence by the sentence model (0 the best)
)

MODEL_FILE = "answer.json"


@dataclass(frozen=True)
class AnswerModel:
    sentence: LinearModel
    figure: LinearModel
    given: LinearModel  # its bias holds the fitted threshold: "given" at log-odds >= 0
    about: dict  # what it was fitted on and how well it did: for the reviewer, not used by the code

    def to_json(self) -> dict:
        return {"about": self.about, "sentence": self.sentence.to_json(), "figure": self.figure.to_json(),
                "given": self.given.to_json()}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def parse_answer_model(data: dict, where: str) -> AnswerModel:
    try:
        return AnswerModel(
            LinearModel.from_json(data["sentence"], SENTENCE_FEATURES, f"{where}: sentence", "fit-answer"),
            LinearModel.from_json(data["figure"], FIGURE_FEATURES, f"{where}: figure", "fit-answer"),
            LinearModel.from_json(data["given"], GIVEN_FEATURES, f"{where}: given", "fit-answer"),
            data.get("about", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: not an answer model ({exc})") from None


def load_answer_model(path: Path | None = None) -> AnswerModel:
    """The fitted model: ``path``, or the one shipped with the package."""
    if path is None:
        text = resources.files("bot").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        return parse_answer_model(json.loads(text), MODEL_FILE)
    return parse_answer_model(json.loads(path.read_text(encoding="utf-8")), str(path))
