"""d_step freezes G, g_step freezes D (bit for bit); steps compile once; the algorithm learns."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import assert_trees_equal, init, tiny_dcgan, tiny_mlp
from gan_jax.core.objectives import OBJECTIVES
from gan_jax.run.config import base_config, build_gan
from gan_jax.structures import make_data
from gan_jax.core.state import GAN, create_state, ema_decay_at
from gan_jax.core.steps import _pmean, d_step, g_step, generate, make_train_step, train_step

G_FIELDS = ('g_params', 'g_collections', 'g_opt_state', 'ema_params', 'ema_collections')
D_FIELDS = ('d_params', 'd_collections', 'd_opt_state')


def _assert_identical(before, after, fields):
  for field in fields:
    leaves_before = jax.tree.leaves(getattr(before, field))
    leaves_after = jax.tree.leaves(getattr(after, field))
    assert leaves_before, field
    assert len(leaves_before) == len(leaves_after)
    for a, b in zip(leaves_before, leaves_after):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=field)


def _assert_changed(before, after, field):
  assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(getattr(before, field)),
                                                      jax.tree.leaves(getattr(after, field))))


@pytest.mark.parametrize('loss', ['non_saturating', 'wgan_gp'])
def test_g_step_leaves_discriminator_bit_identical(loss):
  gan = tiny_dcgan(loss, spectral_norm=True)
  state = init(gan, (28, 28, 1))
  real = jax.random.uniform(jax.random.PRNGKey(1), (4, 28, 28, 1), minval=-1, maxval=1)
  state, _ = jax.jit(functools.partial(d_step, gan=gan))(state, real, jax.random.PRNGKey(2))
  assert set(state.d_collections) == {'batch_stats', 'spectral_stats'}
  after, metrics = jax.jit(functools.partial(g_step, gan=gan))(state, real, jax.random.PRNGKey(3))
  _assert_identical(state, after, D_FIELDS)
  for field in G_FIELDS:
    _assert_changed(state, after, field)
  assert int(after.step) == int(state.step) + 1
  assert set(metrics) == {'g_loss', 'g_d_fake', 'g_grad_norm'}


def test_d_step_leaves_generator_bit_identical():
  gan = tiny_dcgan(spectral_norm=True)
  state = init(gan, (28, 28, 1))
  real = jax.random.uniform(jax.random.PRNGKey(1), (4, 28, 28, 1), minval=-1, maxval=1)
  state, _ = jax.jit(functools.partial(g_step, gan=gan))(state, real, jax.random.PRNGKey(3))
  after, metrics = jax.jit(functools.partial(d_step, gan=gan))(state, real, jax.random.PRNGKey(2))
  _assert_identical(state, after, G_FIELDS + ('step',))
  for field in D_FIELDS:
    _assert_changed(state, after, field)
  assert set(metrics) == {'d_loss', 'd_penalty', 'd_real', 'd_fake', 'd_grad_norm'}


def test_d_step_raises_real_scores_and_lowers_fake_scores():
  gan = tiny_mlp(batch_size=64)
  state = init(gan, (2,))
  real = jnp.full((64, 2), 2.0)
  step = jax.jit(functools.partial(d_step, gan=gan))
  _, first = step(state, real, jax.random.PRNGKey(0))
  for i in range(20):
    state, metrics = step(state, real, jax.random.PRNGKey(0))
  assert metrics['d_real'] > first['d_real'] and metrics['d_fake'] < first['d_fake']


def test_g_step_ascends_d_of_g_z():
  gan = tiny_mlp(batch_size=64)
  state = init(gan, (2,))
  step = jax.jit(functools.partial(g_step, gan=gan))
  real = jnp.zeros((64, 2))   # unused by the non-saturating G loss
  _, first = step(state, real, jax.random.PRNGKey(0))
  for _ in range(20):
    state, metrics = step(state, real, jax.random.PRNGKey(0))
  assert metrics['g_d_fake'] > first['g_d_fake']


def test_train_step_compiles_once():
  gan = tiny_mlp(n_critic=3)

  @chex.assert_max_traces(n=1)
  def step_fn(state, batches):
    return train_step(state, batches, gan=gan)

  step = jax.jit(step_fn, donate_argnums=0)
  state = init(gan, (2,))
  for i in range(4):
    state, metrics = step(state, jnp.full((3, 8, 2), float(i)))
  assert int(state.step) == 4
  assert np.isfinite(float(metrics['d_loss']))


def test_make_train_step_compiles_exactly_once():
  # Counted with jax.monitoring's trace and compile events, not jit's private _cache_size:
  # in CI that read 0 after three calls (twice, with and without the persistent cache).
  events = []
  def listen(event, duration, **kwargs):
    del duration, kwargs
    if event in ('/jax/core/compile/jaxpr_trace_duration',
                 '/jax/core/compile/backend_compile_duration'):
      events.append(event)
  gan = tiny_mlp(n_critic=2)
  step = make_train_step(gan)
  state = init(gan, (2,))
  jax.monitoring.register_event_duration_secs_listener(listen)
  try:
    state, _ = step(state, jnp.full((2, 8, 2), 0.))
    assert events, 'the first call traces the step'
    after_first = len(events)
    for i in range(1, 4):
      state, _ = step(state, jnp.full((2, 8, 2), float(i)))
  finally:
    jax.monitoring.unregister_event_duration_listener(listen)
  assert len(events) == after_first, events[after_first:]


def _plain_sequence(gan, state, batches):
  """The algorithm written out: n_critic d_steps, then a g_step on fresh samples of its own key
  (or, with g_samples='reuse', on the last D step's key, whose samples it then redraws)."""
  key = jax.random.fold_in(state.rng, state.step)
  d = jax.jit(functools.partial(d_step, gan=gan))
  g = jax.jit(functools.partial(g_step, gan=gan))
  for i in range(gan.n_critic):
    state, _ = d(state, batches[i], jax.random.fold_in(key, i))
  g_key = jax.random.fold_in(key, gan.n_critic - 1 if gan.g_samples == 'reuse' else gan.n_critic)
  state, _ = g(state, batches[-1], g_key)
  return state


# k = 2 D steps for every objective (the loop and the key of each step); k = 1 and G reusing
# D's samples, whose programs differ from it in the loop alone, for one.
CASES = [(name, 2) for name in sorted(OBJECTIVES)] + [('non_saturating', 1),
                                                      ('non_saturating', 'reuse')]


@pytest.mark.parametrize('name,n_critic', CASES)
def test_train_step_is_the_plain_sequence_of_d_and_g_steps(name, n_critic):
  """Every objective through train_step on a tiny DCGAN (BatchNorm in G, and in D unless the
  objective needs per-example D), against the d_step/g_step calls written out."""
  reuse = n_critic == 'reuse'
  gan = tiny_dcgan(name, spectral_norm=False, n_critic=1 if reuse else n_critic,
                   d_batch_norm=not OBJECTIVES[name].needs_independent_examples,
                   g_samples='reuse' if reuse else 'fresh')
  state = init(gan, (28, 28, 1))
  batches = jax.random.uniform(jax.random.PRNGKey(5), (gan.n_critic, 4, 28, 28, 1), minval=-1,
                               maxval=1)
  fused, metrics = jax.jit(functools.partial(train_step, gan=gan))(state, batches)
  manual = _plain_sequence(gan, state, batches)
  # Fused and separate programs round differently; Adam turns that into differences of ~1e-6
  # in a few params. An algorithmic difference moves params by an Adam step, lr = 1e-3.
  chex.assert_trees_all_close(fused, manual, rtol=1e-4, atol=1e-5)
  assert int(fused.step) == 1 and all(np.isfinite(float(v)) for v in metrics.values())
  _assert_changed(state, fused, 'd_params')
  _assert_changed(state, fused, 'g_params')


def test_ema_follows_its_formula_with_warm_up():
  """ema_t = d_t ema_{t-1} + (1 - d_t) g_t with d_t = min(decay, (1 + t) / (10 + t)), for the
  params and for G's BatchNorm statistics alike."""
  gan = tiny_dcgan(ema_decay=0.9)
  state = init(gan, (28, 28, 1))
  real = jax.random.uniform(jax.random.PRNGKey(1), (4, 28, 28, 1), minval=-1, maxval=1)
  step = jax.jit(functools.partial(g_step, gan=gan))
  expected_params, expected_stats = state.ema_params, state.ema_collections
  for t in range(3):
    state, _ = step(state, real, jax.random.PRNGKey(t))
    d = min(0.9, (1 + t) / (10 + t))
    assert float(ema_decay_at(0.9, t)) == pytest.approx(d)
    mix = lambda a, x: d * np.asarray(a, np.float64) + (1 - d) * np.asarray(x, np.float64)
    expected_params = jax.tree.map(mix, expected_params, state.g_params)
    expected_stats = jax.tree.map(mix, expected_stats, state.g_collections)
    chex.assert_trees_all_close(state.ema_params, expected_params, rtol=1e-5, atol=1e-7)
    chex.assert_trees_all_close(state.ema_collections, expected_stats, rtol=1e-5, atol=1e-7)
  assert float(ema_decay_at(0.999, 10_000)) == pytest.approx(0.999)


def test_state_equality_helper_counts_leaves():
  assert_trees_equal({'a': jnp.ones(2)}, {'a': jnp.ones(2)})
  with pytest.raises(AssertionError):
    assert_trees_equal({'a': jnp.ones(2)}, {'a': jnp.ones(2), 'b': jnp.ones(1)})
  with pytest.raises(AssertionError):
    assert_trees_equal({'a': jnp.ones(2)}, {'a': jnp.zeros(2)})


# A 1D GAN on N(3, 0.5^2). WGAN-GP uses lambda = 0.1 here: on 1D data whose spread G must match,
# a critic of constant slope (zero penalty) has to pass through slope 0 to bend into the V shape
# that tells a narrow G from the data, which costs ~lambda; with lambda = 10 it stays monotone
# and G collapses to std ~0.07 (measured), with 0.1 it bends.
@pytest.mark.parametrize('loss,n_critic,steps,penalty_weight', [
    ('non_saturating', 1, 2500, None), ('wgan_gp', 5, 1500, 0.1)])
def test_1d_gan_matches_mean_and_std(loss, n_critic, steps, penalty_weight):
  config = base_config()
  config.data.name = 'gaussian1d'
  config.model.z_dim = 4
  config.model.g_features = config.model.d_features = 64
  config.model.mlp_depth = 2
  config.loss.name = loss
  config.loss.penalty_weight = penalty_weight
  config.n_critic = n_critic
  config.batch_size = 256
  config.optim.lr, config.optim.b1, config.optim.b2 = 1e-3, 0.5, 0.9
  config.ema_decay = 0.995
  data = make_data(config, n_critic, seed=0)
  gan = build_gan(config, data.example_shape)
  state = create_state(gan, jax.random.PRNGKey(0), jnp.zeros(data.example_shape))
  step = make_train_step(gan)
  for i in range(steps):
    state, _ = step(state, data.batches(i))
  x = np.asarray(generate(gan, state, jax.random.normal(jax.random.PRNGKey(9), (5000, 4))))
  assert abs(x.mean() - 3.0) < 0.1, x.mean()
  assert abs(x.std() - 0.5) < 0.1, x.std()


def test_gan_holds_only_what_every_gan_has():
  """Variants live in GAN.terms (gan_jax.core.terms) and estimators carry their own settings:
  a field read by one variant only must not come back."""
  import dataclasses
  assert {f.name for f in dataclasses.fields(GAN)} == {
      'generator', 'discriminator', 'g_optimizer', 'd_optimizer', 'objective', 'z_dim',
      'batch_size', 'n_critic', 'ema_decay', 'joint_d_call', 'g_samples', 'g_estimator',
      'preprocess', 'condition', 'terms', 'axis_name'}


def test_pmean_averages_float_leaves_and_keeps_integer_leaves():
  """G's int32 temperature counter must come back int32 from the device mean."""
  tree = {'w': jnp.arange(4.0).reshape(4, 1), 'schedule': {'step': jnp.full((4,), 7, jnp.int32)}}
  out = jax.vmap(lambda t: _pmean(t, 'devices'), axis_name='devices')(tree)
  assert out['schedule']['step'].dtype == jnp.int32
  np.testing.assert_array_equal(out['schedule']['step'], 7)
  np.testing.assert_allclose(out['w'], 1.5)
  assert _pmean(tree, None) is tree
