"""Evaluates the newest checkpoint of a run: draws samples, prints and saves every metric.

python experiments/evaluate.py --workdir workdirs/mnist --num_samples=10000 \
    --data_dir=../shared/data/tensorflow_datasets

Writes <workdir>/eval_step_<N>_<generator>.json. FID on MNIST/Fashion-MNIST is measured in the features of
the project's classifier against the test split (see gan_jax/metrics/classifier.py).
"""

import os
import time

from absl import flags

from gan_jax import structures
from gan_jax.run import cli, evaluation

_WORKDIR = cli.define_workdir("A training run's workdir.")
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', None, 'Samples to draw (default: the '
                                    "structure's, 10,000; graphs 1,000).")
_GENERATOR = flags.DEFINE_enum('generator', 'ema', evaluation.GENERATORS,
                               "Which G: the EMA of its params and statistics, or the raw one.")
_DATA_DIR = cli.define_data_dir("Override the run's TFDS data dir.")


def main(argv):
  del argv
  workdir = os.path.abspath(_WORKDIR.value)
  config, gan, state = evaluation.load_run(workdir, _DATA_DIR.value)
  start = time.perf_counter()
  num_samples = _NUM_SAMPLES.value or structures.get(config).eval_samples
  results = evaluation.evaluate(gan, state, config, num_samples, config.seed, _GENERATOR.value)
  results['seconds'] = time.perf_counter() - start
  results['step'] = int(state.step)
  results['run'] = os.path.basename(workdir)
  results['ema_decay'] = config.ema_decay
  path = os.path.join(workdir, f'eval_step_{int(state.step)}_{_GENERATOR.value}.json')
  cli.write_report(workdir, results, os.path.basename(path))


if __name__ == '__main__':
  cli.run(main)
