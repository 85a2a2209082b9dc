"""The two players' state in one pytree, and the static description of a GAN."""

import dataclasses
from typing import Any, Callable, Optional

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax import keys
from gan_jax.core.estimators import Pathwise
from gan_jax.core.objectives import Objective


def _identity(x):
  return x


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
  ema_decay: float = 0.999           # the EMA's decay after its warm-up (see ema_decay_at)
  joint_d_call: bool = False         # real and fake through D in one call (D without BatchNorm)
  g_samples: str = 'fresh'           # G step on fresh samples, or 'reuse' the last D step's
  # How G's gradient is estimated, with its own settings: an entry of estimators.ESTIMATORS.
  g_estimator: Any = dataclasses.field(default_factory=Pathwise)
  preprocess: Callable = _identity   # real batches -> the models' range, on the device
  # Conditional GANs (steps.split_batch): batch dict -> the condition of G and D; None: none.
  condition: Optional[Callable] = None
  # What a variant adds to both players' losses (AC-GAN, InfoGAN, pix2pix): terms.LossTerm's.
  terms: tuple = ()
  axis_name: Optional[str] = None    # set by gan_jax.run.parallel; None on one device


@flax.struct.dataclass
class GANState:
  """Everything that changes: both players' params, collections and optimizer states."""
  step: jnp.ndarray                  # number of G updates done
  rng: jnp.ndarray                   # the run's base key; step keys are fold_in(rng, step)
  g_params: Any
  g_collections: Any                 # e.g. {'batch_stats': ...}
  g_opt_state: Any
  ema_params: Any                    # exponential moving average of g_params
  ema_collections: Any               # the same average of g_collections (BatchNorm statistics)
  d_params: Any
  d_collections: Any                 # e.g. {'batch_stats': ..., 'spectral_stats': ...}
  d_opt_state: Any


def _split_variables(variables):
  variables = flax.core.unfreeze(variables)
  params = variables.pop('params')
  return params, variables


def create_state(gan: GAN, key: jax.Array, example) -> GANState:
  """Initialises both players from one example of real data (used for its shape, and its dtype
  where it holds signed integers: token ids); for a conditional GAN, one example of its batch
  dict (data under 'x', labels under 'y')."""
  g_key, d_key = jax.random.split(jax.random.fold_in(key, keys.INIT))
  z = jnp.zeros((2, gan.z_dim), jnp.float32)
  if gan.condition is None:
    signed = jnp.issubdtype(jnp.asarray(example).dtype, jnp.signedinteger)
    x = jnp.zeros((2,) + tuple(example.shape), jnp.int32 if signed else jnp.float32)
    g_inputs, d_inputs = (z,), (x,)
  else:
    batch = jax.tree.map(lambda e: jnp.zeros((2,) + jnp.shape(e), jnp.asarray(e).dtype), example)
    batch = jax.tree.map(gan.preprocess, batch)
    condition = gan.condition(batch)
    g_inputs, d_inputs = (z, condition), (batch['x'], condition)
  g_params, g_collections = _split_variables(gan.generator.init(g_key, *g_inputs, train=False))
  d_params, d_collections = _split_variables(gan.discriminator.init(d_key, *d_inputs,
                                                                    train=False))
  return GANState(
      step=jnp.zeros((), jnp.int32),
      rng=jax.random.fold_in(key, keys.RUN),
      g_params=g_params,
      g_collections=g_collections,
      g_opt_state=gan.g_optimizer.init(g_params),
      ema_params=jax.tree.map(jnp.copy, g_params),
      ema_collections=jax.tree.map(jnp.copy, g_collections),
      d_params=d_params,
      d_collections=d_collections,
      d_opt_state=gan.d_optimizer.init(d_params),
  )


def count_params(params) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))


def ema_decay_at(decay: float, step) -> jax.Array:
  """The EMA's decay at G update `step` (0-based): min(decay, (1 + t) / (10 + t)).

  The warm-up lets the average forget G's random init: with a constant 0.999, 5% of the
  average is still the init after 3,000 steps; with the warm-up, 0.0% (the product of the
  decays is below 1e-5 by then).
  """
  step = jnp.asarray(step, jnp.float32)
  return jnp.minimum(decay, (1.0 + step) / (10.0 + step))


def update_ema(average, new, decay):
  """decay * average + (1 - decay) * new on float leaves; other leaves (counters) take `new`."""
  def mix(a, x):
    if not jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating):
      return x
    return (decay * a + (1.0 - decay) * x).astype(x.dtype)
  return jax.tree.map(mix, average, new)


# GANState fields that older checkpoints may lack, filled by upgrade_state_dict.
UPGRADABLE_FIELDS = ('ema_collections',)


def upgrade_state_dict(restored: dict) -> dict:
  """A state dict of an older checkpoint, completed to this GANState's fields.

  Checkpoints written before `ema_collections` existed restore with the raw G's collections
  in its place (what those runs evaluated the EMA params with).
  """
  if 'ema_collections' not in restored:
    restored = {**restored, 'ema_collections': restored['g_collections']}
  return restored


def with_hyperparams(opt_state, **values):
  """An optimizer state (optax.inject_hyperparams) with some hyperparameters replaced.

  Each value keeps the dtype the optimizer state already has for it: the one rule for a
  rollback's lower learning rate and for a population member's own settings.
  """
  hyperparams = dict(opt_state.hyperparams)
  for name, value in values.items():
    if value is not None:
      hyperparams[name] = jnp.asarray(value, jnp.asarray(hyperparams[name]).dtype)
  return opt_state._replace(hyperparams=hyperparams)


def learning_rates(state: GANState) -> dict:
  """G's and D's current learning rates (optimizers built with optax.inject_hyperparams)."""
  return {'g_lr': state.g_opt_state.hyperparams['learning_rate'],
          'd_lr': state.d_opt_state.hyperparams['learning_rate']}


def set_learning_rates(state: GANState, g_lr, d_lr) -> GANState:
  """The state with these learning rates for G and D, the rest unchanged."""
  return state.replace(g_opt_state=with_hyperparams(state.g_opt_state, learning_rate=g_lr),
                       d_opt_state=with_hyperparams(state.d_opt_state, learning_rate=d_lr))
