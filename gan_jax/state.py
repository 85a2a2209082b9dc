"""The two players' state in one pytree, and the static description of a GAN."""

import dataclasses
from typing import Any, Optional

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax.losses import Objective


@dataclasses.dataclass(frozen=True)
class GAN:
  """What does not change during training: the modules, optimizers, objective and schedule.

  Step functions close over it (`functools.partial(train_step, gan=gan)`), so it is part of
  the compiled program, never of the traced state.
  """
  generator: nn.Module
  discriminator: nn.Module
  g_optimizer: optax.GradientTransformation
  d_optimizer: optax.GradientTransformation
  objective: Objective
  z_dim: int
  batch_size: int                    # examples per step on one device
  n_critic: int = 1                  # D steps per G step
  ema_decay: float = 0.999
  joint_d_call: bool = False         # real and fake through D in one call (D without BatchNorm)
  axis_name: Optional[str] = None    # set by gan_jax.parallel; None on one device


@flax.struct.dataclass
class GANState:
  """Everything that changes: both players' params, collections and optimizer states."""
  step: jnp.ndarray                  # number of G updates done
  rng: jnp.ndarray                   # the run's base key; step keys are fold_in(rng, step)
  g_params: Any
  g_collections: Any                 # e.g. {'batch_stats': ...}
  g_opt_state: Any
  ema_params: Any                    # exponential moving average of g_params
  d_params: Any
  d_collections: Any                 # e.g. {'batch_stats': ..., 'spectral_stats': ...}
  d_opt_state: Any


def _split_variables(variables):
  variables = flax.core.unfreeze(variables)
  params = variables.pop('params')
  return params, variables


def create_state(gan: GAN, key: jax.Array, example: jax.Array) -> GANState:
  """Initialises both players from one example of real data (used for its shape only)."""
  g_key, d_key = jax.random.split(jax.random.fold_in(key, 0))
  z = jnp.zeros((2, gan.z_dim), jnp.float32)
  g_params, g_collections = _split_variables(gan.generator.init(g_key, z, train=False))
  x = jnp.zeros((2,) + tuple(example.shape), jnp.float32)
  d_params, d_collections = _split_variables(gan.discriminator.init(d_key, x, train=False))
  return GANState(
      step=jnp.zeros((), jnp.int32),
      rng=jax.random.fold_in(key, 1),
      g_params=g_params,
      g_collections=g_collections,
      g_opt_state=gan.g_optimizer.init(g_params),
      ema_params=jax.tree.map(jnp.copy, g_params),
      d_params=d_params,
      d_collections=d_collections,
      d_opt_state=gan.d_optimizer.init(d_params),
  )


def count_params(params) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))


def learning_rates(state: GANState) -> dict:
  """G's and D's current learning rates (optimizers built with optax.inject_hyperparams)."""
  return {'g_lr': state.g_opt_state.hyperparams['learning_rate'],
          'd_lr': state.d_opt_state.hyperparams['learning_rate']}


def set_learning_rates(state: GANState, g_lr, d_lr) -> GANState:
  """The state with these learning rates for G and D, the rest unchanged."""
  def with_rate(opt_state, rate):
    hyperparams = dict(opt_state.hyperparams)
    hyperparams['learning_rate'] = jnp.asarray(rate, hyperparams['learning_rate'].dtype)
    return opt_state._replace(hyperparams=hyperparams)
  return state.replace(g_opt_state=with_rate(state.g_opt_state, g_lr),
                       d_opt_state=with_rate(state.d_opt_state, d_lr))
