"""Layers shared by the generators and discriminators."""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

# model.compute_dtype -> the layers' dtype (None: float32); params stay float32.
DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}

# DCGAN (Radford et al. 2016) and the PyTorch example: weights N(0, 0.02), BN scale N(1, 0.02).
dcgan_kernel_init = nn.initializers.normal(0.02)


def dcgan_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


# The DCGAN resampling pair: a 4x4 stride-2 convolution with padding 1 (D's down-sampling) and
# its adjoint, the transposed convolution (G's up-sampling). Same functions as lax's, other
# derivatives and batching rules, for XLA's CPU backend:
# - it runs the gradient of a strided convolution with respect to its input (an input-dilated
#   convolution) 3-5x slower than the forward. Folding 2x2 pixel blocks into channels
#   (space-to-depth) turns that into a stride-1 2x2 convolution of the same FLOPs, run fast;
# - under vmap over runs (gan_jax.run.population), lax batches a convolution whose kernel is batched
#   into one grouped convolution, which it runs ~5x slower than the separate convolutions; on
#   CPU the rule here runs one convolution per run.
# The three linear maps below (forward, adjoint, kernel gradient) are each other's derivatives,
# so gradients of any order stay within them. experiments/benchmark.py measures the step.

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
  that kernel flipped and transposed, unfolded by depth-to-space, the padding cropped. That
  form computes (H + 1)(W + 1) positions for H W: for 4x4 inputs, and for one output channel
  (4 in the folded form), lax's own transpose was faster (benchmark.py --layers).
  """
  n, h, w, _ = y.shape
  c, o = kernel.shape[2:]
  if h * w <= 16 or c == 1:
    spec = jax.ShapeDtypeStruct((n, 2 * h, 2 * w, c), y.dtype)
    return jax.linear_transpose(lambda x: _conv_stride2(x, kernel), spec)(y)[0]
  blocks = kernel.reshape(2, 2, 2, 2, c, o).transpose(0, 2, 1, 3, 4, 5).reshape(2, 2, 4 * c, o)
  adjoint = blocks[::-1, ::-1].transpose(0, 1, 3, 2)
  z = jax.lax.conv_general_dilated(y, adjoint, (1, 1), ((1, 1), (1, 1)),
                                   dimension_numbers=_DIMENSIONS)
  return _depth_to_space(z)[:, 1:-1, 1:-1, :]


def _kernel_gradient(x, dy):
  """d<_conv_stride2(x, k), dy>/dk: lax's own rule, which XLA:CPU runs at forward speed."""
  spec = jax.ShapeDtypeStruct((4, 4, x.shape[-1], dy.shape[-1]), x.dtype)
  return jax.linear_transpose(lambda k: _conv_stride2(x, k), spec)(dy)[0]


def _per_run_batching(function, per_run):
  """`function` (of two arrays) with a vmap rule: on CPU, a loop over the vmapped axis when
  `per_run(*in_batched)` says the arguments belong to separate runs; else lax's rule (a grouped
  convolution, which accelerators run well)."""
  batched = jax.custom_batching.custom_vmap(function)

  @batched.def_vmap
  def rule(axis_size, in_batched, a, b):
    if per_run(*in_batched) and jax.default_backend() == 'cpu':
      outputs = [function(a[i] if in_batched[0] else a, b[i] if in_batched[1] else b)
                 for i in range(axis_size)]
      return jnp.stack(outputs), True
    axes = tuple(0 if batched_arg else None for batched_arg in in_batched)
    return jax.vmap(function, in_axes=axes)(a, b), True

  return jax.custom_vjp(batched)


_kernel_is_batched = lambda data_batched, kernel_batched: kernel_batched
_both_batched = lambda x_batched, dy_batched: x_batched and dy_batched
conv4x4_stride2 = _per_run_batching(_conv_stride2, _kernel_is_batched)
conv4x4_stride2_transpose = _per_run_batching(_conv_stride2_transpose, _kernel_is_batched)
kernel_gradient = _per_run_batching(_kernel_gradient, _both_batched)
conv4x4_stride2.__doc__ = """`lax.conv(x, kernel, stride 2, padding 1)`, kernel (4, 4, C, O)."""
conv4x4_stride2_transpose.__doc__ = """Its adjoint in x: (N, H, W, O) -> (N, 2H, 2W, C)."""
kernel_gradient.__doc__ = """Its gradient in the kernel: (x, dy) -> (4, 4, C, O)."""

conv4x4_stride2.defvjp(
    lambda x, kernel: (conv4x4_stride2(x, kernel), (x, kernel)),
    lambda res, dy: (conv4x4_stride2_transpose(dy, res[1]), kernel_gradient(res[0], dy)))
conv4x4_stride2_transpose.defvjp(
    lambda y, kernel: (conv4x4_stride2_transpose(y, kernel), (y, kernel)),
    lambda res, g: (conv4x4_stride2(g, res[1]), kernel_gradient(g, res[0])))
# <kernel_gradient(x, dy), K> = <conv4x4_stride2(x, K), dy> = <x, conv4x4_stride2_transpose(dy, K)>
kernel_gradient.defvjp(
    lambda x, dy: (kernel_gradient(x, dy), (x, dy)),
    lambda res, k: (conv4x4_stride2_transpose(res[1], k), conv4x4_stride2(res[0], k)))


class _Resample2x(nn.Module):
  """A 4x4 kernel of shape (4, 4, C_in, C_out) ('kernel', as Flax's layers name it)."""
  features: int
  kernel_init: Callable = dcgan_kernel_init
  dtype: Any = None
  param_dtype: Any = jnp.float32

  def _kernel_and_input(self, x):
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features),
                        self.param_dtype)
    dtype = self.dtype or x.dtype
    return kernel.astype(dtype), x.astype(dtype)


class DownConv2x(_Resample2x):
  """Exactly `nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False)`.

  The DCGAN discriminator's layer: same parameter, same outputs, computed by `conv4x4_stride2`
  for its fast gradient.
  """

  @nn.compact
  def __call__(self, x):
    if x.shape[1] % 2 or x.shape[2] % 2:
      raise ValueError(f'DownConv2x needs an even height and width, got {x.shape[1:3]}')
    kernel, x = self._kernel_and_input(x)
    return conv4x4_stride2(x, kernel)


class UpConv2x(_Resample2x):
  """Exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), use_bias=False)`.

  This is PyTorch's `ConvTranspose2d(k=4, s=2, p=1)` (with the kernel flipped), the DCGAN
  generator's up-sampling layer: same parameter, same outputs, computed by
  `conv4x4_stride2_transpose`: the transposed convolution is the adjoint of the strided one
  with the kernel flipped and its channel axes swapped.
  """

  @nn.compact
  def __call__(self, x):
    kernel, x = self._kernel_and_input(x)
    return conv4x4_stride2_transpose(x, kernel[::-1, ::-1].transpose(0, 1, 3, 2))


def maybe_spectral_norm(layer: nn.Module, enabled: bool, train: bool):
  """Wraps `layer` in spectral normalisation (Miyato et al. 2018) when enabled.

  The power-iteration vector lives in the 'spectral_stats' collection and is advanced when
  `train` is True; the G update discards D's updated collections, so only D's own step writes it.
  """
  if not enabled:
    return layer
  sn = nn.SpectralNorm(layer, collection_name='spectral_stats')
  return lambda x: sn(x, update_stats=train)
