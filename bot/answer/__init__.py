"""The answer step: from the shown passages, the sentence quoted first, the figure in bold, and an honest "not
given" when the asked figure is not there (fitted models in ``bot/answer.json``, fitted by devtools fit-answer)."""
