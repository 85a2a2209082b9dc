"""Trains a GAN: `python experiments/train.py --config experiments/configs/toy2d_ring.py --workdir /tmp/ring`.

Any config field can be overridden, e.g. `--config.optim.lr=2e-4 --config.num_steps=500`.
Bad input exits with status 2 and a one-line message; a divergence exits with status 3.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from gan_jax.errors import ConfigError
from gan_jax.train import DivergenceError, train_and_evaluate

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Folder for checkpoints, logs and pictures.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  logging.set_verbosity(logging.WARNING)   # orbax logs every save at INFO
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  try:
    train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except ConfigError as error:
    print(f'error: {error}', file=sys.stderr)
    sys.exit(2)
  except DivergenceError as error:
    print(f'error: {error}', file=sys.stderr)
    sys.exit(3)


if __name__ == '__main__':
  app.run(main)
