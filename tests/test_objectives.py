"""Each loss equals its textbook formula; each penalty equals a closed-form or finite-difference value."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.core import objectives
from gan_jax.models import MLPDiscriminator

REAL = np.array([2.0, -0.5, 0.3, 4.0, -3.0], np.float32)
FAKE = np.array([-1.0, 0.7, -2.5, 0.0, 1.5], np.float32)


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def _log_sigmoid(x):
  return np.log(_sigmoid(x))


def _ragan(r, f):
  """Jolicoeur-Martineau 2019, eq. for RaSGAN: D on relative scores, G with the roles swapped."""
  real_rel, fake_rel = r - f.mean(), f - r.mean()
  d = -np.mean(_log_sigmoid(real_rel)) - np.mean(np.log(1 - _sigmoid(fake_rel)))
  g = -np.mean(_log_sigmoid(fake_rel)) - np.mean(np.log(1 - _sigmoid(real_rel)))
  return d, g


def _rsgan(r, f):
  """Jolicoeur-Martineau 2019, RSGAN: D(x_r, x_f) = sigmoid(C(x_r) - C(x_f)) on paired examples."""
  d = -np.mean(_log_sigmoid(r - f))
  g = -np.mean(_log_sigmoid(f - r))
  return d, g


def _ralsgan(r, f):
  real_rel, fake_rel = r - f.mean(), f - r.mean()
  d = np.mean((real_rel - 1) ** 2) + np.mean((fake_rel + 1) ** 2)
  g = np.mean((fake_rel - 1) ** 2) + np.mean((real_rel + 1) ** 2)
  return d, g


# (d_loss, g_loss) in numpy, from the papers' formulas with D(x) = sigmoid(logit) where relevant.
_BCE = lambda r, f: -np.mean(_log_sigmoid(r)) - np.mean(np.log(1 - _sigmoid(f)))
REFERENCES = {
    'minimax': (_BCE, lambda r, f: np.mean(np.log(1 - _sigmoid(f)))),
    'non_saturating': (_BCE, lambda r, f: -np.mean(_log_sigmoid(f))),
    'dragan': (_BCE, lambda r, f: -np.mean(_log_sigmoid(f))),
    'lsgan': (lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2),
              lambda r, f: 0.5 * np.mean((f - 1) ** 2)),
    'wgan': (lambda r, f: np.mean(f) - np.mean(r), lambda r, f: -np.mean(f)),
    'wgan_gp': (lambda r, f: np.mean(f) - np.mean(r), lambda r, f: -np.mean(f)),
    'hinge': (lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
              lambda r, f: -np.mean(f)),
    'ragan': (lambda r, f: _ragan(r, f)[0], lambda r, f: _ragan(r, f)[1]),
    'ralsgan': (lambda r, f: _ralsgan(r, f)[0], lambda r, f: _ralsgan(r, f)[1]),
    'rsgan': (lambda r, f: _rsgan(r, f)[0], lambda r, f: _rsgan(r, f)[1]),
}


def test_every_objective_has_a_reference():
  assert set(REFERENCES) == set(objectives.OBJECTIVES)


@pytest.mark.parametrize('name', sorted(objectives.OBJECTIVES))
def test_loss_matches_formula(name):
  d_ref, g_ref = REFERENCES[name]
  objective = objectives.OBJECTIVES[name]
  np.testing.assert_allclose(objective.d_loss(REAL, FAKE), d_ref(REAL, FAKE), rtol=1e-5)
  g_real = REAL if objective.g_uses_real else None
  np.testing.assert_allclose(objective.g_loss(g_real, FAKE), g_ref(REAL, FAKE), rtol=1e-5)


def test_objectives_name_the_papers_settings():
  wgan = objectives.get_objective('wgan')
  assert (wgan.penalty, wgan.weight_clip, wgan.n_critic) == ('none', 0.01, 5)
  wgan_gp = objectives.get_objective('wgan_gp')
  assert (wgan_gp.penalty, wgan_gp.penalty_weight, wgan_gp.n_critic) == ('gradient_penalty', 10.0, 5)
  assert wgan_gp.needs_independent_examples and not wgan.needs_independent_examples
  assert objectives.get_objective('dragan').penalty == 'dragan'
  assert objectives.get_objective('ragan').g_uses_real
  assert not objectives.get_objective('non_saturating').g_uses_real
  assert objectives.get_objective('hinge', penalty='r1', penalty_weight=1.0).penalty_weight == 1.0
  assert objectives.get_objective('rsgan').g_uses_real
  with pytest.raises(ValueError, match='unknown loss'):
    objectives.get_objective('wgan-gp')
  with pytest.raises(ValueError, match='unknown penalty'):
    objectives.get_objective('hinge', penalty='gp')


def test_a_penalty_named_without_a_weight_gets_its_papers_weight():
  """`--config.loss.penalty=r1` on a loss without a penalty must not train with weight 0."""
  for penalty in ('gradient_penalty', 'dragan', 'r1'):
    objective = objectives.get_objective('hinge', penalty=penalty)
    assert (objective.penalty, objective.penalty_weight) == (penalty, 10.0)
  assert set(objectives.PENALTY_WEIGHTS) == set(objectives.PENALTIES)
  assert objectives.get_objective('hinge', penalty='r1', penalty_weight=0.5).penalty_weight == 0.5
  assert objectives.get_objective('wgan_gp', penalty='none').penalty_weight == 0.0
  # Naming the objective's own penalty keeps the objective's weight.
  custom = objectives.Objective(objectives.bce_d_loss, objectives.non_saturating_g_loss, 'r1', 1.0)
  objectives.OBJECTIVES['custom_r1'] = custom
  try:
    assert objectives.get_objective('custom_r1', penalty='r1').penalty_weight == 1.0
  finally:
    del objectives.OBJECTIVES['custom_r1']


def test_with_g_weight_scales_g_loss_only():
  objective = objectives.get_objective('non_saturating')
  assert objectives.with_g_weight(objective, 1.0) is objective
  scaled = objectives.with_g_weight(objective, 0.25)
  np.testing.assert_allclose(scaled.g_loss(None, FAKE), 0.25 * objective.g_loss(None, FAKE),
                             rtol=1e-6)
  assert scaled.d_loss is objective.d_loss
  assert float(objectives.with_g_weight(objective, 0.0).g_loss(None, FAKE)) == 0.0


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
  value = objectives.PENALTIES[name](_linear_d, real, fake, jax.random.PRNGKey(2))
  np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_r1_on_a_quadratic_critic():
  real, fake = _batches()
  expected = 0.5 * np.mean(np.sum(np.asarray(real) ** 2, axis=1))
  np.testing.assert_allclose(objectives.r1_penalty(_quadratic_d, real, fake, None), expected, rtol=1e-5)


def test_gradient_penalty_on_a_quadratic_critic_uses_interpolates():
  """grad D(x_hat) = x_hat, with x_hat = a real + (1 - a) fake and a ~ U[0, 1] per example."""
  real, fake = _batches()
  key = jax.random.PRNGKey(3)
  alpha = np.asarray(jax.random.uniform(key, (6, 1)))
  x_hat = alpha * np.asarray(real) + (1 - alpha) * np.asarray(fake)
  expected = np.mean((np.linalg.norm(x_hat, axis=1) - 1.0) ** 2)
  np.testing.assert_allclose(objectives.gradient_penalty(_quadratic_d, real, fake, key), expected,
                             rtol=1e-5)


def test_input_gradient_norm_matches_finite_differences():
  d = MLPDiscriminator((8, 8))
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 2))
  params = d.init(jax.random.PRNGKey(1), x)
  d_fn = lambda inputs: d.apply(params, inputs)
  norms = np.asarray(objectives._input_gradient_norms(d_fn, x))
  eps = 1e-2
  for i in range(3):
    grad = []
    for j in range(2):
      step = np.zeros((3, 2), np.float32)
      step[i, j] = eps
      grad.append((d_fn(x + step)[i] - d_fn(x - step)[i]) / (2 * eps))
    np.testing.assert_allclose(norms[i], np.linalg.norm(grad), rtol=1e-2)


def test_dragan_perturbs_around_the_data_with_a_nonlinear_critic():
  """DRAGAN on D(x) = sum(x^2) + x.w: grad = 2 x_hat + w at x_hat = a x + (1 - a)(x + 0.5 std(x) u),
  with u ~ U[0, 1] per value and a ~ U[0, 1] per example, drawn as the penalty draws them."""
  real, fake = _batches()
  key = jax.random.PRNGKey(4)
  noise_key, alpha_key = jax.random.split(key)
  x = np.asarray(real, np.float64)
  u = np.asarray(jax.random.uniform(noise_key, real.shape), np.float64)
  alpha = np.asarray(jax.random.uniform(alpha_key, (6, 1)), np.float64)
  x_hat = alpha * x + (1 - alpha) * (x + 0.5 * x.std() * u)
  grads = 2 * x_hat + np.asarray(W, np.float64)
  expected = np.mean((np.linalg.norm(grads, axis=1) - 1.0) ** 2)
  nonlinear_d = lambda inputs: jnp.sum(inputs ** 2, axis=1) + inputs @ W
  np.testing.assert_allclose(objectives.dragan_penalty(nonlinear_d, real, fake, key), expected,
                             rtol=1e-5)
