"""The feature networks image metrics are measured in, by name, and reference statistics.

- 'lenet': the project's classifiers of MNIST and Fashion-MNIST (classifier.py): cheap, sharp on
  28x28 digits and clothes, and comparable only within this project.
- 'inception': FID's Inception-v3 (inception.py), the features papers report FID, KID and IS
  in; any image size and dataset; needs the converted reference weights.

Every result scored here names its network (`features`) and weights, so no FID is read in the
wrong features. The reference side (a dataset split's features, mean and covariance) is
computed once and cached on disk, keyed by dataset, split, features, image count and a
fingerprint of the images and weights; `save_statistics` / `load_statistics` read and write
pytorch-fid's `.npz` (`mu`, `sigma`).
"""

import functools
import hashlib
import os
import sys
from typing import Callable, NamedTuple

import jax
import numpy as np

from gan_jax.errors import ConfigError, require_choice
from gan_jax.metrics import classifier, inception
from gan_jax.metrics.distances import gaussian_statistics
from gan_jax.tools.cache import cache_dir, write_atomically

LENET_DATASETS = ('mnist', 'fashion_mnist')


class FeatureNetwork(NamedTuple):
  """images in [-1, 1] (N, H, W, C) -> (features, class probabilities), with its provenance."""
  name: str           # 'lenet' or 'inception': what results call `features`
  weights: str        # which weights, e.g. the sha256 the Inception file was converted from
  extract: Callable


def _lenet(dataset: str, inception_weights: str) -> FeatureNetwork:
  del inception_weights
  if dataset not in LENET_DATASETS:
    raise ConfigError(f"no LeNet features for {dataset!r} (only {list(LENET_DATASETS)}): score it "
                      "in Inception features, --features=inception (evaluate.py) or "
                      "--config.eval_features=inception")
  params = classifier.load_params(dataset)
  return FeatureNetwork('lenet', f'{dataset} lenet sha256 {classifier.WEIGHTS_SHA256[dataset]}',
                        functools.partial(classifier.features_and_probabilities, params))


@functools.lru_cache(maxsize=None)
def _warn_unverified(path: str, source: str) -> None:
  print(f'warning: the Inception weights {path} were converted from a file with sha256 '
        f'{source}, not the reference {inception.REFERENCE_FILE}: these FIDs are not '
        'comparable with papers', file=sys.stderr)


def _inception(dataset: str, inception_weights: str) -> FeatureNetwork:
  del dataset
  path = inception_weights or inception.default_weights_path()
  variables, source = inception.load_variables(os.path.abspath(path))
  if source != inception.REFERENCE_SHA256:
    _warn_unverified(path, source)
    weights = f'UNVERIFIED (converted from sha256 {source})'
  else:
    weights = f'{inception.REFERENCE_FILE} (sha256 {source})'

  def extract(images):
    features, logits = inception.features_and_logits(variables, images)
    return features, np.asarray(jax.nn.softmax(logits))

  return FeatureNetwork('inception', weights, extract)


NETWORKS = {'lenet': _lenet, 'inception': _inception}
# How figures name each network's FID (the result files say `features`).
DESCRIPTIONS = {'lenet': 'project classifier', 'inception': 'Inception-v3'}


def network(name: str, dataset: str, inception_weights: str = '') -> FeatureNetwork:
  """The named feature network for images of `dataset`; a ConfigError in one line when it
  cannot score them (LeNet on another dataset, Inception without its weights file)."""
  require_choice('features', name, NETWORKS)
  return _network(name, dataset, inception_weights or '')


@functools.lru_cache(maxsize=4)
def _network(name, dataset, inception_weights):
  return NETWORKS[name](dataset, inception_weights)


def reference_key(dataset: str, split: str, net: FeatureNetwork, images: np.ndarray) -> str:
  """dataset-split-features-count-fingerprint: a changed folder or weights file is a new key."""
  digest = hashlib.sha256(np.ascontiguousarray(images).tobytes())
  digest.update(net.weights.encode())
  return f'{dataset}-{split}-{net.name}-{len(images)}-{digest.hexdigest()[:12]}'


def reference_features(dataset: str, split: str, net: FeatureNetwork,
                       images_uint8: np.ndarray) -> np.ndarray:
  """The features of a split's uint8 images, computed once: cached on disk as <key>.npy
  beside the pytorch-fid statistics <key>.npz (mu, sigma), and in memory."""
  key = reference_key(dataset, split, net, images_uint8)
  return _reference_features(key, net, images_uint8)


_MEMORY = {}    # key -> features: each reference is scored once per process


def _reference_features(key, net, images_uint8):
  if key in _MEMORY:
    return _MEMORY[key]
  folder = os.path.join(cache_dir(), 'reference')
  path = os.path.join(folder, key + '.npy')
  features = None
  if os.path.exists(path):
    try:
      features = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
      features = None     # a partial file: computed again below
  if features is None:
    images = images_uint8.astype(np.float32) / 127.5 - 1.0
    features = net.extract(images)[0]
    os.makedirs(folder, exist_ok=True)
    write_atomically(path, lambda f: np.save(f, features))
    save_statistics(os.path.join(folder, key + '.npz'), *gaussian_statistics(features))
  _MEMORY[key] = features
  return features


def save_statistics(path: str, mu, sigma) -> None:
  """pytorch-fid's statistics file: an .npz with `mu` (d,) and `sigma` (d, d)."""
  write_atomically(path, lambda f: np.savez(f, mu=np.asarray(mu), sigma=np.asarray(sigma)))


def load_statistics(path: str) -> tuple:
  """(mu, sigma) of a pytorch-fid `.npz` (ours or a published one); one-line ConfigError when
  the file is missing or is not one."""
  try:
    with np.load(path, allow_pickle=False) as archive:
      mu, sigma = archive['mu'], archive['sigma']
  except (OSError, KeyError, ValueError) as error:
    raise ConfigError(f'{path} is not a readable statistics file with mu and sigma '
                      f'({type(error).__name__})') from None
  if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
    raise ConfigError(f'{path}: mu {mu.shape} and sigma {sigma.shape} do not fit together')
  return mu, sigma
