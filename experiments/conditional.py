"""Conditional generation on MNIST or Fashion-MNIST: label to image, and image completion.

python experiments/conditional.py --dataset=mnist --workdir=workdirs/conditional_mnist \
    --data_dir=../shared/data/tensorflow_datasets [--runs=projection,l1_gan]

Runs (each trains experiments/configs/<dataset>_<config>.py in <workdir>/<run> through
gan_jax.run.train, the same steps as every GAN here, then scores the final EMA generator):
  unconditional  <dataset>_dcgan.py, for as many steps as the conditional runs: FID, KID, ...
  concat, projection, acgan  label to image (class-wise BatchNorm in G): the classifier's
                 accuracy on the asked-for labels, FID, intra-FID (per-class FID, averaged);
  l1, l1_gan     completion of the lower half from the upper half, by the pixel loss alone
                 (adversarial weight 0) and by L1 + conditional GAN (pix2pix): L1 to the truth
                 on the hidden half, FID of the completed images, the classifier's accuracy
                 against the true labels, diversity of completions over z.
Each run prints its wall time (training and evaluation) and writes <workdir>/<run>/result.json;
a run killed midway resumes from its checkpoints with the same command. At the end, from every
result in the workdir: <workdir>/conditional.json, labels_<run>.png (a row per class, a column
per z) and completion.png (input, L1, L1 + GAN for three z, truth).
"""

import importlib
import json
import os
import time

import jax
import numpy as np
from absl import flags

from gan_jax.core.steps import generate
from gan_jax.data import images as image_data
from gan_jax.errors import ConfigError
from gan_jax.models.conditional import visible_part
from gan_jax.run import cli, evaluation
from gan_jax.structures import labeled_images
from gan_jax.run.train import train_and_evaluate
from gan_jax.tools import plots

RUNS = {'unconditional': 'dcgan', 'concat': 'cgan_concat', 'projection': 'cgan_projection',
        'acgan': 'acgan', 'l1': 'completion_l1', 'l1_gan': 'completion'}

_WORKDIR = cli.define_workdir()
_DATA_DIR = cli.define_data_dir()
_DATASET = flags.DEFINE_enum('dataset', 'mnist', ['mnist', 'fashion_mnist'], 'Dataset.')
_RUNS = flags.DEFINE_list('runs', list(RUNS), f'Runs to train and score, of {list(RUNS)}.')
_NUM_STEPS = flags.DEFINE_integer('num_steps', None, "G updates of every run; default: each "
                                  "config's (the unconditional run: the label configs').")
_EVAL_SAMPLES = flags.DEFINE_integer('eval_samples', 10000, 'Samples (or completed test images) '
                                     'per evaluation.')
_SEED = flags.DEFINE_integer('seed', None, "config.seed of every run, one workdir per seed "
                             "(default: each config's own, 0).")
_BATCH_SIZE = flags.DEFINE_integer('batch_size', None, 'Batch size of every run (tests).')
_WIDTH = flags.DEFINE_integer('width', None, "Width of both players' models (tests).")


def run_config(dataset: str, run: str):
  """The config of `run`: the dataset's config file, the shared length and the flags applied."""
  config = importlib.import_module(f'experiments.configs.{dataset}_{RUNS[run]}').get_config()
  if run == 'unconditional':   # as long as the label-to-image runs it is compared with
    config.num_steps = importlib.import_module(
        'experiments.configs.mnist_cgan_projection').NUM_STEPS
  config.num_steps = _NUM_STEPS.value or config.num_steps
  config.data.data_dir = _DATA_DIR.value
  config.eval_every = 0
  if _SEED.value is not None:
    config.seed = _SEED.value
  if _BATCH_SIZE.value:
    config.batch_size = _BATCH_SIZE.value
  if _WIDTH.value:
    config.model.g_features = config.model.d_features = _WIDTH.value
  return config


def train_and_score(run: str, workdir: str) -> dict:
  config = run_config(_DATASET.value, run)
  start = time.perf_counter()
  state = train_and_evaluate(config, workdir, quiet=True)
  trained = time.perf_counter()
  gan, _ = evaluation.gan_and_example(config)
  scores = {}   # both generators: the EMA's lag still costs FID at this length (docs/experiments.md)
  for generator in evaluation.GENERATORS:
    scores[generator] = evaluation.evaluate(gan, state, config, _EVAL_SAMPLES.value,
                                            config.seed, generator)
  done = time.perf_counter()
  print(f'[{run}] {int(state.step)} steps: training {trained - start:.0f} s, evaluation '
        f'{done - trained:.0f} s, wall {done - start:.0f} s', flush=True)
  result = {'run': run, 'config': f'{_DATASET.value}_{RUNS[run]}.py', 'seed': config.seed,
            'steps': int(state.step),
            'train_seconds': trained - start, 'eval_seconds': done - trained,
            'wall_seconds': done - start, 'shown_generator': config.shown_generator,
            'eval': scores}
  with open(os.path.join(workdir, 'result.json'), 'w') as f:
    json.dump(result, f, indent=2, default=float)
  return result


def label_grid(workdir: str, run: str, path: str, columns: int = 10) -> None:
  """G(z, y) with a row per class y and a column per z."""
  config, gan, state = evaluation.load_run(os.path.join(workdir, run), _DATA_DIR.value)
  classes = config.labeled_images.num_classes
  z = jax.random.normal(jax.random.PRNGKey(config.seed), (columns, gan.z_dim))
  labels = np.repeat(np.arange(classes, dtype=np.int32), columns)
  images = generate(gan, state, z[np.arange(len(labels)) % columns],
                    config.shown_generator == 'ema', condition=labels)
  plots.save_image_grid(np.asarray(images), path, f'{run}: a row per class, a column per z',
                        columns=columns)


def completion_figure(workdir: str, path: str, examples: int = 8, gan_z: int = 3) -> None:
  """For test images: the input (upper half), L1's completion, L1 + GAN's for `gan_z` z's, the
  truth."""
  images, labels = labeled_images.held_out(run_config(_DATASET.value, 'l1'))
  batch = {'x': images[:examples], 'y': np.asarray(labels[:examples], np.int32)}
  columns = [np.asarray(visible_part({'x': image_data.to_model_range(batch['x'])}))]
  for run, repeats in (('l1', 1), ('l1_gan', gan_z)):
    config, gan, state = evaluation.load_run(os.path.join(workdir, run), _DATA_DIR.value)
    columns += [labeled_images.draw_for_conditions(gan, state, batch, config.seed,
                                                config.shown_generator, z_index=i)
                for i in range(repeats)]
  columns.append(image_data.to_model_range(batch['x']))
  grid = np.stack(columns, axis=1).reshape((-1,) + images.shape[1:])
  plots.save_image_grid(grid, path, f'input | L1 | L1 + GAN, {gan_z} z | truth',
                        columns=len(columns))


def main(argv):
  del argv
  start = time.perf_counter()
  unknown = sorted(set(_RUNS.value) - set(RUNS))
  if unknown:
    raise ConfigError(f'unknown runs {unknown}; choose from {list(RUNS)}')
  workdir = cli.open_workdir(_WORKDIR)
  for run in _RUNS.value:
    train_and_score(run, os.path.join(workdir, run))
  results = {}
  for run in RUNS:
    path = os.path.join(workdir, run, 'result.json')
    if os.path.exists(path):
      results[run] = json.load(open(path))
  figures = []
  for run in ('concat', 'projection', 'acgan'):
    if run in results:
      figures.append(f'labels_{run}.png')
      label_grid(workdir, run, os.path.join(workdir, figures[-1]))
  if 'l1' in results and 'l1_gan' in results:
    figures.append('completion.png')
    completion_figure(workdir, os.path.join(workdir, figures[-1]))
  cli.write_report(workdir, {'dataset': _DATASET.value, 'runs': results, 'figures': figures,
                             'wall_seconds': time.perf_counter() - start}, 'conditional.json')
  print(f'wall time {time.perf_counter() - start:.0f} s')


if __name__ == '__main__':
  cli.run(main)
