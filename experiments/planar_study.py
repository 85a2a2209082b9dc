"""Issue 25's protocol: trains a graph config (by default graphs_planar_refine.py: the
RefineGraphGenerator whose edges read the latent triangles of third nodes, against a PPGN critic,
both in gan_jax/models/graph_refine.py) through gan_jax.core.steps.make_train_step for a budget
of wall-clock training minutes, and scores G's EMA every --eval_minutes along the way: the curve of
V.U.N. against training time that the issue asks for where 60 minutes do not reach the goal.

  taskset -c 1 python experiments/planar_study.py --workdir=workdirs/planar_study \
      --train_minutes=60 --eval_minutes=10
  taskset -c 1 python experiments/planar_study.py --workdir=workdirs/community_study \
      --config.data.name=community_small --config.graphs.node_order=data \
      --config.model.z_dim=176 --train_minutes=8 --eval_minutes=4

Models, data, loss, optimiser and seed come from the config through the graph structure of the
registry (gan_jax.structures.graphs), as for experiments/train.py; any field can be overridden
(`--config.graphs.triples=0 --config.graphs.rounds=2 --config.optim.lr=4e-4`: the first attempt;
community-small above: 20 nodes at most, so z has 20 * 8 + 16 dims).
Unlike train.py the budget is wall clock and the evaluation is the study's. The whole state is
checkpointed (orbax, <workdir>/checkpoints) at every evaluation, so a run stopped at any point goes
on from its last evaluation when the same command is run again, and a finished one trains further
when --train_minutes is raised: the curve then continues, and every resumption is recorded in the
JSON under 'resumed' (train_seconds counts every invocation's training, total_seconds the last
invocation alone). The config must be the one the workdir was trained with.
(Results recorded before 2026-12-06 16:00 ran this script's earlier flags, which restated the
config: --g_triples=8 --g_rounds=0 --lr_g=1e-3 --lr_d=1e-3 is today's default
with --config.graphs.triple_angle=False --config.graphs.triple_hidden=16.)

Every --eval_minutes of training (the clock stops while evaluating) and at the end, with the
EMA generator and Bernoulli draws (the model's distribution; --decode=threshold scores G's most
likely graph per z instead, a separate row):
- V.U.N. on --vun_graphs (1000) generated graphs (gan_jax.metrics.graphs.vun against the
  training split), and the share of their edges that lie in exactly two triangles;
- SPECTRE's protocol, the structure's `evaluate_draws`: graphs.eval_draws (5) draws of as many
  graphs as the test split (40 on planar), TV and EMD MMDs of degree / clustering / orbits to the
  test split and V.U.N., mean and std over the draws; the floor scores draws of as many training
  graphs against the test split the same way, and the ratios are generated / floor.
Writes <workdir>/<dataset>_study.json (settings, the curve, every evaluation, the floor),
<workdir>/<dataset>_generated.npy (the last evaluation's graphs in the structure's encoding:
(N, n_max, n_max) float32, adjacency off the diagonal, node existence on it), the EMA params
(<dataset>_ema_params.msgpack) and a figure of 16 test and 16 generated graphs.

Validity is never checked during training or sampling: the planarity test is the metric's alone.
"""

import functools
import json
import os
import time

import jax
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402
from flax import serialization  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from gan_jax import structures  # noqa: E402
from gan_jax.core.state import count_params, create_state  # noqa: E402
from gan_jax.core.steps import make_train_step  # noqa: E402
from gan_jax.data import graphs as graph_data  # noqa: E402
from gan_jax.metrics import graphs as graph_metrics  # noqa: E402
from gan_jax.run import cli  # noqa: E402
from gan_jax.run.checkpoint import Checkpointer  # noqa: E402
from gan_jax.run.config import build_gan, config_difference, validate  # noqa: E402
from gan_jax.errors import ConfigError  # noqa: E402
from gan_jax.structures.graphs import reference  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(__file__), 'configs', 'graphs_planar_refine.py'),
    'A graph config (structure graphs).', lock_config=True)
_WORKDIR = cli.define_workdir()
_TRAIN_MINUTES = flags.DEFINE_float('train_minutes', 10.0, 'Training budget (wall clock, '
                                    'evaluations excluded).')
_MAX_STEPS = flags.DEFINE_integer('max_steps', 10 ** 9, 'Stop after this many G steps.')
_EVAL_MINUTES = flags.DEFINE_float('eval_minutes', 5.0, 'Evaluate every this many minutes of '
                                   'training.')
_VUN_GRAPHS = flags.DEFINE_integer('vun_graphs', 1000, 'Generated graphs for V.U.N.')
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


def floor(train, test, draws, size, seed, planar):
  """The train-vs-test floor: all training graphs, and `draws` draws of `size` of them scored
  like G's draws (score_draws)."""
  chosen = [np.random.default_rng([seed, 3, d]).choice(len(train), min(size, len(train)),
                                                       replace=False) for d in range(draws)]
  sampled = graph_metrics.score_draws([[train[i] for i in c] for c in chosen], test, train, planar)
  return {'all_train': graph_metrics.score(train, test, train, planar),
          'sampled': sampled['metrics'], 'sampled_std': sampled['metrics_std']}


def resume(checkpointer, template, path, report, config):
  """(state, train seconds) at the newest checkpoint, the report's curve and evaluations cut
  back to it; (template, 0) for a new run. A checkpoint is saved after the JSON, so the JSON
  always has the evaluation of the checkpoint's step."""
  state = checkpointer.restore_latest(template)
  if state is None and os.path.exists(path):   # never write a new curve over an old one
    raise ConfigError(f'{path} holds a study but {checkpointer.directory} no readable '
                      f'checkpoint to go on from; use a new --workdir')
  if state is None:
    return template, 0.0
  step = int(state.step)
  if not os.path.exists(path):
    raise ConfigError(f'{checkpointer.directory} has a checkpoint (step {step}) but {path} is '
                      f'missing; use a new --workdir')
  with open(path) as f:
    saved = json.load(f)
  difference = config_difference(saved['config'], config)
  if difference:
    raise ConfigError(f'{path} was trained with another config ({difference}); use a new '
                      f'--workdir or the same --config flags')
  at = [e for e in saved['evaluations'] if e['step'] == step]
  if not at:
    raise ConfigError(f'{path} has no evaluation at the checkpoint\'s step {step}; '
                      f'use a new --workdir')
  for key in ('curve', 'evaluations'):
    report[key] = [e for e in saved[key] if e['step'] <= step]
  report['floor'] = saved['floor']
  report['resumed'] = saved.get('resumed', []) + [
      {'step': step, 'train_seconds': at[0]['train_seconds'], 'command': report['command']}]
  return state, at[0]['train_seconds']


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
  config = cli.config_value(_CONFIG)
  validate(config)
  structure = structures.get(config)
  structure.check_draws(config)   # SPECTRE's protocol: refused before anything is written
  workdir = cli.open_workdir(_WORKDIR)
  dataset, seed = config.data.name, config.seed
  test, train, planar = reference(dataset)
  gan = build_gan(config)
  data = structure.make_data(config, gan.n_critic)
  state = create_state(gan, jax.random.PRNGKey(seed), data.example)
  if _DECODE.value == 'threshold' and max(gan.generator.node_counts) < 1.0:
    raise ConfigError('--decode=threshold needs one graph size (planar); sizes are drawn')
  report = {'command': cli.command_line(), 'dataset': dataset, 'config': config.to_dict(),
            'generator': repr(gan.generator), 'discriminator': repr(gan.discriminator),
            'g_params': count_params(state.g_params), 'd_params': count_params(state.d_params),
            'data_edges_in_two_triangles': edges_in_two_triangles(train),
            'curve': [], 'evaluations': []}
  path = os.path.join(workdir, f'{dataset}_study.json')
  if _EVAL_ONLY.value:
    path = os.path.join(workdir, f'{dataset}_study_{_DECODE.value}.json')
    resumed_seconds = 0.0
  else:
    checkpointer = Checkpointer(os.path.join(workdir, 'checkpoints'), keep=2)
    state, resumed_seconds = resume(checkpointer, state, path, report, config)
  start = time.perf_counter()
  if 'floor' in report:
    print(f'{dataset}: resuming at step {int(state.step)} ({resumed_seconds:.0f} s trained)',
          flush=True)
  else:
    report['floor'] = floor(train, test, config.graphs.eval_draws,
                            config.graphs.num_generated or len(test), seed, planar)
    print(f'{dataset}: G {report["g_params"]} params, D {report["d_params"]}; floor in '
          f'{time.perf_counter() - start:.0f} s: {report["floor"]["sampled"]}', flush=True)

  @functools.partial(jax.jit, static_argnums=2)
  def most_likely(params, key, n):   # --decode=threshold: every edge of probability > 1/2
    z = jax.random.normal(key, (n, gan.z_dim))
    return gan.generator.apply({'params': params}, z, train=False)

  def sampler(state, n, seed):
    """n encoded graphs from G's EMA: the structure's Bernoulli draws, or the most likely."""
    if _DECODE.value == 'sample':
      return structure.sample(gan, state, config, n, seed)
    key = jax.random.PRNGKey(seed)
    return np.concatenate([np.asarray(most_likely(state.ema_params, jax.random.fold_in(key, i),
                                                  min(500, n - i)))
                           for i in range(0, n, 500)])

  def run_eval(state, step, train_seconds, last=False):
    eval_start = time.perf_counter()
    x = sampler(state, _VUN_GRAPHS.value, seed + 1 + step)
    graphs = graph_data.decode(x)
    entry = {'step': step, 'train_seconds': train_seconds,
             'edges_in_two_triangles': edges_in_two_triangles(graphs),
             'mean_edges': float(np.mean([g.number_of_edges() for g in graphs])),
             'connected': float(np.mean([nx.is_connected(g) for g in graphs]))}
    if planar:
      entry['vun_1000'] = graph_metrics.vun(graphs, train)
    result, first = structure.evaluate_draws(lambda n, s: sampler(state, n, s), config,
                                             seed + 2 + step)
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
          f'eval): V.U.N. {_VUN_GRAPHS.value} {entry.get("vun_1000")}, {len(first)}-graph draws '
          + ' '.join(f'{k} {m[k]:.4g}' for k in sorted(m)) + f'; in 2 triangles '
          f'{entry["edges_in_two_triangles"]:.3f}, edges {entry["mean_edges"]:.1f}, connected '
          f'{entry["connected"]:.3f}', flush=True)
    if last:
      structure.save_samples(x, os.path.join(workdir, f'{dataset}_generated'),
                             f'{dataset}, G step {step}', config)
      with open(os.path.join(workdir, f'{dataset}_ema_params.msgpack'), 'wb') as f:
        f.write(serialization.to_bytes(jax.device_get(state.ema_params)))
      report['figure'] = os.path.join(workdir, f'{dataset}_study.png')
      save_figure(report['figure'], [('test graphs', test[:16]),
                                     (f'generated, step {step}', first[:16])])
    with open(path, 'w') as f:
      json.dump(report, f, indent=1)
    if not _EVAL_ONLY.value:   # after the JSON: resume() finds this step's evaluation in it
      checkpointer.save(step, state)
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
  budget, every = 60.0 * _TRAIN_MINUTES.value, 60.0 * _EVAL_MINUTES.value
  train_seconds, step, metrics, eval_total = resumed_seconds, int(state.step), {}, 0.0
  if train_seconds >= budget or step >= _MAX_STEPS.value:
    print(f'{path} is already trained for {train_seconds / 60:.1f} min ({step} steps); raise '
          f'--train_minutes or --max_steps to go on', flush=True)
    return
  next_eval = every * (1 + train_seconds // every)
  t0 = time.perf_counter()
  while train_seconds < budget and step < _MAX_STEPS.value:
    state, metrics = step_fn(state, data.batches(step))
    step += 1
    if step % 50 == 0 or step == 1:
      jax.block_until_ready(state)
      train_seconds = resumed_seconds + time.perf_counter() - t0 - eval_total
      print(f'step {step} ({train_seconds:.0f} s): ' + ' '.join(
          f'{k} {float(v):.3g}' for k, v in sorted(metrics.items())), flush=True)
      if train_seconds >= next_eval and train_seconds < budget:
        eval_total += run_eval(state, step, train_seconds)
        next_eval += every
  jax.block_until_ready(state)
  train_seconds = resumed_seconds + time.perf_counter() - t0 - eval_total
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
