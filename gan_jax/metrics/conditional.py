"""Metrics of conditional generators: label accuracy, intra-FID, completion error and diversity."""

import numpy as np

from gan_jax.metrics.distances import fid


def label_accuracy(probabilities, labels) -> float:
  """How often the classifier's most probable class is the asked-for (or true) label."""
  return float(np.mean(np.asarray(probabilities).argmax(axis=1) == np.asarray(labels)))


def intra_fid(real_features, real_labels, fake_features, fake_labels) -> dict:
  """FID between the real and generated examples of each class, and its mean over classes
  (Miyato & Koyama 2018): a conditional generator must match every class, not the mixture."""
  real_labels, fake_labels = np.asarray(real_labels), np.asarray(fake_labels)
  per_class = {int(c): fid(real_features[real_labels == c], fake_features[fake_labels == c])
               for c in np.unique(real_labels)}
  return {'intra_fid': float(np.mean(list(per_class.values()))), 'fid_per_class': per_class}


def masked_l1(completions, truth, mask) -> float:
  """mean |completion - truth| over the pixels that were hidden (mask False), images in [-1, 1]."""
  hidden = ~np.broadcast_to(np.asarray(mask, bool), np.shape(truth)[1:])
  return float(np.mean(np.abs(np.asarray(completions) - np.asarray(truth))[:, hidden]))


def diversity(completions, mask) -> float:
  """Mean |a - b| over the hidden pixels between completions of the same input for different z,
  averaged over all pairs of z and all inputs; `completions` has shape (inputs, z, H, W, C).
  0 when G ignores z (as a pixel loss alone teaches it to)."""
  completions = np.asarray(completions)
  hidden = ~np.broadcast_to(np.asarray(mask, bool), completions.shape[2:])
  values = completions[:, :, hidden]                               # (inputs, z, pixels)
  k = values.shape[1]
  pairs = [np.mean(np.abs(values[:, i] - values[:, j])) for i in range(k) for j in range(i + 1, k)]
  return float(np.mean(pairs)) if pairs else 0.0
