"""The GAN study of Lucic et al. 2018 ("Are GANs Created Equal?"), small: for each loss and the
VAE, K runs with random hyperparameters, trained K at a time with vmap; FID per run (MNIST,
Fashion-MNIST, in the project classifier's features against the test split) or mode coverage
(2D ring and grid, the PacGAN protocol); box plots, best and median per method, wall time.

CPU default (under an hour on 2 cores):
python experiments/study.py --workdir=workdirs/study --data_dir=../shared/data/tensorflow_datasets
GPU setting (closer to the paper: more runs, longer, full width):
python experiments/study.py --workdir=workdirs/study_gpu --runs=32 --steps=20000 --width=64 \
    --toy_steps=25000 --search_n_critic --data_dir=...
Converged study, each loss with its own published settings (TUNED) and K seeds, for a number of
epochs (D's passes over the split), FID also at --eval_epochs:
python experiments/study.py --workdir=workdirs/study_tuned --hyperparameters=tuned \
    --methods=non_saturating,lsgan,wgan_gp,hinge,vae --datasets=mnist --epochs=10 --eval_epochs=2,5 ...
First it prints the speed of K=8 vmapped runs against 8 sequential ones (--speed_only stops there).
"""

import json
import os
import time

import jax
import numpy as np
from absl import flags

from gan_jax.run import cli, study
from gan_jax.run.config import build_gan, n_critic, objective
from gan_jax.data import epoch_batches
from gan_jax import structures
from gan_jax.structures import make_data
from gan_jax.errors import ConfigError
from gan_jax.run.population import create_population, make_population_train_step
from gan_jax.core.state import create_state
from gan_jax.core.steps import make_train_step
from experiments.configs import mnist_dcgan, toy2d_grid, toy2d_ring

# Each loss's own settings as published, for --hyperparameters=tuned: DCGAN's Adam (Radford et
# al. 2016) for the one-step losses, and WGAN-GP's MNIST settings (Gulrajani et al. 2017: Adam
# 1e-4, betas 0.5 and 0.9, 5 critic steps, no BatchNorm in the critic).
_DCGAN_ADAM = dict(lr=2e-4, b1=0.5, b2=0.999, n_critic=1)
TUNED = {**{loss: _DCGAN_ADAM for loss in ('minimax', 'non_saturating', 'lsgan', 'hinge')},
         'wgan_gp': dict(lr=1e-4, b1=0.5, b2=0.9, n_critic=5)}
LOSSES = ['minimax', 'non_saturating', 'lsgan', 'wgan', 'wgan_gp', 'dragan', 'hinge']
TOY_CONFIGS = {'ring8': toy2d_ring, 'grid25': toy2d_grid}   # any other name: DCGAN on images
PACGAN_TABLE1 = {'ring8': 'GAN: 6.3 of 8 modes; PacGAN2: 7.9 of 8 (about 95-98% high quality)',
                 'grid25': 'GAN: 17.3 of 25 modes; PacGAN2: 23.8 of 25 (about 95-98% high quality)'}

_WORKDIR = cli.define_workdir('Where figures and JSON go.')
_DATASETS = flags.DEFINE_list('datasets', ['ring8', 'grid25', 'mnist', 'fashion_mnist'], 'Data.')
_METHODS = flags.DEFINE_list('methods', LOSSES + ['vae'], 'Losses, and vae.')
_RUNS = flags.DEFINE_integer('runs', 3, 'Runs per method (random hyperparameters and seeds).')
_STEPS = flags.DEFINE_integer('steps', 400, 'G steps per image run.')
_TOY_STEPS = flags.DEFINE_integer('toy_steps', 5000, 'G steps per toy run.')
_WIDTH = flags.DEFINE_integer('width', 32, 'DCGAN base width (64 is the full DCGAN-28).')
_HYPERPARAMETERS = flags.DEFINE_enum(
    'hyperparameters', 'random', ['random', 'tuned'],
    'random: lr and beta1 drawn per run (the paper\'s search); tuned: each loss\'s TUNED settings, '
    'runs differ only in seed (image data).')
_EPOCHS = flags.DEFINE_float('epochs', None, 'Image runs: length in epochs (D batches over the '
                             'split; n_critic per G step), instead of --steps.')
_EVAL_EPOCHS = flags.DEFINE_list('eval_epochs', [], 'Image runs with --epochs: FID also after '
                                 'these epochs (the curve).')
_SEARCH_N_CRITIC = flags.DEFINE_boolean('search_n_critic', False, 'Sample n_critic in {1, 5}.')
_EVAL_SAMPLES = flags.DEFINE_integer('eval_samples', 10000, 'Samples for FID.')
_DATA_DIR = cli.define_data_dir()
_SPEED = flags.DEFINE_boolean('speed', True, 'First the vmap speed comparison.')
_SPEED_ONLY = flags.DEFINE_boolean('speed_only', False, 'Only the vmap speed comparison.')
_SPEED_STEPS = flags.DEFINE_integer('speed_steps', None, 'Steps of the speed comparison '
                                    '(default 1000 on toy data, 100 on images).')


def base_config(dataset):
  """The config of a dataset's runs: the toy data's own, else DCGAN at --width on the images."""
  if dataset in TOY_CONFIGS:
    return TOY_CONFIGS[dataset].get_config()
  config = mnist_dcgan.get_config()
  config.data.name = dataset
  config.data.data_dir = _DATA_DIR.value
  config.model.g_features = config.model.d_features = _WIDTH.value
  return config


def protocol_of(config):
  """How the config's structure entry says its runs are trained, ranked and reported."""
  return structures.get(config).study_protocol(config)


def method_config(dataset, method, rng):
  """The config and the sampled hyperparameters of one group of runs."""
  config = base_config(dataset)
  if method == 'vae':
    return config
  config.loss.name = method               # n_critic: the objective's own unless searched
  if _HYPERPARAMETERS.value == 'tuned':
    if method not in TUNED or protocol_of(config).toy:
      raise ConfigError(f'--hyperparameters=tuned has settings for {sorted(TUNED)} on image data, '
                        f'not {method!r} on {dataset!r}')
    tuned = TUNED[method]
    config.optim.lr, config.optim.b1, config.optim.b2 = tuned['lr'], tuned['b1'], tuned['b2']
    config.n_critic = tuned['n_critic']
    config.g_samples = 'reuse' if tuned['n_critic'] == 1 else 'fresh'
  elif _SEARCH_N_CRITIC.value:
    config.n_critic = int(rng.choice([1, 5]))
  if objective(config).needs_independent_examples:
    config.model.d_batch_norm = False
  return config


def speed_comparison(dataset, strategy, k=8, steps=None):
  """Seconds for k runs trained one after another against k runs in one population step."""
  config = base_config(dataset)
  steps = steps or (1000 if protocol_of(config).toy else 100)
  data = make_data(config, n_critic(config))
  gan = build_gan(config, data.example_shape)
  single = make_train_step(gan)
  batches = [data.batches(i) for i in range(steps)]
  state = create_state(gan, jax.random.PRNGKey(0), np.zeros(data.example_shape, np.float32))
  state, _ = single(state, batches[0])                                      # compile
  start = time.perf_counter()
  for run in range(k):
    state = create_state(gan, jax.random.PRNGKey(run), np.zeros(data.example_shape, np.float32))
    for i in range(steps):
      state, _ = single(state, batches[i])
  jax.block_until_ready(state)
  sequential = time.perf_counter() - start
  population = create_population(gan, list(range(k)), np.zeros(data.example_shape, np.float32))
  step = make_population_train_step(gan, strategy)
  stacked = [jax.numpy.stack([b] * k) for b in batches]
  population, _ = step(population, stacked[0])                              # compile
  population = create_population(gan, list(range(k)), np.zeros(data.example_shape, np.float32))
  start = time.perf_counter()
  for i in range(steps):
    population, _ = step(population, stacked[i])
  jax.block_until_ready(population)
  vmapped = time.perf_counter() - start
  return {'dataset': dataset, 'strategy': strategy, 'k': k, 'steps': steps,
          'sequential_seconds': sequential, 'population_seconds': vmapped,
          'speedup': sequential / vmapped}


def _length(config, toy):
  """G steps per run, and the G steps after which the curve's FIDs are taken: {step: epoch}."""
  if toy or _EPOCHS.value is None:
    return (_TOY_STEPS.value if toy else _STEPS.value), {}
  per_epoch = epoch_batches(config.data, config.batch_size) / n_critic(config)
  marks = {round(float(e) * per_epoch): float(e) for e in _EVAL_EPOCHS.value
           if float(e) < _EPOCHS.value}
  return round(_EPOCHS.value * per_epoch), marks


def run_method(dataset, method, rng):
  seeds = [int(s) for s in rng.integers(0, 2 ** 31 - 1, _RUNS.value)]
  config = method_config(dataset, method, rng)
  protocol = protocol_of(config)
  toy, key = protocol.toy, protocol.metric
  steps, marks = _length(config, toy)
  samples = 2500 if toy else _EVAL_SAMPLES.value
  curves = [[] for _ in seeds]

  def evaluate(model, states):
    if method == 'vae':
      return study.evaluate_vae_population(model, states, config, samples)
    return study.evaluate_population(model, states, config, samples)

  def checkpoint(step, model, states):
    for curve, result in zip(curves, evaluate(model, states)):
      curve.append({'epoch': marks[step], 'step': step, key: result[key]})
    print(f'    epoch {marks[step]:g}: {protocol.short} ' +
          ' '.join(f'{c[-1][key]:.{protocol.digits}f}' for c in curves), flush=True)

  if method == 'vae':
    # A 2-d code for 2-d points: with 16 the posterior collapses and E[x|z] sits at the origin.
    model, states, seconds = study.train_vae_population(
        config, seeds, steps, latent_dim=2 if toy else 16, checkpoint_steps=marks,
        checkpoint=checkpoint)
    hyper = [{'lr': 1e-3} for _ in seeds]
  elif _HYPERPARAMETERS.value == 'tuned':
    model, states, seconds = study.train_gan_population(
        config, seeds, None, None, None, steps, checkpoint_steps=marks, checkpoint=checkpoint)
    hyper = [{'lr': config.optim.lr, 'b1': config.optim.b1, 'b2': config.optim.b2,
              'n_critic': n_critic(config)} for _ in seeds]
  else:
    base_lr = 1e-3 if toy else 2e-4
    lrs = base_lr * 10 ** rng.uniform(-0.5, 0.5, _RUNS.value)      # log-uniform around the default
    b1s = rng.choice([0.0, 0.5, 0.9], _RUNS.value)
    model, states, seconds = study.train_gan_population(
        config, seeds, lrs, lrs, b1s, steps, checkpoint_steps=marks, checkpoint=checkpoint)
    hyper = [{'lr': float(lr), 'b1': float(b1), 'n_critic': n_critic(config)}
             for lr, b1 in zip(lrs, b1s)]
  results = evaluate(model, states)
  for result, h, seed, curve in zip(results, hyper, seeds, curves):
    result.update(h, seed=seed, steps=steps)
    if _EPOCHS.value is not None and not toy:
      result['curve'] = curve + [{'epoch': _EPOCHS.value, 'step': steps, key: result[key]}]
  print(f'  {dataset:14} {method:15} {len(seeds)} runs, {steps} steps: {seconds:6.1f} s  '
        f'{protocol.short} ' + ' '.join(f'{r[key]:.{protocol.digits}f}' for r in results),
        flush=True)
  return {'method': method, 'seconds': seconds, 'runs': results}


def summarize(dataset, rows, workdir, protocol):
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  key = protocol.metric
  table = []
  for row in rows:
    values = np.array([r[key] for r in row['runs']], np.float64)
    best = values.max() if protocol.higher_is_better else values.min()
    entry = {'method': row['method'], 'best': float(best), 'median': float(np.median(values)),
             'seconds': row['seconds']}
    for field, source in protocol.means:
      entry[field] = float(np.mean(np.array([r[source] for r in row['runs']], np.float64)))
    table.append(entry)
  fig, ax = plt.subplots(figsize=(8, 3.8))
  ax.boxplot([[r[key] for r in row['runs']] for row in rows], tick_labels=[r['method'] for r in rows])
  ax.set_ylabel(protocol.label)
  search = ('random lr, beta1, seed' if _HYPERPARAMETERS.value == 'random' else
            "each loss's published settings, seeds")
  by_epochs = _EPOCHS.value is not None and not protocol.toy
  length = f', {_EPOCHS.value:g} epochs' if by_epochs else ''
  ax.set_title(f'{dataset}: {len(rows[0]["runs"])} runs per method ({search}{length})')
  plt.setp(ax.get_xticklabels(), rotation=30)
  fig.tight_layout()
  fig.savefig(os.path.join(workdir, f'study_{dataset}.png'), dpi=100)
  plt.close(fig)
  if all('curve' in r for row in rows for r in row['runs']):
    fig, ax = plt.subplots(figsize=(7, 4))
    for row, colour in zip(rows, plt.rcParams['axes.prop_cycle'].by_key()['color']):
      for i, run in enumerate(row['runs']):
        ax.plot([p['epoch'] for p in run['curve']], [p[key] for p in run['curve']], 'o-',
                color=colour, alpha=0.8, label=row['method'] if i == 0 else None)
    ax.set_yscale('log')
    ax.set_xlabel('epoch')
    ax.set_ylabel(protocol.label)
    ax.set_title(f'{dataset}: each run (one colour per method)')
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(workdir, f'study_{dataset}_curve.png'), dpi=100)
    plt.close(fig)
  return table


def main(argv):
  del argv
  workdir = cli.open_workdir(_WORKDIR)
  report = {'speed': [], 'hyperparameters': _HYPERPARAMETERS.value, 'epochs': _EPOCHS.value,
            'width': _WIDTH.value}
  for dataset in ('ring8', 'mnist'):
    if not _SPEED_ONLY.value and (dataset not in _DATASETS.value or not _SPEED.value):
      continue
    for strategy in ('vmap', 'unroll'):
      report['speed'].append(speed_comparison(dataset, strategy, steps=_SPEED_STEPS.value))
      s = report['speed'][-1]
      print(f'{dataset}: K={s["k"]} runs x {s["steps"]} steps: sequential '
            f'{s["sequential_seconds"]:.1f} s, {strategy} {s["population_seconds"]:.1f} s, '
            f'speedup {s["speedup"]:.2f}x', flush=True)
  if _SPEED_ONLY.value:
    return
  start = time.perf_counter()
  total_runs = 0
  for dataset in _DATASETS.value:
    rng = np.random.default_rng(0)
    rows = [run_method(dataset, method, rng) for method in _METHODS.value]
    total_runs += sum(len(r['runs']) for r in rows)
    protocol = protocol_of(base_config(dataset))
    table = summarize(dataset, rows, workdir, protocol)
    report[dataset] = {'table': table, 'rows': rows}
    print(f'{dataset}: best / median {protocol.short} per method' +
          (f'; published: {PACGAN_TABLE1[dataset]}' if dataset in PACGAN_TABLE1 else ''))
    for entry in table:
      extra = (f'  mean {entry["mean_modes"]:.1f} modes, {entry["mean_high_quality_percent"]:.1f}% HQ'
               if 'mean_modes' in entry else '')
      print(f'  {entry["method"]:15} best {entry["best"]:8.2f}  median {entry["median"]:8.2f}'
            f'{extra}  ({entry["seconds"]:.0f} s)')
  wall = time.perf_counter() - start
  report['wall_seconds'] = wall
  report['runs'] = total_runs
  report['runs_per_hour'] = total_runs / wall * 3600
  print(f'{total_runs} runs in {wall / 60:.1f} min: {report["runs_per_hour"]:.0f} runs/hour')
  with open(os.path.join(workdir, 'study.json'), 'w') as f:
    json.dump(report, f, indent=2, default=float)


if __name__ == '__main__':
  cli.run(main)
