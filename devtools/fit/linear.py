"""The logistic steps every fit shares: features standardized, then a logistic regression (scikit-learn) whose
weights and scaling become a ``bot.ranking.LinearModel`` the product reads without scikit-learn."""

from __future__ import annotations

import numpy as np

from bot.ranking import LinearModel


def standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's mean and scale (1 where it does not vary), so weights compare across features."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    return mean.astype(np.float32), np.where(scale > 1e-6, scale, 1.0).astype(np.float32)


def logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float,
             groups: np.ndarray | None = None) -> LinearModel:
    """Logistic regression on standardized features; with ``groups``, every group weighs the same in all
    (so 44 dev questions count as much as 2,000 encyclopedia questions), else the classes are balanced."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = standardize(x)
    weights = None
    if groups is not None:
        names_, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
        weights = len(groups) / (len(names_) * sizes[inverse])
    fitted = LogisticRegression(C=c, max_iter=2000, class_weight=None if groups is not None else "balanced").fit(
        (x - mean) / scale, y, sample_weight=weights)
    return LinearModel(names, mean, scale, fitted.coef_[0].astype(np.float32), float(fitted.intercept_[0]))
