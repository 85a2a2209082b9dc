"""The GAN algorithm as pure update functions: `d_step`, `g_step` and `train_step`.

Each is a function of (state, batch, key) returning (state, metrics), importable without jit
and compiled by the caller (`make_train_step`, or `gan_jax.run.parallel` for several devices).
Keys are derived by `fold_in` (the table is in gan_jax.keys), so a run resumes exactly.
Nothing here knows what the data is: vectors, images, token sequences and graphs all pass as
arrays whose leading axis is the batch. A conditional GAN's batch is a dict holding the data
under 'x' beside what its condition is made of (labels under 'y'); `gan.condition` makes the
condition, G generates for the batch's conditions, and D scores (x, condition). What a variant
adds to the losses (AC-GAN, InfoGAN, pix2pix) is in `gan.terms` (gan_jax.core.terms): the steps
add every term without knowing which variant it is.
"""

import functools
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from gan_jax import keys
# The estimators live in their own module, which state.py (the GAN's default) and this one both
# import; they are re-exported here, where README and older code name them.
from gan_jax.core.estimators import (ESTIMATORS, Pathwise, ScoreFunction,  # noqa: F401
                                     model_inputs, split_d_output)
from gan_jax.core.objectives import PENALTIES
from gan_jax.core.state import GAN, GANState, ema_decay_at, update_ema
from gan_jax.core.terms import TermInputs


def _pmean(tree, axis_name):
  """The mean over devices of the float leaves. Integer leaves (G's temperature counter) are
  equal on every device and stay as they are: pmean would turn them into floats."""
  if axis_name is None:
    return tree
  def mean(x):
    return jax.lax.pmean(x, axis_name) if jnp.issubdtype(x.dtype, jnp.inexact) else x
  return jax.tree.map(mean, tree)


def split_batch(gan: GAN, batch):
  """(data, condition) of a real batch: an unconditional GAN's batch is the data, condition None;
  a conditional GAN's is a dict with the data under 'x', its condition `gan.condition(batch)`."""
  if gan.condition is None:
    return batch, None
  return batch['x'], gan.condition(batch)


def sample_z(gan: GAN, key: jax.Array) -> jax.Array:
  """This device's share of the step's noise: drawn for the global batch, then sliced, so a
  step gives the same samples on one device as on eight."""
  return keys.draw_global(jax.random.normal, key, (gan.batch_size, gan.z_dim), gan.axis_name)


def generate(gan: GAN, state: GANState, z: jax.Array, use_ema: bool = True,
             key: Optional[jax.Array] = None, condition=None) -> jax.Array:
  """G(z) for evaluation: the EMA params with the EMA of G's collections (BatchNorm statistics),
  or the raw params with the raw collections. `key` feeds generators that sample (tokens);
  `condition` (one per z) those of a conditional GAN."""
  if use_ema:
    variables = {'params': state.ema_params, **state.ema_collections}
  else:
    variables = {'params': state.g_params, **state.g_collections}
  rngs = None if key is None else {'sample': key}
  return gan.generator.apply(variables, *model_inputs(z, condition), train=False, rngs=rngs)


class Samples(NamedTuple):
  """G's training-mode samples, with what the G step needs to differentiate through them."""
  x: jax.Array
  pullback: Optional[Callable[[jax.Array], Any]]   # d loss / d x -> d loss / d G's params
  collections: Any                                # G's collections after the pass
  condition: Any = None                           # what they were generated for (conditional)
  target: Any = None                              # the real data of those conditions
  z: Any = None                                   # the noise they were drawn from


def generate_for_training(gan: GAN, state: GANState, key: jax.Array, real=None) -> Samples:
  """G(z) in training mode, z (and any sampling noise) drawn from `key`; for a conditional GAN,
  one sample for each condition of the real batch `real`.

  For a pathwise G gradient it also returns the pullback from the samples to G's params, so a
  G step can reuse these samples (`g_samples='reuse'`) without running G forward again.
  """
  z = sample_z(gan, keys.fold(key, keys.Z))
  target, condition = (None, None)
  if gan.condition is not None:
    if real is None:
      raise ValueError('a conditional GAN generates for the conditions of a real batch: pass it')
    target, condition = split_batch(gan, real)

  def forward(g_params):
    return gan.generator.apply({'params': g_params, **state.g_collections},
                               *model_inputs(z, condition), train=True,
                               mutable=list(state.g_collections),
                               rngs={'sample': keys.fold(key, keys.SAMPLE)})

  if not gan.g_estimator.needs_pullback:
    x, collections = forward(state.g_params)
    return Samples(x, None, collections, condition, target, z)
  x, pullback, collections = jax.vjp(forward, state.g_params, has_aux=True)
  return Samples(x, lambda dx: pullback(dx)[0], collections, condition, target, z)


def _discriminate(gan, d_variables, x, collection_names, key, condition=None):
  """D(x) (or D(x, condition)) in training mode; returns D's output and updated collections."""
  logits, updated = gan.discriminator.apply(d_variables, *model_inputs(x, condition), train=True,
                                            mutable=list(collection_names),
                                            rngs={'dropout': keys.fold(key, keys.DROPOUT)})
  return logits, {**d_variables, **updated}


def d_step(state: GANState, real: jax.Array, key: jax.Array, *, gan: GAN,
           samples: Optional[Samples] = None):
  """One D update: raise D's scores on `real`, lower them on G's samples.

  G runs in training mode (as in the PyTorch DCGAN example) but its updated collections are
  dropped: nothing of G changes here. `samples` (from `generate_for_training` with this `key`)
  saves drawing them again. Each of `gan.terms` with a D loss adds it, logged as `d_<name>`.
  """
  if samples is None:
    samples = generate_for_training(gan, state, key, real)
  real, condition = split_batch(gan, real)
  fake = jax.lax.stop_gradient(samples.x)
  objective = gan.objective
  penalty_fn = PENALTIES[objective.penalty]
  names = list(state.d_collections)

  def loss_fn(d_params):
    variables = {'params': d_params, **state.d_collections}
    if gan.joint_d_call:
      both = None if condition is None else jnp.concatenate([condition, condition])
      output, variables = _discriminate(gan, variables, jnp.concatenate([real, fake]), names,
                                        key, both)
      real_out, fake_out = (jax.tree.map(lambda a: jnp.split(a, 2)[i], output) for i in (0, 1))
    else:
      real_out, variables = _discriminate(gan, variables, real, names, key, condition)
      fake_out, variables = _discriminate(gan, variables, fake, names, keys.fold(key, 1),
                                          condition)
    (real_logits, real_aux), (fake_logits, fake_aux) = map(split_d_output, (real_out, fake_out))
    d_loss = objective.d_loss(real_logits, fake_logits, gan.axis_name)
    penalty = jnp.zeros(())
    if penalty_fn is not None:
      frozen = {**variables, 'params': d_params}
      d_fn = lambda x: split_d_output(_discriminate(gan, frozen, x, names, key, condition)[0])[0]
      penalty = penalty_fn(d_fn, real, fake, keys.fold(key, keys.PENALTY), gan.axis_name)
    total = d_loss + objective.penalty_weight * penalty
    inputs = TermInputs(real_aux, fake_aux, condition, samples.z, fake, samples.target)
    extra = {}
    for term in gan.terms:
      if term.d_loss is not None:
        extra['d_' + term.name] = term.d_loss(inputs)
        total = total + extra['d_' + term.name]
    variables.pop('params')
    return total, (variables, d_loss, penalty, real_logits, fake_logits, extra)

  grads, (collections, d_loss, penalty, real_logits, fake_logits, extra) = jax.grad(
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
      **extra,
  }, gan.axis_name)
  state = state.replace(d_params=d_params, d_collections=collections, d_opt_state=d_opt_state)
  return state, metrics


def g_step(state: GANState, real: jax.Array, key: jax.Array, *, gan: GAN,
           samples: Optional[Samples] = None):
  """One G update by gradient descent on G's loss of D(G(z)), with D frozen.

  D's variables enter through `stop_gradient` and D's updated collections are dropped, so
  neither D's params nor its batch or spectral statistics change. `real` is scored only by
  objectives whose G loss uses it (relativistic losses). `samples` may come from
  `generate_for_training` before the D update (G's params have not changed since), else they
  are drawn from `key`. A conditional GAN's D scores each sample with its condition.
  `gan.g_estimator` computes the gradient, with each term's G loss logged as `g_<name>`; the
  terms of G's model (MLE) add theirs, from the real batch.
  """
  if samples is None:
    samples = generate_for_training(gan, state, key, real)
  real, condition = split_batch(gan, real)
  d_variables = jax.lax.stop_gradient({'params': state.d_params, **state.d_collections})
  d_fn = lambda x: _discriminate(gan, d_variables, x, state.d_collections, key, condition)[0]
  real_logits = split_d_output(d_fn(real))[0] if gan.objective.g_uses_real else None
  grads, fake_logits, term_metrics = gan.g_estimator.grads(gan, state, samples, d_fn,
                                                          real_logits, key)
  model_terms = [term for term in gan.terms if term.g_model_loss is not None]
  if model_terms:
    model_grads, model_metrics = _model_term_grads(gan, state, model_terms, real)
    grads = jax.tree.map(jnp.add, grads, model_grads)
    term_metrics = {**term_metrics, **model_metrics}
  grads, collections = _pmean((grads, samples.collections), gan.axis_name)
  updates, g_opt_state = gan.g_optimizer.update(grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  decay = ema_decay_at(gan.ema_decay, state.step)
  metrics = _pmean({
      'g_loss': gan.objective.g_loss(real_logits, fake_logits, gan.axis_name),
      'g_d_fake': jnp.mean(fake_logits),
      'g_grad_norm': optax.global_norm(grads),
      **term_metrics,
  }, gan.axis_name)
  state = state.replace(step=state.step + 1, g_params=g_params, g_collections=collections,
                        g_opt_state=g_opt_state,
                        ema_params=update_ema(state.ema_params, g_params, decay),
                        ema_collections=update_ema(state.ema_collections, collections, decay))
  return state, metrics


def _model_term_grads(gan: GAN, state: GANState, terms, real):
  """The gradient, in G's params, of the terms of G's model (MLE) on the real batch, and their
  values as `g_<name>`."""
  def loss_fn(g_params):
    variables = {'params': g_params, **state.g_collections}
    apply = lambda method, *args: gan.generator.apply(variables, *args, method=method)
    values = {'g_' + term.name: term.g_model_loss(apply, real) for term in terms}
    return sum(values.values()), values
  return jax.grad(loss_fn, has_aux=True)(state.g_params)


def train_step(state: GANState, batches: jax.Array, *, gan: GAN):
  """One iteration of the algorithm: `n_critic` D steps, then one G step.

  Args:
    state: the players' state.
    batches: real data of shape (n_critic, batch_size, ...), in the form `gan.preprocess` takes
      (uint8 images are scaled to [-1, 1] on the device: a quarter of the bytes to transfer);
      for a conditional GAN a dict of such arrays (data under 'x', labels under 'y').
    gan: the static description of the GAN.

  Returns:
    The new state and the metrics (D's averaged over its n_critic steps).

  The G step draws fresh samples (Gulrajani et al. 2017, Algorithm 1), from its own key; with
  `gan.g_samples == 'reuse'` (n_critic = 1 only) it reuses the D step's samples, as the PyTorch
  DCGAN example does, so G runs forward once per iteration.
  """
  key = jax.random.fold_in(state.rng, state.step)
  batches = jax.tree.map(gan.preprocess, batches)

  # A Python loop, not lax.scan: XLA's CPU backend ran this step 13x slower as a scan
  # (750 ms against 56 ms for DCGAN-28 at batch 64, even with unroll=True).
  reuse = gan.g_samples == 'reuse'
  d_metrics, samples = [], None
  for i in range(gan.n_critic):
    d_key = jax.random.fold_in(key, i)
    batch = jax.tree.map(lambda b: b[i], batches)
    samples = generate_for_training(gan, state, d_key, batch) if reuse else None
    state, metrics = d_step(state, batch, d_key, gan=gan, samples=samples)
    d_metrics.append(metrics)
  d_metrics = jax.tree.map(lambda *values: jnp.mean(jnp.stack(values)), *d_metrics)
  g_key = d_key if reuse else jax.random.fold_in(key, gan.n_critic)
  state, g_metrics = g_step(state, jax.tree.map(lambda b: b[-1], batches), g_key, gan=gan,
                            samples=samples)
  return state, {**d_metrics, **g_metrics}


def make_train_step(gan: GAN):
  """`train_step` compiled for one device, with the state's buffers donated."""
  return jax.jit(functools.partial(train_step, gan=gan), donate_argnums=0)
