"""GAN losses and penalties: pure functions of D's logits, in small registries.

A loss gives D's loss from its logits on real and generated data, and G's loss from the
logits on generated data (compare_gan's loss_lib, split by player). A penalty is a function
of D itself (as a function x -> logits), the real and fake batches and a key. A new loss is
one new entry here, not a new train loop. `OBJECTIVES` names the standard pairs.
"""

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp


class Loss(NamedTuple):
  d_loss: Callable  # (real_logits, fake_logits) -> scalar
  g_loss: Callable  # (fake_logits,) -> scalar


def _bce_d_loss(real_logits, fake_logits):
  """-log D(x) - log(1 - D(G(z))), with D = sigmoid(logits)."""
  return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def _minimax_g_loss(fake_logits):
  """The original G loss, log(1 - D(G(z))), minimised (Goodfellow et al. 2014)."""
  return -jnp.mean(jax.nn.softplus(fake_logits))


def _non_saturating_g_loss(fake_logits):
  """-log D(G(z)): same fixed point, strong gradients when D rejects the samples."""
  return jnp.mean(jax.nn.softplus(-fake_logits))


def _lsgan_d_loss(real_logits, fake_logits):
  """Least squares with targets 1 (real) and 0 (fake), Mao et al. 2017."""
  return 0.5 * jnp.mean((real_logits - 1.0) ** 2) + 0.5 * jnp.mean(fake_logits ** 2)


def _lsgan_g_loss(fake_logits):
  return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)


def _wasserstein_d_loss(real_logits, fake_logits):
  """The critic's estimate of -W1, Arjovsky et al. 2017; needs a Lipschitz constraint."""
  return jnp.mean(fake_logits) - jnp.mean(real_logits)


def _wasserstein_g_loss(fake_logits):
  return -jnp.mean(fake_logits)


def _hinge_d_loss(real_logits, fake_logits):
  """Lim & Ye 2017; Miyato et al. 2018."""
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


LOSSES = {
    'minimax': Loss(_bce_d_loss, _minimax_g_loss),
    'non_saturating': Loss(_bce_d_loss, _non_saturating_g_loss),
    'lsgan': Loss(_lsgan_d_loss, _lsgan_g_loss),
    'wasserstein': Loss(_wasserstein_d_loss, _wasserstein_g_loss),
    'hinge': Loss(_hinge_d_loss, _wasserstein_g_loss),
}


def _input_gradient_norms(d_fn, x):
  """||grad_x D(x)|| per example; valid when D treats examples independently (no BatchNorm)."""
  grads = jax.grad(lambda inputs: jnp.sum(d_fn(inputs)))(x)
  return jnp.sqrt(jnp.sum(grads.reshape(x.shape[0], -1) ** 2, axis=1) + 1e-12)


def _per_example_uniform(key, x):
  return jax.random.uniform(key, (x.shape[0],) + (1,) * (x.ndim - 1))


def gradient_penalty(d_fn, real, fake, key):
  """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2], x_hat between real and fake."""
  alpha = _per_example_uniform(key, real)
  x_hat = alpha * real + (1.0 - alpha) * fake
  return jnp.mean((_input_gradient_norms(d_fn, x_hat) - 1.0) ** 2)


def dragan_penalty(d_fn, real, fake, key):
  """DRAGAN (Kodali et al. 2017): the same penalty around the data, at x + 0.5 std(x) U[0,1] mixes."""
  del fake
  noise_key, alpha_key = jax.random.split(key)
  perturbed = real + 0.5 * jnp.std(real) * jax.random.uniform(noise_key, real.shape)
  alpha = _per_example_uniform(alpha_key, real)
  x_hat = alpha * real + (1.0 - alpha) * perturbed
  return jnp.mean((_input_gradient_norms(d_fn, x_hat) - 1.0) ** 2)


def r1_penalty(d_fn, real, fake, key):
  """R1 (Mescheder et al. 2018): 0.5 E[||grad D(x_real)||^2]; the weight is gamma."""
  del fake, key
  return 0.5 * jnp.mean(_input_gradient_norms(d_fn, real) ** 2)


PENALTIES = {
    'none': None,
    'gradient_penalty': gradient_penalty,
    'dragan': dragan_penalty,
    'r1': r1_penalty,
}


class Objective(NamedTuple):
  """A named GAN: its loss, its default penalty and weight, and D's weight clipping (0 = none)."""
  loss: str
  penalty: str = 'none'
  penalty_weight: float = 0.0
  weight_clip: float = 0.0


OBJECTIVES = {
    'minimax': Objective('minimax'),
    'non_saturating': Objective('non_saturating'),
    'lsgan': Objective('lsgan'),
    'wgan': Objective('wasserstein', weight_clip=0.01),
    'wgan_gp': Objective('wasserstein', 'gradient_penalty', 10.0),
    'hinge': Objective('hinge'),
    'dragan': Objective('non_saturating', 'dragan', 10.0),
}


def get_objective(name: str, penalty: Optional[str] = None,
                  penalty_weight: Optional[float] = None,
                  weight_clip: Optional[float] = None) -> Objective:
  """The named objective, with any of its penalty, weight or clipping overridden."""
  if name not in OBJECTIVES:
    raise ValueError(f'unknown loss {name!r}; choose one of {sorted(OBJECTIVES)}')
  objective = OBJECTIVES[name]
  if penalty is not None:
    if penalty not in PENALTIES:
      raise ValueError(f'unknown penalty {penalty!r}; choose one of {sorted(PENALTIES)}')
    objective = objective._replace(penalty=penalty)
  if penalty_weight is not None:
    objective = objective._replace(penalty_weight=float(penalty_weight))
  if weight_clip is not None:
    objective = objective._replace(weight_clip=float(weight_clip))
  return objective
