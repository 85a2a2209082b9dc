"""Draws N samples from a run's newest checkpoint, to score with your own tools.

python experiments/sample.py --workdir workdirs/mnist --num_samples=10000 --generator=ema \
    --data_dir=../shared/data/tensorflow_datasets

Writes <workdir>/samples_step_<N>_<generator>.npy (float32, the models' range: [-1, 1] for
images, data units for points) and a PNG beside it (a grid of the first 64 images, or a
scatter of the points). The generator is named as in evaluation: 'ema' or 'raw'. A label-to-image
run is sampled as a model of p(x): labels drawn with their shares of the training labels.
"""

import os

import numpy as np
from absl import flags

from gan_jax.run import cli, conditional, evaluation
from gan_jax.tools import plots

_WORKDIR = cli.define_workdir("A training run's workdir.")
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 10000, 'Samples to draw.', lower_bound=1)
_GENERATOR = flags.DEFINE_enum('generator', 'ema', evaluation.GENERATORS,
                               "Which G: the EMA of its params and statistics, or the raw one.")
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the noise.')
_DATA_DIR = cli.define_data_dir("Override the run's TFDS data dir.")


def main(argv):
  del argv
  workdir = os.path.abspath(_WORKDIR.value)
  config, gan, state = evaluation.load_run(workdir, _DATA_DIR.value)
  samples = conditional.draw_from_model(gan, state, config, _NUM_SAMPLES.value, _SEED.value,
                                        _GENERATOR.value)
  stem = os.path.join(workdir, f'samples_step_{int(state.step)}_{_GENERATOR.value}')
  np.save(stem + '.npy', samples.astype(np.float32))
  title = f'{_GENERATOR.value} G, step {int(state.step)}'
  if samples.ndim == 4:
    plots.save_image_grid(samples[:64], stem + '.png', title)
  else:
    plots.save_points(samples, stem + '.png', title)
  print(f'{len(samples)} samples of shape {samples.shape[1:]} written to {stem}.npy and .png')


if __name__ == '__main__':
  cli.run(main)
