"""What a neural reader would cost per question here: the measurement behind issue 15's note.

    python -m devtools.bench.reader_cost [--rounds 5]

The quoted sentence and the bold figure are chosen by linear models over features the answer step reads
(bot/answer). Extractive readers that read a passage against the question (BERT fine-tuned on CMRC / DRCD)
reach what those models do not, but no such weights can be had on this machine: model hubs are unreachable
and no package of the registries ships them. What their size would cost can be measured without them: the
same layers with random weights take the same time. Each dev question is searched as the bot does; its shown
passages, each after the question (one token per Chinese character, as Chinese BERT reads), form one batch;
the forward pass of that batch is timed for a BERT-base reader and for a 4-layer small one (the shape of
TinyBERT-4), against the bot's own warm answer on the same question, all with the cores available.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

from bot.config import available_cores, load_settings
from bot.embedding import load_embedder
from bot.engine import Engine

from .measure import DEV_QUESTIONS

SHAPES = {  # name: (layers, hidden size, attention heads, feed-forward size)
    "BERT-base reader (12 layers, 768 wide)": (12, 768, 12, 3072),
    "small reader (4 layers, 312 wide)": (4, 312, 12, 1200),
}
CHINESE_BERT_VOCABULARY = 21128  # bert-base-chinese's vocabulary size
SPECIAL_TOKENS = 3  # [CLS] question [SEP] passage [SEP]


def batches(engine: Engine, questions: list[str]) -> list[list[int]]:
    """Per question, the token count of each (question, shown passage) pair the reader would read."""
    lengths = []
    for question in questions:
        result = engine.state.searcher.search(question)
        lengths.append([len(question) + len(hit.chunk.text) + SPECIAL_TOKENS for hit in result.shown] or
                       [len(question) + SPECIAL_TOKENS])
    return lengths


def main() -> None:
    parser = argparse.ArgumentParser(description="What a neural reader would cost per question here.")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the dev questions (default 5)")
    args = parser.parse_args()

    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.set_num_threads(available_cores())
    settings = load_settings()
    engine = Engine(settings, load_embedder(settings))
    questions = [item["q"] for item in yaml.safe_load(Path(DEV_QUESTIONS).read_text(encoding="utf-8"))]
    lengths = batches(engine, questions)
    own = []
    for _ in range(args.rounds):
        for question in questions:
            started = time.perf_counter()
            engine.answer(question)
            own.append(time.perf_counter() - started)
    print(f"{len(questions)} dev questions, {available_cores()} cores, {args.rounds} rounds; "
          f"{statistics.fmean(len(b) for b in lengths):.1f} shown passages a question on average, "
          f"{statistics.median(t for b in lengths for t in b):.0f} tokens a (question, passage) pair (median)")
    print(f"{'the bot’s warm answer (search, answer, reply)':48s} p50 {statistics.median(own) * 1000:8.1f} ms")
    generator = torch.Generator().manual_seed(0)
    for name, (layers, width, heads, feed_forward) in SHAPES.items():
        model = BertForQuestionAnswering(BertConfig(
            vocab_size=CHINESE_BERT_VOCABULARY, hidden_size=width, num_hidden_layers=layers,
            num_attention_heads=heads, intermediate_size=feed_forward)).eval()
        inputs = [(torch.randint(100, CHINESE_BERT_VOCABULARY, (len(b), max(b)), generator=generator),
                   torch.tensor([[1] * t + [0] * (max(b) - t) for t in b])) for b in lengths]
        times = []
        with torch.inference_mode():
            model(input_ids=inputs[0][0], attention_mask=inputs[0][1])  # warm up
            for _ in range(args.rounds):
                for ids, mask in inputs:
                    started = time.perf_counter()
                    model(input_ids=ids, attention_mask=mask)
                    times.append(time.perf_counter() - started)
        print(f"{name + ' added':48s} p50 {statistics.median(times) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
