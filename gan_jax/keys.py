"""Every `fold_in` purpose tag of the project, in one table, and noise drawn for the global batch.

Keys are never threaded through Python: each is `fold_in(parent, tag)` of a fixed parent, so a
run is a pure function of its seed and resumes exactly. The tree of keys:

  PRNGKey(seed)
    INIT (0)       -> the players' initial params (create_state)
    RUN (1)        -> state.rng; step key = fold_in(state.rng, step)
       D step i    -> fold_in(step key, i), i in [0, n_critic)
       G step      -> fold_in(step key, n_critic) (fresh samples for G)
         within a D or G step key: Z, PENALTY, SAMPLE, DROPOUT, ROLLOUT
    DATA (2)       -> toy data (fold_in(., step) per step)
    FIXED_Z (3)    -> the z of the sample grids
    PLOT (4)       -> the points of the 1D/2D density plots
    EVAL (5)       -> evaluation samples (gan_jax.run.evaluation; fold_in(., first index) per batch)
    REFERENCE (6)  -> the real points 1D evaluation compares with

The lecture's models (gan_jax.lecture: VAE, EBM) use INIT and RUN the same way.
"""

import functools

import jax
import jax.numpy as jnp

# Children of PRNGKey(seed).
INIT, RUN, DATA, FIXED_Z, PLOT, EVAL, REFERENCE = 0, 1, 2, 3, 4, 5, 6
# Children of a D or G step's key.
Z, PENALTY, SAMPLE, DROPOUT, ROLLOUT = 0, 1, 2, 3, 4


def fold(key, *tags):
  """fold_in(...fold_in(key, tags[0])..., tags[-1])."""
  for tag in tags:
    key = jax.random.fold_in(key, tag)
  return key


def draw_global(sampler, key, local_shape, axis_name=None):
  """This device's slice of noise drawn for the whole global batch.

  `sampler(key, shape)` is e.g. jax.random.normal. Drawing the global batch and slicing it makes
  a step give the same numbers on one device as on eight (the batch is the leading axis).
  """
  if axis_name is None:
    return sampler(key, tuple(local_shape))
  n_devices = jax.lax.axis_size(axis_name)
  local = local_shape[0]
  noise = sampler(key, (n_devices * local,) + tuple(local_shape[1:]))
  return jax.lax.dynamic_slice_in_dim(noise, jax.lax.axis_index(axis_name) * local, local)


def global_mean(x, axis_name=None):
  """The mean over the global batch (every device holds the same number of examples).

  Differentiable as the global mean is: each device's loss depends on every device's examples
  through it, so its backward pass sums the cotangents of all devices (`_pmean_of_means`).
  """
  return x.mean() if axis_name is None else _pmean_of_means(x, axis_name)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _pmean_of_means(x, axis_name):
  return jax.lax.pmean(x.mean(), axis_name)


def _pmean_of_means_fwd(x, axis_name):
  return _pmean_of_means(x, axis_name), x.shape


def _pmean_of_means_bwd(axis_name, shape, cotangent):
  # d/dx_j of sum_i loss_i(mean) = sum_i dloss_i/dmean * 1 / (devices * local size), where the
  # step's pmean of gradients then averages over devices, as for every other loss term.
  n_devices = jax.lax.axis_size(axis_name)
  total = jax.lax.psum(cotangent, axis_name)
  size = 1
  for dim in shape:
    size *= dim
  return (jnp.full(shape, total / (n_devices * size)),)


_pmean_of_means.defvjp(_pmean_of_means_fwd, _pmean_of_means_bwd)
