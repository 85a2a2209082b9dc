"""One-shot generator and permutation-invariant critic for graphs in the dense (B, N, N) encoding
of gan_jax.data.graphs: adjacency off the diagonal, node existence on it.

G is MolGAN's recipe (De Cao & Kipf 2018) without node/edge types: an MLP to edge and node
logits, made discrete by straight-through Gumbel (binary Concrete, Maddison et al. 2017; Jang et
al. 2017) so D only ever sees 0/1 graphs while G still gets a pathwise gradient. D is a dense
message-passing network with sum pooling (GIN-like, Xu et al. 2019), invariant to the node order.
"""

from typing import Optional, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import keys


def binary_concrete(key, logits, temperature: float, straight_through: bool,
                    axis_name: Optional[str] = None):
  """Bernoulli(sigmoid(logits)) samples with a relaxed gradient.

  logits + Logistic noise > 0 is an exact Bernoulli draw; sigmoid((logits + noise) / t) is its
  relaxation. Straight-through returns the hard 0/1 draw forward and the relaxed sample's
  gradient backward; otherwise the relaxed sample itself. With `axis_name` the noise is drawn
  for the global batch (leading axis) and sliced (keys.draw_global)."""
  noisy = logits + logistic_noise(key, logits.shape, logits.dtype, axis_name)
  soft = jax.nn.sigmoid(noisy / temperature)
  if not straight_through:
    return soft
  hard = (noisy > 0).astype(soft.dtype)
  return hard + (soft - jax.lax.stop_gradient(soft))   # exactly `hard` forward: (soft - soft) = 0


def logistic_noise(key, shape, dtype, axis_name):
  """Logistic noise for Bernoulli edge draws (x + noise > 0), drawn for the global batch under
  `axis_name` (each device keeps its rows)."""
  return keys.draw_global(lambda k, s: jax.random.logistic(k, s, dtype), key, shape, axis_name)


def node_triangles(adjacency):
  """(B, N, N) symmetric adjacency, zero diagonal, entries in [0, 1] -> (B, N) triangles through
  each node, diag(A^3) / 2 (for soft entries: the sum of the products of the three edges)."""
  return jnp.einsum('bij,bjk,bki->bi', adjacency, adjacency, adjacency) / 2


def local_clustering(triangles, degree):
  """nx.clustering from triangle counts and degrees: 2 T / (d (d - 1)), 0 where d < 2.

  The denominator is floored at 1 (d (d - 1) >= 2 for every node that can have a triangle), so
  soft graphs give a finite value and a finite gradient everywhere."""
  return 2 * triangles / jnp.maximum(degree * (degree - 1), 1.0)


def edge_type_adjacencies(adjacency, types: int):
  """The edges split by how many triangles each is in (common neighbours c = (A^2)_ij): one
  (B, N, N) weighted adjacency per type, c = 0, 1, ..., types - 2 and c >= types - 1. Soft
  (Gaussian bumps of width 0.5 in c, a logistic step for the last) so that soft graphs give
  gradients; on 0/1 graphs every edge falls in its type with weight ~1 (>= 0.86).

  In a triangulation of a disk (the planar dataset's Delaunay graphs) every inner edge is in 2
  triangles and every boundary edge in 1, a constraint node-level counts do not pin down."""
  common = adjacency @ adjacency
  out = [adjacency * jnp.exp(-2.0 * (common - k) ** 2) for k in range(types - 1)]
  out.append(adjacency * jax.nn.sigmoid(8.0 * (common - (types - 1.5))))
  return out


class GraphGenerator(nn.Module):
  """z (B, z_dim) -> (B, n_max, n_max) float32 graphs.

  Training (train=True) needs rngs={'sample': key} for the Gumbel noise. In evaluation
  (train=False) a 'sample' rng, when given, draws Bernoulli graphs (the model's distribution);
  without one (init, a deterministic preview) each entry is thresholded at p = 0.5.

  Node existence is learned (one logit per node) unless `node_counts` is given: then the number
  of nodes n is drawn from that distribution (node_counts[k] = P(n = k + 1), e.g. the training
  split's histogram, as SPECTRE samples n), nodes 0..n-1 exist (padding last, as the data's
  encoding), and the MLP sees one_hot(n) next to z, so only the edges are generated. `num_nodes`
  (B,) fixes n instead of drawing it (a VAE's decoder is given its target's n).

  With `axis_name` (set by gan_jax.run.parallel) node counts and edge noise are drawn for the
  global batch and sliced (keys.draw_global): each device draws its own rows of a one-device run.
  """
  n_max: int
  hidden: Sequence[int] = (128, 256, 512)
  temperature: float = 1.0
  straight_through: bool = True
  node_counts: Optional[Tuple[float, ...]] = None
  axis_name: Optional[str] = None

  def _discretise(self, logits, train: bool):
    if train or self.has_rng('sample'):
      key = self.make_rng('sample')
      if train:
        return binary_concrete(key, logits, self.temperature, self.straight_through,
                               self.axis_name)
      noise = logistic_noise(key, logits.shape, jnp.float32, self.axis_name)
      return (noise + logits > 0).astype(jnp.float32)
    return (logits > 0).astype(jnp.float32)

  def _num_nodes(self, batch: int, num_nodes):
    """(B,) int32 node counts: given, drawn from node_counts, or (no rng) the likeliest."""
    if num_nodes is not None:
      return jnp.asarray(num_nodes, jnp.int32)
    probs = jnp.asarray(self.node_counts, jnp.float32)
    if len(self.node_counts) != self.n_max:
      raise ValueError(f'node_counts needs {self.n_max} probabilities (n = 1..n_max), '
                       f'got {len(self.node_counts)}')
    if self.has_rng('sample'):
      draw = lambda key, shape: jax.random.categorical(key, jnp.log(probs), shape=shape)
      return 1 + keys.draw_global(draw, self.make_rng('sample'), (batch,), self.axis_name)
    return jnp.full((batch,), 1 + int(np.argmax(self.node_counts)), jnp.int32)

  @nn.compact
  def __call__(self, z, train: bool = True, output: str = 'graph', num_nodes=None):
    """output='graph': the (B, N, N) 0/1 graphs above; output='logits': the Bernoulli logits
    the graphs are drawn from, in the same layout (symmetric edge logits off the diagonal,
    node logits on it) and from the same params, for a likelihood-trained decoder (GraphVAE).
    With `node_counts`, the diagonal of the logits is +-30 (existence is not modelled)."""
    if output not in ('graph', 'logits'):
      raise ValueError(f"unknown output {output!r}; choose 'graph' or 'logits'")
    n = self.n_max
    batch = z.shape[0]
    h = z
    fixed_nodes = None
    if self.node_counts is not None:
      count = self._num_nodes(batch, num_nodes)
      fixed_nodes = (jnp.arange(n)[None, :] < count[:, None]).astype(jnp.float32)
      h = jnp.concatenate([z, jax.nn.one_hot(count - 1, n, dtype=z.dtype)], -1)
    for width in self.hidden:
      h = nn.relu(nn.Dense(width)(h))
    rows, cols = np.triu_indices(n, k=1)
    # Only the upper triangle is generated, so the graph is undirected by construction.
    edge_logits = nn.Dense(len(rows), name='edge_logits')(h).astype(jnp.float32)
    if fixed_nodes is None:
      node_logits = nn.Dense(n, name='node_logits')(h).astype(jnp.float32)
    else:
      node_logits = 60.0 * fixed_nodes - 30.0
    if output == 'logits':
      upper = jnp.zeros((batch, n, n), jnp.float32).at[:, rows, cols].set(edge_logits)
      diagonal = node_logits[:, :, None] * jnp.eye(n, dtype=jnp.float32)
      return upper + upper.transpose(0, 2, 1) + diagonal
    if fixed_nodes is None:
      # One noise draw for both: every random op adds XLA compile time (~0.5-1 s on CPU).
      both = self._discretise(jnp.concatenate([edge_logits, node_logits], -1), train)
      edges, nodes = both[:, :len(rows)], both[:, len(rows):]
    else:
      edges, nodes = self._discretise(edge_logits, train), fixed_nodes
    upper = jnp.zeros((batch, n, n), jnp.float32).at[:, rows, cols].set(edges)
    # An edge needs both ends to exist: real graphs never touch padding.
    adjacency = (upper + upper.transpose(0, 2, 1)) * nodes[:, :, None] * nodes[:, None, :]
    return adjacency + nodes[:, :, None] * jnp.eye(n, dtype=jnp.float32)


class GraphTrunk(nn.Module):
  """The permutation-invariant trunk of `GraphDiscriminator` (and of GraphVAE's encoder):
  (B, N, N) graphs -> (B, hidden) pooled node states; see GraphDiscriminator."""
  hidden: int = 128
  layers: int = 3
  pooling: str = 'sum'
  triangles: bool = False
  normalize: bool = False
  edge_types: int = 0

  @nn.compact
  def __call__(self, x):
    if self.pooling not in ('sum', 'attention'):
      raise ValueError(f"unknown pooling {self.pooling!r}; choose 'sum' or 'attention'")
    x = x.astype(jnp.float32)
    n = x.shape[-1]
    nodes = jnp.diagonal(x, axis1=1, axis2=2)                     # (B, N)
    adjacency = x * (1.0 - jnp.eye(n, dtype=jnp.float32))
    degree = adjacency.sum(-1)
    # Degree / N keeps the input O(1) for any graph size.
    features = [nodes, degree / n]
    if self.triangles:
      triangles = node_triangles(adjacency)
      features += [triangles / n, local_clustering(triangles, degree)]
    typed = []
    if self.edge_types:
      typed = edge_type_adjacencies(adjacency, self.edge_types)
      features += [a.sum(-1) / jnp.maximum(degree, 1.0) for a in typed]
    h = jnp.stack(features, axis=-1)                              # (B, N, features)
    mask = nodes[..., None]
    for _ in range(self.layers):
      message = nn.Dense(self.hidden, use_bias=False)(h)
      update = nn.Dense(self.hidden)(h) + adjacency @ message
      if typed:
        messages = nn.Dense(self.hidden * len(typed), use_bias=False)(h)
        for k, a in enumerate(typed):
          update = update + a @ messages[..., k * self.hidden:(k + 1) * self.hidden]
      h = update
      if self.normalize:   # per node: each graph's output still depends on that graph alone
        h = nn.LayerNorm()(h)
      h = nn.leaky_relu(h, 0.2) * mask
    if self.pooling == 'sum':
      return h.sum(1) / n if self.normalize else h.sum(1)
    scores = nn.Dense(1)(h)[..., 0]
    weights = nodes * jnp.exp(scores - jax.lax.stop_gradient(scores.max(-1, keepdims=True)))
    return jnp.einsum('bn,bnf->bf', weights, h) / (weights.sum(-1, keepdims=True) + 1e-6)


class GraphDiscriminator(nn.Module):
  """(B, N, N) graphs -> one logit per graph (B,), invariant to relabelling the nodes.

  Accepts soft entries in [0, 1] (relaxed samples, WGAN-GP interpolates). Node states start
  from existence and degree and are updated as h <- LeakyReLU(W1 h + A W2 h), zeroed on padding
  nodes, then pooled ('sum' keeps the node count visible; 'attention' is a softmax-weighted
  mean). No BatchNorm: gradient penalties need each graph's logit to depend on it alone.

  Unnormalised, each layer multiplies the node states' scale by about the degree (the sum over
  neighbours), and sum pooling by N: logits of O(100) at init on 20-node graphs. With
  `normalize=True` each layer's node states are layer-normalised (per node, so the critic stays
  per-example, as gradient penalties need) and the sum pool is divided by N (a constant: the
  node count stays visible).

  Message passing between neighbours cannot count triangles (it is bounded by the 1-WL test:
  two disjoint triangles and a 6-cycle look alike to it), so clustering is invisible to it.
  With `triangles=True` every node also starts from its triangle count diag(A^3) / 2 (scaled by
  1 / N) and its local clustering coefficient 2 T / (d (d - 1)): both differentiable in soft
  entries and invariant to the node order. With `edge_types=K > 0` the edges are also typed by
  the number of triangles each is in (`edge_type_adjacencies`): K more node features (the share
  of a node's edges of each type) and K more messages per layer, one per type.
  """
  hidden: int = 128
  layers: int = 3
  pooling: str = 'sum'
  triangles: bool = False
  normalize: bool = False
  edge_types: int = 0

  @nn.compact
  def __call__(self, x, train: bool = True):
    pooled = GraphTrunk(self.hidden, self.layers, self.pooling, self.triangles, self.normalize,
                        self.edge_types, name='trunk')(x)
    out = nn.leaky_relu(nn.Dense(self.hidden)(pooled), 0.2)
    return nn.Dense(1)(out)[:, 0].astype(jnp.float32)
