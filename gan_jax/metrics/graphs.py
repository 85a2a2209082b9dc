"""Graph-generation metrics with the protocols of GraphRNN, GRAN and SPECTRE: MMD of degree,
clustering and 4-node-orbit statistics, and V.U.N. for planar graphs.

Reference code (KarolisMart/SPECTRE, util/eval_helper.py and util/dist_helper.py, adapted there
from lrjconan/GRAN and JiaxuanYou/graph-generation eval/stats.py, eval/mmd.py):
- Statistics: `degree_worker` (nx.degree_histogram), `clustering_worker` (100-bin histogram of
  the clustering coefficients on [0, 1]), `orbit_stats_all` (ORCA's 15 node-orbit counts of
  graphlets with 2-4 nodes, summed over nodes / number of nodes: a 15-vector per graph).
- MMD: `compute_mmd`, the biased estimator mean k(x, x') + mean k(y, y') - 2 mean k(x, y), every
  pair including i = j; histograms normalised as h / (sum h + 1e-6), orbit vectors raw.
- 'tv' (SPECTRE's default, from GRAN): `gaussian_tv`, exp(-TV^2 / (2 sigma^2)) with
  TV = sum |x - y| / 2; sigma 1 (degree), 0.1 (clustering), 30 (orbits).
- 'emd' (SPECTRE's --EMD, GraphRNN's kernels): `gaussian_emd`, exp(-EMD^2 / (2 sigma^2)) with the
  ground distance |i - j| / scaling; degree sigma 1, scaling 1; clustering sigma 0.1, scaling
  100 (bins); orbits use `gaussian`, exp(-||x - y||^2 / (2 sigma^2)), sigma 30.
  The 1D EMD is computed exactly as the L1 distance of the CDFs (pyemd's LP gives the same up to
  the 1e-6 mass difference the normalisation leaves).
- Generated graphs with no node are dropped before the MMDs, as the references do.
- Gaussian-TV (and Gaussian-EMD) kernels are not positive definite, so like SPECTRE's numbers an
  MMD near the floor can come out slightly negative (~ -1e-6).
- V.U.N.: `eval_fraction_unique_non_isomorphic_valid`, `eval_fraction_isomorphic` and
  `is_planar_graph` (connected and planar); see `vun`.
ORCA (a C++ program) is replaced by `orbit_counts`, an exact numpy count in O(m n^2), equal to
SPECTRE's util/orca binary on 60 test graphs and checked in tests/test_graphs.py against brute
force and, when installed, the orca-graphlets package (a Python port of ORCA).
"""

import itertools
from typing import Dict, List, Optional, Sequence

import networkx as nx
import numpy as np

CLUSTERING_BINS = 100
# Each 4-node orbit as the induced pattern on (x, a, b, c), x the counted node: 1 = edge,
# 0 = no edge, for the pairs (xa, xb, xc, ab, ac, bc); and how many orderings of (a, b, c) give
# the same subgraph. Numbering of ORCA (Hocevar & Demsar 2014) = Przulj's graphlet orbits.
_ORBITS_4 = (
    (4, (1, 0, 0, 1, 0, 1), 1),    # end of the path x-a-b-c
    (5, (1, 1, 0, 0, 0, 1), 1),    # inner node of the path a-x-b-c
    (6, (1, 0, 0, 1, 1, 0), 2),    # leaf of the 3-star centred on a
    (7, (1, 1, 1, 0, 0, 0), 6),    # centre of the 3-star
    (8, (1, 0, 1, 1, 0, 1), 2),    # on the 4-cycle x-a-b-c
    (9, (1, 0, 0, 1, 1, 1), 2),    # paw: pendant x on the triangle a-b-c
    (10, (1, 1, 0, 1, 1, 0), 1),   # paw: degree-2 node of the triangle x-a-b, pendant c on a
    (11, (1, 1, 1, 1, 0, 0), 2),   # paw: degree-3 node (triangle x-a-b, pendant c on x)
    (12, (1, 1, 0, 1, 1, 1), 2),   # diamond: degree-2 node
    (13, (1, 1, 1, 1, 1, 0), 2),   # diamond: degree-3 node
    (14, (1, 1, 1, 1, 1, 1), 6),   # K4
)


def adjacency(graph: nx.Graph) -> np.ndarray:
  a = nx.to_numpy_array(graph, dtype=np.float64, weight=None)
  np.fill_diagonal(a, 0.0)
  return (a > 0).astype(np.float64)


def orbit_counts(graph: nx.Graph) -> np.ndarray:
  """ORCA's `node 4` output: (n, 15) int64, how often each node sits in each orbit of the
  connected graphlets with 2-4 nodes (induced subgraphs).

  Every orbit of a 4-node graphlet is a sum over ordered triples (a, b, c) of a product of six
  pair factors, A (edge) or N (non-edge); both vanish on the diagonal, so the triples are
  distinct by construction; sum_b is one matmul per pattern.
  """
  a = adjacency(graph)
  n = a.shape[0]
  out = np.zeros((n, 15), np.int64)
  if n == 0:
    return out
  non = 1.0 - a - np.eye(n)
  degree = a.sum(1)
  triangles = np.einsum('xy,yz,zx->x', a, a, a) / 2
  out[:, 0] = degree
  out[:, 1] = np.rint(a @ degree - degree - 2 * triangles)   # ends of induced 3-paths
  out[:, 2] = np.rint(degree * (degree - 1) / 2 - triangles)  # centres of induced 3-paths
  out[:, 3] = np.rint(triangles)
  # Every pattern has x ~ a, so the sums run over directed edges (x, a): O(m n^2) flops.
  x, first = np.nonzero(a)
  pick = (non, a)
  inner = {}
  for orbit, (xa, xb, xc, ab, ac, bc), symmetry in _ORBITS_4:
    if (ab, xb, bc) not in inner:   # q[(x, a), c] = sum_b ab[a, b] xb[x, b] bc[b, c]
      inner[ab, xb, bc] = (pick[ab][first] * pick[xb][x]) @ pick[bc]
    per_edge = np.sum(pick[xc][x] * pick[ac][first] * inner[ab, xb, bc], axis=1)
    out[:, orbit] = np.rint(np.bincount(x, weights=per_edge, minlength=n) / symmetry)
  return out


def degree_histogram(graph: nx.Graph) -> np.ndarray:
  """nx.degree_histogram: counts of degree 0..max degree."""
  return np.bincount(adjacency(graph).sum(1).astype(np.int64))


def clustering_histogram(graph: nx.Graph, bins: int = CLUSTERING_BINS) -> np.ndarray:
  """Histogram of nx.clustering's coefficients, `bins` bins on [0, 1] (np.histogram)."""
  a = adjacency(graph)
  degree = a.sum(1)
  twice_triangles = np.einsum('xy,yz,zx->x', a, a, a)
  with np.errstate(divide='ignore', invalid='ignore'):   # same float ops as nx.clustering
    coefficient = np.where(twice_triangles > 0, twice_triangles / (degree * (degree - 1)), 0.0)
  return np.histogram(coefficient, bins=bins, range=(0.0, 1.0))[0]


def orbit_statistic(graph: nx.Graph) -> np.ndarray:
  """The per-graph orbit statistic of `orbit_stats_all`: orbit counts summed over nodes / n."""
  return orbit_counts(graph).sum(0) / graph.number_of_nodes()


def _stack(vectors: Sequence[np.ndarray], length: int) -> np.ndarray:
  out = np.zeros((len(vectors), length))
  for i, v in enumerate(vectors):
    out[i, :len(v)] = v
  return out


def _kernel(x, y, kernel: str, sigma: float, distance_scaling: float) -> np.ndarray:
  """(len(x), len(y)) kernel matrix between rows."""
  diff = x[:, None, :] - y[None, :, :]
  if kernel == 'gaussian_tv':
    distance = np.abs(diff).sum(-1) / 2
  elif kernel == 'gaussian_emd':   # 1D EMD = L1 distance of the CDFs, in units of the bin width
    distance = np.abs(np.cumsum(diff, -1)[..., :-1]).sum(-1) / distance_scaling
  elif kernel == 'gaussian':
    distance = np.sqrt(np.sum(diff ** 2, -1))
  else:
    raise ValueError(f'unknown kernel {kernel!r}')
  return np.exp(-distance ** 2 / (2 * sigma ** 2))


def mmd(x: Sequence[np.ndarray], y: Sequence[np.ndarray], kernel: str = 'gaussian_tv',
        sigma: float = 1.0, is_hist: bool = True, distance_scaling: float = 1.0) -> float:
  """SPECTRE's compute_mmd: the biased MMD^2 between two sets of statistics (vectors of any
  lengths, zero-padded); NaN if a set is empty."""
  if len(x) == 0 or len(y) == 0:
    return float('nan')
  length = max(len(v) for v in itertools.chain(x, y))
  x, y = _stack(x, length), _stack(y, length)
  if is_hist:
    x = x / (x.sum(1, keepdims=True) + 1e-6)
    y = y / (y.sum(1, keepdims=True) + 1e-6)
  k = lambda u, v: _kernel(u, v, kernel, sigma, distance_scaling).mean()
  return float(k(x, x) + k(y, y) - 2 * k(x, y))


# statistic -> protocol -> mmd() keyword arguments, as in SPECTRE's eval_helper.py.
PROTOCOLS = {
    'degree': {'tv': dict(kernel='gaussian_tv', sigma=1.0),
               'emd': dict(kernel='gaussian_emd', sigma=1.0, distance_scaling=1.0)},
    'clustering': {'tv': dict(kernel='gaussian_tv', sigma=0.1),
                   'emd': dict(kernel='gaussian_emd', sigma=0.1,
                               distance_scaling=CLUSTERING_BINS)},
    'orbit': {'tv': dict(kernel='gaussian_tv', sigma=30.0, is_hist=False),
              'emd': dict(kernel='gaussian', sigma=30.0, is_hist=False)},
}
_STATISTICS = {'degree': degree_histogram, 'clustering': clustering_histogram,
               'orbit': orbit_statistic}


def graph_statistics(graphs: Sequence[nx.Graph]) -> Dict[str, List[np.ndarray]]:
  """Per-graph degree, clustering and orbit statistics of the graphs with at least one node."""
  graphs = [g for g in graphs if g.number_of_nodes() > 0]
  return {name: [fn(g) for g in graphs] for name, fn in _STATISTICS.items()}


def graph_mmds(generated_stats, reference_stats, protocols=('tv', 'emd')) -> Dict[str, float]:
  """{'degree_tv': ..., 'orbit_emd': ...} from two `graph_statistics` results."""
  return {f'{name}_{protocol}': mmd(reference_stats[name], generated_stats[name],
                                    **PROTOCOLS[name][protocol])
          for protocol in protocols for name in PROTOCOLS}


def is_planar_graph(graph: nx.Graph) -> bool:
  """SPECTRE's validity for the planar dataset: connected and planar (no node: invalid)."""
  return (graph.number_of_nodes() > 0 and nx.is_connected(graph)
          and nx.check_planarity(graph)[0])


class _IsomorphismIndex:
  """Graphs bucketed by an isomorphism invariant (one round of Weisfeiler-Lehman: each node's
  degree with its neighbours' degrees), so the exact VF2 test only runs within a bucket."""

  def __init__(self, graphs=()):
    self.buckets = {}
    for g in graphs:
      self.add(g)

  @staticmethod
  def key(graph):
    degree = dict(graph.degree())
    colours = sorted((degree[v], tuple(sorted(degree[u] for u in graph[v]))) for v in graph)
    return graph.number_of_edges(), tuple(colours)

  def contains(self, graph, key=None) -> bool:
    key = self.key(graph) if key is None else key
    return any(nx.is_isomorphic(graph, other) for other in self.buckets.get(key, ()))

  def add(self, graph, key=None):
    self.buckets.setdefault(self.key(graph) if key is None else key, []).append(graph)


def vun(generated: Sequence[nx.Graph], train: Sequence[nx.Graph], is_valid=is_planar_graph):
  """Fractions of the generated graphs (SPECTRE full_gan.py test step):
  valid: connected and planar (eval_acc_planar_graph);
  unique: not isomorphic to an earlier generated graph (frac_unique);
  novel: not isomorphic to any training graph (1 - eval_fraction_isomorphic);
  vun: valid, unique and novel at once (frac_unique_non_isomorphic_valid)."""
  if len(generated) == 0:
    return {'valid': float('nan'), 'unique': float('nan'), 'novel': float('nan'),
            'vun': float('nan')}
  seen, train_index = _IsomorphismIndex(), _IsomorphismIndex(train)
  counts = np.zeros(4)
  for graph in generated:
    key = _IsomorphismIndex.key(graph)
    valid = is_valid(graph)
    unique = not seen.contains(graph, key)
    novel = not train_index.contains(graph, key)
    if unique:
      seen.add(graph, key)
    counts += [valid, unique, novel, valid and unique and novel]
  fractions = counts / len(generated)
  return dict(zip(('valid', 'unique', 'novel', 'vun'), fractions.tolist()))


def graph_metrics(generated: Sequence[nx.Graph], reference: Sequence[nx.Graph],
                  train: Optional[Sequence[nx.Graph]] = None, planar: bool = False,
                  protocols=('tv', 'emd')) -> Dict[str, float]:
  """All numbers for one evaluation: '{degree,clustering,orbit}_{tv,emd}' MMDs to `reference`
  (SPECTRE uses the test set), 'empty' (share of generated graphs without a node, left out of
  the MMDs), and for planar graphs 'valid' and 'unique', plus 'novel' and 'vun' given `train`."""
  out = graph_mmds(graph_statistics(generated), graph_statistics(reference), protocols)
  out['empty'] = (float(np.mean([g.number_of_nodes() == 0 for g in generated]))
                  if len(generated) else float('nan'))
  if planar:
    fractions = vun(generated, train if train is not None else [])
    out['valid'], out['unique'] = fractions['valid'], fractions['unique']
    if train is not None:
      out['novel'], out['vun'] = fractions['novel'], fractions['vun']
  return out


def edges_in_two_triangles(graphs: Sequence[nx.Graph]) -> float:
  """Share of all edges (pooled over the graphs) whose ends have exactly 2 common neighbours:
  the inner edges of a triangulation (93% of the planar data's edges); NaN without edges."""
  inside, total = 0, 0
  for graph in graphs:
    a = adjacency(graph)
    inside += int(((a @ a == 2) & (a > 0)).sum())
    total += int(a.sum())
  return inside / total if total else float('nan')


def size_summary(graphs: Sequence[nx.Graph]) -> Dict[str, float]:
  """Mean nodes and edges, the share of connected graphs and of edges in two triangles, of the
  non-empty graphs."""
  graphs = [g for g in graphs if g.number_of_nodes() > 0]
  if not graphs:
    return {'mean_nodes': 0.0, 'mean_edges': 0.0, 'connected': float('nan'),
            'edges_in_two_triangles': float('nan')}
  return {'mean_nodes': float(np.mean([g.number_of_nodes() for g in graphs])),
          'mean_edges': float(np.mean([g.number_of_edges() for g in graphs])),
          'connected': float(np.mean([nx.is_connected(g) for g in graphs])),
          'edges_in_two_triangles': edges_in_two_triangles(graphs)}


def score(generated, test, train, planar: bool) -> Dict[str, float]:
  """graph_metrics against the test split plus size summaries; without planarity also
  uniqueness and novelty (every graph valid)."""
  out = graph_metrics(generated, test, train, planar=planar)
  if not planar:
    fractions = vun(generated, train, is_valid=lambda g: True)
    out['unique'], out['novel'] = fractions['unique'], fractions['novel']
  out.update(size_summary(generated))
  return out


def score_draws(draws: Sequence[Sequence[nx.Graph]], test, train, planar: bool) -> dict:
  """Mean, std and per-draw `score` over independent draws of generated graphs (SPECTRE
  generates one graph per test graph; one draw of 20 or 40 graphs is noisy)."""
  per_draw = [score(graphs, test, train, planar) for graphs in draws]
  names = per_draw[0].keys()
  return {'metrics': {k: float(np.mean([d[k] for d in per_draw])) for k in names},
          'metrics_std': {k: float(np.std([d[k] for d in per_draw])) for k in names},
          'metrics_per_draw': per_draw}


def drawing_crossings(positions: np.ndarray, adjacency: np.ndarray) -> int:
  """Pairs of edges that cross in the straight-line drawing of a graph at `positions` ((n, 2);
  adjacency (n, n) 0/1): proper crossings only (edges sharing an endpoint never count).
  A diagnostic of a generator that draws its nodes in a latent plane: 0 means its graph is
  planar and drawn without crossings there (the converse need not hold)."""
  i, j = np.nonzero(np.triu(adjacency, 1))
  a, b = positions[i], positions[j]                                  # (E, 2) segment ends

  def side(p, q, r):   # sign of the turn p -> q -> r, for every segment pair (E, E)
    return np.sign((q[:, None, 0] - p[:, None, 0]) * (r[None, :, 1] - p[:, None, 1])
                   - (q[:, None, 1] - p[:, None, 1]) * (r[None, :, 0] - p[:, None, 0]))

  straddles = (side(a, b, a) * side(a, b, b)) < 0                    # ends of f on both sides of e
  crossing = straddles & straddles.T
  shared = ((i[:, None] == i[None, :]) | (i[:, None] == j[None, :])
            | (j[:, None] == i[None, :]) | (j[:, None] == j[None, :]))
  return int(np.triu(crossing & ~shared, 1).sum())


def widest_angle_rule(positions: np.ndarray, first: np.ndarray, second: np.ndarray,
                      thirds: np.ndarray, valid: np.ndarray) -> np.ndarray:
  """(P,) bool: pair (first[q], second[q]) is an edge when the widest angle under which a third
  node k sees it on one side of the line plus the widest on the other is below pi, reading only
  thirds[q] (P, K) where valid. With every other node as a third this is the empty-circle
  (Delaunay) rule on `positions` (n, 2), the planar data's; with fewer it says what a generator
  that reads only those third nodes can get right at best
  (experiments/diagnostics/planar_neighbours.py). A metric-side reference: no generator computes
  it."""
  pk = positions[thirds]                                                # (P, K, 2)
  da, db = positions[first][:, None] - pk, positions[second][:, None] - pk
  angle = np.arctan2(da[..., 0] * db[..., 1] - da[..., 1] * db[..., 0], np.sum(da * db, -1))
  left = np.where(valid & (angle > 0), angle, 0.0).max(1, initial=0.0)
  right = np.where(valid & (angle < 0), -angle, 0.0).max(1, initial=0.0)
  return left + right < np.pi
