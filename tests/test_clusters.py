"""Unsupervised pseudo-labels: k-means finds separated clusters, replaces the labels of a
label-to-image run when asked, and the run's G is sampled with the clusters' shares."""

import numpy as np
import pytest

from conftest import tiny_config
from experiments.configs import mnist_clusters
from gan_jax.structures import labeled_images, make_data
from gan_jax.data import clusters
from gan_jax.data import images as image_data
from gan_jax.errors import ConfigError
from gan_jax.run.config import validate
from gan_jax.run.evaluation import load_run
from gan_jax.run.train import train_and_evaluate


def _blobs(sizes, seed=0):
  """Points around well-separated centres, with their true blob index."""
  rng = np.random.default_rng(seed)
  centres = rng.normal(size=(len(sizes), 5)) * 20
  truth = np.repeat(np.arange(len(sizes)), sizes)
  return centres[truth] + rng.normal(size=(len(truth), 5)), truth


def test_kmeans_recovers_separated_blobs_and_is_a_lloyd_fixed_point():
  points, truth = _blobs([50, 30, 120, 7])
  found = clusters.kmeans(points, 4, seed=3)
  # The same partition up to renaming: each found cluster is exactly one blob.
  pairs = {(int(f), int(t)) for f, t in zip(found, truth)}
  assert len(pairs) == 4 and len({f for f, _ in pairs}) == 4
  np.testing.assert_array_equal(found, clusters.kmeans(points, 4, seed=3))   # deterministic
  centres = np.stack([points[found == c].mean(0) for c in range(4)])
  nearest = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), 1)
  np.testing.assert_array_equal(nearest, found)
  with pytest.raises(ValueError, match='k-means needs'):
    clusters.kmeans(points, 1)


@pytest.fixture
def two_kinds_of_images(monkeypatch):
  """A fake 'mnist' train split: 80 dark and 20 bright 28x28 images (labels all 7: unread)."""
  rng = np.random.default_rng(0)
  images = np.concatenate([rng.integers(0, 30, (80, 28, 28, 1)),
                           rng.integers(220, 256, (20, 28, 28, 1))]).astype(np.uint8)
  monkeypatch.setattr(image_data, 'load_labeled_split',
                      lambda *args, **kwargs: (images, np.full(100, 7)))
  clusters._cached.cache_clear()
  yield images
  clusters._cached.cache_clear()


def test_pseudo_labels_replace_the_labels_and_set_the_prior(two_kinds_of_images):
  config = mnist_clusters.get_config()
  config.labeled_images.pseudo_labels = config.labeled_images.num_classes = 2
  labels = labeled_images.training_labels(config)
  assert sorted(np.bincount(labels)) == [20, 80]
  assert len(set(labels[:80])) == 1 and len(set(labels[80:])) == 1
  batch = make_data(config, 1, batch_size=10, seed=0).batches(0)
  bright = batch['x'][0].reshape(10, -1).mean(1) > 128
  np.testing.assert_array_equal(batch['y'][0] == labels[80], bright)
  # G as a model of p(x): clusters drawn with their training shares (80 / 20).
  drawn = labeled_images.prior_labels(config, 20000, seed=1)
  share = np.mean(drawn == labels[80])
  assert share == pytest.approx(0.2, abs=0.012)            # 4 standard errors
  config.labeled_images.pseudo_labels = 0                  # the dataset's labels again
  np.testing.assert_array_equal(labeled_images.training_labels(config), 7)


def test_pseudo_labels_need_a_label_model_with_as_many_classes():
  validate(mnist_clusters.get_config())
  for field, value in (('conditional', 'completion'), ('num_classes', 10)):
    config = mnist_clusters.get_config()
    config.labeled_images[field] = value
    with pytest.raises(ConfigError, match='pseudo_labels'):
      validate(config)


def test_a_pseudo_label_run_keeps_its_clusters_in_the_workdir(two_kinds_of_images, tmp_path):
  """k-means runs once: the assignment is stored beside the checkpoints and read back by a
  restored run (evaluate.py, sample.py); a stored file that is not an assignment is refused."""
  config = tiny_config(mnist_clusters.get_config())
  config.labeled_images.pseudo_labels = config.labeled_images.num_classes = 2
  config.eval_every = 0
  train_and_evaluate(config, str(tmp_path), quiet=True)
  path = tmp_path / labeled_images.PSEUDO_LABELS_FILE
  stored = np.load(path)
  assert sorted(np.bincount(stored)) == [20, 80]
  restored_config, _, _ = load_run(str(tmp_path))
  assert restored_config.labeled_images.labels_file == str(path)
  clusters._cached.cache_clear()
  np.testing.assert_array_equal(labeled_images.training_labels(restored_config), stored)
  np.save(path, np.full(100, 5))
  with pytest.raises(ConfigError, match='not an assignment to 2 clusters'):
    labeled_images.training_labels(restored_config)
