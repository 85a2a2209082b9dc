"""Layers shared by the generators and discriminators."""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

# DCGAN (Radford et al. 2016) and the PyTorch example: weights N(0, 0.02), BN scale N(1, 0.02).
dcgan_kernel_init = nn.initializers.normal(0.02)


def dcgan_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


# The DCGAN resampling pair: a 4x4 stride-2 convolution with padding 1 (D's down-sampling) and
# its adjoint, the transposed convolution (G's up-sampling). Same functions as lax's, other
# gradients: XLA's CPU backend runs the gradient of a strided convolution with respect to its
# input (a fractionally strided, i.e. input-dilated, convolution) 3-5x slower than the forward.
# Folding 2x2 pixel blocks into channels (space-to-depth) turns that into a stride-1 2x2
# convolution of the same FLOPs, which it runs fast. experiments/benchmark.py measures the step.

_DIMENSIONS = ('NHWC', 'HWIO', 'NHWC')


def _conv_stride2(x, kernel):
  return jax.lax.conv_general_dilated(x, kernel, (2, 2), ((1, 1), (1, 1)),
                                      dimension_numbers=_DIMENSIONS)


def _depth_to_space(x):
  n, h, w, c4 = x.shape
  x = x.reshape(n, h, w, 2, 2, c4 // 4).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(n, 2 * h, 2 * w, c4 // 4)


def _conv_stride2_transpose(y, kernel):
  """The adjoint in x of `_conv_stride2(x, kernel)`, through space-to-depth.

  With x padded by one pixel and folded into 2x2 blocks, the strided convolution is a 2x2
  stride-1 convolution with a (2, 2, 4 C, O) kernel; its adjoint is a 2x2 convolution with
  that kernel flipped and transposed, unfolded by depth-to-space, the padding cropped.
  """
  c, o = kernel.shape[2:]
  blocks = kernel.reshape(2, 2, 2, 2, c, o).transpose(0, 2, 1, 3, 4, 5).reshape(2, 2, 4 * c, o)
  adjoint = blocks[::-1, ::-1].transpose(0, 1, 3, 2)
  z = jax.lax.conv_general_dilated(y, adjoint, (1, 1), ((1, 1), (1, 1)),
                                   dimension_numbers=_DIMENSIONS)
  return _depth_to_space(z)[:, 1:-1, 1:-1, :]


def _kernel_gradient(x, dy, kernel):
  """d<_conv_stride2(x, k), dy>/dk: lax's own rule, which XLA:CPU runs at forward speed."""
  spec = jax.ShapeDtypeStruct(kernel.shape, kernel.dtype)
  return jax.linear_transpose(lambda k: _conv_stride2(x, k), spec)(dy)[0]


@jax.custom_vjp
def conv4x4_stride2(x, kernel):
  """`lax.conv(x, kernel, stride 2, padding 1)`, kernel (4, 4, C, O); fast input gradient."""
  return _conv_stride2(x, kernel)


conv4x4_stride2.defvjp(
    lambda x, kernel: (_conv_stride2(x, kernel), (x, kernel)),
    lambda res, dy: (_conv_stride2_transpose(dy, res[1]), _kernel_gradient(res[0], dy, res[1])))


@jax.custom_vjp
def conv4x4_stride2_transpose(y, kernel):
  """The adjoint of `conv4x4_stride2` in its input: (N, H, W, O) -> (N, 2H, 2W, C)."""
  return _conv_stride2_transpose(y, kernel)


conv4x4_stride2_transpose.defvjp(
    lambda y, kernel: (_conv_stride2_transpose(y, kernel), (y, kernel)),
    lambda res, g: (_conv_stride2(g, res[1]), _kernel_gradient(g, res[0], res[1])))


class DownConv2x(nn.Module):
  """Exactly `nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False)`.

  The DCGAN discriminator's layer: same parameter ('kernel', (4, 4, C_in, C_out)), same outputs,
  computed by `conv4x4_stride2` for its fast gradient.
  """
  features: int
  kernel_init: Callable = dcgan_kernel_init
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    if x.shape[1] % 2 or x.shape[2] % 2:
      raise ValueError(f'DownConv2x needs an even height and width, got {x.shape[1:3]}')
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features),
                        self.param_dtype)
    dtype = self.dtype or x.dtype
    return conv4x4_stride2(x.astype(dtype), kernel.astype(dtype))


class UpConv2x(nn.Module):
  """Exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), use_bias=False)`.

  This is PyTorch's `ConvTranspose2d(k=4, s=2, p=1)` (with the kernel flipped), the DCGAN
  generator's up-sampling layer: same parameter ('kernel', (4, 4, C_in, C_out)), same outputs,
  computed by `conv4x4_stride2_transpose`: the transposed convolution is the adjoint of the
  strided one with the kernel flipped and its channel axes swapped.
  """
  features: int
  kernel_init: Callable = dcgan_kernel_init
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features),
                        self.param_dtype)
    dtype = self.dtype or x.dtype
    adjoint_kernel = kernel[::-1, ::-1].transpose(0, 1, 3, 2).astype(dtype)
    return conv4x4_stride2_transpose(x.astype(dtype), adjoint_kernel)


def maybe_spectral_norm(layer: nn.Module, enabled: bool, train: bool):
  """Wraps `layer` in spectral normalisation (Miyato et al. 2018) when enabled.

  The power-iteration vector lives in the 'spectral_stats' collection and is advanced when
  `train` is True; the G update discards D's updated collections, so only D's own step writes it.
  """
  if not enabled:
    return layer
  sn = nn.SpectralNorm(layer, collection_name='spectral_stats')
  return lambda x: sn(x, update_stats=train)
