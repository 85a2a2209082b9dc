"""SPECTRE's synthetic graph benchmarks (Martinkus et al. 2022), built from a seed, and the dense
(N, N) encoding the graph GAN trains on.

Reference code: KarolisMart/SPECTRE, data.py.
community_small (`CommunityDataset` with n_start=12, n_end=21, n_graphs=100, and `n_community`,
taken from GraphScoreMatching / EDP-GNN and used by GRAN, GDSS, SPECTRE): n ~ U{12, ..., 20}, two
communities of n // 2 nodes each, so a graph has 2 * (n // 2) in {12, 14, ..., 20} nodes (as in
SPECTRE's shipped data/community_12_21_100.pt). Each community is
nx.gnp_random_graph(n // 2, 0.7, seed=i) with the FIXED seeds i = 0, 1, so the edges inside the
communities depend on n only (all 100 graphs of the shipped file match networkx 3.6's draws);
only the bridges vary: each cross pair with probability 2 * 0.05 / (n // 2) (0.05 bridges per
node on average), plus one edge between the communities' first nodes if none was drawn.
planar (`PlanarDataset`): 200 Delaunay triangulations of 64 uniform points in the unit square.
Split as SPECTRE's `GraphDataModule.setup`: test = round(0.2 G), train = round(0.8 (G - test)),
the rest validation. SPECTRE draws the split with torch's random_split(seed 1234) and its graphs
from the unseeded global numpy RNG, neither reproducible here: ours are other draws from the
same distributions, fixed by `seed`.
"""

import functools
from typing import Callable, List, NamedTuple, Tuple

import networkx as nx
import numpy as np
from scipy.spatial import Delaunay

from gan_jax.errors import require_choice


def _community_small(rng: np.random.Generator) -> nx.Graph:
  size = int(rng.integers(12, 21)) // 2
  graph = nx.disjoint_union_all([nx.gnp_random_graph(size, 0.7, seed=i) for i in range(2)])
  # SPECTRE bridges connected components (two, unless a community came out disconnected).
  parts = [sorted(c) for c in sorted(nx.connected_components(graph), key=min)]
  p_bridge = 0.05 * 2 / ((2 - 1) * size)
  for i, first in enumerate(parts):
    for second in parts[i + 1:]:
      bridges = np.argwhere(rng.random((len(first), len(second))) < p_bridge)
      graph.add_edges_from((first[a], second[b]) for a, b in bridges)
      if len(bridges) == 0:
        graph.add_edge(first[0], second[0])
  return graph


def delaunay_graph(points: np.ndarray) -> nx.Graph:
  """The Delaunay triangulation of `points` (n, 2) as a graph on nodes 0..n-1: how the planar
  benchmark's graphs are made, and the reference experiments/diagnostics/planar_drawing.py holds
  G's own drawing to."""
  graph = nx.empty_graph(len(points))
  for a, b, c in Delaunay(points).simplices.tolist():
    graph.add_edges_from([(a, b), (b, c), (c, a)])
  return graph


def _planar(rng: np.random.Generator, n: int = 64) -> nx.Graph:
  return delaunay_graph(rng.random((n, 2)))


class GraphDataset(NamedTuple):
  num_graphs: int
  n_max: int                                   # largest graph, the encoding's N
  build: Callable[[np.random.Generator], nx.Graph]
  planar: bool = False                         # valid = connected and planar (SPECTRE's V.U.N.)


GRAPH_DATASETS = {
    'community_small': GraphDataset(100, 20, _community_small),
    'planar': GraphDataset(200, 64, _planar, planar=True),
}
SPLITS = ('train', 'val', 'test')


def spec(name: str) -> GraphDataset:
  require_choice('graph dataset', name, sorted(GRAPH_DATASETS))
  return GRAPH_DATASETS[name]


@functools.lru_cache(maxsize=None)
def _all_graphs(name: str, seed: int) -> tuple:
  dataset = spec(name)
  rng = np.random.default_rng([seed, 0])
  return tuple(dataset.build(rng) for _ in range(dataset.num_graphs))


def split_sizes(num_graphs: int) -> dict:
  """SPECTRE's (GRAN's) split sizes: 20% test, then 80/20 train/validation of the rest."""
  test = int(round(num_graphs * 0.2))
  train = int(round((num_graphs - test) * 0.8))
  return {'train': train, 'val': num_graphs - train - test, 'test': test}


def load_graphs(name: str, split: str = 'train', seed: int = 0) -> List[nx.Graph]:
  """The `split` ('train' | 'val' | 'test') of dataset `name`; the same graphs for the same seed.

  Returns copies, so a caller that edits a graph cannot change the cached dataset."""
  dataset = spec(name)
  require_choice('graph split', split, SPLITS)
  graphs = _all_graphs(name, seed)
  sizes = split_sizes(dataset.num_graphs)
  order = np.random.default_rng([seed, 1]).permutation(dataset.num_graphs)
  start = {'train': 0, 'val': sizes['train'], 'test': sizes['train'] + sizes['val']}[split]
  return [graphs[i].copy() for i in order[start:start + sizes[split]]]


def encode(graphs, n_max: int) -> np.ndarray:
  """Graphs -> float32 (G, n_max, n_max): the 0/1 symmetric adjacency off the diagonal, node
  existence (1 = node, 0 = padding) on it. Nodes take the graph's node order, padding last."""
  out = np.zeros((len(graphs), n_max, n_max), np.float32)
  for i, graph in enumerate(graphs):
    n = graph.number_of_nodes()
    if n > n_max:
      raise ValueError(f'graph {i} has {n} nodes, more than n_max={n_max}')
    adjacency = nx.to_numpy_array(graph, dtype=np.float32, weight=None)
    np.fill_diagonal(adjacency, 0.0)            # self-loops have no place in the encoding
    out[i, :n, :n] = adjacency > 0
    out[i, np.arange(n), np.arange(n)] = 1.0
  return out


def decode(array, threshold: float = 0.5) -> List[nx.Graph]:
  """(G, N, N) or (N, N) encodings -> graphs on the existing nodes (diagonal > threshold),
  relabelled 0..n-1 in index order; an edge where the symmetrised entry exceeds threshold and
  both ends exist. Works on hard 0/1 samples and on probabilities alike."""
  array = np.asarray(array, np.float32)
  if array.ndim == 2:
    array = array[None]
  graphs = []
  for a in array:
    nodes = np.flatnonzero(np.diagonal(a) > threshold)
    sub = (a[np.ix_(nodes, nodes)] + a[np.ix_(nodes, nodes)].T) / 2
    graph = nx.empty_graph(len(nodes))
    rows, cols = np.nonzero(np.triu(sub > threshold, k=1))
    graph.add_edges_from(zip(rows.tolist(), cols.tolist()))
    graphs.append(graph)
  return graphs


NODE_ORDERS = ('data', 'bfs')


def order_nodes(graph: nx.Graph, order: str) -> nx.Graph:
  """The graph relabelled 0..n-1 in `order` ('data': unchanged; 'bfs': Cuthill-McKee, a
  breadth-first search from a lowest-degree node, which makes the adjacency matrix banded)."""
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


def node_count_distribution(encoded: np.ndarray) -> Tuple[float, ...]:
  """P(n = 1..N) of encoded graphs (G, N, N): the histogram a generator draws n from."""
  counts = np.diagonal(encoded, axis1=1, axis2=2).sum(1).astype(np.int64)
  histogram = np.bincount(counts - 1, minlength=encoded.shape[-1])
  return tuple(float(p) for p in histogram / histogram.sum())
