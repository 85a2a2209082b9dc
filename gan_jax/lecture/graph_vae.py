"""GraphVAE (Simonovsky & Komodakis 2018) with the graph GAN's generator as its decoder.

The decoder IS `GraphGenerator`: the same module and params, asked for its Bernoulli logits
(`output='logits'`) during training and sampled exactly as the GAN's generator is at evaluation
(`train=False` with a 'sample' rng: each edge and node an independent Bernoulli draw from its
logit). So the GAN and the VAE differ only in how the same decoder is trained: against a
discriminator, or by likelihood.

The encoder is the discriminator's permutation-invariant message-passing trunk (`GraphTrunk`),
pooled, then a dense layer to the mean and log-variance of q(z | x).

The loss is the negative ELBO: binary cross-entropy of the decoder's logits against the
encoding (every node-existence entry; every edge entry whose two nodes exist in the target,
each unordered pair once: the edges among absent nodes are never drawn by the generator, so
they are not part of its likelihood) summed per graph, plus KL(q(z | x) || N(0, I)) times beta.
When the generator draws the node count from a fixed distribution (GraphGenerator.node_counts)
the decoder is given the target's count and only the edges enter the likelihood.

Known limitation, stated plainly: this BCE is NOT invariant to the node order. The same graph
with its nodes relabelled is a different target. GraphVAE matches the output to the target
(max-pooling graph matching) before the loss, which costs O(N^4) per graph; here there is no
matching: the loss compares in one FIXED node order, the order in which the experiment encodes
the data (see experiments/graphs.py --node_order: the datasets' generation order, or a BFS
order). A model trained so learns that order's distribution of adjacency matrices, and its
likelihood depends on how canonical the order is.
"""

import dataclasses
import functools

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax.models.graphs import GraphGenerator, GraphTrunk


class GraphEncoder(flax.linen.Module):
  """(B, N, N) graphs -> (mean, log_var), each (B, latent_dim); invariant to the node order."""
  latent_dim: int
  hidden: int = 128
  layers: int = 3
  pooling: str = 'sum'
  triangles: bool = True
  normalize: bool = True
  edge_types: int = 0

  @flax.linen.compact
  def __call__(self, x):
    pooled = GraphTrunk(self.hidden, self.layers, self.pooling, self.triangles, self.normalize,
                        self.edge_types, name='trunk')(x)
    # Sum-pooled messages grow like (degree)^layers * N: LayerNorm keeps the code's scale O(1)
    # (without it the initial KL is ~1e5 and Adam's first steps are wasted on shrinking it).
    pooled = flax.linen.LayerNorm()(pooled)
    h = flax.linen.leaky_relu(flax.linen.Dense(self.hidden)(pooled), 0.2)
    mean = flax.linen.Dense(self.latent_dim, name='mean')(h)
    log_var = flax.linen.Dense(self.latent_dim, name='log_var')(h)
    return mean, jnp.clip(log_var, -10.0, 10.0)


@dataclasses.dataclass(frozen=True)
class GraphVAE:
  """The static parts: encoder, decoder (a GraphGenerator), optimizer, KL weight."""
  encoder: GraphEncoder
  decoder: GraphGenerator
  optimizer: optax.GradientTransformation
  batch_size: int = 32
  beta: float = 1.0

  @property
  def latent_dim(self) -> int:
    return self.encoder.latent_dim


@flax.struct.dataclass
class GraphVAEState:
  step: jnp.ndarray
  rng: jnp.ndarray       # step key = fold_in(rng, step)
  params: dict           # {'encoder': ..., 'decoder': ...}
  opt_state: object


def create_graph_vae_state(model: GraphVAE, key, example) -> GraphVAEState:
  """Initialises encoder and decoder from one (N, N) example (used for its shape only)."""
  e_key, d_key = jax.random.split(jax.random.fold_in(key, 0))
  x = jnp.zeros((2,) + tuple(example.shape), jnp.float32)
  z = jnp.zeros((2, model.latent_dim), jnp.float32)
  params = {'encoder': model.encoder.init(e_key, x)['params'],
            'decoder': model.decoder.init(d_key, z, train=False)['params']}
  return GraphVAEState(jnp.zeros((), jnp.int32), jax.random.fold_in(key, 1), params,
                       model.optimizer.init(params))


def likelihood_mask(x, nodes_modelled: bool = True):
  """(B, N, N) 0/1 mask of the encoding entries the likelihood counts: the diagonal (node
  existence; left out when the decoder draws the node count from a fixed distribution, which
  is no part of what it learns) and, above it, the pairs whose two nodes exist in `x`."""
  n = x.shape[-1]
  nodes = jnp.diagonal(x, axis1=1, axis2=2)
  upper = jnp.asarray(np.triu(np.ones((n, n), np.float32), k=1))
  mask = upper * nodes[:, :, None] * nodes[:, None, :]
  return mask + jnp.eye(n, dtype=jnp.float32) if nodes_modelled else mask


def reconstruction_nll(logits, x, nodes_modelled: bool = True):
  """-log p(x | z) per graph (B,): BCE over `likelihood_mask(x)`, in the given node order."""
  bce = optax.sigmoid_binary_cross_entropy(logits, x)
  return jnp.sum(bce * likelihood_mask(x, nodes_modelled), axis=(1, 2))


def loss_fn(model: GraphVAE, params, x, key):
  """Negative ELBO (with the KL weighted by beta) averaged over the batch, and its parts."""
  mean, log_var = model.encoder.apply({'params': params['encoder']}, x)
  z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)   # reparameterised
  kl = 0.5 * jnp.sum(jnp.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=1)
  nodes_modelled = model.decoder.node_counts is None
  # With a node-count distribution the decoder is given the target's count (teacher forcing).
  num_nodes = None if nodes_modelled else jnp.sum(jnp.diagonal(x, axis1=1, axis2=2), -1)
  logits = model.decoder.apply({'params': params['decoder']}, z, train=False, output='logits',
                               num_nodes=None if num_nodes is None else num_nodes.astype(jnp.int32))
  nll = reconstruction_nll(logits, x, nodes_modelled)
  loss = jnp.mean(nll + model.beta * kl)
  return loss, {'loss': loss, 'nll': jnp.mean(nll), 'kl': jnp.mean(kl)}


def train_step(state: GraphVAEState, x, *, model: GraphVAE):
  """One Adam step on a (B, N, N) batch; a pure function of (state, x)."""
  key = jax.random.fold_in(state.rng, state.step)
  grads, metrics = jax.grad(lambda p: loss_fn(model, p, x, key), has_aux=True)(state.params)
  updates, opt_state = model.optimizer.update(grads, state.opt_state, state.params)
  metrics['grad_norm'] = optax.global_norm(grads)
  return state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                       opt_state=opt_state), metrics


def make_train_step(model: GraphVAE):
  """`train_step` compiled, with the state's buffers donated."""
  return jax.jit(functools.partial(train_step, model=model), donate_argnums=0)


def decode_graphs(model: GraphVAE, params, z, key, threshold: bool = False):
  """(B, N, N) 0/1 graphs at codes z.

  threshold=False: Bernoulli draws from the decoder's logits, exactly as the GAN's generator
  draws them in evaluation (gan_jax.core.steps.generate). threshold=True: every entry with
  p > 0.5 (GraphVAE's decoding of the most likely graph given z); a node count the decoder does
  not model is still drawn from its distribution with `key`."""
  if not threshold:
    return model.decoder.apply({'params': params['decoder']}, z, train=False,
                               rngs={'sample': key})
  num_nodes = None
  if model.decoder.node_counts is not None:
    log_probs = jnp.log(jnp.asarray(model.decoder.node_counts, jnp.float32))
    num_nodes = 1 + jax.random.categorical(key, log_probs, shape=(z.shape[0],))
  logits = model.decoder.apply({'params': params['decoder']}, z, train=False, output='logits',
                               num_nodes=num_nodes)
  x = (logits > 0).astype(jnp.float32)
  n = x.shape[-1]
  nodes = jnp.diagonal(x, axis1=1, axis2=2)
  edges = x * (1.0 - jnp.eye(n, dtype=jnp.float32)) * nodes[:, :, None] * nodes[:, None, :]
  return edges + nodes[:, :, None] * jnp.eye(n, dtype=jnp.float32)


def sample_graphs(model: GraphVAE, params, key, n: int, threshold: bool = False):
  """n graphs from the model: z ~ N(0, I), then `decode_graphs`."""
  z_key, sample_key = jax.random.split(key)
  z = jax.random.normal(z_key, (n, model.latent_dim))
  return decode_graphs(model, params, z, sample_key, threshold)
