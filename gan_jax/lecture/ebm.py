"""The discriminator generating by itself: x~ = argmax D(x), found by Langevin dynamics.

Train D on real data against negative examples that D itself finds by searching x
(energy-based models, as in Du & Mordatch 2019): start from a replay buffer of earlier
negatives (or fresh noise), ascend D with noise for `langevin_steps`, then update D to raise
its scores on real data and lower them on the negatives; iterate. `gan_negatives_step` is the
same D objective with a generator producing the negatives instead of the search: the GAN.
"""

import dataclasses
import functools

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax import keys


@dataclasses.dataclass(frozen=True)
class EBM:
  discriminator: nn.Module
  optimizer: optax.GradientTransformation
  data_low: float                  # the search box (data range) for fresh noise and clipping
  data_high: float
  langevin_steps: int = 30
  step_size: float = 0.1           # on grad_x D
  noise_std: float = 0.01
  buffer_size: int = 2048
  reinit_fraction: float = 0.05    # negatives started from fresh noise, not from the buffer
  regularization: float = 0.1      # alpha (D(x)^2 + D(x~)^2) keeps the scores bounded


@flax.struct.dataclass
class EBMState:
  step: jnp.ndarray
  rng: jnp.ndarray
  params: dict
  opt_state: object
  buffer: jnp.ndarray


def create_ebm_state(ebm: EBM, key, example_shape) -> EBMState:
  p_key, b_key = jax.random.split(jax.random.fold_in(key, keys.INIT))
  params = ebm.discriminator.init(p_key, jnp.zeros((1,) + tuple(example_shape)))['params']
  buffer = jax.random.uniform(b_key, (ebm.buffer_size,) + tuple(example_shape),
                              minval=ebm.data_low, maxval=ebm.data_high)
  return EBMState(jnp.zeros((), jnp.int32), jax.random.fold_in(key, keys.RUN), params,
                  ebm.optimizer.init(params), buffer)


def score(ebm: EBM, params, x):
  """D(x), one logit per example (the negative energy)."""
  return ebm.discriminator.apply({'params': params}, x)


def langevin(ebm: EBM, params, x, key, steps: int):
  """`steps` of x <- clip(x + step_size grad_x D(x) + noise): a noisy search for argmax D."""
  grad = jax.grad(lambda x: jnp.sum(score(ebm, params, x)))

  def body(i, x):
    noise = ebm.noise_std * jax.random.normal(jax.random.fold_in(key, i), x.shape)
    return jnp.clip(x + ebm.step_size * grad(x) + noise, ebm.data_low, ebm.data_high)

  return jax.lax.fori_loop(0, steps, body, x)


def d_objective(ebm: EBM, params, real, negatives):
  """Raise D on real data, lower it on negatives (a Wasserstein-type loss), plus alpha L2."""
  real_scores, fake_scores = score(ebm, params, real), score(ebm, params, negatives)
  loss = jnp.mean(fake_scores) - jnp.mean(real_scores)
  loss += ebm.regularization * jnp.mean(real_scores ** 2 + fake_scores ** 2)
  return loss, {'d_loss': loss, 'd_real': jnp.mean(real_scores), 'd_fake': jnp.mean(fake_scores)}


def _update(ebm, state, real, negatives):
  grads, metrics = jax.grad(lambda p: d_objective(ebm, p, real, negatives), has_aux=True)(
      state.params)
  updates, opt_state = ebm.optimizer.update(grads, state.opt_state, state.params)
  return optax.apply_updates(state.params, updates), opt_state, metrics


def ebm_step(state: EBMState, real, *, ebm: EBM):
  """One iteration: search negatives from the buffer with Langevin, then update D."""
  key = jax.random.fold_in(state.rng, state.step)
  pick_key, noise_key, reinit_key, search_key = jax.random.split(key, 4)
  n = real.shape[0]
  index = jax.random.choice(pick_key, ebm.buffer_size, (n,), replace=False)
  start = state.buffer[index]
  fresh = jax.random.uniform(noise_key, start.shape, minval=ebm.data_low, maxval=ebm.data_high)
  reinit = jax.random.uniform(reinit_key, (n,) + (1,) * (real.ndim - 1)) < ebm.reinit_fraction
  start = jnp.where(reinit, fresh, start)
  negatives = jax.lax.stop_gradient(langevin(ebm, state.params, start, search_key,
                                             ebm.langevin_steps))
  params, opt_state, metrics = _update(ebm, state, real, negatives)
  buffer = state.buffer.at[index].set(negatives)
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state,
                       buffer=buffer), metrics


def make_ebm_step(ebm: EBM):
  return jax.jit(functools.partial(ebm_step, ebm=ebm), donate_argnums=0)


def sample(ebm: EBM, params, key, n: int, example_shape, steps: int):
  """D alone as a generator: Langevin from fresh noise."""
  init_key, search_key = jax.random.split(key)
  x = jax.random.uniform(init_key, (n,) + tuple(example_shape), minval=ebm.data_low,
                         maxval=ebm.data_high)
  return langevin(ebm, params, x, search_key, steps)


@flax.struct.dataclass
class GeneratedNegativesState:
  step: jnp.ndarray
  rng: jnp.ndarray
  params: dict
  opt_state: object
  g_params: dict
  g_opt_state: object


def gan_negatives_step(state: GeneratedNegativesState, real, *, ebm: EBM, generator: nn.Module,
                       g_optimizer: optax.GradientTransformation, z_dim: int):
  """The same D objective, with G(z) as the negatives; then G ascends D(G(z)), D frozen."""
  key = jax.random.fold_in(state.rng, state.step)
  d_key, g_key = jax.random.split(key)
  n = real.shape[0]
  fake = generator.apply({'params': state.g_params}, jax.random.normal(d_key, (n, z_dim)))
  params, opt_state, metrics = _update(ebm, state, real, jax.lax.stop_gradient(fake))
  frozen = jax.lax.stop_gradient(params)
  z = jax.random.normal(g_key, (n, z_dim))
  g_grads = jax.grad(lambda g: -jnp.mean(score(ebm, frozen, generator.apply({'params': g}, z))))(
      state.g_params)
  updates, g_opt_state = g_optimizer.update(g_grads, state.g_opt_state, state.g_params)
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state,
                       g_params=optax.apply_updates(state.g_params, updates),
                       g_opt_state=g_opt_state), metrics
