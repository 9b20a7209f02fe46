"""The fits behind the reviewed model files: `python -m devtools fit-ranking` (bot/ranking.json), `fit-answer`
(bot/answer.json) and `fit-pins` (bot/pins.json); the logistic steps they share are in linear.py."""
