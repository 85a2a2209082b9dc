"""Run k of a vmapped population equals the same seed trained alone."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from conftest import tiny_dcgan, tiny_mlp
from gan_jax.run.population import create_population, make_population_train_step, member
from gan_jax.core.steps import train_step


def _check_population(gan, shape, steps, rtol, atol, strategy='vmap'):
  seeds, g_lrs, b1s = [3, 7, 11], [1e-3, 2e-4, 5e-4], [0.5, 0.0, 0.9]
  example = jnp.zeros(shape)
  population = create_population(gan, seeds, example, g_lr=g_lrs, d_lr=g_lrs, b1=b1s)
  batches = jax.random.uniform(jax.random.PRNGKey(0), (steps, 3, gan.n_critic, gan.batch_size)
                               + shape, minval=-1, maxval=1)
  step = make_population_train_step(gan, strategy)
  for i in range(steps):
    population, _ = step(population, batches[i])
  single_step = jax.jit(functools.partial(train_step, gan=gan))
  for k in range(3):
    state = member(create_population(gan, [seeds[k]], example, g_lr=[g_lrs[k]], d_lr=[g_lrs[k]],
                                     b1=[b1s[k]]), 0)
    for i in range(steps):
      state, _ = single_step(state, batches[i, k])
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(member(population, k))):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)
  return population


def test_vmapped_mlp_runs_equal_single_runs():
  gan = tiny_mlp(n_critic=2)
  population = _check_population(gan, (2,), steps=5, rtol=1e-5, atol=1e-6)
  # The runs really differ: their own hyperparameters and params.
  assert len({float(x) for x in population.g_opt_state.hyperparams['learning_rate']}) == 3
  w = population.g_params['Dense_0']['kernel']
  assert not np.allclose(w[0], w[1])


def test_vmapped_dcgan_runs_equal_single_runs():
  _check_population(tiny_dcgan(spectral_norm=False), (28, 28, 1), steps=2, rtol=1e-4, atol=1e-5)


def test_unrolled_population_equals_single_runs():
  _check_population(tiny_mlp(n_critic=2), (2,), steps=3, rtol=1e-6, atol=1e-7, strategy='unroll')
