"""Evaluates a checkpoint of a run: draws samples, prints and saves every metric.

python experiments/evaluate.py --workdir workdirs/mnist --num_samples=10000 \
    --data_dir=../shared/data/tensorflow_datasets

Writes <workdir>/eval_step_<N>_<generator>.json (…_inception.json with --features=inception,
…_<split>.json with --split). The split scored is the run's config.eval_split unless --split
says otherwise; a run that chose its checkpoint on the validation split (config.select_metric)
has the test split scored once, on that checkpoint:

python experiments/evaluate.py --workdir workdirs/mnist --checkpoint=best --split=test

Image FIDs are in the run's feature network (config.eval_features), which every result names:
the project's LeNet classifiers for MNIST/Fashion-MNIST, or, with --features=inception, FID's
Inception-v3 as papers report it (needs the converted weights; see
experiments/convert_inception.py):

python experiments/evaluate.py --workdir workdirs/cifar10 --features=inception \
    --inception_weights=~/.cache/gan_jax/inception_fid.npz
"""

import os
import time

from absl import flags

from gan_jax import structures
from gan_jax.data import images as image_data
from gan_jax.metrics import features
from gan_jax.run import cli, evaluation
from gan_jax.run.config import validate

_WORKDIR = cli.define_workdir("A training run's workdir.")
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', None, 'Samples to draw (default: the '
                                    "structure's, 10,000; graphs 1,000).")
_GENERATOR = flags.DEFINE_enum('generator', 'ema', evaluation.GENERATORS,
                               "Which G: the EMA of its params and statistics, or the raw one.")
_DATA_DIR = cli.define_data_dir("Override the run's TFDS data dir.")
_CHECKPOINT = cli.define_checkpoint()
_SPLIT = flags.DEFINE_enum('split', None, list(image_data.EVAL_SPLITS),
                           "What image metrics score against (default: the run's "
                           'config.eval_split): the test split, or the validation images the '
                           'run held out of its training split.')
_FEATURES = flags.DEFINE_enum('features', None, list(features.NETWORKS),
                              "Image metrics' feature network (default: the run's "
                              'config.eval_features).')
_INCEPTION_WEIGHTS = flags.DEFINE_string(
    'inception_weights', None, 'Converted Inception weights (default: the run\'s '
    'config.inception_weights, else $GAN_JAX_INCEPTION_WEIGHTS or '
    '~/.cache/gan_jax/inception_fid.npz).')


def main(argv):
  del argv
  workdir = os.path.abspath(_WORKDIR.value)
  config, gan, state = evaluation.load_run(workdir, _DATA_DIR.value, _CHECKPOINT.value)
  if _SPLIT.value:
    config.eval_split = _SPLIT.value
    validate(config)   # the validation split of a run that held nothing out: one line
  if _FEATURES.value:
    config.eval_features = _FEATURES.value
  if _INCEPTION_WEIGHTS.value:
    config.inception_weights = os.path.expanduser(_INCEPTION_WEIGHTS.value)
  structure = structures.get(config)
  structure.check_evaluable(config)   # one line before any sampling
  start = time.perf_counter()
  num_samples = _NUM_SAMPLES.value or structure.eval_samples
  results = evaluation.evaluate(gan, state, config, num_samples, config.seed, _GENERATOR.value)
  results['seconds'] = time.perf_counter() - start
  results['step'] = int(state.step)
  results['run'] = os.path.basename(workdir)
  results['ema_decay'] = config.ema_decay
  results['checkpoint'] = _CHECKPOINT.value
  suffix = ''.join(f'_{value}' for value in (_FEATURES.value, _SPLIT.value) if value)
  path = os.path.join(workdir, f'eval_step_{int(state.step)}_{_GENERATOR.value}{suffix}.json')
  cli.write_report(workdir, results, os.path.basename(path))


if __name__ == '__main__':
  cli.run(main)
