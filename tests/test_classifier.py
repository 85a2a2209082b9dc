"""The committed feature networks: their checksums, their test accuracy, a sane FID on real data."""

import numpy as np
import pytest

from gan_jax.data.images import load_labeled_split, to_model_range
from gan_jax.metrics import classifier, fid

THRESHOLDS = {'mnist': 0.99, 'fashion_mnist': 0.90}


@pytest.mark.parametrize('dataset', sorted(THRESHOLDS))
def test_weights_checksum_and_test_accuracy(dataset, shared_tfds):
  assert classifier.file_sha256(classifier.weights_path(dataset)) == \
      classifier.WEIGHTS_SHA256[dataset]
  images, labels = load_labeled_split(dataset, 'test', shared_tfds)
  accuracy = classifier.accuracy(classifier.load_params(dataset), images, labels)
  assert accuracy >= THRESHOLDS[dataset], accuracy


def test_fid_of_real_data_is_small_and_grows_with_noise(shared_tfds):
  params = classifier.load_params('mnist')
  test, _ = load_labeled_split('mnist', 'test', shared_tfds)
  train, _ = load_labeled_split('mnist', 'train', shared_tfds)
  reference, _ = classifier.features_and_probabilities(params, to_model_range(test))
  train = to_model_range(train[:10000])
  rng = np.random.default_rng(0)
  values = []
  for std in (0.0, 0.2, 0.5):
    noisy = np.clip(train + std * rng.standard_normal(train.shape, np.float32), -1, 1)
    values.append(fid(reference, classifier.features_and_probabilities(params, noisy)[0]))
  assert values[0] < 3.0 and values[0] < values[1] < values[2], values
