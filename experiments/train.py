"""Trains a GAN: `python experiments/train.py --config experiments/configs/toy2d_ring.py --workdir /tmp/ring`.

Any config field can be overridden, e.g. `--config.optim.lr=2e-4 --config.num_steps=500`.
Bad input exits with status 2 and a one-line message; a divergence exits with status 3.
At the end, <workdir>/summary.json holds the command, the wall time of this invocation and the
last evaluation logged (the source of README's main-job table).
"""

import json
import os
import time

import jax
from absl import flags
from ml_collections import config_flags

from gan_jax.run import cli
from gan_jax.run.train import train_and_evaluate

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.',
                                          lock_config=True)
_WORKDIR = cli.define_workdir('Folder for checkpoints, logs and pictures.')
flags.mark_flags_as_required(['config'])


def _last_evaluation(workdir):
  records = [json.loads(line) for line in open(os.path.join(workdir, 'metrics.jsonl'))]
  evaluations = [r for r in records if any(k.startswith('eval/') for k in r)]
  return evaluations[-1] if evaluations else {}


def main(argv):
  del argv
  start = time.perf_counter()
  config = cli.config_value(_CONFIG)
  state = train_and_evaluate(config, _WORKDIR.value)
  if jax.process_index() == 0:
    workdir = os.path.abspath(_WORKDIR.value)
    cli.write_report(workdir, {
        'config': os.path.basename(flags.FLAGS['config'].config_filename),
        'steps': int(state.step),
        'wall_seconds': time.perf_counter() - start,
        'eval': _last_evaluation(workdir)}, 'summary.json')


if __name__ == '__main__':
  cli.run(main)
