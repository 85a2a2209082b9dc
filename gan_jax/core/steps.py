"""The GAN algorithm as pure update functions: `d_step`, `g_step` and `train_step`.

Each is a function of (state, batch, key) returning (state, metrics), importable without jit
and compiled by the caller (`make_train_step`, or `gan_jax.run.parallel` for several devices).
Keys are derived by `fold_in` (the table is in gan_jax.keys), so a run resumes exactly.
Nothing here knows what the data is: vectors, images, token sequences and graphs all pass as
arrays whose leading axis is the batch.
"""

import functools
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from gan_jax import keys
from gan_jax.core.objectives import PENALTIES
from gan_jax.core.state import GAN, GANState, ema_decay_at, update_ema


def _pmean(tree, axis_name):
  return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


def sample_z(gan: GAN, key: jax.Array) -> jax.Array:
  """This device's share of the step's noise: drawn for the global batch, then sliced, so a
  step gives the same samples on one device as on eight."""
  return keys.draw_global(jax.random.normal, key, (gan.batch_size, gan.z_dim), gan.axis_name)


def generate(gan: GAN, state: GANState, z: jax.Array, use_ema: bool = True,
             key: Optional[jax.Array] = None) -> jax.Array:
  """G(z) for evaluation: the EMA params with the EMA of G's collections (BatchNorm statistics),
  or the raw params with the raw collections. `key` feeds generators that sample (tokens)."""
  if use_ema:
    variables = {'params': state.ema_params, **state.ema_collections}
  else:
    variables = {'params': state.g_params, **state.g_collections}
  rngs = None if key is None else {'sample': key}
  return gan.generator.apply(variables, z, train=False, rngs=rngs)


class Samples(NamedTuple):
  """G's training-mode samples, with what the G step needs to differentiate through them."""
  x: jax.Array
  pullback: Optional[Callable[[jax.Array], Any]]   # d loss / d x -> d loss / d G's params
  collections: Any                                # G's collections after the pass


def generate_for_training(gan: GAN, state: GANState, key: jax.Array) -> Samples:
  """G(z) in training mode, z (and any sampling noise) drawn from `key`.

  For a pathwise G gradient it also returns the pullback from the samples to G's params, so a
  G step can reuse these samples (`g_samples='reuse'`) without running G forward again.
  """
  z = sample_z(gan, keys.fold(key, keys.Z))

  def forward(g_params):
    return gan.generator.apply({'params': g_params, **state.g_collections}, z, train=True,
                               mutable=list(state.g_collections),
                               rngs={'sample': keys.fold(key, keys.SAMPLE)})

  if gan.g_estimator != 'pathwise':
    x, collections = forward(state.g_params)
    return Samples(x, None, collections)
  x, pullback, collections = jax.vjp(forward, state.g_params, has_aux=True)
  return Samples(x, lambda dx: pullback(dx)[0], collections)


def _discriminate(gan, d_variables, x, collection_names, key):
  """D(x) in training mode; returns the logits and D's updated collections."""
  logits, updated = gan.discriminator.apply(d_variables, x, train=True,
                                            mutable=list(collection_names),
                                            rngs={'dropout': keys.fold(key, keys.DROPOUT)})
  return logits, {**d_variables, **updated}


def d_step(state: GANState, real: jax.Array, key: jax.Array, *, gan: GAN,
           samples: Optional[Samples] = None):
  """One D update: raise D's scores on `real`, lower them on G's samples.

  G runs in training mode (as in the PyTorch DCGAN example) but its updated collections are
  dropped: nothing of G changes here. `samples` (from `generate_for_training` with this `key`)
  saves drawing them again.
  """
  if samples is None:
    samples = generate_for_training(gan, state, key)
  fake = jax.lax.stop_gradient(samples.x)
  objective = gan.objective
  penalty_fn = PENALTIES[objective.penalty]
  names = list(state.d_collections)

  def loss_fn(d_params):
    variables = {'params': d_params, **state.d_collections}
    if gan.joint_d_call:
      logits, variables = _discriminate(gan, variables, jnp.concatenate([real, fake]), names, key)
      real_logits, fake_logits = jnp.split(logits, 2)
    else:
      real_logits, variables = _discriminate(gan, variables, real, names, key)
      fake_logits, variables = _discriminate(gan, variables, fake, names, keys.fold(key, 1))
    d_loss = objective.d_loss(real_logits, fake_logits, gan.axis_name)
    penalty = jnp.zeros(())
    if penalty_fn is not None:
      frozen = {**variables, 'params': d_params}
      d_fn = lambda x: _discriminate(gan, frozen, x, names, key)[0]
      penalty = penalty_fn(d_fn, real, fake, keys.fold(key, keys.PENALTY), gan.axis_name)
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


def pathwise_grads(gan, state, samples, d_fn, real_logits, key):
  """G's gradient through the samples: d loss / d x, pulled back to G's params (images,
  points, relaxed one-hot sequences and graphs)."""
  del state, key
  def loss_fn(fake):
    fake_logits = d_fn(fake)
    return gan.objective.g_loss(real_logits, fake_logits, gan.axis_name), fake_logits
  fake_grads, fake_logits = jax.grad(loss_fn, has_aux=True)(samples.x)
  return samples.pullback(fake_grads), fake_logits


def score_function_grads(gan, state, samples, d_fn, real_logits, key):
  """REINFORCE with Monte Carlo rollouts (SeqGAN, Yu et al. 2017), for discrete samples.

  The reward of prefix x[:t] is the mean, over `gan.num_rollouts` completions of it by G, of
  -g_loss on each completed example (log D(x) for the non-saturating loss); the full sequence
  is scored by itself. G's gradient is that of -sum_t log p(x_t | x_<t) R_t, averaged over the
  batch: an unbiased estimate of the gradient of E[-g_loss], also with
  `gan.reward_baseline='leave_one_out'`. The generator provides `log_prob`
  and `rollout(tokens, t)` methods; all rollouts are vmapped into one compiled step.
  """
  del real_logits   # a relativistic loss has no per-example reward; validate() refuses it
  x = samples.x
  length = x.shape[1]
  variables = {'params': state.g_params, **state.g_collections}
  per_example = jax.vmap(lambda logit: -gan.objective.g_loss(None, logit[None], None))

  def reward(t, rollout_key):
    completed = gan.generator.apply(variables, x, t, method='rollout',
                                    rngs={'sample': rollout_key})
    return per_example(d_fn(completed))

  def prefix_reward(t):
    rollout_keys = jax.random.split(keys.fold(key, keys.ROLLOUT, t), gan.num_rollouts)
    return jnp.mean(jax.vmap(lambda k: reward(t, k))(rollout_keys), axis=0)

  fake_logits = d_fn(x)
  rewards = jax.vmap(prefix_reward)(jnp.arange(1, length))               # (T - 1, B)
  rewards = jnp.concatenate([rewards, per_example(fake_logits)[None]]).T   # (B, T)
  if gan.reward_baseline == 'leave_one_out':
    # Each example's reward minus the mean of the *other* examples' at the same position: they
    # are independent of its tokens, so the estimate stays unbiased and its variance drops.
    batch = rewards.shape[0]
    rewards = rewards - (jnp.sum(rewards, axis=0) - rewards) / max(batch - 1, 1)
  rewards = jax.lax.stop_gradient(rewards)

  def surrogate(g_params):
    log_probs = gan.generator.apply({'params': g_params, **state.g_collections}, x,
                                    method='log_prob')
    return -jnp.mean(jnp.sum(log_probs * rewards, axis=1))

  return jax.grad(surrogate)(state.g_params), fake_logits


# How G's gradient is estimated: a property of the objective/model pair, named in the GAN.
ESTIMATORS = {'pathwise': pathwise_grads, 'score_function': score_function_grads}


def g_step(state: GANState, real: jax.Array, key: jax.Array, *, gan: GAN,
           samples: Optional[Samples] = None):
  """One G update by gradient descent on G's loss of D(G(z)), with D frozen.

  D's variables enter through `stop_gradient` and D's updated collections are dropped, so
  neither D's params nor its batch or spectral statistics change. `real` is scored only by
  objectives whose G loss uses it (relativistic losses). `samples` may come from
  `generate_for_training` before the D update (G's params have not changed since), else they
  are drawn from `key`.
  """
  if samples is None:
    samples = generate_for_training(gan, state, key)
  d_variables = jax.lax.stop_gradient({'params': state.d_params, **state.d_collections})
  d_fn = lambda x: _discriminate(gan, d_variables, x, state.d_collections, key)[0]
  real_logits = d_fn(real) if gan.objective.g_uses_real else None
  grads, fake_logits = ESTIMATORS[gan.g_estimator](gan, state, samples, d_fn, real_logits, key)
  grads, collections = _pmean((grads, samples.collections), gan.axis_name)
  updates, g_opt_state = gan.g_optimizer.update(grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  decay = ema_decay_at(gan.ema_decay, state.step)
  metrics = _pmean({
      'g_loss': gan.objective.g_loss(real_logits, fake_logits, gan.axis_name),
      'g_d_fake': jnp.mean(fake_logits),
      'g_grad_norm': optax.global_norm(grads),
  }, gan.axis_name)
  state = state.replace(step=state.step + 1, g_params=g_params, g_collections=collections,
                        g_opt_state=g_opt_state,
                        ema_params=update_ema(state.ema_params, g_params, decay),
                        ema_collections=update_ema(state.ema_collections, collections, decay))
  return state, metrics


def train_step(state: GANState, batches: jax.Array, *, gan: GAN):
  """One iteration of the algorithm: `n_critic` D steps, then one G step.

  Args:
    state: the players' state.
    batches: real data of shape (n_critic, batch_size, ...), in the form `gan.preprocess` takes
      (uint8 images are scaled to [-1, 1] on the device: a quarter of the bytes to transfer).
    gan: the static description of the GAN.

  Returns:
    The new state and the metrics (D's averaged over its n_critic steps).

  The G step draws fresh samples (Gulrajani et al. 2017, Algorithm 1), from its own key; with
  `gan.g_samples == 'reuse'` (n_critic = 1 only) it reuses the D step's samples, as the PyTorch
  DCGAN example does, so G runs forward once per iteration.
  """
  key = jax.random.fold_in(state.rng, state.step)
  batches = gan.preprocess(batches)

  # A Python loop, not lax.scan: XLA's CPU backend ran this step 13x slower as a scan
  # (750 ms against 56 ms for DCGAN-28 at batch 64, even with unroll=True).
  reuse = gan.g_samples == 'reuse'
  d_metrics, samples = [], None
  for i in range(gan.n_critic):
    d_key = jax.random.fold_in(key, i)
    samples = generate_for_training(gan, state, d_key) if reuse else None
    state, metrics = d_step(state, batches[i], d_key, gan=gan, samples=samples)
    d_metrics.append(metrics)
  d_metrics = jax.tree.map(lambda *values: jnp.mean(jnp.stack(values)), *d_metrics)
  g_key = d_key if reuse else jax.random.fold_in(key, gan.n_critic)
  state, g_metrics = g_step(state, batches[-1], g_key, gan=gan, samples=samples)
  return state, {**d_metrics, **g_metrics}


def make_train_step(gan: GAN):
  """`train_step` compiled for one device, with the state's buffers donated."""
  return jax.jit(functools.partial(train_step, gan=gan), donate_argnums=0)
