"""Evaluating conditional generators against the test split, in the project classifier's features.

Label to image: `num_samples` samples, the same number for each class; the classifier's
accuracy on the labels asked for, FID against the whole test split, and intra-FID (FID of each
class against the test images of that class, averaged). Completion: the first `num_samples`
test images, their upper half given; L1 to the truth on the hidden half, FID of the completed
images, the classifier's accuracy against the true labels, and the diversity of completions over
z. Both also give the classifier's accuracy on the real test images (the ceiling).
"""

import functools

import jax
import numpy as np

from gan_jax import keys
from gan_jax.core.steps import generate
from gan_jax.data import images as image_data
from gan_jax.errors import ConfigError
from gan_jax.metrics import classifier
from gan_jax.metrics import conditional as metrics
from gan_jax.metrics.distances import fid
from gan_jax.models.conditional import visible_mask
from gan_jax.run.config import condition_kind
from gan_jax.data import training_labels
from gan_jax.run.evaluation import (FEATURE_DATASETS, GENERATORS, draw_samples,
                                    reference_features, sample_metrics)


def draw_for_conditions(gan, state, batch: dict, seed: int, generator: str = 'ema',
                        batch_size: int = 1000, z_index: int = 0) -> np.ndarray:
  """G(z, condition) for every example of a host batch dict ({'x': uint8, 'y': labels}), z
  drawn from the EVAL key per chunk of `batch_size` and per `z_index` (another z per index)."""
  if generator not in GENERATORS:
    raise ConfigError(f'unknown generator {generator!r}; choose one of {list(GENERATORS)}')
  sample = jax.jit(lambda state, z, chunk: generate(
      gan, state, z, generator == 'ema', condition=gan.condition(
          jax.tree.map(gan.preprocess, chunk))))
  key = jax.random.fold_in(keys.fold(jax.random.PRNGKey(seed), keys.EVAL), z_index)
  n = len(batch['y'])
  out = []
  for start in range(0, n, batch_size):
    chunk = {k: v[start:start + batch_size] for k, v in batch.items()}
    z = jax.random.normal(jax.random.fold_in(key, start), (len(chunk['y']), gan.z_dim))
    out.append(np.asarray(sample(state, z, chunk)))
  return np.concatenate(out)


def prior_labels(config, num_samples: int, seed: int = 0) -> np.ndarray:
  """Labels drawn i.i.d. with their shares of the training labels (the dataset's, or its
  k-means pseudo-labels): the label prior of a label-to-image G used as a model of p(x)."""
  prior = training_labels(config.data)
  return np.random.default_rng(seed).choice(prior, num_samples).astype(np.int32)


def draw_from_prior(gan, state, config, num_samples: int, seed: int = 0,
                    generator: str = 'ema') -> np.ndarray:
  """G(z, label) for labels from `prior_labels`: samples of p(x) = sum_y p(y) p(x | y)."""
  labels = prior_labels(config, num_samples, seed)
  return draw_for_conditions(gan, state, {'y': labels}, seed, generator)


def draw_from_model(gan, state, config, num_samples: int, seed: int = 0,
                    generator: str = 'ema') -> np.ndarray:
  """Samples of the run's model of p(x): an unconditional G's, or a label-to-image G's with
  labels from `prior_labels`. A completion G models p(lower half | upper half) only."""
  kind = condition_kind(config)
  if kind == 'completion':
    raise ConfigError('a completion G needs the visible half of a real image: evaluate it with '
                      'experiments/conditional.py')
  if kind == 'label':
    return draw_from_prior(gan, state, config, num_samples, seed, generator)
  return draw_samples(gan, state, num_samples, seed, generator)


def held_out(config):
  """(images uint8, labels) of the test split of the configured dataset."""
  if config.data.name not in FEATURE_DATASETS:
    raise ConfigError(f'no feature network for {config.data.name!r}: conditional evaluation '
                      f'supports {list(FEATURE_DATASETS)}')
  return image_data.load_labeled_split(config.data.name, 'test',
                                       image_data.default_data_dir(config.data.data_dir))


@functools.lru_cache(maxsize=4)
def real_label_accuracy(dataset: str, data_dir) -> float:
  """The classifier's accuracy on the test split (the ceiling), computed once per process."""
  images, labels = image_data.load_labeled_split(dataset, 'test', data_dir)
  _, probabilities = classifier.features_and_probabilities(
      classifier.load_params(dataset), image_data.to_model_range(images))
  return metrics.label_accuracy(probabilities, labels)


def evaluate(gan, state, config, num_samples: int, seed: int = 0, generator: str = 'ema',
             diversity_inputs: int = 500, diversity_z: int = 5) -> dict:
  """Every metric of a conditional run (see the module's docstring)."""
  images, labels = held_out(config)
  name = config.data.name
  data_dir = image_data.default_data_dir(config.data.data_dir)
  params = classifier.load_params(name)
  real_features = reference_features(name, data_dir)
  results = {'num_samples': num_samples, 'generator': generator,
             'real_label_accuracy': real_label_accuracy(name, data_dir)}
  if config.data.pseudo_labels:   # clusters are not classes: score G as a model of p(x)
    samples = draw_from_prior(gan, state, config, num_samples, seed, generator)
    return {**results, **sample_metrics(samples, config.data)}
  if condition_kind(config) == 'label':
    asked = (np.arange(num_samples) % config.model.num_classes).astype(np.int32)
    batch = {'x': np.zeros((num_samples,) + images.shape[1:], np.uint8), 'y': asked}
    samples = draw_for_conditions(gan, state, batch, seed, generator)
    features, probabilities = classifier.features_and_probabilities(params, samples)
    return {**results, 'label_accuracy': metrics.label_accuracy(probabilities, asked),
            'fid': fid(real_features, features),
            **metrics.intra_fid(real_features, labels, features, asked)}
  n = min(num_samples, len(images))
  batch = {'x': images[:n], 'y': np.asarray(labels[:n], np.int32)}
  completions = draw_for_conditions(gan, state, batch, seed, generator)
  truth = image_data.to_model_range(images[:n])
  mask = np.asarray(visible_mask(images.shape[1]))
  features, probabilities = classifier.features_and_probabilities(params, completions)
  m = min(diversity_inputs, n)
  few = {k: v[:m] for k, v in batch.items()}
  repeats = np.stack([draw_for_conditions(gan, state, few, seed, generator, z_index=i)
                      for i in range(diversity_z)], axis=1)
  return {**results, 'l1': metrics.masked_l1(completions, truth, mask),
          'fid': fid(real_features, features),
          'label_accuracy': metrics.label_accuracy(probabilities, batch['y']),
          'diversity': metrics.diversity(repeats, mask)}
