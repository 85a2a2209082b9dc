"""Evaluating a generator: samples drawn in batches, then the metrics that fit the data.

Toy 2D data: modes captured and high-quality percentage (VEEGAN/PacGAN protocol, 2500 samples).
Toy 1D data: KL and JS divergence of histograms. MNIST and Fashion-MNIST: FID, KID,
precision/recall, density/coverage and inception score in the features of the project's own
classifier (gan_jax.metrics.classifier), against the test split. Token sequences of the LSTM
oracle: NLL-oracle (quality) and the generator's NLL-test on held-out sequences (diversity).
"""

import functools
import json
import os

import jax
import numpy as np

from gan_jax import keys
from gan_jax.data import images as image_data
from gan_jax.data import sequences
from gan_jax.data import vectors as toy
from gan_jax.errors import ConfigError
from gan_jax.metrics import sequences as sequence_metrics
from gan_jax.metrics import (classifier, fid, histogram_divergences, inception_score, kid,
                             mode_coverage, precision_recall)
from gan_jax.core.state import create_state
from gan_jax.core.steps import generate
from gan_jax.run.checkpoint import Checkpointer
from gan_jax.run.config import build_gan, with_defaults

FEATURE_DATASETS = ('mnist', 'fashion_mnist')


GENERATORS = ('ema', 'raw')


def draw_samples(gan, state, num_samples: int, seed: int, generator: str = 'ema',
                 batch_size: int = 1000) -> np.ndarray:
  """num_samples of G(z), z ~ N(0, I), on the host, from the 'ema' or the 'raw' generator."""
  if generator not in GENERATORS:
    raise ConfigError(f'unknown generator {generator!r}; choose one of {list(GENERATORS)}')
  sample = jax.jit(lambda state, z, key: generate(gan, state, z, generator == 'ema', key))
  key = keys.fold(jax.random.PRNGKey(seed), keys.EVAL)
  out = []
  for start in range(0, num_samples, batch_size):
    batch_key = jax.random.fold_in(key, start)
    z = jax.random.normal(batch_key, (batch_size, gan.z_dim))
    out.append(np.asarray(sample(state, z, keys.fold(batch_key, keys.SAMPLE))))
  return np.concatenate(out)[:num_samples]


@functools.lru_cache(maxsize=4)
def reference_features(dataset: str, data_dir):
  """Classifier features of the test split (the FID reference), computed once per process."""
  images = image_data.load_split(dataset, 'test', data_dir)
  params = classifier.load_params(dataset)
  features, _ = classifier.features_and_probabilities(params, image_data.to_model_range(images))
  return features


def check_supported(data_config) -> None:
  """A ConfigError, before training starts, for data that has no metrics here."""
  if data_config.name not in (*toy.TOY_DATASETS, *FEATURE_DATASETS, sequences.ORACLE_DATASET):
    raise ConfigError(f'no feature network for {data_config.name!r}: evaluation supports toy '
                      f'data and {list(FEATURE_DATASETS)}; set --config.eval_every=0')


def sample_metrics(samples: np.ndarray, data_config) -> dict:
  """Every metric that applies to samples of the configured data."""
  check_supported(data_config)
  name = data_config.name
  if name == sequences.ORACLE_DATASET:
    return {'nll_oracle': sequence_metrics.nll_oracle(sequences.oracle_params(), samples)}
  if name in toy.TOY_DATASETS:
    mixture = toy.TOY_DATASETS[name]
    if samples.shape[1] == 1:
      real = np.asarray(toy.sample(mixture, keys.fold(jax.random.PRNGKey(0), keys.REFERENCE),
                                   len(samples)))
      return histogram_divergences(real, samples)
    return mode_coverage(samples, mixture)
  real_features = reference_features(name, image_data.default_data_dir(data_config.data_dir))
  features, probabilities = classifier.features_and_probabilities(
      classifier.load_params(name), samples)
  kid_mean, kid_std = kid(real_features, features)
  pr = precision_recall(real_features[:5000], features[:5000])
  is_mean, is_std = inception_score(probabilities)
  return {'fid': fid(real_features, features), 'kid': kid_mean, 'kid_std': kid_std,
          **pr._asdict(), 'inception_score': is_mean, 'inception_score_std': is_std}


def evaluate(gan, state, data_config, num_samples: int, seed: int = 0,
             generator: str = 'ema') -> dict:
  if gan.condition is not None:
    raise ConfigError('a conditional generator needs conditions: evaluate it with '
                      'gan_jax.run.conditional.evaluate (experiments/conditional.py)')
  samples = draw_samples(gan, state, num_samples, seed, generator)
  results = {'num_samples': num_samples, 'generator': generator,
             **sample_metrics(samples, data_config)}
  if data_config.name == sequences.ORACLE_DATASET:
    params = state.ema_params if generator == 'ema' else state.g_params
    log_prob = jax.jit(lambda tokens: gan.generator.apply({'params': params}, tokens,
                                                          method='log_prob'))
    results['nll_test'] = sequence_metrics.nll_test(log_prob, sequences.oracle_dataset('test'))
  return results


def gan_and_example(config):
  """(the GAN `config` describes, a zero example of its batch) for evaluating or restoring it."""
  example = np.zeros((sequences.LENGTH,), np.int32)
  if config.data.name in toy.TOY_DATASETS:
    example = np.zeros((toy.TOY_DATASETS[config.data.name].means.shape[1],), np.float32)
  elif config.data.name != sequences.ORACLE_DATASET:
    example = np.zeros(image_data.load_split(config.data.name, 'test',
                                             config.data.data_dir).shape[1:], np.float32)
  gan = build_gan(config, example.shape)
  if gan.condition is not None:
    example = {'x': example, 'y': np.zeros((), np.int32)}
  return gan, example


def load_run(workdir: str, data_dir=None):
  """(config, gan, state) of the newest readable checkpoint in a workdir."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise ConfigError(f'{workdir} holds no config.json; is it the --workdir of a training run?')
  config = with_defaults(json.load(open(path)))
  if data_dir:
    config.data.data_dir = data_dir
  gan, example = gan_and_example(config)
  template = create_state(gan, jax.random.PRNGKey(config.seed), example)
  state = Checkpointer(os.path.join(workdir, 'checkpoints'), 1).restore_latest(template)
  if state is None:
    raise ConfigError(f'no readable checkpoint in {workdir}/checkpoints')
  return config, gan, state
