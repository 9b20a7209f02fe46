"""The fitted ranking model: its ordering, and its file read back or refused."""

import json

import numpy as np
import pytest

from bot.ranking import ANSWER_FEATURES, PASSAGE_FEATURES, LinearModel, load_model, parse_model, sigmoid


def _model(weights, features=("lexical", "dense")):
    return LinearModel(tuple(features), np.zeros(len(features), np.float32), np.ones(len(features), np.float32),
                       np.asarray(weights, np.float32), -0.5)


def test_the_passage_with_more_of_a_positively_weighted_feature_ranks_higher():
    model = _model([2.0, 1.0])
    scores = model.decision(np.array([[0.2, 0.9], [0.9, 0.2], [0.1, 0.1]], dtype=np.float32))
    assert list(np.argsort(-scores)) == [1, 0, 2]
    assert list(np.argsort(-np.asarray(sigmoid(scores)))) == [1, 0, 2]  # the probability keeps the order


def test_the_shipped_model_has_the_codes_features_and_round_trips(tmp_path):
    model = load_model()
    assert model.passage.features == PASSAGE_FEATURES and model.answerable.features == ANSWER_FEATURES
    path = tmp_path / "ranking.json"
    model.save(path)
    again = load_model(path)
    x = np.random.default_rng(0).random((5, len(PASSAGE_FEATURES)), dtype=np.float32)
    assert again.passage.decision(x) == pytest.approx(model.passage.decision(x), abs=1e-4)


@pytest.mark.parametrize("damage", ["features", "scale", "foreign"])
def test_a_model_file_that_does_not_fit_the_code_is_refused_naming_it(damage):
    data = load_model().to_json()
    if damage == "features":
        data["passage"]["features"].pop("dense")
    elif damage == "scale":
        data["answerable"]["features"][ANSWER_FEATURES[0]]["scale"] = 0
    else:
        data = {"weights": [1, 2, 3]}
    with pytest.raises(ValueError, match="my-model.json"):
        parse_model(json.loads(json.dumps(data)), "my-model.json")

