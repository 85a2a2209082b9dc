"""Many independent GANs trained at once: `jax.vmap` over the state, one compiled step.

(On CPU the K runs are unrolled into the one program instead; see make_population_train_step.)

Run k has its own seed (its own init, noise and data order) and, optionally, its own
learning rates and Adam beta1, which live in the optimizer states (optax.inject_hyperparams),
so they can differ across the vmapped axis. What must be static (the architecture, the loss,
n_critic, the batch size) is shared. This is what makes a study of hundreds of runs affordable
on one accelerator: the K small programs become one larger one.
"""

import functools
from typing import Optional, Sequence

import jax
import jax.numpy as jnp

from gan_jax.core.state import GAN, GANState, create_state, with_hyperparams
from gan_jax.core.steps import train_step


def create_population(gan: GAN, seeds: Sequence[int], example: jax.Array,
                      g_lr: Optional[Sequence[float]] = None,
                      d_lr: Optional[Sequence[float]] = None,
                      b1: Optional[Sequence[float]] = None) -> GANState:
  """K states stacked on a leading axis: state k is create_state(gan, PRNGKey(seeds[k])) with
  run k's hyperparameters (None keeps the GAN's own)."""
  def one(seed, g_lr_k, d_lr_k, b1_k):
    state = create_state(gan, jax.random.PRNGKey(seed), example)
    return state.replace(
        g_opt_state=with_hyperparams(state.g_opt_state, learning_rate=g_lr_k, b1=b1_k),
        d_opt_state=with_hyperparams(state.d_opt_state, learning_rate=d_lr_k, b1=b1_k))
  k = len(seeds)
  per_run = [one(seeds[i], *(None if v is None else v[i] for v in (g_lr, d_lr, b1)))
             for i in range(k)]
  return jax.tree.map(lambda *leaves: jnp.stack(leaves), *per_run)


def make_population_train_step(gan: GAN, strategy: Optional[str] = None):
  """One compiled step of K runs: (states [K, ...], batches [K, n_critic, B, ...]).

  strategy 'vmap' batches the K runs into one program (lax turns convolutions of K different
  weights into grouped convolutions): the fast choice on accelerators. XLA's CPU backend runs
  grouped convolutions slowly (K = 8 DCGAN-28 runs took 5x longer vmapped than one after
  another); the DCGAN layers' own vmap rule runs one convolution per run there (0.8x of
  sequential), still behind 'unroll' (0.88-0.97x), the K steps side by side in one compiled
  program, which is the default on CPU.
  """
  strategy = strategy or ('unroll' if jax.default_backend() == 'cpu' else 'vmap')
  step = functools.partial(train_step, gan=gan)
  if strategy == 'vmap':
    return jax.jit(jax.vmap(step), donate_argnums=0)
  if strategy != 'unroll':
    raise ValueError(f"unknown population strategy {strategy!r}; use 'vmap' or 'unroll'")

  def unrolled(states, batches):
    k = jax.tree.leaves(states)[0].shape[0]
    outputs = [step(member(states, i), batches[i]) for i in range(k)]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *outputs)

  return jax.jit(unrolled, donate_argnums=0)


def member(population: GANState, k: int) -> GANState:
  """Run k of a population, as a plain state."""
  return jax.tree.map(lambda x: x[k], population)
