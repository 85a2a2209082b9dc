"""Images held out of the training split for validation, the controls of the pseudo-label
recipe, and the checkpoint a run keeps for its best validation score."""

import json

import jax
import ml_collections
import numpy as np
import pytest

from conftest import SHARED_TFDS, tiny_config
from experiments.configs import mnist_clusters, mnist_clusters_unconditional, mnist_dcgan
from gan_jax.data import clusters, epoch_batches
from gan_jax.data import images as image_data
from gan_jax.errors import ConfigError
from gan_jax.run import selection
from gan_jax.run.checkpoint import Checkpointer
from gan_jax.run.config import base_config, build_gan, validate
from gan_jax.run.evaluation import load_run
from gan_jax.run.train import train_and_evaluate
from gan_jax.structures import labeled_images, make_data


@pytest.fixture
def numbered_images(monkeypatch):
  """A fake 'mnist' split of 100 images, each carrying its index in its first pixel: 80 dark and
  20 bright (two clusters for k-means); labels: the index mod 10."""
  rng = np.random.default_rng(0)
  images = np.concatenate([rng.integers(0, 30, (80, 28, 28, 1)),
                           rng.integers(220, 256, (20, 28, 28, 1))]).astype(np.uint8)
  images[:, 0, 0, 0] = np.arange(100)
  monkeypatch.setattr(image_data, 'load_labeled_split',
                      lambda *args, **kwargs: (images, np.arange(100) % 10))
  clusters._cached.cache_clear()
  yield images
  clusters._cached.cache_clear()


def _indices(images):
  """The index each image carries (uint8, or in the model's range [-1, 1])."""
  first = np.asarray(images).reshape(len(images), -1)[:, 0]
  if first.dtype != np.uint8:
    first = np.round((first + 1.0) * 127.5)
  return set(first.astype(int).tolist())


def _clusters_config(validation=20, seed=0):
  config = mnist_clusters.get_config()
  config.labeled_images.pseudo_labels = config.labeled_images.num_classes = 2
  config.data.validation = validation
  config.seed = seed
  return config


def test_validation_images_are_never_trained_on_nor_clustered(numbered_images, monkeypatch):
  """Neither a training batch (two epochs of them) nor k-means sees a held-out image; the
  validation split is exactly the held-out images, with their labels."""
  clustered = []
  kmeans = clusters.kmeans
  monkeypatch.setattr(clusters, 'kmeans',
                      lambda points, *a, **k: clustered.append(points) or kmeans(points, *a, **k))
  config = _clusters_config()
  held = set(image_data.validation_indices(100, 20).tolist())
  assert len(held) == 20
  data = make_data(config, 1, batch_size=10)
  seen = set()
  for step in range(16):   # 8 batches of 10 per epoch of the 80 training images
    seen |= _indices(data.batches(step)['x'][0])
  assert seen == set(range(100)) - held
  assert len(clustered) == 1 and _indices(clustered[0]) == seen
  assert len(labeled_images.training_labels(config)) == 80
  assert epoch_batches(config.data, 10) == 8
  images, labels = image_data.evaluation_part(config.data, 'validation')
  assert _indices(images) == held
  np.testing.assert_array_equal(labels, np.sort(list(held)) % 10)
  assert _indices(image_data.evaluation_part(config.data, 'test')[0]) == set(range(100))


def test_the_held_out_choice_is_the_same_for_every_seed(numbered_images):
  """The hold-out has a seed of its own: runs of different seeds train on the same images (in
  another order) and are scored on the same validation images; a larger hold-out contains a
  smaller one."""
  epochs = []
  for seed in (0, 1, 7):
    data = make_data(_clusters_config(seed=seed), 1, batch_size=10)
    batches = [data.batches(step)['x'][0] for step in range(8)]
    epochs.append((_indices(np.concatenate(batches)), [b[0, 0, 0, 0] for b in batches]))
  assert epochs[0][0] == epochs[1][0] == epochs[2][0]
  assert epochs[0][1] != epochs[1][1]    # the order does follow the seed
  smaller = set(image_data.validation_indices(60000, 5000).tolist())
  assert smaller < set(image_data.validation_indices(60000, 10000).tolist())
  with pytest.raises(ConfigError, match='data.validation=100 must be >= 0 and leave training'):
    image_data.validation_indices(100, 100)


def test_shuffled_cluster_ids_keep_each_clusters_count_and_differ_from_the_clusters(
    numbered_images):
  config = _clusters_config(validation=0)
  plain = labeled_images.training_labels(config)
  config.labeled_images.pseudo_labels_shuffled = True
  shuffled = labeled_images.training_labels(config)
  np.testing.assert_array_equal(np.bincount(shuffled), np.bincount(plain))
  assert sorted(np.bincount(plain)) == [20, 80]
  assert np.mean(shuffled != plain) > 0.2      # about 2 * 0.8 * 0.2 = 0.32 expected
  np.testing.assert_array_equal(shuffled, labeled_images.training_labels(config))


def test_the_settings_of_validation_and_selection_are_checked_in_one_line():
  config = mnist_dcgan.get_config()
  validate(config)
  for changes, message in (
      ({'eval_split': 'validation'}, 'needs images held out'),
      ({'eval_split': 'train'}, 'unknown eval_split'),
      ({'data.validation': -1}, 'data.validation must be >= 0'),
      ({'select_metric': 'fid', 'eval_every': 0}, 'set eval_every or eval_every_minutes'),
      ({'select_mode': 'lowest'}, 'unknown select_mode'),
      ({'eval_generators': 'all'}, 'unknown eval_generators'),
      ({'structure': 'labeled_images', 'labeled_images.conditional': 'concat',
        'labeled_images.pseudo_labels_shuffled': True}, 'set labeled_images.pseudo_labels=k')):
    changed = mnist_dcgan.get_config()
    for key, value in changes.items():
      *parents, leaf = key.split('.')
      node = changed
      for parent in parents:
        node = node[parent]
      node[leaf] = value
    with pytest.raises(ConfigError, match=message) as error:
      validate(changed)
    assert '\n' not in str(error.value)
  points = base_config()
  points.data.validation = 10
  with pytest.raises(ConfigError, match="structure 'points' has none to hold out"):
    validate(points)


def test_the_unconditional_control_has_the_recipes_models_without_the_condition():
  """Same layers and widths: G lacks only the class vector (z_dim fewer inputs to its first
  layer), D only the one-hot maps (num_classes fewer input channels)."""
  def shapes(config):
    gan = build_gan(config, (28, 28, 1))
    z = np.zeros((2, config.model.z_dim), np.float32)
    x = np.zeros((2, 28, 28, 1), np.float32)
    y = np.zeros((2,), np.int32)
    conditional = config.labeled_images.conditional != 'none'
    g = gan.generator.init(jax.random.PRNGKey(0), *((z, y) if conditional else (z,)))
    d = gan.discriminator.init(jax.random.PRNGKey(0), *((x, y) if conditional else (x,)))
    flat = lambda tree: {jax.tree_util.keystr(k): v.shape
                         for k, v in jax.tree_util.tree_leaves_with_path(tree['params'])}
    return flat(g), flat(d)

  recipe, control = mnist_clusters.get_config(), mnist_clusters_unconditional.get_config()
  validate(control)
  for config in (recipe, control):   # narrow, for speed: the same in both
    config.model.g_features = config.model.d_features = 8
  assert (control.structure, control.labeled_images.pseudo_labels) == ('images', 0)
  (g_recipe, d_recipe), (g_control, d_control) = shapes(recipe), shapes(control)
  z_dim, classes = recipe.model.z_dim, recipe.labeled_images.num_classes
  expected_g = {k: v for k, v in g_recipe.items() if 'embed' not in k}
  first = "['Dense_0']['kernel']"
  expected_g[first] = (expected_g[first][0] - z_dim, expected_g[first][1])
  assert g_control == expected_g
  kernel = "['down0']['kernel']"
  expected_d = dict(d_recipe)
  expected_d[kernel] = d_recipe[kernel][:-2] + (d_recipe[kernel][-2] - classes,
                                                d_recipe[kernel][-1])
  assert d_control == expected_d


def test_best_checkpoint_never_improves_on_nan_and_follows_the_mode(tmp_path):
  config = ml_collections.ConfigDict({'select_metric': 'fid', 'select_mode': 'max'})
  best = selection.BestCheckpoint(config, str(tmp_path))
  assert best.improves({'fid': 1.0}) and not best.improves({'fid': float('nan')})
  best.best = {'value': 2.0}
  assert best.improves({'fid': 3.0}) and not best.improves({'fid': 1.0})
  config.select_mode = 'min'
  best = selection.BestCheckpoint(config, str(tmp_path))
  best.best = {'value': 2.0}
  assert best.improves({'fid': 1.0}) and not best.improves({'fid': 2.0})
  with pytest.raises(ConfigError, match="select_metric 'fid' is not a field"):
    best.improves({'kid': 1.0})


def _metric_curve(workdir, key):
  records = [json.loads(line) for line in open(workdir / 'metrics.jsonl')]
  return [(r['step'], r[key], r['train_minutes']) for r in records if key in r]


def test_the_best_checkpoint_is_the_argmin_of_the_logged_validation_fid(tmp_path, shared_tfds):
  """A tiny MNIST run scored on 500 held-out images at every step, both generators logged:
  best.json and <workdir>/best/ hold the step of the lowest logged FID of the shown G, also
  after a resume, and evaluate.py's load_run restores it."""
  config = tiny_config(mnist_dcgan.get_config(), num_steps=3)
  config.data.validation = 500
  config.eval_split = 'validation'
  config.eval_every = 1
  config.eval_generators = 'both'
  config.select_metric = 'fid'
  config.checkpoint_every = 100
  for num_steps in (3, 5):
    config.num_steps = num_steps
    train_and_evaluate(config, str(tmp_path), quiet=True)
    curve = _metric_curve(tmp_path, 'eval/ema/fid')
    assert [step for step, _, _ in curve] == list(range(1, num_steps + 1))
    assert len(_metric_curve(tmp_path, 'eval/raw/fid')) == num_steps
    step, value, minutes = min(curve, key=lambda point: point[1])
    best = selection.read_best(str(tmp_path))
    assert (best['step'], best['metric'], best['generator'], best['split']) == (
        step, 'fid', 'ema', 'validation')
    assert (best['value'], best['train_minutes']) == (value, minutes)
    assert Checkpointer(str(tmp_path / 'best'), 1).steps() == [step]
  _, _, state = load_run(str(tmp_path), SHARED_TFDS, checkpoint='best')
  assert int(state.step) == step
  assert int(load_run(str(tmp_path), SHARED_TFDS)[2].step) == 5
