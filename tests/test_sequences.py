"""The SeqGAN oracle benchmark: the oracle's LSTM equals SeqGAN's, and G / D / metrics agree."""

import functools
import itertools

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan_jax.data import sequences as oracle
from gan_jax.metrics.sequences import nll_oracle, nll_test
from gan_jax.models.sequences import (LSTMGenerator, SequenceDiscriminator, mle_loss, mle_step,
                                      seqgan_l2_penalty)

SMALL = dict(vocab=11, embed=3, hidden=4)


def _numpy_log_prob(arrays, tokens):
  """target_lstm.py's equations with its 15 separate arrays, in float64."""
  emb, wi, ui, bi, wf, uf, bf, wo, uo, bo, wc, uc, bc, w_out, b_out = [
      np.asarray(a, np.float64) for a in arrays]
  sigmoid = lambda a: 1 / (1 + np.exp(-a))
  out = np.zeros(tokens.shape)
  for n, seq in enumerate(tokens):
    h, c, x = np.zeros(len(bi)), np.zeros(len(bi)), emb[0]   # start token 0, zero state
    for t, token in enumerate(seq):
      i = sigmoid(x @ wi + h @ ui + bi)
      f = sigmoid(x @ wf + h @ uf + bf)
      o = sigmoid(x @ wo + h @ uo + bo)
      c = f * c + i * np.tanh(x @ wc + h @ uc + bc)
      h = o * np.tanh(c)
      logits = h @ w_out + b_out
      out[n, t] = logits[token] - logits.max() - np.log(np.sum(np.exp(logits - logits.max())))
      x = emb[token]
  return out


def test_oracle_log_prob_matches_seqgan_equations():
  rng = np.random.RandomState(0)
  v, e, h = 50, 6, 5
  shapes = [(v, e)] + [(e, h), (h, h), (h,)] * 4 + [(h, v), (v,)]
  arrays = [rng.normal(size=s).astype(np.float32) for s in shapes]
  tokens = rng.randint(0, v, (4, 9))
  got = oracle.log_prob(oracle.params_from_seqgan(arrays), jnp.asarray(tokens))
  np.testing.assert_allclose(got, _numpy_log_prob(arrays, tokens), rtol=1e-5, atol=1e-5)


def test_oracle_params_are_standard_normal_and_fixed():
  params = oracle.oracle_params()
  assert {k: v.shape for k, v in params.items()} == {
      'embedding': (5000, 32), 'w_x': (32, 128), 'w_h': (32, 128), 'b': (128,),
      'w_out': (32, 5000), 'b_out': (5000,)}
  for leaf in params.values():
    assert abs(float(leaf.mean())) < 0.3 and abs(float(leaf.std()) - 1) < 0.2
  np.testing.assert_array_equal(params['b'], oracle.oracle_params()['b'])


def test_sample_deterministic_per_key_and_in_range():
  params = oracle.oracle_params(**SMALL)
  a = oracle.sample(params, jax.random.PRNGKey(0), 32, length=7)
  assert a.shape == (32, 7) and a.dtype == jnp.int32
  assert int(a.min()) >= 0 and int(a.max()) < SMALL['vocab']
  np.testing.assert_array_equal(a, oracle.sample(params, jax.random.PRNGKey(0), 32, length=7))
  assert not np.array_equal(a, oracle.sample(params, jax.random.PRNGKey(1), 32, length=7))


def test_oracle_dataset_is_cached_readonly_and_splits_differ():
  train = oracle.oracle_dataset('train', 64)
  assert train.shape == (64, 20) and train.dtype == np.int32 and not train.flags.writeable
  assert oracle.oracle_dataset('train', 64) is train
  assert not np.array_equal(train, oracle.oracle_dataset('test', 64))
  with pytest.raises(ValueError):
    oracle.oracle_dataset('valid', 64)


def test_metrics_batch_exactly():
  params = oracle.oracle_params(**SMALL)
  tokens = np.asarray(oracle.sample(params, jax.random.PRNGKey(3), 10, length=5))
  expected = -float(jnp.mean(oracle.log_prob(params, jnp.asarray(tokens))))
  assert nll_oracle(params, tokens, batch_size=4) == pytest.approx(expected, rel=1e-6)
  uniform = lambda x: jnp.full(x.shape, -np.log(11.0))
  assert nll_test(uniform, tokens, batch_size=3) == pytest.approx(np.log(11.0), rel=1e-6)


def _init(model, batch=2):
  keys = {'params': jax.random.PRNGKey(0), 'sample': jax.random.PRNGKey(1)}
  return jax.jit(model.init)(keys, jnp.zeros((batch, 1)))


def test_generator_is_the_oracle_family():
  g = LSTMGenerator(**SMALL, length=6)
  params = oracle.oracle_params(**SMALL)
  assert jax.tree.map(jnp.shape, _init(g)['params']) == jax.tree.map(jnp.shape, params)
  tokens = oracle.sample(params, jax.random.PRNGKey(0), 5, length=6)
  np.testing.assert_allclose(g.apply({'params': params}, tokens, method=LSTMGenerator.log_prob),
                             oracle.log_prob(params, tokens), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('output', ['tokens', 'gumbel'])
def test_generator_log_prob_normalised_and_matches_sampler(output):
  g = LSTMGenerator(vocab=3, embed=2, hidden=3, length=3, output=output)
  variables = _init(g)
  variables = {**variables, 'params': jax.tree.map(lambda p: p * 10, variables['params'])}
  every = jnp.asarray(list(itertools.product(range(3), repeat=3)))
  p = np.exp(np.asarray(g.apply(variables, every, method=LSTMGenerator.log_prob)).sum(1))
  assert p.sum() == pytest.approx(1.0, abs=1e-5)
  out = g.apply(variables, jnp.zeros((20000, 1)), rngs={'sample': jax.random.PRNGKey(4)})
  tokens = np.asarray(out if output == 'tokens' else out.argmax(-1))
  counts = np.bincount(tokens @ np.array([9, 3, 1]), minlength=27)
  assert np.all(np.abs(counts / 20000 - p) <= 4 * np.sqrt(p * (1 - p) / 20000) + 1e-3)


def test_rollout_keeps_prefix_and_vmaps_over_t():
  g = LSTMGenerator(**SMALL, length=6)
  params = _init(g)['params']
  tokens = oracle.sample(oracle.oracle_params(**SMALL), jax.random.PRNGKey(0), 8, length=6)
  roll = lambda t, key: g.apply({'params': params}, tokens, t, method=LSTMGenerator.rollout,
                                rngs={'sample': key})
  ts = jnp.arange(7)
  out = np.asarray(jax.vmap(roll)(ts, jax.random.split(jax.random.PRNGKey(1), 7)))
  assert out.shape == (7, 8, 6) and out.dtype == np.int32
  for t in range(7):
    np.testing.assert_array_equal(out[t, :, :t], np.asarray(tokens)[:, :t])
  np.testing.assert_array_equal(out[6], tokens)
  assert (out[0] != np.asarray(tokens)).any()   # t = 0 resamples everything


@pytest.mark.parametrize('feed', ['hard', 'soft'])
def test_gumbel_output_is_a_distribution_with_gradient(feed):
  g = LSTMGenerator(**SMALL, length=5, output='gumbel', feed=feed)
  variables = _init(g)
  y = g.apply(variables, jnp.zeros((4, 1)), rngs={'sample': jax.random.PRNGKey(2)})
  assert y.shape == (4, 5, 11) and y.dtype == jnp.float32
  assert float(y.min()) >= 0
  np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
  target = jax.random.normal(jax.random.PRNGKey(3), y.shape)

  def loss(params):
    out = g.apply({**variables, 'params': params}, jnp.zeros((4, 1)),
                  rngs={'sample': jax.random.PRNGKey(2)})
    return jnp.sum(out * target)

  grads = jax.jit(jax.grad(loss))(variables['params'])
  for name, grad in grads.items():
    assert float(jnp.abs(grad).sum()) > 0, name


def test_temperature_schedule_counts_mutable_training_calls():
  g = LSTMGenerator(**SMALL, length=3, output='gumbel', max_temperature=100.0,
                    temperature_steps=4)
  variables = _init(g)
  assert int(variables['schedule']['step']) == 0
  z, rngs = jnp.zeros((2, 1)), {'sample': jax.random.PRNGKey(0)}
  call = jax.jit(lambda v, train: g.apply(v, z, train, rngs=rngs, mutable=['schedule']),
                 static_argnums=1)
  for _ in range(6):
    _, updates = call(variables, True)
    variables = {**variables, **updates}
  assert int(variables['schedule']['step']) == 6
  assert int(call(variables, False)[1]['schedule']['step']) == 6
  beta = lambda v: g.apply(v, method=LSTMGenerator.inverse_temperature)
  assert float(beta(variables)) == pytest.approx(100.0)   # held at the maximum past N
  two = {**variables, 'schedule': {'step': jnp.array(2, jnp.int32)}}
  assert float(beta(two)) == pytest.approx(10.0)          # 100 ** (2 / 4)


def test_discriminator_tokens_equal_one_hot_and_dropout_uses_rng():
  d = SequenceDiscriminator(vocab=11, embed=8, filter_sizes=(1, 2, 5), num_filters=(4, 4, 3))
  tokens = jax.random.randint(jax.random.PRNGKey(0), (6, 5), 0, 11)
  variables = jax.jit(d.init, static_argnames='train')(jax.random.PRNGKey(1), tokens, train=False)
  apply = jax.jit(d.apply, static_argnames='train')
  logits = apply(variables, tokens, train=False)
  assert logits.shape == (6,) and logits.dtype == jnp.float32
  np.testing.assert_allclose(apply(variables, jax.nn.one_hot(tokens, 11), train=False), logits,
                             rtol=1e-5, atol=1e-6)
  train = lambda k: apply(variables, tokens, rngs={'dropout': jax.random.PRNGKey(k)})
  assert not np.allclose(train(0), train(1))
  assert float(seqgan_l2_penalty(variables['params'])) > 0


def test_mle_step_lowers_the_loss():
  g = LSTMGenerator(**SMALL, length=6)
  params = _init(g)['params']
  tokens = oracle.sample(oracle.oracle_params(**SMALL), jax.random.PRNGKey(0), 64, length=6)
  optimizer, step = mle_step(g)
  opt_state = optimizer.init(params)
  first = float(mle_loss(params, g, tokens))
  for _ in range(20):
    params, opt_state, loss = step(params, opt_state, tokens)
  assert float(loss) < first - 0.1


@pytest.mark.parametrize('baseline', ['none', 'leave_one_out'])
def test_reinforce_gradient_is_unbiased(baseline):
  """The score-function step's gradient, averaged over many batches, equals the exact gradient
  of E_x~G[-g_loss(D(x))], computed by enumerating all 27 sequences of a 3-token vocabulary."""
  from gan_jax.core import objectives, state as gan_state, steps

  g = LSTMGenerator(vocab=3, embed=2, hidden=3, length=3)
  d = SequenceDiscriminator(vocab=3, embed=2, filter_sizes=(1, 2), num_filters=(2, 2),
                            dropout=0.0)
  batch = 16
  gan = gan_state.GAN(generator=g, discriminator=d, g_optimizer=optax.sgd(1.0),
                      d_optimizer=optax.sgd(1.0),
                      objective=objectives.get_objective('non_saturating'), z_dim=1,
                      batch_size=batch,
                      g_estimator=steps.ScoreFunction(num_rollouts=2, reward_baseline=baseline))
  state = gan_state.create_state(gan, jax.random.PRNGKey(0), jnp.zeros((3,), jnp.int32))
  # Sharper G and D than at init, so the gradient is far from zero.
  state = state.replace(g_params=jax.tree.map(lambda p: 8 * p, state.g_params),
                        d_params=jax.tree.map(lambda p: 3 * p, state.d_params))
  d_fn = lambda x: d.apply({'params': state.d_params}, x, train=False)

  every = jnp.asarray(list(itertools.product(range(3), repeat=3)))
  reward = -jax.vmap(lambda logit: gan.objective.g_loss(None, logit[None], None))(d_fn(every))

  def expected_loss(g_params):
    log_p = g.apply({'params': g_params}, every, method=LSTMGenerator.log_prob).sum(1)
    return -jnp.sum(jnp.exp(log_p) * reward)

  exact, _ = jax.flatten_util.ravel_pytree(jax.grad(expected_loss)(state.g_params))

  def estimate(key):
    samples = steps.generate_for_training(gan, state, key)
    grads, _, _ = gan.g_estimator.grads(gan, state, samples, d_fn, None, key)
    return jax.flatten_util.ravel_pytree(grads)[0]

  draws = 4000
  estimates = np.asarray(jax.jit(jax.vmap(estimate))(
      jax.random.split(jax.random.PRNGKey(1), draws)), np.float64)
  mean, stderr = estimates.mean(0), estimates.std(0) / np.sqrt(draws)
  assert np.abs(exact).max() > 0.02
  np.testing.assert_array_less(np.abs(mean - np.asarray(exact)), 4.5 * stderr + 1e-4)
  # and it is an estimate, not the exact value by construction
  assert estimates.std(0).max() > 1e-3


def test_reinforce_gradient_uses_rewards_of_d_in_evaluation_mode():
  """SeqGAN scores rollouts with dropout off: G's gradient is the REINFORCE gradient
  -mean_b sum_t R_bt grad log p(x_bt | x_b<t) with each R_bt = log D(x) of D in evaluation mode,
  on the rollouts of x_b[:t] (t < T) or on x_b itself, computed here by hand. The same
  computation with D in training mode (dropout 0.5) gives another gradient, so this can fail."""
  from gan_jax import keys
  from gan_jax.core import objectives, state as gan_state, steps

  g = LSTMGenerator(vocab=5, embed=3, hidden=4, length=4)
  d = SequenceDiscriminator(vocab=5, embed=3, filter_sizes=(1, 2), num_filters=(3, 3),
                            dropout=0.5)
  rollouts = 3
  gan = gan_state.GAN(generator=g, discriminator=d, g_optimizer=optax.sgd(1.0),
                      d_optimizer=optax.sgd(1.0),
                      objective=objectives.get_objective('non_saturating'), z_dim=1,
                      batch_size=6, g_estimator=steps.ScoreFunction(num_rollouts=rollouts))
  state = jax.jit(functools.partial(gan_state.create_state, gan))(jax.random.PRNGKey(0),
                                                                 jnp.zeros((4,), jnp.int32))
  # Sharper G and D than at init, so rewards and gradient are far from zero.
  state = state.replace(g_params=jax.tree.map(lambda p: 8 * p, state.g_params),
                        d_params=jax.tree.map(lambda p: 3 * p, state.d_params))
  key = jax.random.PRNGKey(1)
  samples = steps.generate_for_training(gan, state, key)
  g_variables = {'params': state.g_params, **state.g_collections}
  d_variables = {'params': state.d_params}
  train_d = lambda x: d.apply(d_variables, x, rngs={'dropout': jax.random.PRNGKey(2)})
  eval_d = lambda x: d.apply(d_variables, x, train=False)

  def by_hand(d_fn):
    columns = []
    for t in range(1, 4):
      completions = [g.apply(g_variables, samples.x, t, method='rollout', rngs={'sample': k})
                     for k in jax.random.split(keys.fold(key, keys.ROLLOUT, t), rollouts)]
      columns.append(sum(jax.nn.log_sigmoid(d_fn(c)) for c in completions) / rollouts)
    rewards = jnp.stack(columns + [jax.nn.log_sigmoid(d_fn(samples.x))], axis=1)   # (B, T)

    def surrogate(g_params):
      log_p = g.apply({**g_variables, 'params': g_params}, samples.x, method='log_prob')
      return -jnp.mean(jnp.sum(log_p * rewards, axis=1))

    return jax.flatten_util.ravel_pytree(jax.grad(surrogate)(state.g_params))[0]

  @jax.jit
  def compare():
    # d_fn is D in training mode, as g_step passes it.
    grads, logits, _ = gan.g_estimator.grads(gan, state, samples, train_d, None, key)
    return (jax.flatten_util.ravel_pytree(grads)[0], logits, eval_d(samples.x), by_hand(eval_d),
            by_hand(train_d))

  grads, logits, eval_logits, expected, with_dropout = map(np.asarray, compare())
  print('|grads - by hand|, |by hand with dropout - by hand|, |by hand|:',
        *(np.linalg.norm(v) for v in (grads - expected, with_dropout - expected, expected)))
  assert np.linalg.norm(expected - with_dropout) > 0.05 * np.linalg.norm(expected)
  np.testing.assert_allclose(grads, expected, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(logits, eval_logits, rtol=1e-6)
