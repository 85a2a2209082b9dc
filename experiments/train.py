"""Trains a GAN: `python experiments/train.py --config experiments/configs/toy2d_ring.py --workdir /tmp/ring`.

Any config field can be overridden, e.g. `--config.optim.lr=2e-4 --config.num_steps=500`.
Bad input exits with status 2 and a one-line message; a divergence exits with status 3.
"""

from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax.train import train_and_evaluate

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Folder for checkpoints, logs and pictures.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  del argv
  train_and_evaluate(cli.config_value(_CONFIG), _WORKDIR.value)


if __name__ == '__main__':
  cli.run(main)
