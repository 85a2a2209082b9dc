"""Training data as a pure function of the step: toy mixtures (sampled in JAX) or TFDS images."""

import queue
import threading
from typing import Any, Callable, NamedTuple, Optional

import jax
import numpy as np

from gan_jax import keys
from gan_jax.data import clusters
from gan_jax.data import images as image_data
from gan_jax.data import sequences
from gan_jax.data.images import to_model_range  # noqa: F401  (re-exported)
from gan_jax.data.vectors import TOY_DATASETS, Mixture, sample
from gan_jax.errors import ConfigError


class Data(NamedTuple):
  example_shape: tuple
  batches: Callable            # step -> (n_critic, local_batch, ...) array
  mixture: Optional[Mixture]   # the true distribution for toy data, else None
  test_images: Optional[np.ndarray] = None
  example_dtype: Any = np.float32   # int32 for token sequences
  labeled: bool = False             # batches are dicts {'x': images, 'y': labels}
  grid_batch: Optional[dict] = None  # labeled: 8 training examples of each class, by class


def example_of(data: Data):
  """A zero example of the data's shape and dtype (what models are initialised from); with
  labels, a zero example of the batch dict."""
  example = np.zeros(data.example_shape, data.example_dtype)
  return {'x': example, 'y': np.zeros((), np.int32)} if data.labeled else example


def _grid_batch(images, labels, per_class: int = 8, classes: int = 10) -> dict:
  """The first `per_class` examples of each of the first `classes` classes, class by class
  (rows of a sample grid)."""
  indices = np.concatenate([np.flatnonzero(labels == c)[:per_class]
                            for c in np.unique(labels)[:classes]])
  return {'x': images[indices], 'y': labels[indices].astype(np.int32)}


def make_data(data_config, batch_size: int, n_critic: int, seed: int,
              process_index: int = 0, process_count: int = 1, labels: bool = False) -> Data:
  """The configured dataset; batch_size is the global batch size. With `labels` (TFDS image
  datasets), each batch is a dict {'x': images, 'y': labels} of arrays (n_critic, batch, ...)."""
  if labels:
    return _labeled_data(data_config, batch_size, n_critic, seed, process_index, process_count)
  local_batch = batch_size // process_count
  if data_config.name in TOY_DATASETS:
    mixture = TOY_DATASETS[data_config.name]
    key = jax.random.fold_in(jax.random.PRNGKey(seed), keys.DATA)
    start = process_index * local_batch

    @jax.jit
    def toy_batches(step):
      # The global batch is drawn on every host and each keeps its slice: the data of a step
      # does not depend on how many hosts share it.
      points = sample(mixture, jax.random.fold_in(key, step), n_critic * batch_size)
      return points.reshape(n_critic, batch_size, -1)[:, start:start + local_batch]

    return Data((mixture.means.shape[1],), toy_batches, mixture)
  if data_config.name == sequences.ORACLE_DATASET:
    tokens = sequences.oracle_dataset('train')
    source = image_data.ImageBatches(tokens, batch_size, seed, process_index, process_count)
    return Data(tokens.shape[1:], lambda step: np.stack(
        [source.batch(step * n_critic + i) for i in range(n_critic)]), None,
        example_dtype=np.int32)
  images = image_data.load_split(data_config.name, data_config.split, data_config.data_dir,
                                 data_config.download, data_config.image_size)
  source = image_data.ImageBatches(images, batch_size, seed, process_index, process_count)

  def image_batches(step):
    return np.stack([source.batch(step * n_critic + i) for i in range(n_critic)])

  return Data(images.shape[1:], image_batches, None)


def _labeled_data(data_config, batch_size, n_critic, seed, process_index, process_count) -> Data:
  if data_config.name in TOY_DATASETS or data_config.name == sequences.ORACLE_DATASET:
    raise ConfigError(f'data {data_config.name!r} has no labels; a conditional model needs a '
                      'labelled TFDS image dataset (mnist, fashion_mnist)')
  if data_config.image_size is not None:
    raise ConfigError('data.image_size is not supported with labels; leave it unset')
  images, _ = image_data.load_labeled_split(data_config.name, data_config.split,
                                            data_config.data_dir, data_config.download)
  label_array = training_labels(data_config)
  source = image_data.ImageBatches(images, batch_size, seed, process_index, process_count,
                                   labels=label_array)

  def labeled_batches(step):
    parts = [source.batch(step * n_critic + i) for i in range(n_critic)]
    return {key: np.stack([part[key] for part in parts]) for key in ('x', 'y')}

  return Data(images.shape[1:], labeled_batches, None, labeled=True,
              grid_batch=_grid_batch(images, label_array))


def training_labels(data_config) -> np.ndarray:
  """The labels a label-to-image model trains on, in the split's order: the dataset's, or with
  `data.pseudo_labels` = k, k-means clusters of its pixels (no label is read)."""
  if data_config.get('pseudo_labels', 0):
    return clusters.pixel_clusters(data_config, data_config.pseudo_labels)
  _, labels = image_data.load_labeled_split(data_config.name, data_config.split,
                                            data_config.data_dir, data_config.download)
  if labels is None:
    raise ConfigError(f'TFDS {data_config.name!r} has no labels; a conditional model needs them')
  return labels


def epoch_batches(data_config, batch_size: int) -> int:
  """Full batches in one pass over the image split: an epoch, in D batches (a G step with
  n_critic D steps uses n_critic of them)."""
  return len(image_data.load_split(data_config.name, data_config.split, data_config.data_dir)) \
      // batch_size


def prefetch(batches: Callable, first_step: int, last_step: int, depth: int = 2):
  """Yields batches(step) for step in [first_step, last_step), made ahead in a thread."""
  buffer = queue.Queue(maxsize=depth)

  def produce():
    for step in range(first_step, last_step):
      buffer.put(batches(step))

  thread = threading.Thread(target=produce, daemon=True)
  thread.start()
  for _ in range(first_step, last_step):
    yield buffer.get()
