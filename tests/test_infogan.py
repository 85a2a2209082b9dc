"""InfoGAN's categorical code: read from z uniformly, used by G only through its value, and its
cross-entropy added to both players' losses exactly as the formula says."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from conftest import assert_trees_equal
from experiments.configs import mnist_infogan
from gan_jax.core.objectives import get_objective
from gan_jax.core.state import GAN, create_state
from gan_jax.core.steps import Pathwise, d_step, g_step, generate_for_training
from gan_jax.core.terms import TERMS
from gan_jax.errors import ConfigError
from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator, latent_code
from gan_jax.run.config import adam, build_gan, validate

CATEGORIES = 5


def tiny_infogan(class_weight=0.5):
  return GAN(DCGANGenerator((28, 28, 1), 8, code_categories=CATEGORIES),
             DCGANDiscriminator(8, batch_norm=False, code_categories=CATEGORIES),
             adam(1e-3, 0.5, 0.999), adam(1e-3, 0.5, 0.999), get_objective('non_saturating'),
             z_dim=6, batch_size=4, joint_d_call=True,
             terms=(TERMS['infogan'](class_weight,
                                     functools.partial(latent_code, categories=CATEGORIES)),))


def _state(gan):
  return create_state(gan, jax.random.PRNGKey(0), np.zeros((28, 28, 1), np.float32))


def test_code_is_the_bucket_of_the_normal_cdf_and_uniform_under_the_prior():
  centres = stats.norm.ppf((np.arange(CATEGORIES) + 0.5) / CATEGORIES)
  z = np.zeros((CATEGORIES, 3), np.float32)
  z[:, 0] = centres
  np.testing.assert_array_equal(latent_code(jnp.asarray(z), CATEGORIES), np.arange(CATEGORIES))
  # Just either side of a boundary, and the tails, which must not leave 0..K-1.
  edge = stats.norm.ppf(2 / CATEGORIES)
  z = jnp.array([[edge - 1e-3], [edge + 1e-3], [-40.0], [40.0]])
  np.testing.assert_array_equal(latent_code(z, CATEGORIES), [1, 2, 0, CATEGORIES - 1])
  codes = np.asarray(latent_code(jax.random.normal(jax.random.PRNGKey(0), (50000, 2)), 10))
  shares = np.bincount(codes, minlength=10) / len(codes)
  np.testing.assert_allclose(shares, 0.1, atol=0.006)   # 4 standard errors at n = 50,000


def test_generator_sees_the_first_coordinate_only_through_its_code():
  gan = tiny_infogan()
  state = _state(gan)
  g = lambda z: gan.generator.apply({'params': state.g_params, **state.g_collections}, z,
                                    train=False)
  z = jax.random.normal(jax.random.PRNGKey(1), (2, 6))
  low, high = stats.norm.ppf([0.05, 0.15]), stats.norm.ppf([0.25, 0.35])  # codes 0, 0 / 1, 1
  same = [g(z.at[:, 0].set(v)) for v in low]
  np.testing.assert_array_equal(same[0], same[1])
  other = g(z.at[:, 0].set(high[0]))
  assert float(jnp.max(jnp.abs(other - same[0]))) > 1e-4
  np.testing.assert_array_equal(other, g(z.at[:, 0].set(high[1])))


def _ce(logits, labels):
  return float(optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean())


def test_both_losses_add_lambda_times_the_code_cross_entropy():
  gan = tiny_infogan(class_weight=0.5)
  state = _state(gan)
  real = jax.random.uniform(jax.random.PRNGKey(2), (4, 28, 28, 1), minval=-1, maxval=1)
  key = jax.random.PRNGKey(3)
  samples = generate_for_training(gan, state, key)
  z = jax.random.normal(jax.random.fold_in(key, 0), (4, 6))
  np.testing.assert_array_equal(samples.z, z)
  code = latent_code(z, CATEGORIES)
  d = lambda x: gan.discriminator.apply({'params': state.d_params}, x, train=True)
  (real_logits, _), (fake_logits, fake_codes) = d(real), d(samples.x)
  _, metrics = jax.jit(functools.partial(d_step, gan=gan))(state, real, key)
  # D: the BCE of the adversarial head, plus lambda * CE(Q(G(z)), code); no term on real data.
  assert float(metrics['d_code']) == pytest.approx(0.5 * _ce(fake_codes, code), rel=1e-5)
  bce = np.mean(np.logaddexp(0, -np.asarray(real_logits))) + np.mean(
      np.logaddexp(0, np.asarray(fake_logits)))
  assert float(metrics['d_loss']) == pytest.approx(bce, rel=1e-5)

  # G: the non-saturating loss plus the same lambda * CE, differentiated through G's samples.
  def formula(g_params):
    x = gan.generator.apply({'params': g_params, **state.g_collections}, z, train=True,
                            mutable=['batch_stats'])[0]
    logits, codes = d(x)
    ce = optax.softmax_cross_entropy_with_integer_labels(codes, latent_code(z, CATEGORIES))
    return jnp.mean(jax.nn.softplus(-logits)) + 0.5 * jnp.mean(ce)

  grads, _, term_metrics = Pathwise().grads(gan, state, samples, d, None, key)
  assert float(term_metrics['g_code']) == pytest.approx(
      0.5 * _ce(d(samples.x)[1], code), rel=1e-5)
  for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(jax.grad(formula)(state.g_params))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  # The G step freezes D, code head included.
  after, _ = jax.jit(functools.partial(g_step, gan=gan))(state, real, key)
  assert_trees_equal(state.d_params, after.d_params)


def test_config_builds_the_code_and_refuses_it_where_it_cannot_apply():
  config = mnist_infogan.get_config()
  validate(config)
  gan = build_gan(config, (28, 28, 1))
  assert [term.name for term in gan.terms] == ['code'] and gan.discriminator.code_categories == 10
  bad = mnist_infogan.get_config()
  bad.images.code_categories = 1
  with pytest.raises(ConfigError, match='images.code_categories'):
    validate(bad)
  bad = mnist_infogan.get_config()   # a code and a condition: two structures' settings
  bad.labeled_images.conditional = 'projection'
  with pytest.raises(ConfigError, match="set structure='labeled_images'"):
    validate(bad)
