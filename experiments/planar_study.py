"""Issue 25: a graph GAN whose generator sees its own partial graph (RefineGraphGenerator) against
a PPGN critic (PPGNDiscriminator), both in gan_jax/models/graph_refine.py, on SPECTRE's planar
benchmark (and, with --dataset=community_small, on community-small), trained through
gan_jax.core.steps.make_train_step for a wall-clock budget of training seconds.

  nice -n 5 taskset -c 1 python experiments/planar_study.py --dataset=planar \
      --workdir=workdirs/planar/main --train_minutes=60 --eval_minutes=7.5
  nice -n 5 taskset -c 1 python experiments/planar_study.py --dataset=community_small \
      --workdir=workdirs/planar/community --train_minutes=8 --eval_minutes=4

--g_triples=8 --g_rounds=0 gives G edges that look at every third node (`_TripleEdgeTerm`:
messages from the latent triangles (p_i, p_j, p_k), max-pooled over k): positions first, then
every edge from them (SPECTRE's staging with a latent drawing in place of eigenvectors).

Every --eval_minutes of training (the clock stops while evaluating) and at the end, with the
EMA generator and Bernoulli draws in every refinement round (the model's distribution):
- V.U.N. on --vun_graphs (1000) generated graphs (gan_jax.metrics.graphs.vun against the
  training split), and the share of their edges that lie in exactly two triangles;
- SPECTRE's protocol: --eval_draws (5) draws of as many graphs as the test split (40), each
  scored by `score` (gan_jax.metrics.graphs; TV and EMD MMDs of degree / clustering / orbits to the
  test split, V.U.N.), mean and std over the draws; the floor scores draws of as many training
  graphs against the test split the same way (and all training graphs), and the ratios are
  generated / floor (sampled floor, same sample size).
Writes <workdir>/<dataset>_study.json (settings, the curve of V.U.N. vs training seconds, every
evaluation, the floor), <workdir>/<dataset>_generated.npy (the last evaluation's generated
graphs, (N, n_max, n_max) float32, adjacency off the diagonal, node existence on it), the EMA
params (<dataset>_ema_params.msgpack) and a figure of 16 test and 16 generated graphs.

Validity is never checked during training or sampling: the planarity test is the metric's alone.
"""

import json
import os
import shlex
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
from flax import serialization  # noqa: E402

from gan_jax import keys  # noqa: E402
from gan_jax.core.objectives import get_objective  # noqa: E402
from gan_jax.core.state import GAN, count_params, create_state  # noqa: E402
from gan_jax.core.steps import make_train_step  # noqa: E402
from gan_jax.data import graphs as graph_data  # noqa: E402
from gan_jax.metrics import graphs as graph_metrics_lib  # noqa: E402
from gan_jax.models.graph_refine import PPGNDiscriminator, RefineGraphGenerator  # noqa: E402
from gan_jax.run import cli  # noqa: E402
from gan_jax.run.config import adam  # noqa: E402

FLAGS = flags.FLAGS
# The protocol's shared helpers: `batch_indices` (the training graphs of a step, a pure function
# of it) and `score` (graph_metrics plus size summaries), in gan_jax.data.graphs and
# gan_jax.metrics.graphs; in older trees both lived in experiments/graphs.py, whose import also
# defines --dataset, --workdir and --seed (then shared with this script, not defined again).
try:
  from gan_jax.data.graphs import batch_indices  # noqa: E402
  from gan_jax.metrics.graphs import score  # noqa: E402
except ImportError:
  from experiments.graphs import batch_indices, score  # noqa: E402


def _define(define, name, *args, **kwargs):
  if name not in FLAGS:
    define(name, *args, **kwargs)


_define(flags.DEFINE_enum, 'dataset', 'planar', sorted(graph_data.GRAPH_DATASETS),
        'SPECTRE benchmark.')
_define(flags.DEFINE_string, 'workdir', None, 'Output folder.')
_define(flags.DEFINE_integer, 'seed', 0, 'Seed of the models, the batches and the samples.')
_TRAIN_MINUTES = flags.DEFINE_float('train_minutes', 10.0, 'Training budget (wall clock, '
                                    'evaluations excluded).')
_MAX_STEPS = flags.DEFINE_integer('max_steps', 10 ** 9, 'Stop after this many G steps.')
_EVAL_MINUTES = flags.DEFINE_float('eval_minutes', 5.0, 'Evaluate every this many minutes of '
                                   'training.')
_VUN_GRAPHS = flags.DEFINE_integer('vun_graphs', 1000, 'Generated graphs for V.U.N.')
_STUDY_DRAWS = flags.DEFINE_integer('study_draws', 5, 'Draws of test-split-size samples.')
_LOSS = flags.DEFINE_string('loss', 'non_saturating', 'gan_jax.core.objectives name.')
_PENALTY = flags.DEFINE_string('penalty', 'r1', "Penalty on D ('none', 'r1', ...).")
_PENALTY_WEIGHT = flags.DEFINE_float('penalty_weight', 1.0, 'Penalty weight (R1 gamma).')
_N_CRITIC = flags.DEFINE_integer('n_critic', 1, 'D steps per G step.')
_LR_G = flags.DEFINE_float('lr_g', 4e-4, "G's Adam learning rate (b1 0.5, b2 0.9).")
_LR_D = flags.DEFINE_float('lr_d', 4e-4, "D's Adam learning rate (b1 0.5, b2 0.9).")
_BSZ = flags.DEFINE_integer('bsz', 16, 'Graphs per step.')
_G_HIDDEN_REFINE = flags.DEFINE_integer('g_width', 64, "G's node-state width.")
_G_PAIR = flags.DEFINE_integer('g_pair', 32, "G's pairwise-MLP width.")
_G_POS = flags.DEFINE_integer('g_position_dim', 4, "G's latent position dims (0: none).")
_G_SET = flags.DEFINE_integer('g_set_layers', 2, "G's self-attention layers before round 0.")
_G_ROUNDS = flags.DEFINE_integer('g_rounds', 2, 'Refinement rounds after the first draw.')
_G_TRIPLES = flags.DEFINE_integer('g_triples', 0, "Channels of G's edge term over third nodes "
                                  '(max-pooled messages from latent triangles; 0: off).')
_G_NODE_NOISE = flags.DEFINE_integer('g_node_noise', 8, 'Per-node noise dims.')
_G_TEMP = flags.DEFINE_float('g_temperature', 1.0, 'Binary Concrete temperature.')
_D_WIDTH = flags.DEFINE_integer('d_width', 16, "PPGN channels.")
_D_BLOCKS = flags.DEFINE_integer('d_blocks', 3, 'PPGN blocks.')
_EMA_DECAY = flags.DEFINE_float('ema', 0.999, "G's EMA decay.")
_DECODE = flags.DEFINE_enum('decode', 'sample', ['sample', 'threshold'],
                            "'sample': Bernoulli edges, the model's distribution; 'threshold': "
                            "every edge of probability > 1/2, G's most likely graph for its z "
                            '(one graph size only; a separate row, never the headline).')
_EVAL_ONLY = flags.DEFINE_bool('eval_only', False, 'Score the EMA params a finished run saved in '
                               '--workdir (with --decode); writes <dataset>_study_<decode>.json.')


def edges_in_two_triangles(graphs) -> float:
  """Share of all edges (pooled over the graphs) with exactly 2 common neighbours."""
  inside, total = 0, 0
  for g in graphs:
    a = nx.to_numpy_array(g, weight=None)
    common = a @ a
    inside += int(((common == 2) & (a > 0)).sum())
    total += int((a > 0).sum())
  return inside / max(total, 1)


def make_gan(train_x):
  n_max = train_x.shape[-1]
  counts = np.diagonal(train_x, axis1=1, axis2=2).sum(1).astype(np.int64)
  histogram = np.bincount(counts - 1, minlength=n_max)
  node_counts = tuple(float(p) for p in histogram / histogram.sum())
  # The first draw starts at the data's edge density (existing pairs): dense random graphs
  # at init give D logits in the hundreds and G gradients of 1e4.
  edges = (train_x.sum((1, 2)) - counts).sum() / 2
  density = float(edges / (counts * (counts - 1) / 2).sum())
  generator = RefineGraphGenerator(
      n_max, node_counts, node_noise=_G_NODE_NOISE.value, hidden=_G_HIDDEN_REFINE.value,
      pair_hidden=_G_PAIR.value, position_dim=_G_POS.value, set_layers=_G_SET.value,
      rounds=_G_ROUNDS.value, temperature=_G_TEMP.value, triples=_G_TRIPLES.value,
      edge_prior=float(np.log(density / (1 - density))))
  penalty = None if _PENALTY.value == 'none' else _PENALTY.value
  objective = get_objective(_LOSS.value, penalty,
                            _PENALTY_WEIGHT.value if penalty else None)
  return GAN(generator=generator,
             discriminator=PPGNDiscriminator(hidden=_D_WIDTH.value, blocks=_D_BLOCKS.value),
             g_optimizer=adam(_LR_G.value, 0.5, 0.9), d_optimizer=adam(_LR_D.value, 0.5, 0.9),
             objective=objective, z_dim=generator.z_dim, batch_size=_BSZ.value,
             n_critic=_N_CRITIC.value, ema_decay=_EMA_DECAY.value, joint_d_call=True)


def floor(train, test, draws, size, seed, planar):
  """The train-vs-test floor: all training graphs, and `draws` draws of `size` of them."""
  per_draw = []
  for draw in range(draws):
    chosen = np.random.default_rng([seed, 3, draw]).choice(len(train), size=min(size, len(train)),
                                                           replace=False)
    per_draw.append(score([train[i] for i in chosen], test, train, planar))
  return {'all_train': score(train, test, train, planar),
          'sampled': {k: float(np.mean([d[k] for d in per_draw])) for k in per_draw[0]},
          'sampled_std': {k: float(np.std([d[k] for d in per_draw])) for k in per_draw[0]}}


def protocol(sampler, size, draws, test, train, planar, seed):
  """SPECTRE's protocol: `draws` independent draws of `size` graphs, each scored by `score`
  against the test split (novelty against train); mean, std and every draw, and the first
  draw's graphs. sampler(key, n) -> (n, N, N) encoded graphs."""
  base = jax.random.fold_in(jax.random.PRNGKey(seed), keys.EVAL)
  per_draw, first = [], None
  for draw in range(draws):
    graphs = graph_data.decode(np.asarray(sampler(jax.random.fold_in(base, draw), size)))
    first = graphs if first is None else first
    per_draw.append(score(graphs, test, train, planar))
  names = per_draw[0].keys()
  return {'metrics': {k: float(np.mean([d[k] for d in per_draw])) for k in names},
          'metrics_std': {k: float(np.std([d[k] for d in per_draw])) for k in names},
          'metrics_per_draw': per_draw}, first


def save_figure(path, blocks):
  """blocks: [(label, graphs)], 8 graphs a row, 2 rows a block (spring layouts)."""
  fig, axes = plt.subplots(2 * len(blocks), 8, figsize=(12, 3.0 * len(blocks)))
  for b, (label, graphs) in enumerate(blocks):
    for i in range(16):
      ax = axes[2 * b + i // 8, i % 8]
      ax.set_axis_off()
      if i < len(graphs) and graphs[i].number_of_nodes():
        nx.draw_networkx(graphs[i], nx.spring_layout(graphs[i], seed=0), ax=ax, node_size=6,
                         width=0.4, with_labels=False, node_color='tab:blue')
      if i == 0:
        ax.set_title(label, fontsize=8, loc='left')
  fig.savefig(path, dpi=80, bbox_inches='tight')
  plt.close(fig)


def main(argv):
  del argv
  dataset, seed = FLAGS.dataset, FLAGS.seed
  if not FLAGS.workdir:
    raise ValueError('--workdir is required')
  workdir = os.path.abspath(FLAGS.workdir)
  os.makedirs(workdir, exist_ok=True)
  planar = dataset == 'planar'
  spec = graph_data.GRAPH_DATASETS[dataset]
  train = graph_data.load_graphs(dataset, 'train')
  test = graph_data.load_graphs(dataset, 'test')
  train_x = graph_data.encode(train, spec.n_max)
  gan = make_gan(train_x)
  state = create_state(gan, jax.random.PRNGKey(seed), jnp.asarray(train_x[0]))
  report = {'command': 'python ' + ' '.join(shlex.quote(a) for a in sys.argv),
            'dataset': dataset, 'generator': repr(gan.generator),
            'discriminator': repr(gan.discriminator),
            'objective': {'loss': _LOSS.value, 'penalty': _PENALTY.value,
                          'penalty_weight': _PENALTY_WEIGHT.value, 'n_critic': gan.n_critic},
            'settings': {**{f.name: f.value
                            for f in FLAGS.get_key_flags_for_module(sys.argv[0])},
                         'dataset': dataset, 'seed': seed},
            'g_params': count_params(state.g_params), 'd_params': count_params(state.d_params),
            'data_edges_in_two_triangles': edges_in_two_triangles(train),
            'curve': [], 'evaluations': []}
  num_generated = len(test)
  start = time.perf_counter()
  report['floor'] = floor(train, test, _STUDY_DRAWS.value, num_generated, seed, planar)
  print(f'{dataset}: G {report["g_params"]} params, D {report["d_params"]}; floor in '
        f'{time.perf_counter() - start:.0f} s: {report["floor"]["sampled"]}', flush=True)

  if _DECODE.value == 'threshold' and max(gan.generator.node_counts) < 1.0:
    raise ValueError('--decode=threshold needs one graph size (planar); sizes are drawn')

  def sampler(key, n, params):
    z_key, sample_key = jax.random.split(key)
    z = jax.random.normal(z_key, (n, gan.z_dim))
    rngs = {'sample': sample_key} if _DECODE.value == 'sample' else {}
    return gan.generator.apply({'params': params}, z, train=False, rngs=rngs)
  sampler = jax.jit(sampler, static_argnums=1)

  def sample_many(key, total, params, chunk=100):
    parts = [np.asarray(sampler(jax.random.fold_in(key, i), min(chunk, total - i * chunk), params))
             for i in range(-(-total // chunk))]
    return np.concatenate(parts)

  path = os.path.join(workdir, f'{dataset}_study.json')

  if _EVAL_ONLY.value:
    path = os.path.join(workdir, f'{dataset}_study_{_DECODE.value}.json')

  def run_eval(state, step, train_seconds, last=False):
    eval_start = time.perf_counter()
    params = state.ema_params
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 1000 + step)
    x = sample_many(key, _VUN_GRAPHS.value, params)
    graphs = graph_data.decode(x)
    entry = {'step': step, 'train_seconds': train_seconds,
             'edges_in_two_triangles': edges_in_two_triangles(graphs),
             'mean_edges': float(np.mean([g.number_of_edges() for g in graphs])),
             'connected': float(np.mean([nx.is_connected(g) for g in graphs]))}
    if planar:
      entry['vun_1000'] = graph_metrics_lib.vun(graphs, train)
    result, first = protocol(lambda k, n: sampler(k, n, params), num_generated,
                             _STUDY_DRAWS.value, test, train, planar, seed)
    entry['protocol'] = result
    floor_sampled = report['floor']['sampled']
    entry['ratio_to_floor'] = {
        k: result['metrics'][k] / floor_sampled[k] if floor_sampled[k] > 0 else None
        for k in result['metrics'] if k.endswith('_tv') or k.endswith('_emd')}
    entry['eval_seconds'] = time.perf_counter() - eval_start
    report['evaluations'].append(entry)
    report['curve'].append({'step': step, 'train_seconds': round(train_seconds, 1),
                            'vun_1000': entry.get('vun_1000', {}).get('vun'),
                            'vun_5x40': result['metrics'].get('vun'),
                            'valid_1000': entry.get('vun_1000', {}).get('valid'),
                            'edges_in_two_triangles': entry['edges_in_two_triangles']})
    m = result['metrics']
    print(f'  eval step {step} ({train_seconds:.0f} s train, {entry["eval_seconds"]:.0f} s '
          f'eval): V.U.N. 1000 {entry.get("vun_1000")}, 5x{num_generated} '
          + ' '.join(f'{k} {m[k]:.4g}' for k in sorted(m)) + f'; in 2 triangles '
          f'{entry["edges_in_two_triangles"]:.3f}, edges {entry["mean_edges"]:.1f}, connected '
          f'{entry["connected"]:.3f}', flush=True)
    if last:
      np.save(os.path.join(workdir, f'{dataset}_generated.npy'), x.astype(np.float32))
      with open(os.path.join(workdir, f'{dataset}_ema_params.msgpack'), 'wb') as f:
        f.write(serialization.to_bytes(jax.device_get(params)))
      report['figure'] = os.path.join(workdir, f'{dataset}_study.png')
      save_figure(report['figure'], [('test graphs', test[:16]),
                                     (f'generated, step {step}', first[:16])])
    with open(path, 'w') as f:
      json.dump(report, f, indent=1)
    return time.perf_counter() - eval_start

  if _EVAL_ONLY.value:
    finished = json.load(open(os.path.join(workdir, f'{dataset}_study.json')))
    with open(os.path.join(workdir, f'{dataset}_ema_params.msgpack'), 'rb') as f:
      params = serialization.from_bytes(state.ema_params, f.read())
    report['decode'] = _DECODE.value
    run_eval(state.replace(ema_params=params), finished['steps'], finished['train_seconds'])
    print(f'wrote {path}')
    return

  step_fn = make_train_step(gan)
  budget = 60.0 * _TRAIN_MINUTES.value
  every = 60.0 * _EVAL_MINUTES.value
  count = gan.n_critic * gan.batch_size
  train_seconds, next_eval, step, metrics = 0.0, every, 0, {}
  t0 = time.perf_counter()
  eval_total = 0.0
  while train_seconds < budget and step < _MAX_STEPS.value:
    batch = train_x[batch_indices(step, count, len(train_x), seed)]
    state, metrics = step_fn(state, batch.reshape((gan.n_critic, gan.batch_size)
                                                  + batch.shape[1:]))
    step += 1
    if step % 50 == 0 or step == 1:
      jax.block_until_ready(state)
      train_seconds = time.perf_counter() - t0 - eval_total
      print(f'step {step} ({train_seconds:.0f} s): ' + ' '.join(
          f'{k} {float(v):.3g}' for k, v in sorted(metrics.items())), flush=True)
      if train_seconds >= next_eval and train_seconds < budget:
        eval_total += run_eval(state, step, train_seconds)
        next_eval += every
  jax.block_until_ready(state)
  train_seconds = time.perf_counter() - t0 - eval_total
  report['train_seconds'], report['steps'] = train_seconds, step
  report['final_train_metrics'] = {k: float(v) for k, v in metrics.items()}
  run_eval(state, step, train_seconds, last=True)
  report['total_seconds'] = time.perf_counter() - start
  with open(path, 'w') as f:
    json.dump(report, f, indent=1)
  print(f'done: {step} steps, {train_seconds:.0f} s training, {report["total_seconds"]:.0f} s '
        f'in all; wrote {path}', flush=True)


if __name__ == '__main__':
  cli.run(main)
