"""The GAN algorithm as pure update functions: `d_step`, `g_step` and `train_step`.

Each is a function of (state, batch, key) returning (state, metrics), importable without jit
and compiled by the caller (`make_train_step`, or `gan_jax.parallel` for several devices).
Keys are derived by `fold_in`, never threaded through Python, so a run resumes exactly.
"""

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gan_jax.data import to_model_range
from gan_jax.losses import LOSSES, PENALTIES
from gan_jax.state import GAN, GANState

_Z, _PENALTY = 0, 1   # fold_in tags: the key of a step is split by purpose


def _pmean(tree, axis_name):
  return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


def sample_z(gan: GAN, key: jax.Array) -> jax.Array:
  """This device's share of the step's noise.

  The noise of the whole global batch is drawn from `key` and each device takes its slice, so
  a step gives the same samples on one device as on eight.
  """
  if gan.axis_name is None:
    return jax.random.normal(key, (gan.batch_size, gan.z_dim))
  n_devices = jax.lax.axis_size(gan.axis_name)
  z = jax.random.normal(key, (n_devices * gan.batch_size, gan.z_dim))
  start = jax.lax.axis_index(gan.axis_name) * gan.batch_size
  return jax.lax.dynamic_slice_in_dim(z, start, gan.batch_size)


def generate(gan: GAN, state: GANState, z: jax.Array, use_ema: bool = True) -> jax.Array:
  """G(z) for evaluation: EMA (or current) params and BatchNorm's running statistics."""
  params = state.ema_params if use_ema else state.g_params
  return gan.generator.apply({'params': params, **state.g_collections}, z, train=False)


class Samples(NamedTuple):
  """G's training-mode samples, with what the G step needs to differentiate through them."""
  x: jax.Array
  pullback: Callable[[jax.Array], Any]   # d loss / d x -> d loss / d G's params
  collections: Any                      # G's collections (BatchNorm statistics) after the pass


def generate_for_training(gan: GAN, state: GANState, key: jax.Array) -> Samples:
  """G(z) in training mode, z drawn from `key` as `d_step` and `g_step` draw it.

  `train_step` passes the result to its last D step and to the G step, so G runs forward once
  per iteration (as in the PyTorch DCGAN example); the G step must see the same G params.
  """
  z = sample_z(gan, jax.random.fold_in(key, _Z))

  def forward(g_params):
    return gan.generator.apply({'params': g_params, **state.g_collections}, z, train=True,
                               mutable=list(state.g_collections))

  x, pullback, collections = jax.vjp(forward, state.g_params, has_aux=True)
  return Samples(x, lambda dx: pullback(dx)[0], collections)


def _discriminate(gan, d_variables, x, collection_names):
  """D(x) in training mode; returns the logits and D's updated collections."""
  logits, updated = gan.discriminator.apply(d_variables, x, train=True,
                                            mutable=list(collection_names))
  return logits, {**d_variables, **updated}


def d_step(state: GANState, real: jax.Array, key: jax.Array, *, gan: GAN,
           samples: Samples | None = None):
  """One D update: raise D's scores on `real`, lower them on G's samples.

  G runs in training mode (as in the PyTorch DCGAN example) but its updated collections are
  dropped: nothing of G changes here. `samples` (from `generate_for_training` with this `key`)
  saves drawing them again.
  """
  if samples is None:
    samples = generate_for_training(gan, state, key)
  fake = jax.lax.stop_gradient(samples.x)
  penalty_key = jax.random.fold_in(key, _PENALTY)
  if gan.axis_name is not None:
    penalty_key = jax.random.fold_in(penalty_key, jax.lax.axis_index(gan.axis_name))
  objective = gan.objective
  loss = LOSSES[objective.loss]
  penalty_fn = PENALTIES[objective.penalty]
  names = list(state.d_collections)

  def loss_fn(d_params):
    variables = {'params': d_params, **state.d_collections}
    if gan.joint_d_call:
      logits, variables = _discriminate(gan, variables, jnp.concatenate([real, fake]), names)
      real_logits, fake_logits = jnp.split(logits, 2)
    else:
      real_logits, variables = _discriminate(gan, variables, real, names)
      fake_logits, variables = _discriminate(gan, variables, fake, names)
    d_loss = loss.d_loss(real_logits, fake_logits)
    penalty = jnp.zeros(())
    if penalty_fn is not None:
      frozen = {**variables, 'params': d_params}
      d_fn = lambda x: gan.discriminator.apply(frozen, x, train=True, mutable=names)[0]
      penalty = penalty_fn(d_fn, real, fake, penalty_key)
    total = d_loss + objective.penalty_weight * penalty
    variables.pop('params')
    return total, (variables, d_loss, penalty, real_logits, fake_logits)

  grads, (collections, d_loss, penalty, real_logits, fake_logits) = jax.grad(
      loss_fn, has_aux=True)(state.d_params)
  grads, collections = _pmean((grads, collections), gan.axis_name)
  updates, d_opt_state = gan.d_optimizer.update(grads, state.d_opt_state, state.d_params)
  d_params = optax.apply_updates(state.d_params, updates)
  if objective.weight_clip > 0:
    clip = objective.weight_clip
    d_params = jax.tree.map(lambda p: jnp.clip(p, -clip, clip), d_params)
  metrics = _pmean({
      'd_loss': d_loss,
      'd_penalty': penalty,
      'd_real': jnp.mean(real_logits),
      'd_fake': jnp.mean(fake_logits),
      'd_grad_norm': optax.global_norm(grads),
  }, gan.axis_name)
  state = state.replace(d_params=d_params, d_collections=collections, d_opt_state=d_opt_state)
  return state, metrics


def g_step(state: GANState, key: jax.Array, *, gan: GAN, samples: Samples | None = None):
  """One G update by gradient ascent on D(G(z)), with D frozen.

  D's variables enter through `stop_gradient` and D's updated collections are dropped, so
  neither D's params nor its batch or spectral statistics change. The gradient reaches G's
  params through the samples' pullback; `samples` may come from `generate_for_training`
  before the D update (G's params have not changed since), else they are drawn from `key`.
  """
  if samples is None:
    samples = generate_for_training(gan, state, key)
  d_variables = jax.lax.stop_gradient({'params': state.d_params, **state.d_collections})
  loss = LOSSES[gan.objective.loss]

  def loss_fn(fake):
    fake_logits, _ = _discriminate(gan, d_variables, fake, state.d_collections)
    return loss.g_loss(fake_logits), fake_logits

  fake_grads, fake_logits = jax.grad(loss_fn, has_aux=True)(samples.x)
  grads, collections = _pmean((samples.pullback(fake_grads), samples.collections), gan.axis_name)
  updates, g_opt_state = gan.g_optimizer.update(grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  ema_params = optax.incremental_update(g_params, state.ema_params, 1.0 - gan.ema_decay)
  metrics = _pmean({
      'g_loss': loss.g_loss(fake_logits),
      'g_d_fake': jnp.mean(fake_logits),
      'g_grad_norm': optax.global_norm(grads),
  }, gan.axis_name)
  state = state.replace(step=state.step + 1, g_params=g_params, g_collections=collections,
                        g_opt_state=g_opt_state, ema_params=ema_params)
  return state, metrics


def train_step(state: GANState, batches: jax.Array, *, gan: GAN):
  """One iteration of the algorithm: `n_critic` D steps, then one G step.

  Args:
    state: the players' state.
    batches: real data of shape (n_critic, batch_size, ...): floats in the model's range, or
      uint8 images, scaled to [-1, 1] here on the device (a quarter of the bytes to transfer).
    gan: the static description of the GAN.

  Returns:
    The new state and the metrics (D's averaged over its n_critic steps).

  The G step reuses the last D step's samples (z drawn from that step's key), as the PyTorch
  DCGAN example does: G runs forward once per iteration.
  """
  key = jax.random.fold_in(state.rng, state.step)
  batches = to_model_range(batches)

  # A Python loop, not lax.scan: XLA's CPU backend ran this step 13x slower as a scan
  # (750 ms against 56 ms for DCGAN-28 at batch 64, even with unroll=True).
  d_metrics = []
  for i in range(gan.n_critic):
    d_key = jax.random.fold_in(key, i)
    samples = generate_for_training(gan, state, d_key) if i == gan.n_critic - 1 else None
    state, metrics = d_step(state, batches[i], d_key, gan=gan, samples=samples)
    d_metrics.append(metrics)
  d_metrics = jax.tree.map(lambda *values: jnp.mean(jnp.stack(values)), *d_metrics)
  state, g_metrics = g_step(state, d_key, gan=gan, samples=samples)
  return state, {**d_metrics, **g_metrics}


def make_train_step(gan: GAN):
  """`train_step` compiled for one device, with the state's buffers donated."""
  return jax.jit(functools.partial(train_step, gan=gan), donate_argnums=0)
