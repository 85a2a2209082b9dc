"""A graph generator that sees its own partial graph, and a PPGN critic that can see planarity.

Why (docs/structured.md, planar): the one-shot MLP generator of gan_jax.models.graphs draws
every edge independently given z, so it must place ~178 edges of a triangulated disk right at
once; its graphs have the right edge and triangle counts but only 45% of their edges lie in
exactly two triangles (93% in the data), and none is planar. Its message-passing critic is
bounded by 1-WL and cannot see crossings either.

`RefineGraphGenerator` (in the spirit of SPECTRE's staged generation and of iterative
refinement): per-node noise -> node states by set self-attention (equivariant in the nodes'
noise), a latent 2-D position and radius per node (`geometric`: the data are proximity graphs
of points in the plane, so at init G draws random geometric graphs at the data's density), and
edge logits from a symmetric learned pairwise function of the two nodes' states and their latent
distance. No Delaunay or other triangulation is computed: which pairs become edges, and where
the points lie, is learned from D alone. A first graph is drawn
(straight-through binary Concrete, `binary_concrete` of gan_jax.models.graphs), then for
`rounds` rounds the node states are updated by message passing over the drawn graph (with its
degrees, triangle counts and each pair's common-neighbour count, the quantity that says whether
an edge lies in two triangles), and all edges are re-predicted from the old logit and the new
pair features, and drawn again. G's output is the last draw in the dense encoding of
gan_jax.data.graphs. No planarity test, triangulation or rejection anywhere: validity must come
from D's gradient.

`PPGNDiscriminator` (Maron et al. 2019, "Provably powerful graph networks"): pairwise features
(B, C, N, N); each block multiplies two per-pair MLPs of them as matrices, channel by channel
(x <- MLP([x, MLP1(x) @ MLP2(x)])), which reaches 3-WL power (counts cycles, common neighbours,
paths), and pools every block's output over the diagonal and the off-diagonal (sum / N and
sum / N^2, invariant to the node order). Per-example only (no BatchNorm), so R1 works.
"""

from typing import Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import keys
from gan_jax.models.graphs import logistic_noise, binary_concrete, local_clustering, node_triangles


def refine_z_dim(n_max: int, node_noise: int, global_noise: int) -> int:
  """The z_dim a `RefineGraphGenerator` takes: per-node noise rows, then the global noise."""
  return n_max * node_noise + global_noise


class _SetBlock(nn.Module):
  """Pre-LN transformer block over the nodes (masked to existing nodes): equivariant."""
  hidden: int
  heads: int = 4

  @nn.compact
  def __call__(self, h, mask):
    attn_mask = (mask[:, None, :, None] * mask[:, None, None, :]) > 0
    y = nn.LayerNorm()(h)
    h = h + nn.MultiHeadDotProductAttention(num_heads=self.heads, qkv_features=self.hidden,
                                            out_features=self.hidden)(y, y, mask=attn_mask)
    y = nn.LayerNorm()(h)
    h = h + nn.Dense(self.hidden)(nn.gelu(nn.Dense(2 * self.hidden)(y)))
    return h * mask[..., None]


class _PairLogits(nn.Module):
  """Symmetric edge logits from node states and pair features: MLP(u_i + u_j, v_i * v_j,
  |p_i - p_j|^2, pair features), so logit_ij = logit_ji by construction."""
  hidden: int
  position_dim: int
  bias: float = 0.0
  zero_init: bool = False   # refinement heads start at delta = 0: round r starts as a redraw

  @nn.compact
  def __call__(self, h, pair):
    u = nn.Dense(self.hidden)(h)
    v = nn.Dense(self.hidden, use_bias=False)(h)
    x = u[:, :, None, :] + u[:, None, :, :] + v[:, :, None, :] * v[:, None, :, :]
    if self.position_dim:
      p = nn.Dense(self.position_dim, name='position')(h)
      dist = jnp.sum((p[:, :, None, :] - p[:, None, :, :]) ** 2, -1, keepdims=True)
      pair = jnp.concatenate([pair, dist], -1)
    x = x + nn.Dense(self.hidden, use_bias=False)(pair)
    x = nn.Dense(self.hidden)(nn.gelu(x))
    # Small (round 0) or zero (refinements) last layer: the first graphs start near the prior
    # density, not at a random global offset of several logits shared by every pair.
    kernel_init = (nn.initializers.zeros if self.zero_init
                   else nn.initializers.variance_scaling(0.01, 'fan_in', 'normal'))
    out = nn.Dense(1, kernel_init=kernel_init,
                   bias_init=nn.initializers.constant(self.bias))(nn.gelu(x))[..., 0]
    return out


def third_nodes(p, nodes, first, second, neighbours: int, per_side: bool):
  """Which third nodes k each pair (first[q], second[q]) reads: (B, P, K) ids and a validity mask.

  The existing nodes other than i and j nearest the pair's midpoint: `neighbours` of them, or
  with `per_side` neighbours // 2 on each side of the line through i and j. Why per side: the
  Delaunay rule of the data looks at the widest-angled point on each side, and where one side
  is crowded (the border, long edges) the plain nearest set holds none of the other side's
  points. On uniform points that rule restricted to the 16 nearest adds 2.3 edges per 64-node
  graph, restricted to 8 per side 0.06 (experiments/diagnostics/planar_neighbours.py, 50 point
  sets): a ceiling on what G can learn, not a rule given to it. The choice carries no gradient
  (positions move the messages, not the selection).
  """
  n = p.shape[1]
  p = jax.lax.stop_gradient(p)
  p_i, p_j = p[:, first], p[:, second]
  to_mid = jnp.sum((p[:, None, :, :] - ((p_i + p_j) / 2)[:, :, None, :]) ** 2, -1)  # (B, P, N)
  k_ids = jnp.arange(n)
  third = ((nodes[:, None, :] > 0) & (k_ids[None, None, :] != first[None, :, None])
           & (k_ids[None, None, :] != second[None, :, None]))
  if not per_side:
    _, chosen = jax.lax.top_k(jnp.where(third, -to_mid, -jnp.inf), min(neighbours, n - 2))
    return chosen, jnp.take_along_axis(third, chosen, axis=2)
  d, e = p_j - p_i, p[:, None, :, :] - p_i[:, :, None, :]
  left = d[:, :, None, 0] * e[..., 1] - d[:, :, None, 1] * e[..., 0] >= 0    # (B, P, N)
  chosen, valid = [], []
  for side in (third & left, third & ~left):
    _, ids = jax.lax.top_k(jnp.where(side, -to_mid, -jnp.inf), min(neighbours // 2, n - 2))
    chosen.append(ids)
    valid.append(jnp.take_along_axis(side, ids, axis=2))
  return jnp.concatenate(chosen, 2), jnp.concatenate(valid, 2)


class _TripleEdgeTerm(nn.Module):
  """Edge logits that look at third nodes: for each pair (i, j) and each of the `neighbours`
  existing nodes k nearest the pair's midpoint, a learned message from the shape of the latent
  triangle (p_i, p_j, p_k) (its rigid-motion invariants: the angle at k as (cos, signed sin),
  the sign saying on which side of ij k lies, and the three squared side lengths in units of the
  prior radius^2, saturating), max-pooled over k, then a small MLP per pair; computed for both
  orientations (i, j) and (j, i) and averaged, so symmetric and equivariant in the nodes.

  Why: an edge of a planar straight-line drawing is decided by the other points (whether one of
  them lies between i and j); a pairwise rule (distance, node states) cannot express that, a
  max over third points can. Which rule (Gabriel, Delaunay, anything else) is learned from D:
  nothing here is given a triangulation or a planarity test. The points that can lie between
  i and j are the ones nearest the midpoint, hence `neighbours` (16 of 62 on planar: a planar
  training step took 1.3 s on one CPU core, against 2.6 s with every third node). Zero at init
  (last layer zero): G starts as its pairwise geometric prior.
  """
  hidden: int = 16
  channels: int = 8
  neighbours: int = 16
  scale: float = 10.0   # logits per unit of the head's output (the geometric prior's sharpness)
  angle: bool = False   # also the signed angle at k itself, atan2(sin, cos) / pi
  per_side: bool = False   # the neighbours/2 nearest on each side of the line ij (`third_nodes`)

  @nn.compact
  def __call__(self, p, nodes, unit2):
    batch, n = p.shape[:2]
    if n < 3:
      return jnp.zeros((batch, n, n), jnp.float32)
    first, second = np.triu_indices(n, 1)                           # the P unordered pairs
    p_i, p_j = p[:, first], p[:, second]                            # (B, P, 2)
    chosen, valid = third_nodes(p, nodes, first, second, self.neighbours, self.per_side)
    p_k = jax.vmap(lambda points, ids: points[ids])(p, chosen)      # (B, P, K, 2)
    message_in = nn.Dense(self.hidden, name='message_in')
    message_out = nn.Dense(self.channels, name='message_out')
    head_in = nn.Dense(self.hidden, name='head_in')
    head_out = nn.Dense(1, kernel_init=nn.initializers.zeros, name='head_out')

    def oriented(a, b):   # the pair seen from a to b: which side is "left" depends on it
      da, db = a[:, :, None, :] - p_k, b[:, :, None, :] - p_k
      # A side with fewer nodes than slots pads with ids that may be i or j: give the padding a
      # harmless triangle, or atan2(0, 0) and sqrt(0) send NaN gradients through the mask.
      da = jnp.where(valid[..., None], da, jnp.array([1.0, 0.0]))
      db = jnp.where(valid[..., None], db, jnp.array([0.0, 1.0]))
      dot = jnp.sum(da * db, -1)
      cross = da[..., 0] * db[..., 1] - da[..., 1] * db[..., 0]
      sq_a, sq_b = jnp.sum(da ** 2, -1), jnp.sum(db ** 2, -1)
      sq_ab = jnp.broadcast_to(jnp.sum((a - b) ** 2, -1)[:, :, None], dot.shape)
      norms = jnp.sqrt(sq_a * sq_b + 1e-12)
      sides = jnp.stack([sq_a, sq_b, sq_ab], -1) / unit2
      feats = jnp.concatenate([jnp.stack([dot / norms, cross / norms], -1),
                               sides / (1.0 + sides)], -1)          # far triangles saturate
      if self.angle:
        feats = jnp.concatenate([feats, jnp.arctan2(cross, dot)[..., None] / np.pi], -1)
      m = message_out(nn.gelu(message_in(feats)))                   # (B, P, K, C)
      pooled = jnp.max(jnp.where(valid[..., None], m, -1e4), axis=2)
      pooled = jnp.where(jnp.any(valid, 2)[..., None], pooled, 0.0)
      return head_out(nn.gelu(head_in(pooled)))[..., 0]             # (B, P)

    out = self.scale * (oriented(p_i, p_j) + oriented(p_j, p_i)) / 2
    upper = jnp.zeros((batch, n, n), jnp.float32).at[:, first, second].set(out)
    return upper + upper.transpose(0, 2, 1)


class RefineGraphGenerator(nn.Module):
  """z (B, n_max * node_noise + global_noise) -> (B, n_max, n_max) 0/1 graphs.

  z is read as per-node noise rows (B, n_max, node_noise) and a global part: permuting the rows
  of the node noise permutes the output graph's nodes (the logits exactly; the sampled graphs in
  distribution), so G is equivariant in its per-node noise. The number of nodes n comes from
  `node_counts` as in GraphGenerator (required here; planar: always 64), nodes 0..n-1 exist.
  Training (train=True) needs rngs={'sample': key}; in evaluation a 'sample' rng draws Bernoulli
  graphs in every round, without one (init, `output='logits'`) every round thresholds at 0.5.
  `output='drawing'`: the (B, N, 2) latent positions in the unit square, G's own drawing of its
  graph (a diagnostic: how many of its edges cross there).
  """
  n_max: int
  node_counts: Tuple[float, ...]
  node_noise: int = 8
  global_noise: int = 16
  hidden: int = 64
  pair_hidden: int = 32
  position_dim: int = 4
  set_layers: int = 2
  rounds: int = 2
  temperature: float = 1.0
  straight_through: bool = True
  edge_prior: float = 0.0   # initial bias of the first round's edge logits: logit(density)
  axis_name: Optional[str] = None   # set under pmap: noise drawn for the global batch
  # Geometric prior (the planar data are proximity graphs of points in the plane): each node
  # gets a latent 2-D position (standardised per graph, then mapped into the unit square by the
  # Gaussian CDF) and a learned radius r_i, and every round's logit gets
  # s * (r0^2 r_i r_j - |p_i - p_j|^2), s learned: at init G draws random geometric graphs
  # at the data's density; everything else (where the points lie, which edges go) is learned.
  geometric: bool = True
  sharpness: float = 10.0
  # Edges that see the other nodes (geometric only): `_TripleEdgeTerm` of the latent positions
  # of round 0, added to every round's logits; 0 channels: off (a pairwise rule only).
  triples: int = 0
  triple_hidden: int = 16     # width of the third-node messages
  triple_angle: bool = False  # the messages also read the signed angle at k (atan2 / pi)
  triple_per_side: bool = False   # third nodes: the nearest on each side of the pair's line

  @property
  def z_dim(self) -> int:
    return refine_z_dim(self.n_max, self.node_noise, self.global_noise)

  def _draw(self, logits, train: bool):
    """A symmetric 0/1 draw of the upper triangle's logits, mirrored (zero diagonal)."""
    n = self.n_max
    upper = jnp.triu(jnp.ones((n, n), jnp.float32), 1)
    if train or self.has_rng('sample'):
      key = self.make_rng('sample')
      if train:
        sample = binary_concrete(key, logits, self.temperature, self.straight_through,
                                 self.axis_name)
      else:
        noise = logistic_noise(key, logits.shape, jnp.float32, self.axis_name)
        sample = (noise + logits > 0).astype(jnp.float32)
    else:
      sample = (logits > 0).astype(jnp.float32)
    sample = sample * upper
    return sample + sample.transpose(0, 2, 1)

  def _num_nodes(self, batch: int):
    probs = jnp.asarray(self.node_counts, jnp.float32)
    if len(self.node_counts) != self.n_max:
      raise ValueError(f'node_counts needs {self.n_max} probabilities, got {len(self.node_counts)}')
    if float(np.max(self.node_counts)) == 1.0:   # one size (planar): no draw, no rng needed
      return jnp.full((batch,), 1 + int(np.argmax(self.node_counts)), jnp.int32)
    if self.has_rng('sample'):
      draw = lambda key, shape: jax.random.categorical(key, jnp.log(probs), shape=shape)
      return 1 + keys.draw_global(draw, self.make_rng('sample'), (batch,), self.axis_name)
    return jnp.full((batch,), 1 + int(np.argmax(self.node_counts)), jnp.int32)

  @nn.compact
  def __call__(self, z, train: bool = True, output: str = 'graph'):
    if output not in ('graph', 'logits', 'drawing'):
      raise ValueError(f"unknown output {output!r}; choose 'graph', 'logits' or 'drawing'")
    if output == 'drawing' and not self.geometric:
      raise ValueError("output='drawing' needs the latent plane (geometric=True)")
    n, batch = self.n_max, z.shape[0]
    if z.shape[-1] != self.z_dim:
      raise ValueError(f'z has {z.shape[-1]} dims; this generator takes {self.z_dim}')
    node_z = z[:, :n * self.node_noise].reshape(batch, n, self.node_noise)
    global_z = z[:, n * self.node_noise:]
    count = self._num_nodes(batch)
    nodes = (jnp.arange(n)[None, :] < count[:, None]).astype(jnp.float32)      # (B, N)
    pair_mask = nodes[:, :, None] * nodes[:, None, :] * (1.0 - jnp.eye(n))
    size = jax.nn.one_hot(count - 1, n, dtype=jnp.float32)
    g = nn.Dense(self.hidden)(jnp.concatenate([global_z, size], -1))
    h = nn.Dense(self.hidden)(node_z) + g[:, None, :]
    h = h * nodes[..., None]
    for _ in range(self.set_layers):
      h = _SetBlock(self.hidden)(h, nodes)
    pair = jnp.zeros((batch, n, n, 1), jnp.float32)
    bias = 0.0 if self.geometric else self.edge_prior
    logits = _PairLogits(self.pair_hidden, self.position_dim, bias, name='logits_0')(h, pair)
    if self.geometric:
      # Positions in the unit square: standardised per graph, then the Gaussian CDF (uniform
      # points if the raw positions are Gaussian). For uniform points P(|p_i - p_j| < r) is
      # about pi r^2 (less at the border): r^2 from the prior density.
      density = 1.0 / (1.0 + np.exp(-self.edge_prior))
      radius2 = 1.15 * density / np.pi
      sharp = self.param('log_sharpness',
                         nn.initializers.constant(np.log(self.sharpness / radius2)), ())
      geo_head = nn.Dense(3, name='geometry', kernel_init=nn.initializers.normal(0.1))
      counts = count.astype(jnp.float32)[:, None, None]

      def positions_and_radii(h):
        out = geo_head(h)
        p, log_r = out[..., :2], out[..., 2]
        mean = (p * nodes[..., None]).sum(1, keepdims=True) / counts
        p = (p - mean) * nodes[..., None]
        std = jnp.sqrt((p ** 2 * nodes[..., None]).sum(1, keepdims=True) / counts + 1e-6)
        return jax.scipy.stats.norm.cdf(p / std), jnp.exp(log_r)

      def geometric_logits(h):
        p, r = positions_and_radii(h)
        dist = jnp.sum((p[:, :, None, :] - p[:, None, :, :]) ** 2, -1)
        return jnp.exp(sharp) * (radius2 * r[:, :, None] * r[:, None, :] - dist)
      logits = logits + geometric_logits(h)
      if self.triples:
        logits = logits + _TripleEdgeTerm(hidden=self.triple_hidden, channels=self.triples,
                                          scale=self.sharpness, angle=self.triple_angle,
                                          per_side=self.triple_per_side,
                                          name='triples')(positions_and_radii(h)[0], nodes,
                                                          radius2)
    adjacency = self._draw(logits, train) * pair_mask
    for r in range(self.rounds):
      # What G sees of its own graph: degrees, triangles, clustering per node; per pair the
      # edge, its common neighbours (A^2)_ij (2 for an inner edge of a triangulation) and the
      # previous logit.
      degree = adjacency.sum(-1)
      triangles = node_triangles(adjacency)
      common = adjacency @ adjacency
      node_feats = jnp.stack([degree / 6.0, triangles / 6.0,
                              local_clustering(triangles, degree)], -1)
      message = nn.Dense(self.hidden, use_bias=False)(h)
      m = adjacency @ message / 6.0
      previous_h = h
      h = h + nn.Dense(self.hidden)(nn.gelu(nn.Dense(self.hidden)(
          jnp.concatenate([h, m, node_feats], -1))))
      h = _SetBlock(self.hidden)(h * nodes[..., None], nodes)
      pair = jnp.stack([adjacency, adjacency * common / 2.0, common / 2.0,
                        jnp.tanh(logits / 4.0)], -1)
      delta = _PairLogits(self.pair_hidden, self.position_dim, zero_init=True,
                          name=f'logits_{r + 1}')(h, pair)
      logits = logits + delta
      if self.geometric:   # positions move with the node states: re-place, keep the delta
        logits = logits - geometric_logits(previous_h) + geometric_logits(h)
      adjacency = self._draw(logits, train) * pair_mask
    if output == 'drawing':   # G's own straight-line drawing: the last round's latent positions
      return positions_and_radii(h)[0]
    if output == 'logits':
      return (logits + logits.transpose(0, 2, 1)) / 2 * pair_mask + (
          60.0 * nodes - 30.0)[:, :, None] * jnp.eye(n)
    return adjacency + nodes[:, :, None] * jnp.eye(n, dtype=jnp.float32)


class PPGNDiscriminator(nn.Module):
  """(B, N, N) graphs (entries in [0, 1]) -> (B,) logits, invariant to the node order.

  Input channels per pair: the edge A_ij, log(1 + common neighbours (A^2)_ij), node existence on the
  diagonal, the existing-pair mask. Each of `blocks` blocks: m1, m2 = ReLU(Dense(x)) to `hidden`
  channels each; their per-channel matrix product m1 @ m2 / N (the PPGN step: 3-WL power, sees
  triangles per edge, cycles, paths); x <- ReLU(Dense([x, m1 @ m2 / N])). Readout: every
  block's diagonal mean and off-diagonal mean over existing nodes, concatenated, to an MLP.
  Layout (B, C, N, N) so the products are batched matmuls. No BatchNorm (per example, for R1);
  LayerNorm over channels (`layer_norm=True`) doubled the forward time on one CPU core, so it is
  off by default. ReLU, not GELU: the same reason.
  """
  hidden: int = 16
  blocks: int = 3
  head: int = 64
  layer_norm: bool = False

  @nn.compact
  def __call__(self, x, train: bool = True):
    del train
    x = x.astype(jnp.float32)
    n = x.shape[-1]
    eye = jnp.eye(n, dtype=jnp.float32)
    nodes = jnp.diagonal(x, axis1=1, axis2=2)
    adjacency = x * (1.0 - eye)
    mask = nodes[:, :, None] * nodes[:, None, :]
    count = jnp.maximum(nodes.sum(-1), 1.0)                              # (B,)
    # log(1 + common neighbours): bounded growth, so a dense fake does not give logits of 100.
    feats = jnp.stack([adjacency, jnp.log1p(adjacency @ adjacency), nodes[:, :, None] * eye,
                       mask], 1)
    mask = mask[:, None]
    off = mask * (1.0 - eye)
    diag = mask * eye

    def dense(h, width, name):   # per-pair Dense over the channel axis 1
      return jnp.einsum('bcij,cd->bdij', h, self.param(
          name + '_w', nn.initializers.lecun_normal(), (h.shape[1], width))) + self.param(
              name + '_b', nn.initializers.zeros, (width,))[None, :, None, None]

    pooled = []
    h = feats
    for b in range(self.blocks):
      m = nn.relu(dense(h, 2 * self.hidden, f'b{b}_m')) * mask
      prod = jnp.matmul(m[:, :self.hidden], m[:, self.hidden:]) / n
      h = dense(jnp.concatenate([h, prod], 1), self.hidden, f'b{b}_out')
      if self.layer_norm:
        h = jnp.moveaxis(nn.LayerNorm(name=f'b{b}_norm')(jnp.moveaxis(h, 1, -1)), -1, 1)
      h = nn.relu(h) * mask
      pooled.append((h * diag).sum((2, 3)) / count[:, None])
      pooled.append((h * off).sum((2, 3)) / (count * jnp.maximum(count - 1, 1.0))[:, None])
    out = jnp.concatenate(pooled, -1)
    out = nn.leaky_relu(nn.Dense(self.head)(out), 0.2)
    return nn.Dense(1)(out)[:, 0].astype(jnp.float32)
