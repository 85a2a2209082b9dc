"""Unsupervised pseudo-labels: k-means clusters of the training images' pixels.

A class-conditional GAN trained on cluster ids instead of labels (as in Self-Conditioned GANs,
Liu et al. 2020, and Logo-GAN, Sage et al. 2018) is still an unsupervised model of p(x): G
draws a cluster with its share of the training set, then an image of that cluster. Each
cluster's share is fixed by the data, so G cannot over- or under-produce a whole region of the
data, and it only has to connect the images within a cluster. Nothing here reads a label.
"""

import functools

import ml_collections
import numpy as np

from gan_jax.data import images as image_data


def _squared_distances(points, centres):
  return (np.sum(points ** 2, 1, keepdims=True) - 2.0 * points @ centres.T
          + np.sum(centres ** 2, 1)[None])


def kmeans(points: np.ndarray, k: int, seed: int = 0, iterations: int = 30) -> np.ndarray:
  """Cluster index (int32) of each row of `points` (N, D) after k-means++ seeding (Arthur &
  Vassilvitskii 2007) and `iterations` Lloyd steps; an emptied cluster is re-seeded at the
  point farthest from its centre. Deterministic given `seed`."""
  points = np.asarray(points, np.float32)
  if not 2 <= k <= len(points):
    raise ValueError(f'k-means needs 2 <= k <= the number of points ({len(points)}), got {k}')
  rng = np.random.default_rng(seed)
  centres = [points[rng.integers(len(points))]]
  nearest = _squared_distances(points, centres[0][None])[:, 0]
  for _ in range(k - 1):
    weights = np.maximum(nearest, 0.0).astype(np.float64)
    centres.append(points[rng.choice(len(points), p=weights / weights.sum())])
    nearest = np.minimum(nearest, _squared_distances(points, centres[-1][None])[:, 0])
  centres = np.stack(centres)
  for _ in range(iterations):
    distances = _squared_distances(points, centres)
    assignment = np.argmin(distances, 1)
    for c in range(k):
      members = assignment == c
      if members.any():
        centres[c] = points[members].mean(0)
      else:
        farthest = np.argmax(distances[np.arange(len(points)), assignment])
        centres[c] = points[farthest]
        assignment[farthest] = c
  return np.argmin(_squared_distances(points, centres), 1).astype(np.int32)


# The data fields that say which images are clustered (the cache key).
DATA_FIELDS = ('name', 'split', 'data_dir', 'download', 'image_size', 'folder', 'validation')


@functools.lru_cache(maxsize=4)
def _cached(fields: tuple, k: int, seed: int) -> np.ndarray:
  images, _ = image_data.training_part(ml_collections.ConfigDict(dict(zip(DATA_FIELDS, fields))))
  clusters = kmeans(image_data.to_model_range(images).reshape(len(images), -1), k, seed)
  clusters.flags.writeable = False
  return clusters


def pixel_clusters(data_config, k: int, seed: int = 0) -> np.ndarray:
  """k-means cluster ids of the training images (the configured split without its held-out
  validation images, which k-means never sees), in their order; computed once per process
  (every host computes the same ids)."""
  return _cached(tuple(data_config[f] for f in DATA_FIELDS), k, seed)


# The shuffle has a seed of its own: every run of a shuffled control trains on the same ids.
SHUFFLE_SEED = 20250102


def shuffled(labels: np.ndarray, seed: int = SHUFFLE_SEED) -> np.ndarray:
  """The ids permuted among the images: each cluster keeps its share of the data (its count)
  and loses what its images have in common, the control of a pseudo-label recipe."""
  out = np.asarray(labels)[np.random.default_rng(seed).permutation(len(labels))]
  out.flags.writeable = False
  return out
