"""RefineGraphGenerator and PPGNDiscriminator (gan_jax/models/graph_refine.py): valid encodings,
node-permutation equivariance of G and invariance of D, D's sight of planarity, and one
train_step through gan_jax.core.steps."""

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax
import pytest
from scipy.spatial import Delaunay

from gan_jax.data.graphs import delaunay_graph, encode
from gan_jax.metrics.graphs import widest_angle_rule
from gan_jax.models.graph_refine import (PPGNDiscriminator, RefineGraphGenerator, _TripleEdgeTerm,
                                         third_nodes)

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
  drawing = np.asarray(g.apply(variables, z, train=False, output='drawing'))   # (3, N, 2)
  assert drawing.shape == (3, N, 2) and np.all((drawing > 0) & (drawing < 1))
  np.testing.assert_allclose(np.asarray(g.apply(variables, z_perm, train=False,
                                                output='drawing')), drawing[:, perm], atol=1e-5)


def _trained_triple_term(key, angle=False, per_side=False):
  """A _TripleEdgeTerm with random (not zero) last layers, and points to apply it to."""
  term = _TripleEdgeTerm(hidden=8, channels=4, angle=angle, neighbours=4, per_side=per_side)
  p = jax.random.uniform(key, (2, N, 2))
  nodes = jnp.ones((2, N)).at[1, 7:].set(0.0)
  variables = term.init(jax.random.PRNGKey(1), p, nodes, 0.05)
  variables = jax.tree.map(lambda v: v + 0.3 * jax.random.normal(key, v.shape), variables)
  return term, variables, p, nodes


@pytest.mark.parametrize('angle,per_side', [(False, False), (True, False), (True, True)])
def test_triple_edge_term_is_symmetric_equivariant_and_blind_to_rigid_motions(angle, per_side):
  term, variables, p, nodes = _trained_triple_term(jax.random.PRNGKey(0), angle, per_side)
  out = np.asarray(term.apply(variables, p, nodes, 0.05))
  assert np.abs(out).max() > 1e-3                      # not the zero it starts at
  np.testing.assert_allclose(out, out.transpose(0, 2, 1), atol=1e-6)
  perm = np.random.default_rng(0).permutation(N)
  graph0 = lambda q, m: np.asarray(term.apply(variables, q, m, 0.05))[0]
  np.testing.assert_allclose(graph0(p[:, perm], nodes), out[0][perm][:, perm], atol=1e-5)
  # A rotation and a translation of the latent points change nothing: only the triangles'
  # shapes are read (and which side of ij k lies on, so a reflection may change the output).
  angle = 0.7
  rotate = jnp.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
  moved = p @ rotate.T + jnp.array([0.3, -2.0])
  np.testing.assert_allclose(np.asarray(term.apply(variables, moved, nodes, 0.05)), out,
                             atol=1e-4)
  # A node that does not exist is nobody's third point.
  far = p.at[1, 8].set(jnp.array([0.5, 0.5]))
  np.testing.assert_allclose(np.asarray(term.apply(variables, far, nodes, 0.05))[1, :7, :7],
                             out[1, :7, :7], atol=1e-6)


def test_triple_edge_term_sees_a_point_between_two_others():
  """A pairwise rule (distance) cannot tell (i, j) with a point k between them from (i, j)
  alone; the max over third points can: fit both cases and check they separate."""
  base = jnp.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])     # k far away: (0, 1) is an edge
  between = base.at[2].set(jnp.array([0.5, 0.05]))            # k between them: it is not
  p = jnp.stack([base, between]) * 0.2
  nodes = jnp.ones((2, 3))
  term = _TripleEdgeTerm(hidden=8, channels=4)
  params = term.init(jax.random.PRNGKey(0), p, nodes, 0.05)
  target = jnp.array([4.0, -4.0])
  loss = lambda v: jnp.sum((term.apply(v, p, nodes, 0.05)[:, 0, 1] - target) ** 2)
  opt = optax.adam(1e-2)

  @jax.jit
  def step(params, state):
    updates, state = opt.update(jax.grad(loss)(params), state)
    return optax.apply_updates(params, updates), state

  state = opt.init(params)
  for _ in range(200):
    params, state = step(params, state)
  out = np.asarray(term.apply(params, p, nodes, 0.05))[:, 0, 1]
  assert out[0] > 2.0 and out[1] < -2.0, out


def test_generator_with_triples_starts_as_its_pairwise_prior():
  g = RefineGraphGenerator(N, _fixed(N), **{**SMALL_G, 'rounds': 0}, triples=4)
  plain = RefineGraphGenerator(N, _fixed(N), **{**SMALL_G, 'rounds': 0})
  z = jax.random.normal(jax.random.PRNGKey(0), (3, g.z_dim))
  variables = g.init(jax.random.PRNGKey(1), z, train=False)
  assert 'triples' in variables['params']
  without = {'params': {k: v for k, v in variables['params'].items() if k != 'triples'}}
  np.testing.assert_allclose(np.asarray(g.apply(variables, z, train=False, output='logits')),
                             np.asarray(plain.apply(without, z, train=False, output='logits')),
                             atol=1e-5)


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


def test_widest_angle_rule_with_every_third_node_is_delaunay():
  points = np.random.default_rng(3).random((30, 2))
  first, second = np.triu_indices(30, 1)
  others = np.stack([np.delete(np.arange(30), [a, b]) for a, b in zip(first, second)])
  rule = widest_angle_rule(points, first, second, others, np.ones(others.shape, bool))
  reference = nx.to_numpy_array(delaunay_graph(points))[first, second] > 0
  np.testing.assert_array_equal(rule, reference)


def test_third_nodes_per_side_are_the_nearest_on_each_side_and_lift_the_ceiling():
  n, k = 24, 8
  points = np.random.default_rng(4).random((2, n, 2))
  nodes = np.ones((2, n)); nodes[1, 20:] = 0
  first, second = np.triu_indices(n, 1)
  chosen, valid = map(np.asarray, third_nodes(jnp.asarray(points), jnp.asarray(nodes), first,
                                              second, k, per_side=True))
  for b, q in [(0, 0), (0, 57), (1, 100), (1, 5)]:
    i, j, p = first[q], second[q], points[b]
    cross = np.cross(p[j] - p[i], p - p[i])
    dist = np.sum((p - (p[i] + p[j]) / 2) ** 2, -1)
    exist = (nodes[b] > 0) & (np.arange(n) != i) & (np.arange(n) != j)
    for side, half in ((cross >= 0, slice(0, k // 2)), (cross < 0, slice(k // 2, k))):
      candidates = np.flatnonzero(exist & side)
      nearest = candidates[np.argsort(dist[candidates])][:k // 2]
      got = chosen[b, q, half][valid[b, q, half]]
      assert sorted(got.tolist()) == sorted(nearest.tolist()), (b, q, got, nearest)
  # On uniform 64-point sets the Delaunay rule read on the 16 nodes nearest the midpoint adds
  # edges (a ceiling for G), read on the 8 nearest per side (almost) never.
  n = 64
  points = np.random.default_rng(0).random((10, n, 2))
  first, second = np.triu_indices(n, 1)
  reference = np.stack([nx.to_numpy_array(delaunay_graph(p))[first, second] > 0 for p in points])
  extra = {}
  for per_side in (False, True):
    chosen, valid = third_nodes(jnp.asarray(points), jnp.ones((10, n)), first, second, 16,
                                per_side)
    rule = np.stack([widest_angle_rule(p, first, second, c, v) for p, c, v in
                     zip(points, np.asarray(chosen), np.asarray(valid))])
    assert not np.any(~rule & reference)           # restricting the thirds only adds edges
    extra[per_side] = (rule & ~reference).sum(1).mean()
  assert extra[False] > 1.0 and extra[True] < 0.3, extra


def test_triple_edge_term_gradient_is_finite_when_a_side_has_too_few_nodes():
  """8 slots per side but 8 third nodes in all: the padding (which may be i or j itself) must
  not send NaN through the mask."""
  term, variables, p, nodes = _trained_triple_term(jax.random.PRNGKey(1), True, True)
  term = term.clone(neighbours=16)
  grads = jax.grad(lambda q, v: jnp.sum(term.apply(v, q, nodes, 0.05) ** 2), argnums=(0, 1))(
      p, variables)
  norms = [float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads)]
  assert all(np.isfinite(norms)) and norms[0] > 0, norms
