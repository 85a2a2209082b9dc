"""The GAN algorithm as pure update functions: `d_step`, `g_step` and `train_step`.

Each is a function of (state, batch, key) returning (state, metrics), importable without jit
and compiled by the caller (`make_train_step`, or `gan_jax.run.parallel` for several devices).
Keys are derived by `fold_in` (the table is in gan_jax.keys), so a run resumes exactly.
Nothing here knows what the data is: vectors, images, token sequences and graphs all pass as
arrays whose leading axis is the batch. A conditional GAN's batch is a dict holding the data
under 'x' beside what its condition is made of (labels under 'y'); `gan.condition` makes the
condition, G generates for the batch's conditions, and D scores (x, condition).
"""

import functools
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from gan_jax import keys
from gan_jax.core import objectives
from gan_jax.core.objectives import PENALTIES
from gan_jax.core.state import GAN, GANState, ema_decay_at, update_ema


def _pmean(tree, axis_name):
  return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


def split_batch(gan: GAN, batch):
  """(data, condition) of a real batch: an unconditional GAN's batch is the data, condition None;
  a conditional GAN's is a dict with the data under 'x', its condition `gan.condition(batch)`."""
  if gan.condition is None:
    return batch, None
  return batch['x'], gan.condition(batch)


def _inputs(x, condition):
  """A model's positional inputs: x alone, or x and its condition."""
  return (x,) if condition is None else (x, condition)


def split_d_output(output):
  """(logits, class logits or None): D returns its logits, or, as AC-GAN's D, both."""
  return output if isinstance(output, tuple) else (output, None)


# What a conditional GAN adds to the objective's losses, in one place.
def conditional_d_loss(gan: GAN, real_classes, fake_classes, condition):
  """AC-GAN (Odena et al. 2017): D also classifies real and generated examples by their labels
  (the generated ones by the labels they were drawn for), weighted by `gan.class_weight`.
  With `gan.d_classifies_fakes` off, D's classifier learns from real examples only, so G cannot
  be rewarded for writing its label in a code that only D's head reads."""
  loss = objectives.class_loss(real_classes, condition)
  if gan.d_classifies_fakes:
    loss = loss + objectives.class_loss(fake_classes, condition)
  return gan.class_weight * loss


def code_loss(gan: GAN, code_logits, code):
  """InfoGAN's (Chen et al. 2016) lower bound on I(code; G(z)), as a loss both players
  minimise: cross-entropy of D's code head on G's samples against the codes they were drawn
  with, weighted by `gan.class_weight` (their lambda). Real data has no code: no real term."""
  return gan.class_weight * objectives.class_loss(code_logits, code)


def conditional_g_loss(gan: GAN, adversarial, fake, fake_classes, samples):
  """G's loss of a conditional GAN: `adversarial_weight` times the objective's, plus AC-GAN's
  classification of G's samples by their labels (`class_weight`), plus pix2pix's
  `l1_weight * mean |G(c, z) - x|` to the real data of the same condition (0: none)."""
  loss = adversarial if gan.adversarial_weight == 1.0 else gan.adversarial_weight * adversarial
  if fake_classes is not None:
    loss = loss + gan.class_weight * objectives.class_loss(fake_classes, samples.condition)
  if gan.l1_weight:
    loss = loss + gan.l1_weight * objectives.l1_loss(fake, samples.target)
  return loss


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
  return gan.generator.apply(variables, *_inputs(z, condition), train=False, rngs=rngs)


class Samples(NamedTuple):
  """G's training-mode samples, with what the G step needs to differentiate through them."""
  x: jax.Array
  pullback: Optional[Callable[[jax.Array], Any]]   # d loss / d x -> d loss / d G's params
  collections: Any                                # G's collections after the pass
  condition: Any = None                           # what they were generated for (conditional)
  target: Any = None                              # the real data of those conditions
  code: Any = None                                # InfoGAN: the categorical code read from z


def generate_for_training(gan: GAN, state: GANState, key: jax.Array, real=None) -> Samples:
  """G(z) in training mode, z (and any sampling noise) drawn from `key`; for a conditional GAN,
  one sample for each condition of the real batch `real`.

  For a pathwise G gradient it also returns the pullback from the samples to G's params, so a
  G step can reuse these samples (`g_samples='reuse'`) without running G forward again.
  """
  z = sample_z(gan, keys.fold(key, keys.Z))
  code = None if gan.latent_code is None else gan.latent_code(z)
  target, condition = (None, None)
  if gan.condition is not None:
    if real is None:
      raise ValueError('a conditional GAN generates for the conditions of a real batch: pass it')
    target, condition = split_batch(gan, real)

  def forward(g_params):
    return gan.generator.apply({'params': g_params, **state.g_collections},
                               *_inputs(z, condition), train=True,
                               mutable=list(state.g_collections),
                               rngs={'sample': keys.fold(key, keys.SAMPLE)})

  if gan.g_estimator != 'pathwise':
    x, collections = forward(state.g_params)
    return Samples(x, None, collections, condition, target, code)
  x, pullback, collections = jax.vjp(forward, state.g_params, has_aux=True)
  return Samples(x, lambda dx: pullback(dx)[0], collections, condition, target, code)


def _discriminate(gan, d_variables, x, collection_names, key, condition=None):
  """D(x) (or D(x, condition)) in training mode; returns D's output and updated collections."""
  logits, updated = gan.discriminator.apply(d_variables, *_inputs(x, condition), train=True,
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
    (real_logits, real_classes), (fake_logits, fake_classes) = map(split_d_output,
                                                                    (real_out, fake_out))
    d_loss = objective.d_loss(real_logits, fake_logits, gan.axis_name)
    penalty = jnp.zeros(())
    if penalty_fn is not None:
      frozen = {**variables, 'params': d_params}
      d_fn = lambda x: split_d_output(_discriminate(gan, frozen, x, names, key, condition)[0])[0]
      penalty = penalty_fn(d_fn, real, fake, keys.fold(key, keys.PENALTY), gan.axis_name)
    total = d_loss + objective.penalty_weight * penalty
    extra = {}
    if samples.code is not None:
      extra['d_code'] = code_loss(gan, fake_classes, samples.code)
      total = total + extra['d_code']
    elif real_classes is not None:
      extra['d_class'] = conditional_d_loss(gan, real_classes, fake_classes, condition)
      total = total + extra['d_class']
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


def pathwise_grads(gan, state, samples, d_fn, real_logits, key):
  """G's gradient through the samples: d loss / d x, pulled back to G's params (images,
  points, relaxed one-hot sequences and graphs), with a conditional GAN's terms."""
  del state, key
  def loss_fn(fake):
    fake_logits, fake_classes = split_d_output(d_fn(fake))
    loss = gan.objective.g_loss(real_logits, fake_logits, gan.axis_name)
    if samples.condition is not None:
      loss = conditional_g_loss(gan, loss, fake, fake_classes, samples)
    if samples.code is not None:
      loss = loss + code_loss(gan, fake_classes, samples.code)
    return loss, fake_logits
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
  are drawn from `key`. A conditional GAN's D scores each sample with its condition.
  """
  if samples is None:
    samples = generate_for_training(gan, state, key, real)
  real, condition = split_batch(gan, real)
  d_variables = jax.lax.stop_gradient({'params': state.d_params, **state.d_collections})
  d_fn = lambda x: _discriminate(gan, d_variables, x, state.d_collections, key, condition)[0]
  real_logits = split_d_output(d_fn(real))[0] if gan.objective.g_uses_real else None
  grads, fake_logits = ESTIMATORS[gan.g_estimator](gan, state, samples, d_fn, real_logits, key)
  grads, collections = _pmean((grads, samples.collections), gan.axis_name)
  updates, g_opt_state = gan.g_optimizer.update(grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  decay = ema_decay_at(gan.ema_decay, state.step)
  metrics = _pmean({
      'g_loss': gan.objective.g_loss(real_logits, fake_logits, gan.axis_name),
      'g_d_fake': jnp.mean(fake_logits),
      'g_grad_norm': optax.global_norm(grads),
      **({'g_l1': objectives.l1_loss(samples.x, samples.target)} if gan.l1_weight else {}),
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
