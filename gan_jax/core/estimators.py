"""How G's gradient is estimated: `Pathwise` (through the samples), `ScoreFunction`
(REINFORCE with rollouts) or `TermsOnly` (none through D: MLE), one `ESTIMATORS` entry each,
and the two helpers they share with the steps. Its own module so that `state.GAN` can default
to `Pathwise()` and `steps` can run any estimator without the two importing each other;
`gan_jax.core.steps` re-exports all of it.
"""

import dataclasses

import jax
import jax.numpy as jnp

from gan_jax import keys
from gan_jax.core.terms import TermInputs

REWARD_BASELINES = ('none', 'leave_one_out')   # ScoreFunction.reward_baseline


def model_inputs(x, condition):
  """A model's positional inputs: x alone, or x and its condition."""
  return (x,) if condition is None else (x, condition)


def split_d_output(output):
  """(logits, auxiliary output or None): D returns its logits, or, as AC-GAN's and InfoGAN's D,
  its logits and its class or code logits."""
  return output if isinstance(output, tuple) else (output, None)


# How G's gradient is estimated: an object carrying its own settings, with
# `grads(gan, state, samples, d_fn, real_logits, key) -> (grads, fake_logits, term metrics)`
# and `needs_pullback` (whether `generate_for_training` keeps the pullback to G's params).
@dataclasses.dataclass(frozen=True)
class Pathwise:
  """G's gradient through the samples: d loss / d x, pulled back to G's params (images,
  points, relaxed one-hot sequences and graphs), with every term's G loss added."""
  needs_pullback = True

  def grads(self, gan, state, samples, d_fn, real_logits, key):
    del state, key
    def loss_fn(fake):
      fake_logits, fake_aux = split_d_output(d_fn(fake))
      loss = gan.objective.g_loss(real_logits, fake_logits, gan.axis_name)
      inputs = TermInputs(None, fake_aux, samples.condition, samples.z, fake, samples.target)
      values = {'g_' + t.name: t.g_loss(inputs) for t in gan.terms if t.g_loss is not None}
      for value in values.values():
        loss = loss + value
      return loss, (fake_logits, values)
    fake_grads, (fake_logits, values) = jax.grad(loss_fn, has_aux=True)(samples.x)
    return samples.pullback(fake_grads), fake_logits, values


def _leave_one_out_mean(rewards, axis_name=None):
  """Each example's baseline: the mean reward, at the same position, of the *other* examples of
  the global batch. They are independent of its tokens, so REINFORCE stays unbiased and its
  variance drops; taken over every device, so the gradient does not depend on the device count."""
  total, count = jnp.sum(rewards, axis=0), rewards.shape[0]
  if axis_name is not None:
    total = jax.lax.psum(total, axis_name)
    count *= jax.lax.axis_size(axis_name)   # the psum of the counts: every device holds as many
  return (total - rewards) / max(count - 1, 1)


@dataclasses.dataclass(frozen=True)
class ScoreFunction:
  """REINFORCE with Monte Carlo rollouts (SeqGAN, Yu et al. 2017), for discrete samples.

  The reward of prefix x[:t] is the mean, over `num_rollouts` completions of it by G, of
  -g_loss on each completed example (log D(x) for the non-saturating loss); the full sequence
  is scored by itself. G's gradient is that of -sum_t log p(x_t | x_<t) R_t, averaged over the
  batch: an unbiased estimate of the gradient of E[-g_loss], also with
  `reward_baseline='leave_one_out'` (the mean of the other rewards of the global batch). The
  generator provides `log_prob` and `rollout(tokens, t)` methods; all rollouts are vmapped into
  one compiled step.
  """
  num_rollouts: int = 16
  reward_baseline: str = 'none'      # 'none' (SeqGAN) or 'leave_one_out'
  needs_pullback = False

  def rewards(self, gan, state, samples, key):
    """(rewards (B, T), D's logits on the samples), D in evaluation mode: SeqGAN scores rollouts
    with dropout off, and one training-mode dropout mask would be shared by every rollout."""
    x = samples.x
    d_variables = jax.lax.stop_gradient({'params': state.d_params, **state.d_collections})
    d_eval = lambda x: split_d_output(gan.discriminator.apply(
        d_variables, *model_inputs(x, samples.condition), train=False))[0]
    g_variables = {'params': state.g_params, **state.g_collections}
    per_example = jax.vmap(lambda logit: -gan.objective.g_loss(None, logit[None], None))

    def reward(t, rollout_key):
      completed = gan.generator.apply(g_variables, x, t, method='rollout',
                                      rngs={'sample': rollout_key})
      return per_example(d_eval(completed))

    def prefix_reward(t):
      rollout_keys = jax.random.split(keys.fold(key, keys.ROLLOUT, t), self.num_rollouts)
      return jnp.mean(jax.vmap(lambda k: reward(t, k))(rollout_keys), axis=0)

    fake_logits = d_eval(x)
    rewards = jax.vmap(prefix_reward)(jnp.arange(1, x.shape[1]))             # (T - 1, B)
    rewards = jnp.concatenate([rewards, per_example(fake_logits)[None]]).T   # (B, T)
    if self.reward_baseline == 'leave_one_out':
      rewards = rewards - _leave_one_out_mean(rewards, gan.axis_name)
    return jax.lax.stop_gradient(rewards), fake_logits

  def grads(self, gan, state, samples, d_fn, real_logits, key):
    # d_fn (D in training mode) is unused: rewards come from D in evaluation mode. real_logits
    # too: a relativistic loss has no per-example reward; validate() refuses it.
    del d_fn, real_logits
    if any(term.g_loss is not None for term in gan.terms):
      raise ValueError('the score-function estimator has no per-example reward for loss terms')
    rewards, fake_logits = self.rewards(gan, state, samples, key)

    def surrogate(g_params):
      log_probs = gan.generator.apply({'params': g_params, **state.g_collections}, samples.x,
                                      method='log_prob')
      return -jnp.mean(jnp.sum(log_probs * rewards, axis=1))

    return jax.grad(surrogate)(state.g_params), fake_logits, {}


@dataclasses.dataclass(frozen=True)
class TermsOnly:
  """No gradient through D: G learns from its model terms alone (MLE, loss.adversarial_weight 0),
  without paying for an adversarial gradient that would be multiplied by 0 (REINFORCE's
  rollouts). D's logits on the samples are still computed, for the log."""
  needs_pullback = False

  def grads(self, gan, state, samples, d_fn, real_logits, key):
    del real_logits, key
    if any(term.g_loss is not None for term in gan.terms):
      raise ValueError('terms of the samples need an adversarial estimator; use pathwise')
    fake_logits = split_d_output(d_fn(jax.lax.stop_gradient(samples.x)))[0]
    return jax.tree.map(jnp.zeros_like, state.g_params), fake_logits, {}


ESTIMATORS = {'pathwise': Pathwise, 'score_function': ScoreFunction, 'terms_only': TermsOnly}
