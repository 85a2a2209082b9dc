"""Layers shared by the generators and discriminators."""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

# DCGAN (Radford et al. 2016) and the PyTorch example: weights N(0, 0.02), BN scale N(1, 0.02).
dcgan_kernel_init = nn.initializers.normal(0.02)


def dcgan_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


class UpConv2x(nn.Module):
  """Exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)))`.

  This is PyTorch's `ConvTranspose2d(k=4, s=2, p=1)` (with the kernel flipped), the DCGAN
  up-sampling layer: same parameter ('kernel', shape (4, 4, C_in, C_out)), same outputs. It is
  computed as a sub-pixel convolution: each of the four output phases (row parity a, column
  parity b) is a 2x2 stride-1 convolution with taps kernel[a + 2t, b + 2u], so all four phases
  are one 2x2 convolution with 4*C_out outputs over the input padded by one, followed by a
  depth-to-space rearrangement. XLA's CPU backend differentiates a fractionally strided
  convolution an order of magnitude slower than this form (measured in experiments/benchmark.py).
  """
  features: int
  use_bias: bool = False
  kernel_init: Callable = dcgan_kernel_init
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    c_in = x.shape[-1]
    kernel = self.param('kernel', self.kernel_init, (4, 4, c_in, self.features), self.param_dtype)
    dtype = self.dtype or x.dtype
    # kernel index j = 2*t + a  ->  (t_h, a, t_w, b, C_in, C_out) -> (t_h, t_w, C_in, a, b, C_out).
    k = kernel.reshape(2, 2, 2, 2, c_in, self.features).transpose(0, 2, 4, 1, 3, 5)
    k = k.reshape(2, 2, c_in, 4 * self.features).astype(dtype)
    n, h, w, _ = x.shape
    y = jax.lax.conv_general_dilated(
        x.astype(dtype), k, window_strides=(1, 1), padding=((1, 1), (1, 1)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    y = y.reshape(n, h + 1, w + 1, 2, 2, self.features)
    # Output pixel (2m + a, 2n + b) is window (m + a, n + b) of phase (a, b).
    rows = []
    for a in range(2):
      cols = [y[:, a:a + h, b:b + w, a, b, :] for b in range(2)]
      rows.append(jnp.stack(cols, axis=3))              # (n, h, w, 2[b], C)
    out = jnp.stack(rows, axis=2)                         # (n, h, 2[a], w, 2[b], C)
    out = out.reshape(n, 2 * h, 2 * w, self.features)
    if self.use_bias:
      out = out + self.param('bias', nn.initializers.zeros, (self.features,), self.param_dtype)
    return out


def maybe_spectral_norm(layer: nn.Module, enabled: bool, train: bool):
  """Wraps `layer` in spectral normalisation (Miyato et al. 2018) when enabled.

  The power-iteration vector lives in the 'spectral_stats' collection and is advanced when
  `train` is True; the G update discards D's updated collections, so only D's own step writes it.
  """
  if not enabled:
    return layer
  sn = nn.SpectralNorm(layer, collection_name='spectral_stats')
  return lambda x: sn(x, update_stats=train)
