"""Architectures: the PyTorch DCGAN's parameter counts, the fast resampling layers == Flax's, shapes."""

import functools
import re

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.errors import ConfigError
from gan_jax.run.config import base_config, validate
from gan_jax.models import (DCGANDiscriminator, DCGANGenerator, DownConv2x, ResNetDiscriminator,
                            ResNetGenerator, UpConv2x)
from gan_jax.models.layers import conv4x4_stride2, conv4x4_stride2_transpose
from gan_jax.core.state import count_params


def test_dcgan64_matches_pytorch_example_parameter_counts():
  g = DCGANGenerator((64, 64, 3), 64)
  d = DCGANDiscriminator(64)
  g_init = functools.partial(g.init, train=False)
  d_init = functools.partial(d.init, train=False)
  g_params = jax.eval_shape(g_init, jax.random.PRNGKey(0), jnp.zeros((1, 100)))['params']
  d_params = jax.eval_shape(d_init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))['params']
  assert count_params(g_params) == 3_576_704
  assert count_params(d_params) == 2_765_568
  # PyTorch's layers: ConvT 100->512 (k4 on 1x1, i.e. Dense), 512->256, 256->128, 128->64, 64->3.
  g_layers = [g_params[n] for n in sorted(g_params) if not n.startswith('BatchNorm')]
  assert [layer['kernel'].shape for layer in g_layers] == [
      (100, 4 * 4 * 512), (4, 4, 512, 256), (4, 4, 256, 128), (4, 4, 128, 64), (4, 4, 64, 3)]
  d_layers = [d_params[n] for n in sorted(d_params) if not n.startswith('BatchNorm')]
  assert [layer['kernel'].shape for layer in d_layers] == [
      (4, 4, 3, 64), (4, 4, 64, 128), (4, 4, 128, 256), (4, 4, 256, 512), (4, 4, 512, 1)]
  assert all(set(layer) == {'kernel'} for layer in g_layers + d_layers)   # no biases


def test_dcgan_init_follows_pytorch_example():
  g = DCGANGenerator((64, 64, 3), 64)
  params = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 100)), train=False)['params']
  kernel = np.asarray(params['up0']['kernel'])
  scale = np.asarray(params['BatchNorm_1']['scale'])
  assert abs(kernel.std() - 0.02) < 0.001 and abs(kernel.mean()) < 0.001
  assert abs(scale.mean() - 1.0) < 0.005 and abs(scale.std() - 0.02) < 0.005


def _assert_same_layer(layer, reference, x):
  """Same outputs, and same gradients (first and second order), from the same parameters."""
  params = layer.init(jax.random.PRNGKey(1), x)
  np.testing.assert_allclose(layer.apply(params, x), reference.apply(params, x),
                             rtol=1e-5, atol=1e-6)
  grad = lambda f: jax.grad(lambda p, x: jnp.sum(jnp.sin(f(p, x))), argnums=(0, 1))(params, x)
  chex.assert_trees_all_close(grad(layer.apply), grad(reference.apply), rtol=1e-4, atol=1e-5)
  # A gradient penalty differentiates the input gradient again (reverse over reverse).
  penalty = lambda f: jax.grad(
      lambda p: jnp.sum(jax.grad(lambda x: jnp.sum(jnp.sin(f(p, x))))(x) ** 2))(params)
  chex.assert_trees_all_close(penalty(layer.apply), penalty(reference.apply), rtol=1e-4,
                              atol=1e-5)


@pytest.mark.parametrize('features', [1, 5])   # 1: lax's transpose; 5: space-to-depth
def test_upconv2x_equals_conv_transpose(features):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 6, 3))
  _assert_same_layer(UpConv2x(features), nn.ConvTranspose(
      features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), use_bias=False), x)


# Inputs whose outputs have at most 16 positions take lax's transpose, larger ones space-to-depth.
@pytest.mark.parametrize('features,height_width', [(1, (8, 6)), (5, (8, 6)), (5, (12, 10))])
def test_downconv2x_equals_strided_conv(features, height_width):
  x = jax.random.normal(jax.random.PRNGKey(0), (2,) + height_width + (3,))
  _assert_same_layer(DownConv2x(features), nn.Conv(
      features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False), x)


def test_resampling_under_vmap_over_runs_is_one_convolution_per_run():
  """K runs' kernels vmapped: values and gradients equal the runs' own, and on CPU no grouped
  convolution (which XLA:CPU runs ~5x slower than K separate ones)."""
  xs = jax.random.normal(jax.random.PRNGKey(0), (3, 2, 12, 10, 4))      # 3 runs
  kernels = 0.1 * jax.random.normal(jax.random.PRNGKey(1), (3, 4, 4, 4, 5))

  def loss(x, kernel):
    y = conv4x4_stride2(x, kernel)
    return jnp.sum(jnp.sin(conv4x4_stride2_transpose(y, kernel)))

  grads = jax.vmap(jax.grad(loss, argnums=(0, 1)))(xs, kernels)
  for k in range(3):
    chex.assert_trees_all_close(jax.tree.map(lambda g: g[k], grads),
                                jax.grad(loss, argnums=(0, 1))(xs[k], kernels[k]),
                                rtol=1e-5, atol=1e-6)
  hlo = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1)))).lower(xs, kernels).as_text()
  groups = re.findall(r'(?:feature|batch)_group_count = (\d+)', hlo)
  assert groups and set(groups) == {'1'}, sorted(set(groups))


def test_upconv2x_equals_pytorch_conv_transpose_formula():
  """y[o] = sum_{i,k: o = 2i - 1 + k} x[i] W_torch[k], with W_torch = flip(W_flax) (1D check)."""
  x = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (1, 1, 5, 1)))
  up = UpConv2x(1)
  params = up.init(jax.random.PRNGKey(1), jnp.asarray(x))
  w_torch = np.asarray(params['params']['kernel'])[::-1, ::-1, 0, 0]
  y = np.asarray(up.apply(params, jnp.asarray(x)))[0, :, :, 0]   # (2, 10)
  expected = np.zeros((2, 10))
  for o_r in range(2):
    for o_c in range(10):
      for i_c in range(5):
        k_c = o_c + 1 - 2 * i_c
        k_r = o_r + 1   # the single input row i_r = 0
        if 0 <= k_c < 4:
          expected[o_r, o_c] += x[0, 0, i_c, 0] * w_torch[k_r, k_c]
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_dcgan_resample_variants_share_params_and_outputs():
  z = jax.random.normal(jax.random.PRNGKey(0), (3, 16))
  fast = DCGANGenerator((32, 32, 3), 8)
  reference = DCGANGenerator((32, 32, 3), 8, resample='lax')
  variables = fast.init(jax.random.PRNGKey(1), z, train=False)
  x = fast.apply(variables, z, train=False)
  np.testing.assert_allclose(x, reference.apply(variables, z, train=False), rtol=1e-5, atol=1e-6)
  fast_d, reference_d = DCGANDiscriminator(8), DCGANDiscriminator(8, resample='lax')
  d_variables = fast_d.init(jax.random.PRNGKey(2), x, train=False)
  np.testing.assert_allclose(fast_d.apply(d_variables, x, train=False),
                             reference_d.apply(d_variables, x, train=False), rtol=1e-5, atol=1e-6)


def test_dcgan_head_is_the_pytorch_examples_valid_convolution():
  d = DCGANDiscriminator(8)
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 28, 28, 1))
  variables = d.init(jax.random.PRNGKey(1), x, train=False)
  features = {}

  def grab_head_input(next_fun, args, kwargs, context):
    if context.module.name == 'head':
      features['head'] = args[0]
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(grab_head_input):
    logits = d.apply(variables, x, train=False)
  kernel = variables['params']['head']['kernel']
  assert kernel.shape == (7, 7, 16, 1)
  expected = jax.lax.conv_general_dilated(features['head'], kernel, (1, 1), 'VALID',
                                          dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  np.testing.assert_allclose(logits, expected.reshape(3), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('shape', [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_shapes(shape):
  g, d = DCGANGenerator(shape, 8), DCGANDiscriminator(8)
  z = jnp.zeros((3, 10))
  variables = g.init(jax.random.PRNGKey(0), z, train=False)
  x = g.apply(variables, z, train=False)
  assert x.shape == (3,) + shape and float(jnp.abs(x).max()) <= 1.0
  logits = d.apply(d.init(jax.random.PRNGKey(0), x, train=False), x, train=False)
  assert logits.shape == (3,)


def test_resnet_shapes_and_spectral_norm():
  g, d = ResNetGenerator((32, 32, 3), 16), ResNetDiscriminator(16)
  z = jnp.zeros((2, 8))
  x = g.apply(g.init(jax.random.PRNGKey(0), z, train=False), z, train=False)
  assert x.shape == (2, 32, 32, 3)
  variables = d.init(jax.random.PRNGKey(0), x, train=False)
  assert 'spectral_stats' in variables
  assert d.apply(variables, x, train=False).shape == (2,)


def test_structures_refuse_models_of_another_structure():
  config = base_config()                 # points on the ring
  config.model.name = 'dcgan'
  with pytest.raises(ConfigError, match="set model.name='mlp'"):
    validate(config)
  config.structure, config.data.name, config.model.name = 'images', 'mnist', 'mlp'
  with pytest.raises(ConfigError, match="unknown image model.name 'mlp'"):
    validate(config)
