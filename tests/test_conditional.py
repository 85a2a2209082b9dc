"""Conditional GANs through the same steps: projection D, AC-GAN's terms, completion, labels with
the batch, every conditional run of experiments/conditional.py."""

import functools
import hashlib
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import assert_trees_equal
from experiments.configs import mnist_cgan_projection
from gan_jax.core.objectives import get_objective, with_g_weight
from gan_jax.core.state import GAN, create_state
from gan_jax.core.steps import d_step, generate_for_training, g_step, split_d_output
from gan_jax.core.terms import TERMS
from gan_jax.structures import make_data
from gan_jax.data.images import load_labeled_split, to_model_range
from gan_jax.errors import ConfigError
from gan_jax.models.conditional import (CONDITIONS, CompletionGenerator, ConditionalDiscriminator,
                                        LabelGenerator, visible_mask)
from gan_jax.run.config import adam, validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABELS = jnp.array([1, 3, 3, 7], jnp.int32)


def tiny_label_gan(kind, d_batch_norm=False, **kwargs):
  return GAN(LabelGenerator((28, 28, 1), 8, 10), ConditionalDiscriminator(kind, 10, 8, d_batch_norm),
             adam(1e-3, 0.5, 0.999), adam(1e-3, 0.5, 0.999), get_objective('non_saturating'),
             z_dim=8, batch_size=4, joint_d_call=not d_batch_norm, condition=CONDITIONS['label'],
             preprocess=to_model_range, **kwargs)


def _batch(seed=1):
  x = jax.random.uniform(jax.random.PRNGKey(seed), (4, 28, 28, 1), minval=-1, maxval=1)
  return {'x': x, 'y': LABELS}


def _state(gan):
  return create_state(gan, jax.random.PRNGKey(0),
                      {'x': np.zeros((28, 28, 1), np.float32), 'y': np.zeros((), np.int32)})


def _log_softmax_ce(logits, labels):
  logits = np.asarray(logits, np.float64)
  log_p = logits - logits.max(1, keepdims=True)
  log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
  return -np.mean(log_p[np.arange(len(labels)), np.asarray(labels)])


def test_projection_gradient_is_zero_on_rows_of_absent_labels():
  gan = tiny_label_gan('projection')
  state = _state(gan)
  batch = _batch()
  d = gan.discriminator

  def loss(params):
    logits = d.apply({'params': params}, batch['x'], batch['y'], train=False)
    return jnp.mean(jax.nn.softplus(-logits))

  rows = np.asarray(jax.grad(loss)(state.d_params)['embed']['embedding'])
  present = np.isin(np.arange(10), np.asarray(LABELS))
  assert np.all(rows[~present] == 0.0)
  assert np.all(np.any(rows[present] != 0.0, axis=1))
  # Through the real D step (Adam): rows of absent labels stay bit-identical.
  after, _ = jax.jit(functools.partial(d_step, gan=gan))(state, batch, jax.random.PRNGKey(2))
  before_rows = np.asarray(state.d_params['embed']['embedding'])
  after_rows = np.asarray(after.d_params['embed']['embedding'])
  np.testing.assert_array_equal(after_rows[~present], before_rows[~present])
  assert np.all(np.any(after_rows[present] != before_rows[present], axis=1))


def test_projection_term_equals_inner_product_of_embedding_and_features():
  gan = tiny_label_gan('projection')
  state = _state(gan)
  batch = _batch()
  variables = {'params': state.d_params}
  d = gan.discriminator
  parts = d.apply(variables, batch['x'], batch['y'], train=False, return_parts=True)
  embedding = np.asarray(state.d_params['embed']['embedding'], np.float64)
  phi = np.asarray(parts['phi'], np.float64)
  expected = np.sum(embedding[np.asarray(LABELS)] * phi, axis=1)
  np.testing.assert_allclose(parts['projection'], expected, rtol=1e-5, atol=1e-6)
  logits = d.apply(variables, batch['x'], batch['y'], train=False)
  np.testing.assert_allclose(logits, parts['unconditional'] + parts['projection'], rtol=1e-5,
                             atol=1e-6)
  # Changing the label moves the logit by <V_y' - V_y, phi(x)> and by nothing else.
  other = jnp.array([0, 0, 9, 2], jnp.int32)
  moved = d.apply(variables, batch['x'], other, train=False) - logits
  np.testing.assert_allclose(moved, np.sum((embedding[np.asarray(other)]
                                            - embedding[np.asarray(LABELS)]) * phi, axis=1),
                             rtol=1e-4, atol=1e-5)


def test_acgan_losses_equal_their_formula():
  gan = tiny_label_gan('acgan', terms=(TERMS['acgan'](0.5),))
  state = _state(gan)
  batch = _batch()
  key = jax.random.PRNGKey(2)
  samples = generate_for_training(gan, state, key, batch)
  np.testing.assert_array_equal(samples.condition, LABELS)
  d = lambda x: gan.discriminator.apply({'params': state.d_params}, x, LABELS, train=True)
  (real_logits, real_classes), (fake_logits, fake_classes) = d(batch['x']), d(samples.x)
  _, metrics = jax.jit(functools.partial(d_step, gan=gan))(state, batch, key)
  expected = 0.5 * (_log_softmax_ce(real_classes, LABELS) + _log_softmax_ce(fake_classes, LABELS))
  assert float(metrics['d_class']) == pytest.approx(expected, rel=1e-5)
  bce = np.mean(np.logaddexp(0, -np.asarray(real_logits))) + np.mean(
      np.logaddexp(0, np.asarray(fake_logits)))
  assert float(metrics['d_loss']) == pytest.approx(bce, rel=1e-5)
  # D's classifier on real examples only: the fake term is gone, nothing else changes.
  real_only = tiny_label_gan('acgan', terms=(TERMS['acgan'](0.5, classifies_fakes=False),))
  _, metrics = jax.jit(functools.partial(d_step, gan=real_only))(state, batch, key)
  assert float(metrics['d_class']) == pytest.approx(
      0.5 * _log_softmax_ce(real_classes, LABELS), rel=1e-5)
  assert float(metrics['d_loss']) == pytest.approx(bce, rel=1e-5)

  # G: the non-saturating loss plus 0.5 * CE(D's classes of G(z, y), y), differentiated
  # through G's samples, is exactly what the step's estimator returns.
  def formula(g_params):
    x = gan.generator.apply({'params': g_params, **state.g_collections},
                            jax.random.normal(jax.random.fold_in(key, 0), (4, 8)), LABELS,
                            train=True, mutable=['batch_stats'])[0]
    logits, classes = d(x)
    ce = optax.softmax_cross_entropy_with_integer_labels(classes, LABELS).mean()
    return jnp.mean(jax.nn.softplus(-logits)) + 0.5 * ce

  d_fn = d
  grads, logits, term_metrics = gan.g_estimator.grads(gan, state, samples, d_fn, None, key)
  np.testing.assert_allclose(logits, split_d_output(d(samples.x))[0], rtol=1e-6)
  assert float(term_metrics['g_class']) == pytest.approx(0.5 * _log_softmax_ce(
      split_d_output(d(samples.x))[1], LABELS), rel=1e-5)
  for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(jax.grad(formula)(state.g_params))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_g_step_with_labels_leaves_d_unchanged_and_concat_d_sees_the_label():
  gan = tiny_label_gan('concat', d_batch_norm=True)
  state = _state(gan)
  after, metrics = jax.jit(functools.partial(g_step, gan=gan))(state, _batch(),
                                                               jax.random.PRNGKey(3))
  assert_trees_equal(state.d_params, after.d_params)
  assert_trees_equal(state.d_collections, after.d_collections)
  assert int(after.step) == 1 and np.isfinite(float(metrics['g_loss']))
  d = gan.discriminator
  x = _batch()['x']
  variables = {'params': state.d_params, **state.d_collections}
  assert not np.allclose(d.apply(variables, x, LABELS, train=False),
                         d.apply(variables, x, LABELS + 1, train=False))


def test_completion_keeps_the_visible_half_and_l1_alone_ignores_d():
  generator = CompletionGenerator((28, 28, 1), 8)
  batch = _batch()
  visible = CONDITIONS['completion'](batch)
  variables = generator.init(jax.random.PRNGKey(0), jnp.zeros((4, 8)), visible, train=False)
  out = generator.apply(variables, jax.random.normal(jax.random.PRNGKey(1), (4, 8)), visible,
                        train=False)
  top = np.asarray(visible_mask(28))[:, 0, 0]
  np.testing.assert_array_equal(out[:, top], batch['x'][:, top])
  assert np.all(np.asarray(visible)[:, ~top] == 0.0)

  def gan(adversarial_weight):
    objective = with_g_weight(get_objective('non_saturating'), adversarial_weight)
    return GAN(generator, ConditionalDiscriminator('concat', 10, 8, False),
               adam(1e-3, 0.5, 0.999), adam(1e-3, 0.5, 0.999), objective,
               z_dim=8, batch_size=4, joint_d_call=True, condition=CONDITIONS['completion'],
               terms=(TERMS['l1'](100.0),))

  l1_only, with_gan = gan(0.0), gan(1.0)
  state = _state(l1_only)
  key = jax.random.PRNGKey(4)
  samples = generate_for_training(l1_only, state, key, batch)
  target = np.asarray(batch['x'])
  d_fn = lambda x: l1_only.discriminator.apply({'params': state.d_params}, x, samples.condition,
                                               train=True)
  # L1 alone: the gradient of 100 * mean |G - x| only, whatever D says.
  expected = samples.pullback(100.0 * np.sign(np.asarray(samples.x) - target) / target.size)
  grads, _, _ = l1_only.g_estimator.grads(l1_only, state, samples, d_fn, None, key)
  for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
  grads_gan, _, _ = with_gan.g_estimator.grads(with_gan, state, samples, d_fn, None, key)
  assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(grads),
                                                   jax.tree.leaves(grads_gan)))
  # The metric is the term as added to G's loss: weight included.
  _, metrics = g_step(state, batch, key, gan=l1_only, samples=samples)
  assert float(metrics['g_l1']) == pytest.approx(
      100.0 * np.mean(np.abs(np.asarray(samples.x) - target)), rel=1e-5)


@pytest.mark.parametrize('change,message', [
    (lambda c: setattr(c.labeled_images, 'conditional', 'film'), 'labeled_images.conditional'),
    (lambda c: setattr(c.labeled_images, 'conditional', 'none'), 'labeled_images.conditional'),
    (lambda c: setattr(c.labeled_images, 'g_conditioning', 'film'),
     'labeled_images.g_conditioning'),
    (lambda c: setattr(c.labeled_images, 'num_classes', 1), 'num_classes'),
    (lambda c: setattr(c.labeled_images, 'class_weight', -1.0), 'class_weight'),
    (lambda c: setattr(c.model, 'name', 'resnet'), "model.name='dcgan'"),
    (lambda c: (setattr(c.labeled_images, 'conditional', 'completion'),
                setattr(c.loss, 'adversarial_weight', 0.0),
                setattr(c.labeled_images, 'l1_weight', 0.0)), 'completion needs'),
    (lambda c: (setattr(c, 'structure', 'images'), setattr(c.labeled_images, 'conditional', 'none'),
                setattr(c.loss, 'adversarial_weight', 0.0)), 'conditional models'),
    (lambda c: setattr(c, 'structure', 'images'), "structure='labeled_images'"),
])
def test_bad_conditional_values_are_one_line_config_errors(change, message):
  config = mnist_cgan_projection.get_config()
  change(config)
  with pytest.raises(ConfigError, match=message) as error:
    validate(config)
  assert '\n' not in str(error.value)


def test_toy_data_has_no_labels():
  config = mnist_cgan_projection.get_config()
  config.data.name = 'ring8'
  with pytest.raises(ConfigError, match='no labels'):
    validate(config)


def test_labels_arrive_with_their_images_in_order_after_a_resume(shared_tfds):
  config = mnist_cgan_projection.get_config()
  config.data.data_dir = shared_tfds
  images, labels = load_labeled_split('mnist', 'train', shared_tfds)
  label_of = {}
  for image, label in zip(images, labels):
    label_of.setdefault(hashlib.sha1(image.tobytes()).digest(), set()).add(int(label))
  straight = make_data(config, 2, batch_size=64, seed=3)
  steps = [0, 1, 467, 468, 469, 2000]   # 937 batches an epoch: 468 spans two epochs
  seen = {step: straight.batches(step) for step in steps}
  resumed = make_data(config, 2, batch_size=64, seed=3)   # a fresh process's view
  for step in reversed(steps):
    batch = resumed.batches(step)
    assert batch['x'].shape == (2, 64, 28, 28, 1) and batch['y'].shape == (2, 64)
    assert batch['y'].dtype == np.int32
    np.testing.assert_array_equal(batch['x'], seen[step]['x'])
    np.testing.assert_array_equal(batch['y'], seen[step]['y'])
    for image, label in zip(batch['x'].reshape(-1, 28, 28, 1), batch['y'].reshape(-1)):
      assert int(label) in label_of[hashlib.sha1(image.tobytes()).digest()]


def test_script_trains_and_scores_label_and_completion_runs_for_two_steps(tmp_path, shared_tfds):
  """One label run and both completion runs through the script (every config's 2-step run is in
  tests/test_experiments.py): the report, both generators scored, the figures."""
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'experiments', 'conditional.py'),
       f'--workdir={tmp_path}', f'--data_dir={shared_tfds}', '--num_steps=2', '--batch_size=4',
       '--width=8', '--eval_samples=200', '--runs=projection,l1,l1_gan'],
      capture_output=True, text=True, cwd=ROOT, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.load(open(tmp_path / 'conditional.json'))
  assert sorted(report['runs']) == ['l1', 'l1_gan', 'projection']
  scores = report['runs']['projection']['eval']
  assert set(scores) == {'ema', 'raw'} and report['runs']['projection']['steps'] == 2
  assert 0.0 <= scores['raw']['label_accuracy'] <= 1.0 and np.isfinite(scores['raw']['intra_fid'])
  for run in ('l1', 'l1_gan'):
    assert {'l1', 'fid', 'label_accuracy', 'diversity'} <= set(report['runs'][run]['eval']['ema'])
  assert report['figures'] == ['labels_projection.png', 'completion.png']
  for figure in report['figures']:
    assert os.path.getsize(tmp_path / figure) > 0
  assert '[projection] 2 steps' in result.stdout
