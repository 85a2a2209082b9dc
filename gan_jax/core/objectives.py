"""GAN objectives: each is one registry entry holding everything that defines it.

An `Objective` gives D's and G's losses as functions of D's logits on real and generated data
(compare_gan's loss_lib, split by player), its default penalty and weight, D's weight clipping,
its default number of D steps per G step, and whether G's loss looks at real data (the
relativistic losses). The steps, `validate`, the configs and the study read these fields; a new
GAN loss is one new entry in `OBJECTIVES`, not a new train loop.

Loss functions take (real_logits, fake_logits, axis_name): per-device logits, and the device
axis for losses whose terms couple examples (a relativistic loss compares each logit with the
mean over the global batch). `real_logits` is None in G's loss unless `g_uses_real`.
"""

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from gan_jax.keys import draw_global, global_mean


def _softplus_mean(x):
  return jnp.mean(jax.nn.softplus(x))


def bce_d_loss(real_logits, fake_logits, axis_name=None):
  """-log D(x) - log(1 - D(G(z))), with D = sigmoid(logits)."""
  return _softplus_mean(-real_logits) + _softplus_mean(fake_logits)


def minimax_g_loss(real_logits, fake_logits, axis_name=None):
  """The original G loss, log(1 - D(G(z))), minimised (Goodfellow et al. 2014)."""
  return -_softplus_mean(fake_logits)


def non_saturating_g_loss(real_logits, fake_logits, axis_name=None):
  """-log D(G(z)): same fixed point, strong gradients when D rejects the samples."""
  return _softplus_mean(-fake_logits)


def lsgan_d_loss(real_logits, fake_logits, axis_name=None):
  """Least squares with targets 1 (real) and 0 (fake), Mao et al. 2017."""
  return 0.5 * jnp.mean((real_logits - 1.0) ** 2) + 0.5 * jnp.mean(fake_logits ** 2)


def lsgan_g_loss(real_logits, fake_logits, axis_name=None):
  return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)


def wasserstein_d_loss(real_logits, fake_logits, axis_name=None):
  """The critic's estimate of -W1, Arjovsky et al. 2017; needs a Lipschitz constraint."""
  return jnp.mean(fake_logits) - jnp.mean(real_logits)


def wasserstein_g_loss(real_logits, fake_logits, axis_name=None):
  return -jnp.mean(fake_logits)


def hinge_d_loss(real_logits, fake_logits, axis_name=None):
  """Lim & Ye 2017; Miyato et al. 2018."""
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


def rsgan_d_loss(real_logits, fake_logits, axis_name=None):
  """Relativistic standard GAN (Jolicoeur-Martineau 2019): softplus(-(C(x_r) - C(x_f))) over
  pairs of a real and a fake example, paired by index. With several devices the pairs are formed
  within each device's slice: the same pairs as on one device, since each device holds a
  contiguous slice of the global batch (and of its noise)."""
  del axis_name
  return _softplus_mean(-(real_logits - fake_logits))


def rsgan_g_loss(real_logits, fake_logits, axis_name=None):
  """D's loss with the roles swapped, on the same pairs: softplus(-(C(x_f) - C(x_r)))."""
  del axis_name
  return _softplus_mean(-(fake_logits - real_logits))


def _relativistic(real_logits, fake_logits, axis_name):
  """C(x_r) - E C(x_f) and C(x_f) - E C(x_r), the means over the global batch."""
  return (real_logits - global_mean(fake_logits, axis_name),
          fake_logits - global_mean(real_logits, axis_name))


def ragan_d_loss(real_logits, fake_logits, axis_name=None):
  """Relativistic average GAN (Jolicoeur-Martineau 2019): real more realistic than the average
  fake, fake less realistic than the average real."""
  real_rel, fake_rel = _relativistic(real_logits, fake_logits, axis_name)
  return _softplus_mean(-real_rel) + _softplus_mean(fake_rel)


def ragan_g_loss(real_logits, fake_logits, axis_name=None):
  """D's loss with the roles swapped: G also pulls the real data's relative score down."""
  real_rel, fake_rel = _relativistic(real_logits, fake_logits, axis_name)
  return _softplus_mean(-fake_rel) + _softplus_mean(real_rel)


def ralsgan_d_loss(real_logits, fake_logits, axis_name=None):
  """Relativistic average LSGAN: targets +1 and -1 for the relative scores."""
  real_rel, fake_rel = _relativistic(real_logits, fake_logits, axis_name)
  return jnp.mean((real_rel - 1.0) ** 2) + jnp.mean((fake_rel + 1.0) ** 2)


def ralsgan_g_loss(real_logits, fake_logits, axis_name=None):
  real_rel, fake_rel = _relativistic(real_logits, fake_logits, axis_name)
  return jnp.mean((fake_rel - 1.0) ** 2) + jnp.mean((real_rel + 1.0) ** 2)


def _input_gradient_norms(d_fn, x):
  """||grad_x D(x)|| per example; valid when D treats examples independently (no BatchNorm)."""
  grads = jax.grad(lambda inputs: jnp.sum(d_fn(inputs)))(x)
  return jnp.sqrt(jnp.sum(grads.reshape(x.shape[0], -1) ** 2, axis=1) + 1e-12)


def _per_example_uniform(key, x, axis_name):
  return draw_global(jax.random.uniform, key, (x.shape[0],) + (1,) * (x.ndim - 1), axis_name)


def gradient_penalty(d_fn, real, fake, key, axis_name=None):
  """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2], x_hat between real and fake."""
  alpha = _per_example_uniform(key, real, axis_name)
  x_hat = alpha * real + (1.0 - alpha) * fake
  return jnp.mean((_input_gradient_norms(d_fn, x_hat) - 1.0) ** 2)


def dragan_penalty(d_fn, real, fake, key, axis_name=None):
  """DRAGAN (Kodali et al. 2017): the same penalty around the data, at x + 0.5 std(x) U[0,1] mixes.

  std(x) is the standard deviation of every value of the global real batch.
  """
  del fake
  noise_key, alpha_key = jax.random.split(key)
  mean = global_mean(real, axis_name)
  std = jnp.sqrt(jnp.maximum(global_mean(real ** 2, axis_name) - mean ** 2, 0.0))
  perturbed = real + 0.5 * std * draw_global(jax.random.uniform, noise_key, real.shape, axis_name)
  alpha = _per_example_uniform(alpha_key, real, axis_name)
  x_hat = alpha * real + (1.0 - alpha) * perturbed
  return jnp.mean((_input_gradient_norms(d_fn, x_hat) - 1.0) ** 2)


def r1_penalty(d_fn, real, fake, key, axis_name=None):
  """R1 (Mescheder et al. 2018): 0.5 E[||grad D(x_real)||^2]; the weight is gamma."""
  del fake, key
  return 0.5 * jnp.mean(_input_gradient_norms(d_fn, real) ** 2)


# Every penalty here differentiates D per example: D must treat examples independently.
PENALTIES = {
    'none': None,
    'gradient_penalty': gradient_penalty,
    'dragan': dragan_penalty,
    'r1': r1_penalty,
}

# The weight a penalty named without one gets, as its paper sets it: WGAN-GP's lambda 10,
# DRAGAN's lambda 10, and R1's gamma 10, the value Mescheder et al. 2018 used for most of their
# experiments (it is data-dependent; they also report 1 and 0.1 on some datasets).
PENALTY_WEIGHTS = {'none': 0.0, 'gradient_penalty': 10.0, 'dragan': 10.0, 'r1': 10.0}


def class_loss(class_logits, labels):
  """Cross-entropy of class logits against integer labels, averaged: AC-GAN's classification
  term (Odena et al. 2017) and InfoGAN's code term (gan_jax.core.terms)."""
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


def l1_loss(fake, target):
  """mean |fake - target| over every value: the pixel loss of image-to-image GANs (pix2pix)."""
  return jnp.mean(jnp.abs(fake - target))


class Objective(NamedTuple):
  """A named GAN: both players' losses and everything the run derives from the choice."""
  d_loss: Callable               # (real_logits, fake_logits, axis_name) -> scalar
  g_loss: Callable               # (real_logits or None, fake_logits, axis_name) -> scalar
  penalty: str = 'none'          # a key of PENALTIES
  penalty_weight: float = 0.0
  weight_clip: float = 0.0       # clip D's params to [-c, c] after each step (0 = none)
  n_critic: int = 1              # D steps per G step, as the objective's paper trains it
  g_uses_real: bool = False      # G's loss needs D(real): the G step runs D on the real batch

  @property
  def needs_independent_examples(self) -> bool:
    """Whether D must score each example on its own (no BatchNorm): true for every penalty."""
    return self.penalty != 'none'


OBJECTIVES = {
    'minimax': Objective(bce_d_loss, minimax_g_loss),
    'non_saturating': Objective(bce_d_loss, non_saturating_g_loss),
    'lsgan': Objective(lsgan_d_loss, lsgan_g_loss),
    'wgan': Objective(wasserstein_d_loss, wasserstein_g_loss, weight_clip=0.01, n_critic=5),
    'wgan_gp': Objective(wasserstein_d_loss, wasserstein_g_loss, 'gradient_penalty', 10.0,
                         n_critic=5),
    'hinge': Objective(hinge_d_loss, wasserstein_g_loss),
    'dragan': Objective(bce_d_loss, non_saturating_g_loss, 'dragan', 10.0),
    'ragan': Objective(ragan_d_loss, ragan_g_loss, g_uses_real=True),
    'ralsgan': Objective(ralsgan_d_loss, ralsgan_g_loss, g_uses_real=True),
    'rsgan': Objective(rsgan_d_loss, rsgan_g_loss, g_uses_real=True),
}


def get_objective(name: str, penalty: Optional[str] = None,
                  penalty_weight: Optional[float] = None,
                  weight_clip: Optional[float] = None) -> Objective:
  """The named objective, with any of its penalty, weight or clipping overridden.

  A penalty other than the objective's, named without a weight, gets its PENALTY_WEIGHTS
  default: a weight of 0 would silently train without it.
  """
  if name not in OBJECTIVES:
    raise ValueError(f'unknown loss {name!r}; choose one of {sorted(OBJECTIVES)}')
  objective = OBJECTIVES[name]
  if penalty is not None:
    if penalty not in PENALTIES:
      raise ValueError(f'unknown penalty {penalty!r}; choose one of {sorted(PENALTIES)}')
    if penalty != objective.penalty:
      objective = objective._replace(penalty=penalty, penalty_weight=PENALTY_WEIGHTS[penalty])
  if penalty_weight is not None:
    objective = objective._replace(penalty_weight=float(penalty_weight))
  if weight_clip is not None:
    objective = objective._replace(weight_clip=float(weight_clip))
  return objective


def with_g_weight(objective: Objective, weight: float) -> Objective:
  """The objective with G's loss scaled by `weight` (pix2pix's adversarial weight; 0: G learns
  from its loss terms alone). Weight 1 returns the objective itself, so nothing changes."""
  if weight == 1.0:
    return objective
  g_loss = objective.g_loss
  return objective._replace(
      g_loss=lambda real_logits, fake_logits, axis_name=None: weight * g_loss(
          real_logits, fake_logits, axis_name))
