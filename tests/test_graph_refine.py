"""RefineGraphGenerator and PPGNDiscriminator (gan_jax/models/graph_refine.py): valid encodings,
node-permutation equivariance of G and invariance of D, D's sight of planarity, and one
train_step through gan_jax.core.steps."""

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax
from scipy.spatial import Delaunay

from gan_jax.data.graphs import encode
from gan_jax.models.graph_refine import PPGNDiscriminator, RefineGraphGenerator

N = 10
SMALL_G = dict(node_noise=4, global_noise=4, hidden=16, pair_hidden=8, position_dim=2,
               set_layers=1, rounds=2)


def _fixed(n):
  return tuple([0.0] * (n - 1) + [1.0])


def _check_encoding(x, nodes=None):
  x = np.asarray(x)
  assert set(np.unique(x)) <= {0.0, 1.0}
  np.testing.assert_array_equal(x, x.transpose(0, 2, 1))
  diag = np.diagonal(x, axis1=1, axis2=2)
  if nodes is not None:
    np.testing.assert_array_equal(diag, nodes)
  # nodes 0..n-1 exist, padding last, and no edge touches padding
  for a, d in zip(x, diag):
    n = int(d.sum())
    np.testing.assert_array_equal(d, np.arange(len(d)) < n)
    assert a[n:, :].sum() == 0 and a[:, n:].sum() == 0


def test_generator_output_is_a_valid_encoding():
  counts = (0, 0, 0, 0, 0.2, 0.3, 0.1, 0.2, 0.1, 0.1)
  g = RefineGraphGenerator(N, counts, **SMALL_G)
  z = jax.random.normal(jax.random.PRNGKey(0), (6, g.z_dim))
  variables = g.init(jax.random.PRNGKey(1), z, train=False)
  for train in (True, False):
    x = g.apply(variables, z, train=train, rngs={'sample': jax.random.PRNGKey(2)})
    assert x.shape == (6, N, N) and x.dtype == jnp.float32
    _check_encoding(x)
  _check_encoding(g.apply(variables, z, train=False))          # no rng: thresholded
  fixed = RefineGraphGenerator(N, _fixed(N), **SMALL_G)
  x = fixed.apply(variables, z, rngs={'sample': jax.random.PRNGKey(3)})
  _check_encoding(x, np.ones((6, N)))


def test_generator_straight_through_gradient_reaches_every_round():
  g = RefineGraphGenerator(N, _fixed(N), **SMALL_G)
  z = jax.random.normal(jax.random.PRNGKey(0), (4, g.z_dim))
  params = g.init(jax.random.PRNGKey(1), z, train=False)['params']
  weights = jax.random.normal(jax.random.PRNGKey(2), (N, N))
  grads = jax.grad(lambda p: jnp.sum(g.apply({'params': p}, z, rngs={
      'sample': jax.random.PRNGKey(3)}) * weights))(params)
  for name in ('logits_0', 'logits_1', 'logits_2'):
    norm = optax.global_norm(grads[name])
    assert np.isfinite(norm) and norm > 0, name


def test_generator_is_equivariant_in_its_per_node_noise():
  g = RefineGraphGenerator(N, _fixed(N), **SMALL_G)
  z = jax.random.normal(jax.random.PRNGKey(0), (3, g.z_dim))
  variables = g.init(jax.random.PRNGKey(1), z, train=False)
  perm = np.random.default_rng(0).permutation(N)
  node = z[:, :N * g.node_noise].reshape(3, N, g.node_noise)
  z_perm = jnp.concatenate([node[:, perm].reshape(3, -1), z[:, N * g.node_noise:]], -1)
  logits = np.asarray(g.apply(variables, z, train=False, output='logits'))
  logits_perm = np.asarray(g.apply(variables, z_perm, train=False, output='logits'))
  np.testing.assert_allclose(logits_perm, logits[:, perm][:, :, perm], atol=1e-4)
  graphs = np.asarray(g.apply(variables, z, train=False))
  graphs_perm = np.asarray(g.apply(variables, z_perm, train=False))
  np.testing.assert_array_equal(graphs_perm, graphs[:, perm][:, :, perm])


def test_discriminator_is_permutation_invariant():
  rng = np.random.default_rng(0)
  graphs = [nx.gnp_random_graph(int(n), 0.4, seed=i) for i, n in enumerate([7, 10, 9, 10])]
  x = encode(graphs, N)
  d = PPGNDiscriminator(hidden=8, blocks=3)
  variables = d.init(jax.random.PRNGKey(0), jnp.asarray(x))
  out = np.asarray(d.apply(variables, jnp.asarray(x)))
  # Permute the existing nodes of each graph (padding stays last, as the encoding has it).
  permuted = x.copy()
  for i, g in enumerate(graphs):
    n = g.number_of_nodes()
    perm = np.concatenate([rng.permutation(n), np.arange(n, N)])
    permuted[i] = x[i][perm][:, perm]
  np.testing.assert_allclose(np.asarray(d.apply(variables, jnp.asarray(permuted))), out,
                             atol=1e-5)
  # Full permutations (padding moved too) give the same logit as well: D only uses the mask.
  perm = rng.permutation(N)
  np.testing.assert_allclose(np.asarray(d.apply(variables, jnp.asarray(x[:, perm][:, :, perm]))),
                             out, atol=1e-5)


def _planar_pairs(count, n, seed):
  """(planar, non-planar) encodings with equal node and edge counts: a Delaunay triangulation
  of n random points, and the same graph with one edge moved to a random non-edge, kept only
  where networkx finds it non-planar (test data: the check builds the labels, nothing else)."""
  rng = np.random.default_rng(seed)
  planar, other = [], []
  while len(planar) < count:
    g = nx.empty_graph(n)
    for a, b, c in Delaunay(rng.random((n, 2))).simplices.tolist():
      g.add_edges_from([(a, b), (b, c), (c, a)])
    h = g.copy()
    edges = list(h.edges())
    h.remove_edge(*edges[rng.integers(len(edges))])
    non_edges = list(nx.non_edges(h))
    h.add_edge(*non_edges[rng.integers(len(non_edges))])
    if nx.check_planarity(h)[0] or not nx.is_connected(h):
      continue
    planar.append(g)
    other.append(h)
  return encode(planar, n), encode(other, n)


def test_discriminator_learns_to_see_planarity():
  n = 12
  train_p, train_np = _planar_pairs(64, n, seed=0)
  test_p, test_np = _planar_pairs(32, n, seed=1)
  x = jnp.asarray(np.concatenate([train_p, train_np]))
  y = jnp.asarray(np.concatenate([np.ones(len(train_p)), np.zeros(len(train_np))]))
  d = PPGNDiscriminator(hidden=8, blocks=3, head=32)
  params = d.init(jax.random.PRNGKey(0), x[:2])['params']
  opt = optax.adam(3e-3)
  opt_state = opt.init(params)

  @jax.jit
  def step(params, opt_state):
    loss, grads = jax.value_and_grad(lambda p: jnp.mean(optax.sigmoid_binary_cross_entropy(
        d.apply({'params': p}, x), y)))(params)
    updates, opt_state = opt.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss

  for _ in range(300):
    params, opt_state, loss = step(params, opt_state)
  score = lambda a: np.asarray(d.apply({'params': params}, jnp.asarray(a)))
  held_out = np.mean(score(test_p) > score(test_np))
  assert held_out >= 0.9, (held_out, float(loss))


# The rounds run through train_step in the 2-step run of experiments/configs/graphs_planar_refine.py
# (tests/test_experiments.py), which checks the run end to end.
