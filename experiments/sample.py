"""Draws N samples from a run's newest checkpoint (or, with --checkpoint=best, the one it kept
for its best evaluation), to score with your own tools.

python experiments/sample.py --workdir workdirs/mnist --num_samples=10000 --generator=ema \
    --data_dir=../shared/data/tensorflow_datasets

Writes <workdir>/samples_step_<N>_<generator>.npy in the encoding of the run's structure
(gan_jax/structures: float32 points in data units, float32 images in [-1, 1], int32 token ids,
float32 (N, n, n) graph adjacency with node existence on the diagonal) and a picture or text
beside it (a text run's: every decoded sentence, one a line). The generator is named as in evaluation: 'ema' or 'raw'. A label-to-image run is
sampled as a model of p(x): labels drawn with their shares of the training labels; a completion
run completes the first N test images.
"""

import os

from absl import flags

from gan_jax import structures
from gan_jax.run import cli, evaluation

_WORKDIR = cli.define_workdir("A training run's workdir.")
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 10000, 'Samples to draw.', lower_bound=1)
_GENERATOR = flags.DEFINE_enum('generator', 'ema', evaluation.GENERATORS,
                               "Which G: the EMA of its params and statistics, or the raw one.")
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the noise.')
_DATA_DIR = cli.define_data_dir("Override the run's TFDS data dir.")
_CHECKPOINT = cli.define_checkpoint()


def main(argv):
  del argv
  workdir = os.path.abspath(_WORKDIR.value)
  config, gan, state = evaluation.load_run(workdir, _DATA_DIR.value, _CHECKPOINT.value)
  structure = structures.get(config)
  samples = structure.sample(gan, state, config, _NUM_SAMPLES.value, _SEED.value,
                             _GENERATOR.value)
  stem = os.path.join(workdir, f'samples_step_{int(state.step)}_{_GENERATOR.value}')
  written = structure.save_samples(samples, stem, f'{_GENERATOR.value} G, step {int(state.step)}',
                                   config)
  print(f'{len(samples)} {structure.name} samples ({structure.encoding}), shape '
        f'{samples.shape[1:]}, written to {", ".join(written)}')


if __name__ == '__main__':
  cli.run(main)
