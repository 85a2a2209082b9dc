"""Evaluation: distances between feature sets, the project's feature network, toy-data metrics."""

from gan_jax.metrics.distances import (fid, frechet_distance, gaussian_statistics,
                                       inception_score, kid, precision_recall)
from gan_jax.metrics.vectors import histogram_divergences, mode_coverage

__all__ = ['fid', 'frechet_distance', 'gaussian_statistics', 'inception_score', 'kid',
           'precision_recall', 'histogram_divergences', 'mode_coverage']
