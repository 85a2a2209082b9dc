"""Evaluates the newest checkpoint of a run: draws samples, prints and saves every metric.

python experiments/evaluate.py --workdir workdirs/mnist --num_samples=10000 \
    --data_dir=../shared/data/tensorflow_datasets

Writes <workdir>/eval_step_<N>_<generator>.json. FID on MNIST/Fashion-MNIST is measured in the features of
the project's classifier against the test split (see gan_jax/metrics/classifier.py).
"""

import json
import os
import time

import jax
import jax.numpy as jnp
from absl import flags

from gan_jax import cli, evaluation
from gan_jax.checkpoint import Checkpointer
from gan_jax.config import build_gan, with_defaults
from gan_jax.data import TOY_DATASETS
from gan_jax.data.images import load_split
from gan_jax.errors import ConfigError
from gan_jax.state import create_state

_WORKDIR = flags.DEFINE_string('workdir', None, 'A training run\'s workdir.', required=True)
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 10000, 'Samples to draw.')
_GENERATOR = flags.DEFINE_enum('generator', 'ema', evaluation.GENERATORS,
                               "Which G: the EMA of its params and statistics, or the raw one.")
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'Override the run\'s TFDS data dir.')


def load_run(workdir: str, data_dir=None):
  """(config, gan, state) of the newest readable checkpoint in a workdir."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise ConfigError(f'{workdir} holds no config.json; is it the --workdir of a training run?')
  config = with_defaults(json.load(open(path)))
  if data_dir:
    config.data.data_dir = data_dir
  if config.data.name in TOY_DATASETS:
    example_shape = (TOY_DATASETS[config.data.name].means.shape[1],)
  else:
    example_shape = load_split(config.data.name, 'test', config.data.data_dir).shape[1:]
  gan = build_gan(config, example_shape)
  template = create_state(gan, jax.random.PRNGKey(config.seed), jnp.zeros(example_shape))
  state = Checkpointer(os.path.join(workdir, 'checkpoints'), 1).restore_latest(template)
  if state is None:
    raise ConfigError(f'no readable checkpoint in {workdir}/checkpoints')
  return config, gan, state


def main(argv):
  del argv
  workdir = os.path.abspath(_WORKDIR.value)
  config, gan, state = load_run(workdir, _DATA_DIR.value)
  start = time.perf_counter()
  results = evaluation.evaluate(gan, state, config.data, _NUM_SAMPLES.value, config.seed,
                                _GENERATOR.value)
  results['seconds'] = time.perf_counter() - start
  results['step'] = int(state.step)
  path = os.path.join(workdir, f'eval_step_{int(state.step)}_{_GENERATOR.value}.json')
  with open(path, 'w') as f:
    json.dump(results, f, indent=2)
  print(json.dumps(results, indent=2))
  print(f'written to {path}')


if __name__ == '__main__':
  cli.run(main)
