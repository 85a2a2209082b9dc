"""Each loss equals its textbook formula; each penalty equals a closed-form or finite-difference value."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import losses
from gan_jax.models import MLPDiscriminator

REAL = np.array([2.0, -0.5, 0.3, 4.0, -3.0], np.float32)
FAKE = np.array([-1.0, 0.7, -2.5, 0.0, 1.5], np.float32)


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


# (d_loss, g_loss) in numpy, from the papers' formulas with D(x) = sigmoid(logit) where relevant.
REFERENCES = {
    'minimax': (lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
                lambda f: np.mean(np.log(1 - _sigmoid(f)))),
    'non_saturating': (lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
                       lambda f: -np.mean(np.log(_sigmoid(f)))),
    'lsgan': (lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2),
              lambda f: 0.5 * np.mean((f - 1) ** 2)),
    'wasserstein': (lambda r, f: np.mean(f) - np.mean(r), lambda f: -np.mean(f)),
    'hinge': (lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
              lambda f: -np.mean(f)),
}


@pytest.mark.parametrize('name', sorted(losses.LOSSES))
def test_loss_matches_formula(name):
  d_ref, g_ref = REFERENCES[name]
  loss = losses.LOSSES[name]
  np.testing.assert_allclose(loss.d_loss(REAL, FAKE), d_ref(REAL, FAKE), rtol=1e-5)
  np.testing.assert_allclose(loss.g_loss(FAKE), g_ref(FAKE), rtol=1e-5)


def test_objectives_name_the_papers_settings():
  assert losses.get_objective('wgan') == losses.Objective('wasserstein', 'none', 0.0, 0.01)
  assert losses.get_objective('wgan_gp') == losses.Objective('wasserstein', 'gradient_penalty', 10.0)
  assert losses.get_objective('dragan').penalty == 'dragan'
  assert losses.get_objective('hinge', penalty='r1', penalty_weight=1.0).penalty_weight == 1.0
  with pytest.raises(ValueError, match='unknown loss'):
    losses.get_objective('wgan-gp')
  with pytest.raises(ValueError, match='unknown penalty'):
    losses.get_objective('hinge', penalty='gp')


W = jnp.array([0.3, -1.2, 2.0])


def _linear_d(x):
  """D(x) = w.x + 1: its input gradient is w everywhere."""
  return x.reshape(x.shape[0], -1) @ W + 1.0


def _quadratic_d(x):
  """D(x) = 0.5 ||x||^2: its input gradient is x."""
  return 0.5 * jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=1)


def _batches():
  real = jax.random.normal(jax.random.PRNGKey(0), (6, 3))
  fake = jax.random.normal(jax.random.PRNGKey(1), (6, 3)) + 2.0
  return real, fake


@pytest.mark.parametrize('name', ['gradient_penalty', 'dragan'])
def test_gradient_penalties_on_a_linear_critic(name):
  real, fake = _batches()
  expected = (np.linalg.norm(np.asarray(W)) - 1.0) ** 2
  value = losses.PENALTIES[name](_linear_d, real, fake, jax.random.PRNGKey(2))
  np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_r1_on_a_quadratic_critic():
  real, fake = _batches()
  expected = 0.5 * np.mean(np.sum(np.asarray(real) ** 2, axis=1))
  np.testing.assert_allclose(losses.r1_penalty(_quadratic_d, real, fake, None), expected, rtol=1e-5)


def test_gradient_penalty_on_a_quadratic_critic_uses_interpolates():
  """grad D(x_hat) = x_hat, with x_hat = a real + (1 - a) fake and a ~ U[0, 1] per example."""
  real, fake = _batches()
  key = jax.random.PRNGKey(3)
  alpha = np.asarray(jax.random.uniform(key, (6, 1)))
  x_hat = alpha * np.asarray(real) + (1 - alpha) * np.asarray(fake)
  expected = np.mean((np.linalg.norm(x_hat, axis=1) - 1.0) ** 2)
  np.testing.assert_allclose(losses.gradient_penalty(_quadratic_d, real, fake, key), expected,
                             rtol=1e-5)


def test_input_gradient_norm_matches_finite_differences():
  d = MLPDiscriminator((8, 8))
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 2))
  params = d.init(jax.random.PRNGKey(1), x)
  d_fn = lambda inputs: d.apply(params, inputs)
  norms = np.asarray(losses._input_gradient_norms(d_fn, x))
  eps = 1e-2
  for i in range(3):
    grad = []
    for j in range(2):
      step = np.zeros((3, 2), np.float32)
      step[i, j] = eps
      grad.append((d_fn(x + step)[i] - d_fn(x - step)[i]) / (2 * eps))
    np.testing.assert_allclose(norms[i], np.linalg.norm(grad), rtol=1e-2)
