"""How many third nodes an edge rule must read to reproduce the planar data's graphs: for
uniform points (how SPECTRE's 64-node planar graphs are made), the Delaunay rule
(gan_jax.metrics.graphs.widest_angle_rule) restricted to the third nodes that
`RefineGraphGenerator`'s edge term reads (gan_jax.models.graph_refine.third_nodes), against the
full triangulation: extra and missing edges per graph. A ceiling on what that G can learn: an
extra edge almost always crosses another, so a G whose rule is exact on its chosen nodes still
draws about that many crossings per graph. Writes experiments/results/planar_neighbours.json.

  python experiments/diagnostics/planar_neighbours.py --num_graphs=50
"""

import os

import jax.numpy as jnp
import networkx as nx
import numpy as np
from absl import flags

from gan_jax.data import graphs as graph_data
from gan_jax.metrics import graphs as graph_metrics
from gan_jax.models.graph_refine import third_nodes
from gan_jax.run import cli

EXPERIMENTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_NUM_GRAPHS = flags.DEFINE_integer('num_graphs', 50, 'Point sets of --num_nodes uniform points.')
_NUM_NODES = flags.DEFINE_integer('num_nodes', 64, 'Points per graph (planar: 64).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the points.')


def main(argv):
  del argv
  n = _NUM_NODES.value
  points = np.random.default_rng(_SEED.value).random((_NUM_GRAPHS.value, n, 2))
  first, second = np.triu_indices(n, 1)
  reference = np.stack([nx.to_numpy_array(graph_data.delaunay_graph(p))[first, second] > 0
                        for p in points])
  report = {'num_graphs': len(points), 'num_nodes': n,
            'delaunay_edges': float(reference.sum(1).mean())}
  for per_side in (False, True):
    for neighbours in (8, 12, 16, 24):
      chosen, valid = third_nodes(jnp.asarray(points), jnp.ones((len(points), n)), first, second,
                                  neighbours, per_side)
      rule = np.stack([graph_metrics.widest_angle_rule(p, first, second, c, v) for p, c, v in
                       zip(points, np.asarray(chosen), np.asarray(valid))])
      name = f"{neighbours // 2 if per_side else neighbours}{' per side' if per_side else ''}"
      report[f'{name}: extra edges'] = float((rule & ~reference).sum(1).mean())
      report[f'{name}: missing edges'] = float((~rule & reference).sum(1).mean())
  cli.write_report(os.path.join(EXPERIMENTS, 'results'), report,
                   'planar_neighbours.json')


if __name__ == '__main__':
  cli.run(main)
