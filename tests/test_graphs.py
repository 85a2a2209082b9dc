"""Graph modality: datasets, metrics against hand counts and independent references, models."""

import itertools

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
import scipy.stats

from gan_jax.data import graphs as graph_data
from gan_jax.data.graphs import GRAPH_DATASETS, decode, encode, load_graphs, split_sizes
from gan_jax.errors import ConfigError
from gan_jax.metrics import graphs as gm
from gan_jax.models.graphs import GraphDiscriminator, GraphGenerator


def _orbit_vector(**orbits):
  v = np.zeros(15, np.int64)
  for name, count in orbits.items():
    v[int(name[1:])] = count
  return v


PAW = nx.Graph([(0, 1), (0, 2), (1, 2), (0, 3)])              # triangle 0-1-2, 3 hangs on 0
DIAMOND = nx.Graph([(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)])  # K4 without the edge 0-3
# Per-node orbit counts worked out by hand (o<k> = ORCA orbit k).
HAND_COUNTS = {
    'triangle': (nx.complete_graph(3), [_orbit_vector(o0=2, o3=1)] * 3),
    'path4': (nx.path_graph(4), [_orbit_vector(o0=1, o1=1, o4=1),
                                 _orbit_vector(o0=2, o1=1, o2=1, o5=1),
                                 _orbit_vector(o0=2, o1=1, o2=1, o5=1),
                                 _orbit_vector(o0=1, o1=1, o4=1)]),
    'star': (nx.star_graph(3),
             [_orbit_vector(o0=3, o2=3, o7=1)] + [_orbit_vector(o0=1, o1=2, o6=1)] * 3),
    'cycle4': (nx.cycle_graph(4), [_orbit_vector(o0=2, o1=2, o2=1, o8=1)] * 4),
    'k4': (nx.complete_graph(4), [_orbit_vector(o0=3, o3=3, o14=1)] * 4),
    'paw': (PAW, [_orbit_vector(o0=3, o2=2, o3=1, o11=1), _orbit_vector(o0=2, o1=1, o3=1, o10=1),
                  _orbit_vector(o0=2, o1=1, o3=1, o10=1), _orbit_vector(o0=1, o1=2, o9=1)]),
    'diamond': (DIAMOND, [_orbit_vector(o0=2, o1=2, o3=1, o12=1),
                          _orbit_vector(o0=3, o2=1, o3=2, o13=1),
                          _orbit_vector(o0=3, o2=1, o3=2, o13=1),
                          _orbit_vector(o0=2, o1=2, o3=1, o12=1)]),
}
# Each graphlet with the orbit of each of its nodes, for the brute-force count.
GRAPHLETS = [(nx.path_graph(2), [0, 0]), (nx.path_graph(3), [1, 2, 1]),
             (nx.complete_graph(3), [3] * 3), (nx.path_graph(4), [4, 5, 5, 4]),
             (nx.star_graph(3), [7, 6, 6, 6]), (nx.cycle_graph(4), [8] * 4),
             (PAW, [11, 10, 10, 9]), (DIAMOND, [12, 13, 13, 12]), (nx.complete_graph(4), [14] * 4)]


@pytest.mark.parametrize('name', sorted(HAND_COUNTS))
def test_orbit_counts_match_hand_counts(name):
  graph, expected = HAND_COUNTS[name]
  np.testing.assert_array_equal(gm.orbit_counts(graph), np.stack(expected))
  np.testing.assert_allclose(gm.orbit_statistic(graph), np.mean(expected, axis=0))


def test_degree_and_clustering_histograms_by_hand():
  triangle, path, star, cycle, k4 = (HAND_COUNTS[k][0] for k in
                                     ('triangle', 'path4', 'star', 'cycle4', 'k4'))
  for graph, degrees in [(triangle, [0, 0, 3]), (path, [0, 2, 2]), (star, [0, 3, 0, 1]),
                         (cycle, [0, 0, 4]), (k4, [0, 0, 0, 4])]:
    np.testing.assert_array_equal(gm.degree_histogram(graph), degrees)
  for graph, n, coefficient_bin in [(triangle, 3, 99), (k4, 4, 99), (path, 4, 0), (star, 4, 0),
                                    (cycle, 4, 0)]:   # 1.0 falls in the last bin, 0 in the first
    expected = np.zeros(100, np.int64)
    expected[coefficient_bin] = n
    np.testing.assert_array_equal(gm.clustering_histogram(graph), expected)
  # Paw: the degree-3 node has 1 triangle among 3 neighbour pairs -> 1/3 (bin 33).
  expected = np.zeros(100, np.int64)
  expected[[0, 33, 99]] = [1, 1, 2]
  np.testing.assert_array_equal(gm.clustering_histogram(PAW), expected)


def _random_graphs():
  return ([nx.gnp_random_graph(n, p, seed=seed) for seed, (n, p) in
           enumerate(itertools.product((7, 10), (0.2, 0.5, 0.8)))]
          + load_graphs('community_small', 'test')[:1] + [nx.empty_graph(3)])


def _brute_force_orbits(graph):
  """Every connected induced subgraph on 2-4 nodes, matched to its graphlet by networkx's
  isomorphism test; a node's orbit is that of its image in the graphlet."""
  counts = np.zeros((graph.number_of_nodes(), 15), np.int64)
  for size in (2, 3, 4):
    for nodes in itertools.combinations(graph.nodes, size):
      sub = graph.subgraph(nodes)
      if not nx.is_connected(sub):
        continue
      for graphlet, orbits in GRAPHLETS:
        matcher = nx.isomorphism.GraphMatcher(sub, graphlet)
        if matcher.is_isomorphic():
          for node, image in matcher.mapping.items():
            counts[node, orbits[image]] += 1
          break
  return counts


def test_orbit_counts_match_brute_force_enumeration():
  for graph in _random_graphs():
    np.testing.assert_array_equal(gm.orbit_counts(graph), _brute_force_orbits(graph))


def test_orbit_counts_match_orca_graphlets():
  orca = pytest.importorskip('orca')   # PyPI orca-graphlets, a Python port of ORCA
  graphs = _random_graphs()[:-1] + load_graphs('planar', 'test')[:3]
  for graph in graphs:
    edges = np.array(list(graph.edges()), np.int64).reshape(-1, 2)
    reference = orca.orca_nodes(edges, num_nodes=graph.number_of_nodes(), graphlet_size=4)
    np.testing.assert_array_equal(gm.orbit_counts(graph), np.asarray(reference))


def test_statistics_match_networkx():
  for graph in _random_graphs():
    np.testing.assert_array_equal(gm.degree_histogram(graph), nx.degree_histogram(graph))
    coefficients = list(nx.clustering(graph).values())
    np.testing.assert_array_equal(gm.clustering_histogram(graph),
                                  np.histogram(coefficients, bins=100, range=(0.0, 1.0))[0])


def _loop_mmd(x, y, kernel):
  k = lambda s, t: np.mean([kernel(a, b) for a in s for b in t])
  return k(x, x) + k(y, y) - 2 * k(x, y)


def test_mmd_kernels_match_loops_and_scipy_wasserstein():
  rng = np.random.default_rng(0)
  x = [rng.integers(0, 5, size=rng.integers(3, 8)) for _ in range(5)]
  y = [rng.integers(0, 5, size=rng.integers(3, 8)) for _ in range(4)]
  norm = lambda h: h / (h.sum() + 1e-6)

  def emd(a, b):   # scipy normalises the weights itself; the 1e-6 is far below the tolerance
    a, b = norm(a), norm(b)
    return scipy.stats.wasserstein_distance(np.arange(len(a)), np.arange(len(b)), a, b) / 2.0

  def tv(a, b):
    size = max(len(a), len(b))
    a, b = np.pad(norm(a), (0, size - len(a))), np.pad(norm(b), (0, size - len(b)))
    return np.abs(a - b).sum() / 2

  gauss = lambda d, sigma: np.exp(-d ** 2 / (2 * sigma ** 2))
  np.testing.assert_allclose(
      gm.mmd(x, y, 'gaussian_emd', sigma=0.5, distance_scaling=2.0),
      _loop_mmd(x, y, lambda a, b: gauss(emd(a, b), 0.5)), rtol=1e-5, atol=1e-9)
  np.testing.assert_allclose(gm.mmd(x, y, 'gaussian_tv', sigma=0.3),
                             _loop_mmd(x, y, lambda a, b: gauss(tv(a, b), 0.3)), rtol=1e-9)
  u, v = rng.normal(size=(5, 15)) * 20, rng.normal(size=(4, 15)) * 20
  np.testing.assert_allclose(
      gm.mmd(list(u), list(v), 'gaussian', sigma=30.0, is_hist=False),
      _loop_mmd(u, v, lambda a, b: gauss(np.linalg.norm(a - b), 30.0)), rtol=1e-9)


def test_mmd_is_zero_against_itself_and_positive_against_other_graphs():
  planar = load_graphs('planar', 'test')[:6]
  others = [nx.gnp_random_graph(64, 0.1, seed=i) for i in range(6)]
  same = gm.graph_metrics(planar, planar)
  differ = gm.graph_metrics(others, planar)
  for protocol in ('tv', 'emd'):
    for stat in ('degree', 'clustering', 'orbit'):
      assert abs(same[f'{stat}_{protocol}']) < 1e-12
      assert differ[f'{stat}_{protocol}'] > 0.01, (stat, protocol)


def test_vun_counts_validity_uniqueness_and_novelty():
  train = load_graphs('planar', 'train')[:5]
  novel = load_graphs('planar', 'test')[:2]
  relabelled = nx.relabel_nodes(train[0], {i: 63 - i for i in range(64)})
  generated = [novel[0], novel[0].copy(), relabelled, nx.complete_graph(5),
               nx.disjoint_union(nx.path_graph(3), nx.path_graph(3)), nx.empty_graph(0), novel[1]]
  result = gm.vun(generated, train)
  # Valid: novel x3 and the relabelled train graph; unique: all but the copy; novel: all but the
  # relabelled train graph; V.U.N.: novel[0] and novel[1].
  assert result == {'valid': 4 / 7, 'unique': 6 / 7, 'novel': 6 / 7, 'vun': 2 / 7}
  metrics = gm.graph_metrics(generated, train, train=train, planar=True)
  assert {'valid', 'unique', 'novel', 'vun', 'empty', 'degree_tv', 'orbit_emd'} <= set(metrics)
  assert metrics['empty'] == 1 / 7


def test_drawing_crossings_by_hand_and_against_a_loop():
  square = np.array([[0., 0.], [1., 0.], [1., 1.], [0., 1.]])
  k4 = 1 - np.eye(4)
  assert gm.drawing_crossings(square, k4) == 1            # the two diagonals
  star = np.array([[0., 0.], [4., 0.], [2., 4.], [2., 1.]])   # K4 with a node inside: planar
  assert gm.drawing_crossings(star, k4) == 0
  rng = np.random.default_rng(0)
  points = rng.random((12, 2))
  adjacency = np.triu(rng.random((12, 12)) < 0.3, 1)
  adjacency = (adjacency | adjacency.T).astype(int)

  def cross(p, q, r, s):
    turn = lambda a, b, c: np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
    return turn(p, q, r) * turn(p, q, s) < 0 and turn(r, s, p) * turn(r, s, q) < 0

  edges = list(zip(*np.nonzero(np.triu(adjacency, 1))))
  expected = sum(cross(points[a], points[b], points[c], points[d])
                 for (a, b), (c, d) in itertools.combinations(edges, 2)
                 if len({a, b, c, d}) == 4)
  assert expected > 0 and gm.drawing_crossings(points, adjacency) == expected
  delaunay = nx.to_numpy_array(graph_data.delaunay_graph(points), dtype=int)
  assert gm.drawing_crossings(points, delaunay) == 0
  assert nx.check_planarity(nx.from_numpy_array(delaunay))[0]
  assert delaunay.sum() // 2 <= 3 * 12 - 6


def test_datasets_are_deterministic_with_the_published_sizes():
  for name, sizes in [('community_small', (64, 16, 20)), ('planar', (128, 32, 40))]:
    spec = GRAPH_DATASETS[name]
    splits = [load_graphs(name, split) for split in ('train', 'val', 'test')]
    assert tuple(map(len, splits)) == sizes == tuple(split_sizes(spec.num_graphs).values())
    graphs = sum(splits, [])
    assert len(graphs) == spec.num_graphs
    graph_data._all_graphs.cache_clear()   # rebuilt from the seed, not read from the cache
    rebuilt = load_graphs(name, 'train')
    assert all(nx.utils.graphs_equal(a, b) for a, b in zip(splits[0], rebuilt))
    other_seed = load_graphs(name, 'train', seed=1)
    assert not all(nx.utils.graphs_equal(a, b) for a, b in zip(splits[0], other_seed))
    assert all(nx.is_connected(g) for g in graphs)
    if name == 'community_small':
      assert {g.number_of_nodes() for g in graphs} <= set(range(12, 21))
      assert max(g.number_of_nodes() for g in graphs) <= spec.n_max
    else:
      assert all(g.number_of_nodes() == 64 for g in graphs)
      assert all(nx.check_planarity(g)[0] for g in graphs)


def test_community_small_follows_spectre_construction():
  """Communities are gnp(n/2, 0.7) with seeds 0 and 1, as in SPECTRE's n_community."""
  for graph in load_graphs('community_small', 'val'):
    a = nx.to_numpy_array(graph)
    half = len(a) // 2
    np.testing.assert_array_equal(a[:half, :half],
                                  nx.to_numpy_array(nx.gnp_random_graph(half, 0.7, seed=0)))
    np.testing.assert_array_equal(a[half:, half:],
                                  nx.to_numpy_array(nx.gnp_random_graph(half, 0.7, seed=1)))
    assert a[:half, half:].sum() >= 1


def test_unknown_dataset_names_the_valid_ones():
  with pytest.raises(ConfigError, match="community_small.*planar") as error:
    load_graphs('sbm', 'train')
  assert '\n' not in str(error.value)


def test_encode_decode_round_trip():
  graphs = load_graphs('community_small', 'test')[:4] + [nx.empty_graph(3), nx.empty_graph(0)]
  array = encode(graphs, 20)
  assert array.shape == (6, 20, 20) and array.dtype == np.float32
  np.testing.assert_array_equal(array, array.transpose(0, 2, 1))
  np.testing.assert_array_equal(np.diagonal(array, axis1=1, axis2=2).sum(1),
                                [g.number_of_nodes() for g in graphs])
  for graph, back in zip(graphs, decode(array)):
    assert nx.utils.graphs_equal(graph, back)
  # Soft entries, node 1 missing (so 0-2 becomes 0-1) and an edge to it (dropped).
  soft = np.zeros((4, 4), np.float32)
  soft[[0, 2, 3], [0, 2, 3]] = 0.9
  soft[0, 2] = soft[2, 0] = 0.7
  soft[0, 1] = soft[1, 0] = 1.0
  (graph,) = decode(soft)
  assert sorted(graph.nodes) == [0, 1, 2] and sorted(graph.edges) == [(0, 1)]


def _models(n=6, pooling='sum'):
  return GraphGenerator(n, hidden=(16,)), GraphDiscriminator(hidden=16, layers=2, pooling=pooling)


def _check_encoding(x):
  x = np.asarray(x)
  nodes = np.diagonal(x, axis1=1, axis2=2)
  edges = x * (1 - np.eye(x.shape[-1]))
  assert x.dtype == np.float32
  assert set(np.unique(x)) <= {0.0, 1.0}
  np.testing.assert_array_equal(edges, edges.transpose(0, 2, 1))
  assert np.all(edges <= nodes[:, :, None] * nodes[:, None, :])


def _init(model, x):
  return model.init(jax.random.PRNGKey(1), x, train=False)


@pytest.fixture(scope='module')
def generator_outputs():
  """Everything the G tests check, from one jitted function: one XLA compilation (each costs
  seconds on CPU) instead of one per op or per test."""
  g, _ = _models()
  relaxed_g = GraphGenerator(6, hidden=(16,), straight_through=False)
  weights = jax.random.normal(jax.random.PRNGKey(2), (4, 6, 6))
  key = jax.random.PRNGKey(3)

  @jax.jit
  def outputs(z):
    params = _init(g, z)['params']
    sample = lambda key, train: g.apply({'params': params}, z, train=train, rngs={'sample': key})
    loss = lambda p: jnp.sum(weights * g.apply({'params': p}, z, rngs={'sample': key}))
    return {'train': sample(key, True), 'sampled': sample(key, False),
            'resampled': sample(jax.random.PRNGKey(4), False),
            'threshold': g.apply({'params': params}, z, train=False),
            'grads': jax.grad(loss)(params),
            'relaxed': relaxed_g.apply({'params': params}, z, rngs={'sample': key})}

  return outputs(jax.random.normal(jax.random.PRNGKey(0), (4, 4)))


def test_generator_outputs_symmetric_graphs_with_existence_on_the_diagonal(generator_outputs):
  for name in ('train', 'sampled', 'threshold'):
    assert generator_outputs[name].shape == (4, 6, 6)
    _check_encoding(generator_outputs[name])
  assert not np.array_equal(generator_outputs['sampled'], generator_outputs['resampled'])


def test_straight_through_gradient_reaches_every_generator_layer(generator_outputs):
  for path, leaf in jax.tree_util.tree_leaves_with_path(generator_outputs['grads']):
    assert np.abs(np.asarray(leaf)).sum() > 0, path
  relaxed = np.asarray(generator_outputs['relaxed'])   # no straight-through: soft values
  assert np.mean((relaxed > 0) & (relaxed < 1)) > 0.5


@pytest.mark.parametrize('pooling', ['sum', 'attention'])
def test_discriminator_is_permutation_invariant_and_takes_soft_graphs(pooling):
  _, d = _models(pooling=pooling)
  rng = np.random.default_rng(0)
  nodes = (rng.random((3, 6)) < 0.7).astype(np.float32)
  soft = rng.random((3, 6, 6)).astype(np.float32)
  soft = (soft + soft.transpose(0, 2, 1)) / 2 * nodes[:, :, None] * nodes[:, None, :]
  x = soft * (1 - np.eye(6, dtype=np.float32)) + nodes[:, :, None] * np.eye(6, dtype=np.float32)
  perm = rng.permutation(6)

  @jax.jit
  def logits_both(x, permuted):
    params = _init(d, x)
    input_grad = jax.grad(lambda x: d.apply(params, x).sum())(x)   # what WGAN-GP needs
    return d.apply(params, x), d.apply(params, permuted), input_grad

  logits, permuted, input_grad = logits_both(jnp.asarray(x), jnp.asarray(x[:, perm][:, :, perm]))
  assert logits.shape == (3,) and logits.dtype == jnp.float32
  np.testing.assert_allclose(permuted, logits, rtol=1e-5, atol=1e-5)
  assert np.all(np.isfinite(input_grad)) and np.abs(np.asarray(input_grad)).sum() > 0
  assert np.std(np.asarray(logits)) > 0   # the graphs are told apart


def test_edges_in_two_triangles_by_hand():
  """The inner edges of a triangulation: all of K4's, the diamond's diagonal alone, pooled."""
  assert gm.edges_in_two_triangles([nx.complete_graph(4)]) == 1.0
  assert gm.edges_in_two_triangles([DIAMOND, nx.path_graph(3)]) == 1 / 7
  assert gm.edges_in_two_triangles([DIAMOND, nx.complete_graph(4), nx.empty_graph(2)]) == 7 / 11
  assert np.isnan(gm.edges_in_two_triangles([nx.empty_graph(3)]))
  assert gm.size_summary([DIAMOND])['edges_in_two_triangles'] == 1 / 5


def test_threshold_decode_is_the_most_likely_graph_and_needs_one_size():
  """graphs.decode='threshold': every entry of G's logits above 0 (for the z the Bernoulli
  draws of the same seed read); refused in one line where the data draws graph sizes."""
  from gan_jax import keys, structures
  from gan_jax.core.state import create_state
  from gan_jax.run.config import base_config, build_gan, validate
  config = base_config()
  config.structure, config.data.name, config.model.z_dim = 'graphs', 'planar', 4
  config.graphs.g_hidden = (8,)
  entry = structures.get(config)
  gan = build_gan(config)
  state = create_state(gan, jax.random.PRNGKey(0), entry.example(config))
  sampled = entry.sample(gan, state, config, 3, seed=5)
  config.graphs.decode = 'threshold'
  validate(config)
  threshold = entry.sample(gan, state, config, 3, seed=5)
  z = jax.random.normal(jax.random.fold_in(keys.fold(jax.random.PRNGKey(5), keys.EVAL), 0),
                        (3, gan.z_dim))
  logits = gan.generator.apply({'params': state.ema_params}, z, train=False, output='logits')
  np.testing.assert_array_equal(threshold, np.asarray(logits > 0, np.float32))
  assert not np.array_equal(sampled, threshold)
  config.data.name = 'community_small'
  with pytest.raises(ConfigError, match="graphs.decode='threshold' needs one graph size") as error:
    validate(config)
  assert '\n' not in str(error.value)
