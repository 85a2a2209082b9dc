"""GAN as structured learning, part 2: graphs. Two GANs and a GraphVAE with the same decoder on
SPECTRE's community_small and planar benchmarks, scored by SPECTRE's metrics.

The runs reported (each under 30 minutes on one core; the script prints the times):

  nice -n 19 taskset -c 1 python experiments/graphs.py --dataset=community_small \
      --workdir=workdirs/graphs
  nice -n 19 taskset -c 1 python experiments/graphs.py --dataset=planar --workdir=workdirs/graphs

Defaults (DEFAULTS below; every one is a flag): Adam (b1 0.5, b2 0.9) at 1e-4 for G and D, as
WGAN-GP's paper; WGAN-GP with its 5 D steps per G step and weight 10; the non-saturating GAN
with an R1 penalty (gamma 10: without one its D wins outright within 300-1500 steps and G
stops learning, see --ns_penalty=none); the VAE with Adam 1e-3 (b1 0.9), beta 1, 32-d codes.
G: MLP 128-256-512, z 32-d; the node count drawn from the training split's histogram and given
to the MLP (--node_counts=data; with learned per-node existence the GANs fell into empty graphs
or too few nodes). D and encoder: 3 message-passing layers of width 64, layer-normalised, with
triangle and clustering node features. Batch 32 (community_small, 64 training graphs) or 16
(planar, 64-node graphs). Steps were set from measured step times on one CPU core (community:
WGAN-GP ~50 ms, non-saturating ~16 ms, VAE ~7 ms; planar ~135, ~33 and ~13 ms) so that the three
methods and their evaluation fit in about 15 minutes, half the 30-minute budget, leaving room
for a loaded machine: community_small 10000 / 15000 / 10000 steps, planar 4000 / 8000 / 5000
(WGAN-GP / non-saturating / VAE).

For each method: train (GANs by gan_jax.core.steps.make_train_step, the VAE by
gan_jax.models.graph_vae.make_train_step; batches are a pure function of the step: a seeded
permutation of the training split per epoch), save the final state with gan_jax.run.checkpoint
(<workdir>/checkpoints/graphs_<dataset>/<method>; --reuse_checkpoints evaluates those instead of
training), sample graphs, decode them and score them with gan_jax.metrics.graphs.graph_metrics
against the test split (the training split for novelty). The floor is the training split scored
against the test split the same way.

Sample size: SPECTRE generates one graph per test graph (its test_step runs the generator on
each batch of the test dataloader), so --num_generated defaults to the test split's size (20 for
community_small, 40 for planar), V.U.N. included. One draw of 20 graphs is noisy, so every
number is the mean over --eval_draws independent draws of that size (the std and every draw are
in the JSON). The GANs are sampled with their EMA params; the raw params' numbers are in the
JSON too. Every model is sampled the same way: independent Bernoulli draws of each edge and node
from the decoder's logits (gan_jax.core.steps.generate with a 'sample' key).

Node order (the fixed order of the encoding; see gan_jax/models/graph_vae.py on why it matters
for the VAE's loss): 'data' keeps each dataset's generation order (community_small: the first
community's nodes, then the second's, each in networkx's gnp order; planar: the order of the
uniform random points, i.e. no structure), 'bfs' relabels each graph in Cuthill-McKee order (a
breadth-first search from a lowest-degree node, neighbours by increasing degree), which makes
the adjacency matrix banded. The metrics do not depend on it.

Writes <workdir>/graphs_<dataset>.json (every number, the wall time of each method, the
command) and <workdir>/graphs_<dataset>.png (16 test graphs and 16 graphs of each method).
"""

import json
import os
import shlex
import shutil
import sys
import time

import jax
import jax.numpy as jnp
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from gan_jax import keys  # noqa: E402
from gan_jax.run import cli  # noqa: E402
from gan_jax.run.checkpoint import Checkpointer  # noqa: E402
from gan_jax.run.config import adam  # noqa: E402
from gan_jax.data import graphs as graph_data  # noqa: E402
from gan_jax.errors import ConfigError  # noqa: E402
from gan_jax.core.objectives import get_objective  # noqa: E402
from gan_jax.metrics import graphs as graph_metrics_lib  # noqa: E402
from gan_jax.lecture import graph_vae  # noqa: E402
from gan_jax.models.graphs import GraphDiscriminator, GraphGenerator  # noqa: E402
from gan_jax.core.state import GAN, create_state  # noqa: E402
from gan_jax.core.steps import generate, make_train_step  # noqa: E402

METHODS = ('gan_wgan_gp', 'gan_non_saturating', 'vae')

# The defaults of each dataset (any flag given on the command line overrides them).
# steps: G updates for a GAN, Adam steps for the VAE.
DEFAULTS = {
    'community_small': dict(
        steps={'gan_wgan_gp': 10000, 'gan_non_saturating': 15000, 'vae': 10000},
        batch_size=32, g_lr=1e-4, d_lr=1e-4, vae_lr=1e-3, z_dim=32, g_hidden='128,256,512',
        d_hidden=64, d_layers=3, edge_types=0, latent_dim=32, node_order='data'),
    'planar': dict(
        steps={'gan_wgan_gp': 4000, 'gan_non_saturating': 8000, 'vae': 5000},
        batch_size=16, g_lr=1e-4, d_lr=1e-4, vae_lr=1e-3, z_dim=32, g_hidden='128,256,512',
        d_hidden=64, d_layers=3, edge_types=0, latent_dim=32, node_order='bfs'),
}

# Published numbers the issue sets as goals (SPECTRE, Martinkus et al. 2022, Table 1; the
# community_small MMDs are under the Gaussian-EMD protocol, SPECTRE's --compute_emd).
REFERENCES = {
    'community_small': {'GraphRNN': {'degree_emd': 0.08, 'clustering_emd': 0.12,
                                     'orbit_emd': 0.04},
                        'SPECTRE': {'degree_emd': 0.02, 'clustering_emd': 0.21,
                                    'orbit_emd': 0.01}},
    'planar': {},
}

_DATASET = flags.DEFINE_enum('dataset', 'community_small', sorted(graph_data.GRAPH_DATASETS),
                             'SPECTRE benchmark.')
_METHODS = flags.DEFINE_list('methods', list(METHODS), f'Any of {list(METHODS)}.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Output folder.', required=True)
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the models, the batches and the samples '
                             '(the dataset itself is always seed 0, as the tests see it).')
_STEPS = flags.DEFINE_integer('steps', None, 'Training steps of every method (default: the '
                              "dataset's per-method steps, see DEFAULTS).")
_BATCH = flags.DEFINE_integer('batch_size', None, 'Graphs per step.')
_NUM_GENERATED = flags.DEFINE_integer('num_generated', None,
                                      'Graphs per evaluation draw (default: the test split size, '
                                      'as SPECTRE).')
_EVAL_DRAWS = flags.DEFINE_integer('eval_draws', 5, 'Independent draws of num_generated graphs '
                                   'each method is scored on (mean reported).')
_G_LR = flags.DEFINE_float('g_lr', None, "G's Adam learning rate (b1 0.5, b2 0.9).")
_D_LR = flags.DEFINE_float('d_lr', None, "D's Adam learning rate (b1 0.5, b2 0.9).")
_VAE_LR = flags.DEFINE_float('vae_lr', None, "The VAE's Adam learning rate (b1 0.9, b2 0.999).")
_Z_DIM = flags.DEFINE_integer('z_dim', None, "The GANs' noise dimension.")
_LATENT = flags.DEFINE_integer('latent_dim', None, "The VAE's code dimension.")
_G_HIDDEN = flags.DEFINE_string('g_hidden', None, "The decoder MLP's widths (G and the VAE's).")
_D_HIDDEN = flags.DEFINE_integer('d_hidden', None, "D's (and the VAE encoder's) width.")
_D_LAYERS = flags.DEFINE_integer('d_layers', None, 'Message-passing layers of D and encoder.')
_TRIANGLES = flags.DEFINE_boolean('triangles', True, 'Triangle count and clustering '
                                  'coefficient as input node features of D and the encoder.')
_EDGE_TYPES = flags.DEFINE_integer('edge_types', None, 'Edge types by triangle count in D '
                                   'and the encoder (GraphTrunk.edge_types; 0 = none).')
_NORMALIZE = flags.DEFINE_boolean('normalize', True, 'Layer-normalised node states and '
                                  'sum pool / N in D and the encoder (GraphTrunk.normalize).')
_NS_PENALTY = flags.DEFINE_enum('ns_penalty', 'r1', ['none', 'r1'], "gan_non_saturating's "
                                 "penalty on D: 'r1' (Mescheder et al. 2018, weight "
                                 "--ns_penalty_weight) or 'none' (the plain objective).")
_NS_PENALTY_WEIGHT = flags.DEFINE_float('ns_penalty_weight', 10.0, 'R1 gamma.')
_NODE_COUNTS = flags.DEFINE_enum('node_counts', 'data', ['data', 'learned'], "How the "
                                  "decoder (G's and the VAE's) gets the number of nodes: 'data' "
                                  "draws it from the training split's histogram (as SPECTRE "
                                  "samples n) and conditions on it; 'learned': one existence "
                                  'logit per node.')
_NODE_ORDER = flags.DEFINE_enum('node_order', None, ['data', 'bfs'], 'Node order of the '
                                'encoding (default: data for community_small, bfs for planar).')
_EMA = flags.DEFINE_float('ema_decay', 0.999, "Decay of the GANs' generator EMA.")
_BETA = flags.DEFINE_float('beta', 1.0, "Weight of the VAE's KL term.")
_REUSE = flags.DEFINE_boolean('reuse_checkpoints', False, 'Evaluate the checkpoints a previous '
                              'run of the same command saved instead of training.')


def _setting(name, flag):
  value = flag.value
  return DEFAULTS[_DATASET.value][name] if value is None else value


def _steps(method):
  return _STEPS.value if _STEPS.value is not None else DEFAULTS[_DATASET.value]['steps'][method]


def order_nodes(graph: nx.Graph, order: str) -> nx.Graph:
  """The graph relabelled 0..n-1 in `order` ('data': unchanged; 'bfs': Cuthill-McKee)."""
  if order == 'data':
    return graph
  ranked = list(nx.utils.cuthill_mckee_ordering(graph))
  relabelled = nx.relabel_nodes(graph, {v: i for i, v in enumerate(ranked)})
  out = nx.empty_graph(len(ranked))
  out.add_edges_from(relabelled.edges())
  return out


def batch_indices(step: int, count: int, num_train: int, seed: int) -> np.ndarray:
  """The training graphs of `step`: `count` consecutive places of an endless sequence of
  epochs, each a permutation of the training split drawn from (seed, epoch). Pure in step."""
  places = step * count + np.arange(count)
  epochs = places // num_train
  out = np.empty(count, np.int64)
  for epoch in np.unique(epochs):
    permutation = np.random.default_rng([seed, 2, int(epoch)]).permutation(num_train)
    chosen = epochs == epoch
    out[chosen] = permutation[places[chosen] % num_train]
  return out


def _log_line(method, step, steps, metrics, start):
  values = ' '.join(f'{k} {float(v):.4g}' for k, v in sorted(metrics.items()))
  print(f'  [{method}] step {step}/{steps} ({time.perf_counter() - start:.0f} s): {values}',
        flush=True)


def node_count_distribution(train_x):
  """P(n = 1..N) of the training split, or None for learned node existence (--node_counts)."""
  if _NODE_COUNTS.value == 'learned':
    return None
  counts = np.diagonal(train_x, axis1=1, axis2=2).sum(1).astype(np.int64)
  histogram = np.bincount(counts - 1, minlength=train_x.shape[-1])
  return tuple(float(p) for p in histogram / histogram.sum())


def make_decoder(train_x):
  return GraphGenerator(train_x.shape[-1],
                        hidden=tuple(int(w) for w in _setting('g_hidden', _G_HIDDEN).split(',')),
                        node_counts=node_count_distribution(train_x))


def _reused_or_fresh(state, checkpoint_dir):
  """(checkpointer, the saved state of an earlier run with --reuse_checkpoints, else None after
  clearing the folder: a fresh run replaces an older one)."""
  checkpointer = Checkpointer(checkpoint_dir, keep=1)
  if not _REUSE.value:
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return checkpointer, None
  restored = checkpointer.restore_latest(state)
  if restored is None:
    raise ConfigError(f'--reuse_checkpoints: no checkpoint in {checkpoint_dir}')
  return checkpointer, restored


def train_gan(method, train_x, steps, batch_size, checkpoint_dir, seed):
  """Trains one GAN; returns (gan, state, last metrics, seconds)."""
  name = method[len('gan_'):]
  objective = get_objective(name)
  if name == 'non_saturating' and _NS_PENALTY.value != 'none':
    objective = get_objective(name, _NS_PENALTY.value, _NS_PENALTY_WEIGHT.value)
  gan = GAN(
      generator=make_decoder(train_x),
      discriminator=GraphDiscriminator(hidden=_setting('d_hidden', _D_HIDDEN),
                                       layers=_setting('d_layers', _D_LAYERS),
                                       triangles=_TRIANGLES.value,
                                       normalize=_NORMALIZE.value,
                                       edge_types=_setting('edge_types', _EDGE_TYPES)),
      g_optimizer=adam(_setting('g_lr', _G_LR), 0.5, 0.9),
      d_optimizer=adam(_setting('d_lr', _D_LR), 0.5, 0.9),
      objective=objective, z_dim=_setting('z_dim', _Z_DIM), batch_size=batch_size,
      n_critic=objective.n_critic, ema_decay=_EMA.value, joint_d_call=True)
  state = create_state(gan, jax.random.PRNGKey(seed), jnp.asarray(train_x[0]))
  checkpointer, restored = _reused_or_fresh(state, checkpoint_dir)
  if restored is not None:
    return gan, restored, {}, (0.0, 0.0)
  start, cpu_start = time.perf_counter(), time.process_time()
  metrics = {}
  step_fn = make_train_step(gan)
  count = gan.n_critic * batch_size
  for step in range(steps):
    batch = train_x[batch_indices(step, count, len(train_x), seed)]
    state, metrics = step_fn(state, batch.reshape((gan.n_critic, batch_size) + batch.shape[1:]))
    if (step + 1) % max(1, steps // 5) == 0 or step + 1 == steps:
      _log_line(method, step + 1, steps, metrics, start)
  jax.block_until_ready(state)
  seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
  checkpointer.save(steps, state)
  return gan, state, {k: float(v) for k, v in metrics.items()}, seconds


def train_vae(train_x, steps, batch_size, checkpoint_dir, seed):
  """Trains the GraphVAE; returns (model, state, last metrics, seconds)."""
  model = graph_vae.GraphVAE(
      encoder=graph_vae.GraphEncoder(_setting('latent_dim', _LATENT),
                                     hidden=_setting('d_hidden', _D_HIDDEN),
                                     layers=_setting('d_layers', _D_LAYERS),
                                     triangles=_TRIANGLES.value,
                                     normalize=_NORMALIZE.value,
                                     edge_types=_setting('edge_types', _EDGE_TYPES)),
      decoder=make_decoder(train_x),
      optimizer=adam(_setting('vae_lr', _VAE_LR), 0.9, 0.999), batch_size=batch_size,
      beta=_BETA.value)
  state = graph_vae.create_graph_vae_state(model, jax.random.PRNGKey(seed),
                                           jnp.asarray(train_x[0]))
  checkpointer, restored = _reused_or_fresh(state, checkpoint_dir)
  if restored is not None:
    return model, restored, {}, (0.0, 0.0)
  start, cpu_start = time.perf_counter(), time.process_time()
  metrics = {}
  step_fn = graph_vae.make_train_step(model)
  for step in range(steps):
    state, metrics = step_fn(state, train_x[batch_indices(step, batch_size, len(train_x), seed)])
    if (step + 1) % max(1, steps // 5) == 0 or step + 1 == steps:
      _log_line('vae', step + 1, steps, metrics, start)
  jax.block_until_ready(state)
  seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
  checkpointer.save(steps, state)
  return model, state, {k: float(v) for k, v in metrics.items()}, seconds


def _summary(graphs):
  graphs = [g for g in graphs if g.number_of_nodes() > 0]
  if not graphs:
    return {'mean_nodes': 0.0, 'mean_edges': 0.0, 'connected': float('nan')}
  return {'mean_nodes': float(np.mean([g.number_of_nodes() for g in graphs])),
          'mean_edges': float(np.mean([g.number_of_edges() for g in graphs])),
          'connected': float(np.mean([nx.is_connected(g) for g in graphs]))}


def score(generated, test, train, planar):
  """graph_metrics plus size summaries; for community_small also uniqueness and novelty."""
  out = graph_metrics_lib.graph_metrics(generated, test, train, planar=planar)
  if not planar:
    fractions = graph_metrics_lib.vun(generated, train, is_valid=lambda g: True)
    out['unique'], out['novel'] = fractions['unique'], fractions['novel']
  out.update(_summary(generated))
  return out


def evaluate(sampler, num_generated, draws, test, train, planar, seed):
  """Mean, std and per-draw metrics over `draws` draws of `num_generated` graphs each; and the
  first draw's graphs (for the figure). sampler(key, n) -> (n, N, N) 0/1 array."""
  per_draw, first = [], None
  base = jax.random.fold_in(jax.random.PRNGKey(seed), keys.EVAL)
  for draw in range(draws):
    graphs = graph_data.decode(np.asarray(sampler(jax.random.fold_in(base, draw),
                                                  num_generated)))
    first = graphs if first is None else first
    per_draw.append(score(graphs, test, train, planar))
  names = per_draw[0].keys()
  mean = {k: float(np.mean([d[k] for d in per_draw])) for k in names}
  std = {k: float(np.std([d[k] for d in per_draw])) for k in names}
  return {'metrics': mean, 'metrics_std': std, 'metrics_per_draw': per_draw}, first


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
  dataset = _DATASET.value
  methods = [m.strip() for m in _METHODS.value if m.strip()]
  unknown = [m for m in methods if m not in METHODS]
  if unknown or not methods:
    raise ConfigError(f'unknown methods {unknown}; choose from {list(METHODS)}')
  workdir = os.path.abspath(_WORKDIR.value)
  os.makedirs(workdir, exist_ok=True)
  planar = dataset == 'planar'
  spec = graph_data.GRAPH_DATASETS[dataset]
  order = _setting('node_order', _NODE_ORDER)
  batch_size = _setting('batch_size', _BATCH)
  train = graph_data.load_graphs(dataset, 'train')
  test = graph_data.load_graphs(dataset, 'test')
  train_x = graph_data.encode([order_nodes(g, order) for g in train], spec.n_max)
  num_generated = _NUM_GENERATED.value or len(test)
  draws = _EVAL_DRAWS.value
  if num_generated < 1 or draws < 1 or batch_size < 1:
    raise ConfigError('--num_generated, --eval_draws and --batch_size must be positive')
  seed = _SEED.value
  settings = {name: _setting(name, flag) for name, flag in (
      ('batch_size', _BATCH), ('g_lr', _G_LR), ('d_lr', _D_LR), ('vae_lr', _VAE_LR),
      ('z_dim', _Z_DIM), ('latent_dim', _LATENT), ('g_hidden', _G_HIDDEN),
      ('d_hidden', _D_HIDDEN), ('d_layers', _D_LAYERS), ('edge_types', _EDGE_TYPES),
      ('node_order', _NODE_ORDER))}
  settings.update(triangles=_TRIANGLES.value, normalize=_NORMALIZE.value,
                  node_counts=_NODE_COUNTS.value, ns_penalty=_NS_PENALTY.value,
                  ns_penalty_weight=_NS_PENALTY_WEIGHT.value, ema_decay=_EMA.value,
                  beta=_BETA.value, seed=seed, num_generated=num_generated, eval_draws=draws)
  report = {
      'command': 'python ' + ' '.join(shlex.quote(a) for a in sys.argv),
      'dataset': dataset, 'settings': settings,
      'splits': {s: len(graph_data.load_graphs(dataset, s)) for s in graph_data.SPLITS},
      'references': REFERENCES[dataset], 'methods': {}}
  print(f'{dataset}: {len(train)} train / {len(test)} test graphs, N = {spec.n_max}, node order '
        f'{order}; {draws} draws of {num_generated} generated graphs per method', flush=True)
  start = time.perf_counter()
  report['floor'] = score(train, test, train, planar)
  # The biased MMD depends on the sample size (the i = j terms), so the floor that compares
  # with the methods' numbers scores draws of num_generated training graphs the same way.
  floor_draws = []
  for draw in range(draws):
    chosen = np.random.default_rng([seed, 3, draw]).choice(
        len(train), size=min(num_generated, len(train)), replace=False)
    floor_draws.append(score([train[i] for i in chosen], test, train, planar))
  report['floor_sampled'] = {k: float(np.mean([d[k] for d in floor_draws]))
                             for k in floor_draws[0]}
  report['floor_sampled_std'] = {k: float(np.std([d[k] for d in floor_draws]))
                                 for k in floor_draws[0]}
  report['floor_seconds'] = time.perf_counter() - start
  rows = [(f'floor (all {len(train)} train)', report['floor'], None),
          (f'floor ({min(num_generated, len(train))} train)', report['floor_sampled'], None)]
  blocks = [('test graphs', test[:16])]
  for method in methods:
    steps = _steps(method)
    checkpoint_dir = os.path.join(workdir, 'checkpoints', f'graphs_{dataset}', method)
    print(f'{method}: {steps} steps, batch {batch_size}', flush=True)
    entry = {'steps': steps, 'checkpoint': checkpoint_dir}
    if method == 'vae':
      model, state, last, seconds = train_vae(train_x, steps, batch_size, checkpoint_dir, seed)
      params = state.params
      samplers = {'': lambda key, n: graph_vae.sample_graphs(model, params, key, n),
                  'threshold_': lambda key, n: graph_vae.sample_graphs(model, params, key, n,
                                                                       threshold=True)}
      z_dim = model.latent_dim
    else:
      gan, state, last, seconds = train_gan(method, train_x, steps, batch_size, checkpoint_dir,
                                            seed)
      z_dim = gan.z_dim

      def gan_sampler(key, n, use_ema):
        z_key, sample_key = jax.random.split(key)
        z = jax.random.normal(z_key, (n, z_dim))
        return generate(gan, state, z, use_ema=use_ema, key=sample_key)
      samplers = {'': lambda key, n: gan_sampler(key, n, True),
                  'raw_': lambda key, n: gan_sampler(key, n, False)}
    (seconds, cpu_seconds) = seconds
    entry.update(train_seconds=seconds, train_cpu_seconds=cpu_seconds, final_train_metrics=last)
    eval_start, eval_cpu_start = time.perf_counter(), time.process_time()
    for prefix, sampler in samplers.items():
      sampler = jax.jit(sampler, static_argnums=1)
      result, graphs = evaluate(sampler, num_generated, draws, test, train, planar, seed)
      entry.update({prefix + k: v for k, v in result.items()})
      if not prefix:
        blocks.append((f'{method} (first draw)', graphs[:16]))
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
  path = os.path.join(workdir, f'graphs_{dataset}.json')
  with open(path, 'w') as f:
    json.dump(report, f, indent=2)
  print_table(dataset, rows, planar)
  for name, reference in REFERENCES[dataset].items():
    print(f'{name} (published): ' + ', '.join(f'{k} {v}' for k, v in reference.items()))
  print(f'total {report["total_seconds"]:.0f} s wall, {report["total_cpu_seconds"]:.0f} s CPU '
        '(the wall time includes waiting for a shared core); '
        f'wrote {path} and {figure}', flush=True)


if __name__ == '__main__':
  cli.run(main)
