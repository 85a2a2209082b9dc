"""GAN as structured learning, part 2: graphs. Two GANs and a GraphVAE with the same decoder on
SPECTRE's community_small and planar benchmarks, scored by SPECTRE's metrics: the protocol only
(which runs, which draws, the tables); the GANs are configs of experiments/train.py
(experiments/configs/graphs_<dataset>.py), trained by gan_jax.run.train and scored by the graph
structure (gan_jax/structures/graphs.py), as `experiments/evaluate.py` scores them.

  nice -n 19 taskset -c 1 python experiments/graphs.py \
      --config=experiments/configs/graphs_community_small.py --workdir=workdirs/graphs
  nice -n 19 taskset -c 1 python experiments/graphs.py \
      --config=experiments/configs/graphs_planar.py --workdir=workdirs/graphs

Methods: gan_non_saturating is the dataset's config as it is (the non-saturating loss with R1,
gamma 10: without it D wins outright within 300-1500 steps); gan_wgan_gp the same config with
WGAN-GP's loss, its 5 D steps per G step and weight 10; vae the GraphVAE of gan_jax.lecture with
the same decoder (Adam 1e-3, b1 0.9, beta 1, 32-d codes). Steps were set from measured step
times on one CPU core (community: WGAN-GP ~50 ms, non-saturating ~16 ms, VAE ~7 ms; planar ~135,
~33 and ~13 ms): community_small 10000 / 15000 / 10000 steps, planar 4000 / 8000 / 5000
(WGAN-GP / non-saturating / VAE). Any config field of the GAN runs can be overridden on the
command line (`--config.graphs.d_layers=4`); the VAE reads the decoder and encoder settings
from the same config.

Each GAN run lives in <workdir>/<dataset>_<method> (a workdir of experiments/train.py: resumed
if it exists, so a killed protocol restarts where it was); the VAE's final state is saved in
<workdir>/<dataset>_vae. Sample size: SPECTRE generates one graph per test graph (20 for
community_small, 40 for planar), V.U.N. included; one draw is noisy, so every number is the mean
over --config.graphs.eval_draws draws (std and every draw in the JSON). The GANs are sampled with
their EMA params (the raw params' numbers are in the JSON too). Every model is sampled the same
way: independent Bernoulli draws of each edge and node from the decoder's logits.

Writes <workdir>/graphs_<dataset>.json (every number, the wall time of each method, the
command) and <workdir>/graphs_<dataset>.png (16 test graphs and 16 graphs of each method).
"""

import json
import os
import time

import jax
import jax.numpy as jnp
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from gan_jax import structures  # noqa: E402
from gan_jax.data import graphs as graph_data  # noqa: E402
from gan_jax.errors import ConfigError  # noqa: E402
from gan_jax.lecture import graph_vae  # noqa: E402
from gan_jax.metrics import graphs as graph_metrics  # noqa: E402
from gan_jax.run import cli, evaluation  # noqa: E402
from gan_jax.run.checkpoint import Checkpointer  # noqa: E402
from gan_jax.run.config import adam, validate  # noqa: E402
from gan_jax.run.train import train_and_evaluate  # noqa: E402
from gan_jax.structures.graphs import DATA_SEED, encoded_split  # noqa: E402

METHODS = ('gan_wgan_gp', 'gan_non_saturating', 'vae')
STEPS = {'community_small': {'gan_wgan_gp': 10000, 'gan_non_saturating': 15000, 'vae': 10000},
         'planar': {'gan_wgan_gp': 4000, 'gan_non_saturating': 8000, 'vae': 5000}}

# Published numbers the issue sets as goals (SPECTRE, Martinkus et al. 2022, Table 1; the
# community_small MMDs are under the Gaussian-EMD protocol, SPECTRE's --compute_emd).
REFERENCES = {
    'community_small': {'GraphRNN': {'degree_emd': 0.08, 'clustering_emd': 0.12,
                                     'orbit_emd': 0.04},
                        'SPECTRE': {'degree_emd': 0.02, 'clustering_emd': 0.21,
                                    'orbit_emd': 0.01}},
    'planar': {},
}

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs',
                           'graphs_community_small.py'),
    "The GAN runs' config, whose data.name is the benchmark (experiments/configs/graphs_*.py); "
    'override fields as --config.FIELD=VALUE.', lock_config=True)
_METHODS = flags.DEFINE_list('methods', list(METHODS), f'Any of {list(METHODS)}.')
_WORKDIR = cli.define_workdir('Output folder.')
_STEPS = flags.DEFINE_integer('steps', None, 'Training steps of every method (default: the '
                              "dataset's per-method steps, see STEPS).")
_VAE_LR = flags.DEFINE_float('vae_lr', 1e-3, "The VAE's Adam learning rate (b1 0.9, b2 0.999).")
_LATENT = flags.DEFINE_integer('latent_dim', 32, "The VAE's code dimension.")
_BETA = flags.DEFINE_float('beta', 1.0, "Weight of the VAE's KL term.")


def gan_config(base, method, steps):
  """The dataset's config for one GAN method and length."""
  config = base.copy_and_resolve_references()
  if method == 'gan_wgan_gp':
    config.loss.name, config.loss.penalty, config.loss.penalty_weight = 'wgan_gp', None, None
  config.num_steps = steps
  config.checkpoint_every = min(config.checkpoint_every, steps)
  config.sample_every = min(config.sample_every, steps)
  config.log_every = min(config.log_every, steps)
  validate(config)
  return config


def run_gan(base, method, steps, workdir):
  """Trains (or resumes) one GAN through the trainer; (config, gan, state, seconds)."""
  config = gan_config(base, method, steps)
  start, cpu_start = time.perf_counter(), time.process_time()
  train_and_evaluate(config, workdir, quiet=True)
  seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
  _, gan, state = evaluation.load_run(workdir)
  return config, gan, state, seconds


def run_vae(config, steps, checkpoint_dir):
  """Trains the GraphVAE with the GAN's decoder; returns (model, state, last metrics, seconds)."""
  train_x = encoded_split(config.data.name, 'train', config.graphs.node_order)
  generator, discriminator = structures.get(config).build_models(config, train_x[0])
  model = graph_vae.GraphVAE(
      encoder=graph_vae.GraphEncoder(_LATENT.value, hidden=discriminator.hidden,
                                     layers=discriminator.layers,
                                     triangles=discriminator.triangles,
                                     normalize=discriminator.normalize,
                                     edge_types=discriminator.edge_types),
      decoder=generator, optimizer=adam(_VAE_LR.value, 0.9, 0.999),
      batch_size=config.batch_size, beta=_BETA.value)
  state = graph_vae.create_graph_vae_state(model, jax.random.PRNGKey(config.seed),
                                           jnp.asarray(train_x[0]))
  checkpointer = Checkpointer(checkpoint_dir, keep=1)
  restored = checkpointer.restore_latest(state)
  if restored is not None and int(restored.step) == steps:
    return model, restored, {}, (0.0, 0.0)
  start, cpu_start = time.perf_counter(), time.process_time()
  step_fn = graph_vae.make_train_step(model)
  metrics = {}
  for step in range(steps):
    chosen = graph_data.batch_indices(step, config.batch_size, len(train_x), config.seed)
    state, metrics = step_fn(state, train_x[chosen])
  jax.block_until_ready(state)
  seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
  checkpointer.save(steps, state)
  return model, state, {k: float(v) for k, v in metrics.items()}, seconds


def _floor(config, train, test, planar):
  """The training split scored against the test split: whole, and in draws of the size the
  methods are scored at (the biased MMD depends on the sample size)."""
  size = min(config.graphs.num_generated or len(test), len(train))
  draws = [[train[i] for i in np.random.default_rng([config.seed, 3, d]).choice(
      len(train), size=size, replace=False)] for d in range(config.graphs.eval_draws)]
  scored = graph_metrics.score_draws(draws, test, train, planar)
  return graph_metrics.score(train, test, train, planar), scored, size


def _draw_block(fig, grid, row0, graphs, label, columns=8):
  for i, graph in enumerate(graphs[:2 * columns]):
    ax = fig.add_subplot(grid[row0 + i // columns, i % columns])
    ax.set_axis_off()
    if graph.number_of_nodes():
      layout = nx.spring_layout(graph, seed=0)
      nx.draw_networkx(graph, layout, ax=ax, node_size=6 if graph.number_of_nodes() > 30 else 12,
                       width=0.4, with_labels=False, node_color='tab:blue')
    if i == 0:
      ax.set_title(label, fontsize=8, loc='left')


def save_figure(path, blocks):
  """blocks: [(label, graphs)]; two rows of 8 graphs per block."""
  fig = plt.figure(figsize=(12, 3.0 * len(blocks)))
  grid = fig.add_gridspec(2 * len(blocks), 8)
  for b, (label, graphs) in enumerate(blocks):
    _draw_block(fig, grid, 2 * b, graphs, label)
  fig.savefig(path, dpi=80, bbox_inches='tight')
  plt.close(fig)


COLUMNS = ('degree', 'clustering', 'orbit')


def print_table(dataset, rows, planar):
  head = (f'{"":<20}' + ''.join(f'{c + "_" + p:>15}' for p in ('tv', 'emd') for c in COLUMNS)
          + ('' if not planar else ''.join(f'{c:>8}' for c in ('valid', 'unique', 'novel', 'vun')))
          + f'{"nodes":>7}{"edges":>7}{"CPU s":>9}')
  print(f'\n{dataset}: MMD^2 to the test split (mean over draws)\n{head}')
  for name, metrics, seconds in rows:
    line = f'{name:<20}' + ''.join(f'{metrics[c + "_" + p]:>15.5f}' for p in ('tv', 'emd')
                                   for c in COLUMNS)
    if planar:
      line += ''.join(f'{metrics.get(c, float("nan")):>8.3f}'
                      for c in ('valid', 'unique', 'novel', 'vun'))
    line += f'{metrics["mean_nodes"]:>7.1f}{metrics["mean_edges"]:>7.1f}'
    line += f'{seconds:>9.0f}' if seconds is not None else f'{"":>9}'
    print(line)


def main(argv):
  del argv
  total_start = time.perf_counter()
  base = cli.config_value(_CONFIG)
  dataset = base.data.name
  if dataset not in STEPS:
    raise ConfigError(f'--config trains on {dataset!r}; this protocol knows {sorted(STEPS)}')
  methods = [m.strip() for m in _METHODS.value if m.strip()]
  unknown = [m for m in methods if m not in METHODS]
  if unknown or not methods:
    raise ConfigError(f'unknown methods {unknown}; choose from {list(METHODS)}')
  validate(base)
  workdir = os.path.abspath(_WORKDIR.value)
  os.makedirs(workdir, exist_ok=True)
  structure = structures.get(base)
  planar = graph_data.spec(dataset).planar
  train = graph_data.load_graphs(dataset, 'train', DATA_SEED)
  test = graph_data.load_graphs(dataset, 'test', DATA_SEED)
  report = {
      'command': cli.command_line(), 'dataset': dataset, 'config': base.to_dict(),
      'splits': {s: len(graph_data.load_graphs(dataset, s, DATA_SEED)) for s in graph_data.SPLITS},
      'references': REFERENCES[dataset], 'methods': {}}
  start = time.perf_counter()
  report['floor'], floor_draws, size = _floor(base, train, test, planar)
  report['floor_sampled'] = floor_draws['metrics']
  report['floor_sampled_std'] = floor_draws['metrics_std']
  report['floor_seconds'] = time.perf_counter() - start
  print(f'{dataset}: {len(train)} train / {len(test)} test graphs, node order '
        f'{base.graphs.node_order}; {base.graphs.eval_draws} draws of {size} generated graphs '
        'per method', flush=True)
  rows = [(f'floor (all {len(train)} train)', report['floor'], None),
          (f'floor ({size} train)', report['floor_sampled'], None)]
  blocks = [('test graphs', test[:16])]
  for method in methods:
    steps = _STEPS.value if _STEPS.value is not None else STEPS[dataset][method]
    run_dir = os.path.join(workdir, f'{dataset}_{method}')
    print(f'{method}: {steps} steps, batch {base.batch_size}', flush=True)
    entry = {'steps': steps, 'checkpoint': run_dir}
    if method == 'vae':
      model, state, last, seconds = run_vae(base, steps, run_dir)
      samplers = {prefix: (lambda n, s, t=threshold: np.asarray(graph_vae.sample_graphs(
                      model, state.params, jax.random.PRNGKey(s), n, threshold=t)))
                  for prefix, threshold in (('', False), ('threshold_', True))}
      entry['final_train_metrics'] = last
    else:
      config, gan, state, seconds = run_gan(base, method, steps, run_dir)
      samplers = {prefix: (lambda n, s, g=generator: structure.sample(gan, state, config, n, s, g))
                  for prefix, generator in (('', 'ema'), ('raw_', 'raw'))}
    seconds, cpu_seconds = seconds
    entry.update(train_seconds=seconds, train_cpu_seconds=cpu_seconds)
    eval_start, eval_cpu_start = time.perf_counter(), time.process_time()
    for prefix, sampler in samplers.items():
      scored, first = structure.evaluate_draws(sampler, base, base.seed)
      entry.update({prefix + k: v for k, v in scored.items()})
      if not prefix:
        blocks.append((f'{method} (first draw)', first[:16]))
    entry['eval_seconds'] = time.perf_counter() - eval_start
    entry['eval_cpu_seconds'] = time.process_time() - eval_cpu_start
    entry['wall_seconds'] = seconds + entry['eval_seconds']
    entry['cpu_seconds'] = cpu_seconds + entry['eval_cpu_seconds']
    print(f'{method}: trained in {seconds:.0f} s ({cpu_seconds:.0f} s CPU), evaluated in '
          f'{entry["eval_seconds"]:.0f} s ({entry["eval_cpu_seconds"]:.0f} s CPU)', flush=True)
    report['methods'][method] = entry
    rows.append((method, entry['metrics'], entry['cpu_seconds']))
  figure = os.path.join(workdir, f'graphs_{dataset}.png')
  save_figure(figure, blocks)
  report['figure'] = figure
  report['total_seconds'] = time.perf_counter() - total_start
  report['total_cpu_seconds'] = time.process_time()   # of this process, imports included
  with open(os.path.join(workdir, f'graphs_{dataset}.json'), 'w') as f:
    json.dump(report, f, indent=2, default=float)
  print_table(dataset, rows, planar)
  for name, reference in REFERENCES[dataset].items():
    print(f'{name} (published): ' + ', '.join(f'{k} {v}' for k, v in reference.items()))
  print(f'total {report["total_seconds"]:.0f} s wall, {report["total_cpu_seconds"]:.0f} s CPU '
        '(the wall time includes waiting for a shared core)', flush=True)


if __name__ == '__main__':
  cli.run(main)
