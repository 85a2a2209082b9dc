"""Can the generator learn by itself? An auto-encoder's decoder and a VAE's, as generators.

python experiments/generator_alone.py --workdir=workdirs/generator_alone \
    --data_dir=../shared/data/tensorflow_datasets

MNIST: reconstructions; samples decoded from random codes z ~ N(0, I); the interpolation
experiment (decode (1 - t) a + t b between two digits' codes, t = 0.5 in the middle) for both;
FID of 10,000 samples of each (project classifier, test split). The pixel-error illustration:
a digit with 1 wrong pixel (a stray dot off the stroke) and with 6 wrong pixels (extending the
stroke), their pixel losses and a trained GAN discriminator's scores. 2D ring and grid: real
points, VAE samples and GAN samples side by side, with modes captured and high-quality %.
Writes PNG figures and report.json into the workdir.
"""

import os
import time

import jax
import jax.numpy as jnp
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from gan_jax.lecture import vae  # noqa: E402
from gan_jax.run import cli, evaluation, study  # noqa: E402
from gan_jax.data import vectors as toy  # noqa: E402
from gan_jax.data.images import load_labeled_split, to_model_range  # noqa: E402
from gan_jax.metrics import mode_coverage  # noqa: E402
from gan_jax.run.population import member  # noqa: E402
from gan_jax.core.steps import generate  # noqa: E402
from experiments.configs import mnist_dcgan, toy2d_grid, toy2d_ring  # noqa: E402

_WORKDIR = cli.define_workdir()
_DATA_DIR = cli.define_data_dir()
_AE_STEPS = flags.DEFINE_integer('ae_steps', 3000, 'Steps for the AE and the VAE on MNIST.')
_GAN_STEPS = flags.DEFINE_integer('gan_steps', 800, 'Steps of the MNIST GAN whose D scores.')
_TOY_STEPS = flags.DEFINE_integer('toy_steps', 10000, 'Steps for the 2D VAE and GAN.')
_SAMPLES = flags.DEFINE_integer('samples', 10000, 'Samples for FID.')


def _grid(ax, images, title, columns):
  images = np.clip((np.asarray(images) + 1) / 2, 0, 1)[..., 0]
  rows = len(images) // columns
  canvas = images[:rows * columns].reshape(rows, columns, 28, 28).transpose(0, 2, 1, 3)
  ax.imshow(canvas.reshape(rows * 28, columns * 28), cmap='gray', vmin=0, vmax=1)
  ax.set_title(title, fontsize=9)
  ax.set_axis_off()


def mnist_part(workdir, report):
  config = mnist_dcgan.get_config()
  config.data.data_dir = _DATA_DIR.value
  config.batch_size = 128
  test_images, test_labels = load_labeled_split('mnist', 'test', _DATA_DIR.value)
  test = to_model_range(test_images)
  models = {}
  for name, variational in (('auto-encoder', False), ('VAE', True)):
    start = time.perf_counter()
    model, states, _ = study.train_vae_population(config, [0], _AE_STEPS.value,
                                                  variational=variational)
    models[name] = (model, jax.tree.map(lambda x: x[0], states.params))
    report[name] = {'train_seconds': time.perf_counter() - start}
  fig, axes = plt.subplots(3, 1, figsize=(8, 3.6))
  _grid(axes[0], test[:16], 'test digits', 16)
  for ax, (name, (model, params)) in zip(axes[1:], models.items()):
    mean, _ = vae.encode(model, params, jnp.asarray(test[:16]))
    _grid(ax, vae.decode_mean(model, params, mean), f'{name} reconstructions', 16)
  fig.savefig(os.path.join(workdir, 'reconstructions.png'), dpi=100, bbox_inches='tight')
  plt.close(fig)

  fig, axes = plt.subplots(1, 2, figsize=(9, 4.8))
  for ax, (name, (model, params)) in zip(axes, models.items()):
    samples = np.asarray(vae.sample(model, params, jax.random.PRNGKey(1), _SAMPLES.value))
    report[name].update(evaluation.sample_metrics(samples, config))
    _grid(ax, samples[:64], f'{name}: decoded z ~ N(0, I)\nFID {report[name]["fid"]:.1f}', 8)
  fig.savefig(os.path.join(workdir, 'samples_from_random_codes.png'), dpi=100,
              bbox_inches='tight')
  plt.close(fig)

  pairs = [(int(np.where(test_labels == a)[0][0]), int(np.where(test_labels == b)[0][0]))
           for a, b in ((1, 7), (3, 8), (4, 9), (0, 6))]
  steps = np.linspace(0, 1, 9)                      # t = 0.5 is the middle column
  fig, axes = plt.subplots(2, 1, figsize=(6, 5.6))
  for ax, (name, (model, params)) in zip(axes, models.items()):
    rows = []
    for i, j in pairs:
      mean, _ = vae.encode(model, params, jnp.asarray(test[[i, j]]))
      codes = (1 - steps)[:, None] * mean[0] + steps[:, None] * mean[1]
      rows.append(vae.decode_mean(model, params, codes))
    _grid(ax, np.concatenate(rows), f'{name}: decode (1-t) a + t b, t = 0 ... 1 (0.5 in the middle)', 9)
  fig.savefig(os.path.join(workdir, 'interpolation.png'), dpi=100, bbox_inches='tight')
  plt.close(fig)


def pixel_error_part(workdir, report):
  """1 stray pixel against 6 pixels that extend the stroke: pixel loss against D's score."""
  config = mnist_dcgan.get_config()
  config.data.data_dir = _DATA_DIR.value
  config.model.g_features = config.model.d_features = 32
  gan, population, _ = study.train_gan_population(config, [0], [2e-4], [2e-4], [0.5],
                                                  _GAN_STEPS.value)
  state = member(population, 0)
  images, labels = load_labeled_split('mnist', 'test', _DATA_DIR.value)
  digit = np.asarray(images[np.where(labels == 1)[0][0]], np.float32)[..., 0] / 255.0
  rows, cols = np.where(digit > 0.5)
  bottom = rows.max()
  bottom_cols = cols[rows == bottom]
  stray = digit.copy()                      # one pixel on, far from any stroke
  far_r, far_c = max(rows.min() - 3, 0), min(cols.max() + 4, 27)
  stray[far_r, far_c] = 1.0
  extended = digit.copy()                   # six pixels continuing the stroke downwards
  for dr in (1, 2, 3):
    for c in bottom_cols[:2] if len(bottom_cols) >= 2 else (bottom_cols[0], bottom_cols[0] + 1):
      extended[min(bottom + dr, 27), c] = 1.0
  variants = {'original': digit, '1 wrong pixel (stray)': stray, '6 wrong pixels (stroke)': extended}
  d_vars = {'params': state.d_params, **state.d_collections}
  batch = jnp.asarray(np.stack(list(variants.values()))[..., None] * 2 - 1)
  scores = np.asarray(jax.nn.sigmoid(gan.discriminator.apply(d_vars, batch, train=False)))
  fig, axes = plt.subplots(1, 3, figsize=(7.5, 3))
  result = {}
  for ax, (name, image), score in zip(axes, variants.items(), scores):
    wrong = int(np.sum(np.abs(image - digit) > 0.5))
    l2 = float(np.sum((image - digit) ** 2))
    result[name] = {'wrong_pixels': wrong, 'pixel_l2': l2, 'd_score': float(score)}
    ax.imshow(image, cmap='gray', vmin=0, vmax=1)
    ax.set_title(f'{name}\npixel L2 {l2:.2f}, D(x) {score:.3f}', fontsize=8)
    ax.set_axis_off()
  fig.savefig(os.path.join(workdir, 'pixel_error.png'), dpi=100, bbox_inches='tight')
  plt.close(fig)
  report['pixel_error'] = result


def toy_part(workdir, report):
  fig, axes = plt.subplots(2, 3, figsize=(10, 6.8))
  for row, module in zip(axes, (toy2d_ring, toy2d_grid)):
    config = module.get_config()
    mixture = toy.TOY_DATASETS[config.data.name]
    real = np.asarray(toy.sample(mixture, jax.random.PRNGKey(5), 2500))
    model, states, _ = study.train_vae_population(config, [0], _TOY_STEPS.value, latent_dim=2)
    vae_points = np.asarray(vae.sample(model, jax.tree.map(lambda x: x[0], states.params),
                                       jax.random.PRNGKey(6), 2500))
    gan, population, _ = study.train_gan_population(
        config, [0], [config.optim.lr], [config.optim.lr], [config.optim.b1], _TOY_STEPS.value)
    z = jax.random.normal(jax.random.PRNGKey(7), (2500, gan.z_dim))
    gan_points = np.asarray(generate(gan, member(population, 0), z))
    extent = np.abs(real).max() * 1.4
    for ax, (name, points) in zip(row, (('real', real), ('VAE', vae_points), ('GAN', gan_points))):
      coverage = mode_coverage(points, mixture)
      report[f'{config.data.name}/{name}'] = coverage
      ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5)
      ax.set_xlim(-extent, extent)
      ax.set_ylim(-extent, extent)
      ax.set_aspect('equal')
      ax.set_title(f'{config.data.name} {name}: {coverage["modes_captured"]}/'
                   f'{coverage["num_modes"]} modes, {coverage["high_quality_percent"]:.1f}% HQ',
                   fontsize=8)
  fig.tight_layout()
  fig.savefig(os.path.join(workdir, 'vae_vs_gan_2d.png'), dpi=100)
  plt.close(fig)


def main(argv):
  del argv
  workdir = cli.open_workdir(_WORKDIR)
  report = {}
  start = time.perf_counter()
  toy_part(workdir, report)
  mnist_part(workdir, report)
  pixel_error_part(workdir, report)
  report['wall_seconds'] = time.perf_counter() - start
  cli.write_report(workdir, report)


if __name__ == '__main__':
  cli.run(main)
