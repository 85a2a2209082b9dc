"""The planar graph study (docs/structured.md): a graph config (by default
graphs_planar_refine.py: the RefineGraphGenerator whose edges read the latent triangles of third
nodes, against a PPGN critic, both in gan_jax/models/graph_refine.py) trained by the common
trainer, gan_jax.run.train.train_and_evaluate, for a budget of training minutes, G's EMA scored
every --eval_minutes on the trainer's clock: the curve of V.U.N. against training time. This
script is the protocol only: the budget it gives the config, and the report it reads back.

  taskset -c 1 python experiments/planar_study.py --workdir=workdirs/planar_study \
      --train_minutes=60 --eval_minutes=20
  taskset -c 1 python experiments/planar_study.py --workdir=workdirs/community_study \
      --config.data.name=community_small --config.graphs.node_order=data \
      --config.model.z_dim=176 --train_minutes=8 --eval_minutes=4
  python experiments/planar_study.py --workdir=workdirs/planar_study --eval_only \
      --decode=threshold

The budget, set on the config: train_minutes (--train_minutes: drawing and evaluation stop the
clock), eval_every_minutes (--eval_minutes), eval_samples (--vun_graphs), num_steps
(--max_steps), the clock read every 50 steps (log_every), checkpoints at every evaluation and at
the end. Any other field can be overridden (`--config.seed=1`, `--config.graphs.triples=0
--config.graphs.rounds=2 --config.optim.lr=4e-4`; community-small above: 20 nodes at most, so z
has 20 * 8 + 16 dims). Resuming is the trainer's: the same command goes on from the newest
checkpoint of <workdir>/checkpoints and its minutes (<workdir>/train_clock.json), so the curve
continues; a raised --train_minutes trains a finished run further, the same budget only writes
the report again. Another config than the workdir's, budget aside, is refused in one line.

Every evaluation is the graph structure's `evaluate` (gan_jax/structures/graphs.py), which the
trainer logs to <workdir>/metrics.jsonl as eval/ema/<metric>, with its train_minutes:
- SPECTRE's protocol: graphs.eval_draws (5) draws of as many graphs as the test split (40 on
  planar), TV and EMD MMDs of degree / clustering / orbits to the test split, V.U.N. (novelty
  against the training split), size and the share of edges in exactly two triangles, mean and
  std over the draws;
- the same metrics of --vun_graphs (1,000) graphs at once: V.U.N. tighter than 40 graphs give.
Each evaluation draws from the same z's (config.seed), Bernoulli edges (the model's
distribution; graphs.decode). The floor scores draws of as many training graphs against the
test split the same way; ratios are generated / floor.

Writes <workdir>/<dataset>_study.json (settings, the curve, every evaluation in the layout of
experiments/results/planar_*.json, the floor, each command that trained the run), the EMA params
(<dataset>_ema_params.msgpack, read by planar_drawing.py) and a figure of 16 test and 16
generated graphs (<dataset>_study.png); experiments/sample.py exports the run's graphs.
--eval_only scores the newest checkpoint of a run (gan_jax.run.evaluation.load_run, the run's
own config) with --decode: 'threshold' (graphs.decode) is G's most likely graph per z, a
separate row, never the headline; it writes <dataset>_study_<decode>.json. The results in
experiments/results/planar_*.json came from this protocol with its own training loop (the same
steps, the same function of config and seed) and evaluations seeded by step; they also keep
each draw's metrics.

Validity is never checked during training or sampling: the planarity test is the metric's alone.
"""

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
from gan_jax.core.state import count_params  # noqa: E402
from gan_jax.data import graphs as graph_data  # noqa: E402
from gan_jax.errors import ConfigError  # noqa: E402
from gan_jax.metrics import graphs as graph_metrics  # noqa: E402
from gan_jax.run import cli  # noqa: E402
from gan_jax.run.config import config_difference, validate, with_defaults  # noqa: E402
from gan_jax.run.evaluation import load_run  # noqa: E402
from gan_jax.run.train import train_and_evaluate  # noqa: E402
from gan_jax.structures.graphs import reference  # noqa: E402
from gan_jax.tools.metric_writers import read_metrics  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(__file__), 'configs', 'graphs_planar_refine.py'),
    'A graph config (structure graphs).', lock_config=True)
_WORKDIR = cli.define_workdir()
_TRAIN_MINUTES = flags.DEFINE_float('train_minutes', 10.0, 'Training budget (wall clock, '
                                    'drawing and evaluation excluded).')
_MAX_STEPS = flags.DEFINE_integer('max_steps', 10 ** 9, 'Stop after this many G steps.')
_EVAL_MINUTES = flags.DEFINE_float('eval_minutes', 5.0, 'Evaluate every this many minutes of '
                                   'training.')
_VUN_GRAPHS = flags.DEFINE_integer('vun_graphs', 1000, 'Generated graphs scored at once.')
_DECODE = flags.DEFINE_enum('decode', 'sample', ['sample', 'threshold'],
                            "--eval_only: 'sample', Bernoulli edges, the model's distribution; "
                            "'threshold', every edge of probability > 1/2, G's most likely "
                            'graph for its z (one graph size only).')
_EVAL_ONLY = flags.DEFINE_bool('eval_only', False, 'Score the newest checkpoint of the run in '
                               '--workdir (its own config) with --decode; writes '
                               '<dataset>_study_<decode>.json.')

# What a run may change when it goes on in a workdir: the budget, not what is trained.
BUDGET = ('train_minutes', 'num_steps', 'eval_every_minutes')


def study_config(config, train_minutes: float, eval_minutes: float, vun_graphs: int,
                 max_steps: int):
  """The config with the study's budget: by time, evaluated and checkpointed on the clock."""
  config = config.copy_and_resolve_references()
  config.train_minutes, config.eval_every_minutes = train_minutes, eval_minutes
  config.num_steps, config.eval_every, config.eval_samples = max_steps, 0, vun_graphs
  config.log_every = 50                  # how often the clock is read
  config.checkpoint_every = config.sample_every = 10 ** 9   # at evaluations and the end
  config.keep_checkpoints, config.shown_generator = 2, 'ema'
  return config


def check_same_run(config, workdir: str) -> None:
  """A ConfigError when the workdir was trained with another config than `config`, budget
  aside: one curve is one config."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    return
  saved = with_defaults(json.load(open(path)))   # fields added since take today's defaults
  for key in BUDGET:
    saved[key] = config[key]
  difference = config_difference(json.loads(saved.to_json()), config)
  if difference:
    raise ConfigError(f'{workdir} was trained with another config ({difference}); use a new '
                      '--workdir or the same --config flags')


def floor(config):
  """The train-vs-test floor: all training graphs, and config.graphs.eval_draws draws of as
  many training graphs as G's draws, scored like them (score_draws)."""
  test, train, planar = reference(config.data.name)
  size = min(config.graphs.num_generated or len(test), len(train))
  chosen = [np.random.default_rng([config.seed, 3, d]).choice(len(train), size, replace=False)
            for d in range(config.graphs.eval_draws)]
  sampled = graph_metrics.score_draws([[train[i] for i in c] for c in chosen], test, train, planar)
  return {'all_train': graph_metrics.score(train, test, train, planar),
          'sampled': sampled['metrics'], 'sampled_std': sampled['metrics_std']}


def evaluation(record: dict, many: int, floor_sampled: dict) -> dict:
  """One evaluation the trainer logged (eval/<generator>/<metric>, train_minutes) in the
  study's layout: SPECTRE's draws under 'protocol', the `many` graphs at once under
  'metrics_<many>' (V.U.N. also as 'vun_<many>'), the draws' MMDs over the floor's."""
  values = {key.split('/', 2)[2]: value for key, value in record.items()
            if key.startswith('eval/')}
  suffix = f'_{many}'
  at_once = {k[:-len(suffix)]: v for k, v in values.items() if k.endswith(suffix)}
  rest = {k: v for k, v in values.items() if not k.endswith(suffix) and k != 'num_samples'}
  means = {k: v for k, v in rest.items() if not k.endswith('_std')}
  entry = {'step': record['step'], 'train_minutes': record['train_minutes'],
           'train_seconds': 60 * record['train_minutes'],
           'protocol': {'metrics': means,
                        'metrics_std': {k[:-4]: v for k, v in rest.items() if k.endswith('_std')}},
           'ratio_to_floor': {k: means[k] / floor_sampled[k] if floor_sampled.get(k, 0) > 0
                              else None for k in means if k.endswith(('_tv', '_emd'))}}
  if at_once:
    entry[f'metrics{suffix}'] = at_once
    for key in ('edges_in_two_triangles', 'mean_edges', 'connected'):
      entry[key] = at_once.get(key)
    if 'vun' in at_once:
      entry[f'vun{suffix}'] = {k: at_once[k] for k in ('valid', 'unique', 'novel', 'vun')}
  return entry


def curve_point(entry: dict, many: int, draws: str) -> dict:
  """An evaluation's point of the curve: minutes, step, V.U.N. of `many` graphs and of the
  draws (`draws`: '5x40'), edges in two triangles."""
  vun = entry.get(f'vun_{many}', {})
  return {'step': entry['step'], 'train_minutes': round(entry['train_minutes'], 2),
          'train_seconds': round(entry['train_seconds'], 1), f'vun_{many}': vun.get('vun'),
          f'vun_{draws}': entry['protocol']['metrics'].get('vun'),
          f'valid_{many}': vun.get('valid'),
          'edges_in_two_triangles': entry.get('edges_in_two_triangles')}


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


def print_curve(report: dict, many: int, draws: str) -> None:
  """The curve as a table: minutes, step, V.U.N., TV MMDs, edges in two triangles."""
  print(f'{"minutes":>8}{"step":>8}{"V.U.N. " + str(many):>13}{"V.U.N. " + draws:>13}'
        f'{"TV deg / clu / orb":>30}{"in 2 triangles":>16}')
  cell = lambda v: f'{100 * v:.1f}%' if v is not None else '-'
  for entry in report['evaluations']:
    m, point = entry['protocol']['metrics'], curve_point(entry, many, draws)
    tv = ' / '.join(f'{m[k]:.4f}' for k in ('degree_tv', 'clustering_tv', 'orbit_tv'))
    print(f'{entry["train_minutes"]:>8.1f}{entry["step"]:>8}{cell(point[f"vun_{many}"]):>13}'
          f'{cell(point[f"vun_{draws}"]):>13}{tv:>30}'
          f'{cell(entry.get("edges_in_two_triangles")):>16}')


def write_study(config, gan, state, stem: str, records, runs, final_train_metrics) -> dict:
  """The study's JSON (stem.json), printed table and figure (stem.png), from the run's final
  state and its evaluation records."""
  start = time.perf_counter()
  structure = structures.get(config)
  test, train, _ = reference(config.data.name)
  dataset, many = config.data.name, config.eval_samples
  draws = f'{config.graphs.eval_draws}x{config.graphs.num_generated or len(test)}'
  report = {'command': runs[-1]['command'], 'dataset': dataset, 'config': config.to_dict(),
            'generator': repr(gan.generator), 'discriminator': repr(gan.discriminator),
            'g_params': count_params(state.g_params), 'd_params': count_params(state.d_params),
            'data_edges_in_two_triangles': graph_metrics.edges_in_two_triangles(train),
            'floor': floor(config), 'runs': runs}
  report['evaluations'] = [evaluation(r, many, report['floor']['sampled']) for r in records]
  report['curve'] = [curve_point(e, many, draws) for e in report['evaluations']]
  if report['evaluations']:
    report['steps'] = report['evaluations'][-1]['step']
    report['train_seconds'] = report['evaluations'][-1]['train_seconds']
  report['final_train_metrics'] = final_train_metrics
  generated = graph_data.decode(structure.sample(gan, state, config, 16, config.seed))
  report['figure'] = stem + '.png'
  save_figure(report['figure'], [('test graphs', test[:16]),
                                 (f'generated, step {int(state.step)}', generated)])
  report['report_seconds'] = time.perf_counter() - start
  with open(stem + '.json', 'w') as f:
    json.dump(report, f, indent=1)
  print_curve(report, many, draws)
  print(f'wrote {stem}.json', flush=True)
  return report


def run_records(workdir: str, step: int):
  """(the trainer's evaluation records up to `step`, the newest checkpoint's; the losses and
  norms of its last training record)."""
  records = [r for r in read_metrics(workdir) if r['step'] <= step]
  evaluations = [r for r in records if any(k.startswith('eval/') for k in r)]
  trained = [r for r in records if 'g_loss' in r]
  last = {k: v for k, v in trained[-1].items() if k not in ('step', 'steps_per_sec',
                                                             'train_minutes')} if trained else {}
  return evaluations, last


def run_study(config, workdir: str, command: str) -> dict:
  """Trains (or goes on training) `config`, by its budget, through the common trainer, then
  writes the study's report; returns it."""
  validate(config)
  structure = structures.get(config)
  structure.check_draws(config)   # SPECTRE's protocol: refused before anything is written
  if not config.train_minutes > 0 or not config.eval_every_minutes > 0:
    raise ConfigError('the study is by time: set train_minutes and eval_every_minutes > 0')
  check_same_run(config, workdir)
  stem = os.path.join(workdir, f'{config.data.name}_study')
  runs = json.load(open(stem + '.json')).get('runs', []) if os.path.exists(stem + '.json') else []
  train_and_evaluate(config, workdir)
  config, gan, state = load_run(workdir)
  with open(os.path.join(workdir, f'{config.data.name}_ema_params.msgpack'), 'wb') as f:
    f.write(serialization.to_bytes(jax.device_get(state.ema_params)))
  runs = runs + [{'command': command, 'step': int(state.step)}]
  evaluations, last = run_records(workdir, int(state.step))
  return write_study(config, gan, state, stem, evaluations, runs, last)


def evaluate_only(workdir: str, decode: str, command: str) -> dict:
  """Scores the newest checkpoint of a run with `decode` (graphs.decode); its own config."""
  config, gan, state = load_run(workdir)
  config.graphs.decode = decode
  validate(config)
  step = int(state.step)
  evaluations, last = run_records(workdir, step)
  minutes = evaluations[-1]['train_minutes'] if evaluations else float('nan')
  results = structures.get(config).evaluate(gan, state, config, config.eval_samples,
                                            config.seed, config.shown_generator)
  generator = results.pop('generator')
  record = {'step': step, 'train_minutes': minutes,
            **{f'eval/{generator}/{k}': v for k, v in results.items()}}
  stem = os.path.join(workdir, f'{config.data.name}_study_{decode}')
  return write_study(config, gan, state, stem, [record],
                     [{'command': command, 'step': step, 'decode': decode}], last)


def main(argv):
  del argv
  workdir = os.path.abspath(_WORKDIR.value)   # created by the trainer, once the config is checked
  if _EVAL_ONLY.value:
    evaluate_only(workdir, _DECODE.value, cli.command_line())
    return
  config = study_config(cli.config_value(_CONFIG), _TRAIN_MINUTES.value, _EVAL_MINUTES.value,
                        _VUN_GRAPHS.value, _MAX_STEPS.value)
  run_study(config, workdir, cli.command_line())


if __name__ == '__main__':
  cli.run(main)
