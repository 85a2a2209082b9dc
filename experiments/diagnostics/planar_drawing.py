"""Where a planar-study G goes wrong, read from its own drawing: RefineGraphGenerator places its
nodes in a latent plane before it draws any edge, so each generated graph comes with a
straight-line drawing. For --num_graphs graphs of a finished `planar_study.py` run (its EMA
params, Bernoulli edges as in the study), this prints and writes <workdir>/planar_drawing.json:
- planar (networkx) and crossing-free in G's drawing (gan_jax.metrics.graphs.drawing_crossings),
  and the mean number of crossing edge pairs;
- against the Delaunay triangulation of G's own points (how SPECTRE makes planar graphs from
  uniform points; a metric-side reference, never inside G): edges G draws outside it and
  Delaunay edges G leaves out, sampled and in expectation under G's edge probabilities, and
  how sure G is about the pairs it gets wrong (|logit| quantiles at 1/2 probability).

  python experiments/diagnostics/planar_drawing.py --workdir=workdirs/planar_triples --num_graphs=200

The config is the one the study saved (<workdir>/planar_study.json), else --config.
"""

import json
import os

import jax
import ml_collections
import networkx as nx
import numpy as np
from absl import flags
from flax import serialization
from ml_collections import config_flags

from gan_jax.data import graphs as graph_data
from gan_jax.metrics import graphs as graph_metrics
from gan_jax.run import cli
from gan_jax.run.config import build_gan, with_defaults
from gan_jax.errors import ConfigError

EXPERIMENTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(EXPERIMENTS, 'configs', 'graphs_planar_refine.py'),
    "The study's config, for runs that did not save one.", lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'A finished planar_study.py run.', required=True)
_NUM_GRAPHS = flags.DEFINE_integer('num_graphs', 200, 'Generated graphs to read.')
_SEED = flags.DEFINE_integer('seed', 5, 'Seed of z and of the edge draws.')


def main(argv):
  del argv
  workdir = os.path.abspath(_WORKDIR.value)
  params_path = os.path.join(workdir, 'planar_ema_params.msgpack')
  study_path = os.path.join(workdir, 'planar_study.json')
  for path in (params_path, study_path):
    if not os.path.exists(path):
      raise ConfigError(f'no {os.path.basename(path)} in {workdir}: run planar_study.py first')
  study = json.load(open(study_path))
  config = (with_defaults(study['config']) if 'config' in study
            else ml_collections.ConfigDict(cli.config_value(_CONFIG).to_dict()))
  gan = build_gan(config)
  template = gan.generator.init({'params': jax.random.PRNGKey(0), 'sample': jax.random.PRNGKey(0)},
                                np.zeros((1, gan.z_dim), np.float32), train=False)['params']
  with open(params_path, 'rb') as f:
    params = serialization.from_bytes(template, f.read())
  z = jax.random.normal(jax.random.PRNGKey(_SEED.value), (_NUM_GRAPHS.value, gan.z_dim))
  apply = lambda output, **kw: np.asarray(gan.generator.apply({'params': params}, z,
                                                              train=False, output=output, **kw))
  rngs = {'sample': jax.random.PRNGKey(_SEED.value + 1)}
  graphs, logits = apply('graph', rngs=rngs), apply('logits', rngs=rngs)
  drawings = apply('drawing', rngs=rngs)
  rows = []
  for graph, logit, points in zip(graphs, logits, drawings):
    nodes = np.diagonal(graph) > 0
    a = (graph * (1 - np.eye(len(graph))))[nodes][:, nodes].astype(np.int64)
    points = points[nodes]
    reference = nx.to_numpy_array(graph_data.delaunay_graph(points), dtype=np.int64)
    iu = np.triu_indices(len(a), 1)
    pair_logits = logit[nodes][:, nodes][iu]
    prob = 1 / (1 + np.exp(-np.clip(pair_logits, -60, 60)))
    wrong = (pair_logits > 0) != (reference[iu] > 0)
    rows.append({
        'planar': bool(nx.check_planarity(nx.from_numpy_array(a))[0]),
        'crossings': graph_metrics.drawing_crossings(points, a),
        'edges': int(a[iu].sum()),
        'outside_delaunay': int((a[iu] * (1 - reference[iu])).sum()),
        'delaunay_missing': int(((1 - a[iu]) * reference[iu]).sum()),
        'expected_outside': float((prob * (1 - reference[iu])).sum()),
        'expected_missing': float(((1 - prob) * reference[iu]).sum()),
        'wrong_at_half': int(wrong.sum()),
        'wrong_abs_logits': np.abs(pair_logits[wrong]).tolist()})
  wrong_logits = np.concatenate([r['wrong_abs_logits'] for r in rows] or [np.zeros(0)])
  mean = lambda k: float(np.mean([r[k] for r in rows]))
  free = [r['planar'] for r in rows if r['crossings'] == 0]   # always planar: a plane drawing
  report = {'num_graphs': len(rows), 'planar': mean('planar'),
            'crossing_free_drawing': float(np.mean([r['crossings'] == 0 for r in rows])),
            **{k: mean(k) for k in ('crossings', 'edges', 'outside_delaunay', 'delaunay_missing',
                                    'expected_outside', 'expected_missing', 'wrong_at_half')},
            'planar_given_crossing_free': (float(np.mean(free)) if free else None),
            'wrong_abs_logit_quantiles_10_50_90': np.quantile(wrong_logits, [.1, .5, .9]).tolist()
            if len(wrong_logits) else None}
  cli.write_report(workdir, report, 'planar_drawing.json')


if __name__ == '__main__':
  cli.run(main)
