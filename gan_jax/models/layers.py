"""Layers shared by the generators and discriminators."""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# DCGAN (Radford et al. 2016) and the PyTorch example: weights N(0, 0.02), BN scale N(1, 0.02).
dcgan_kernel_init = nn.initializers.normal(0.02)


def dcgan_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


# _PHASE_TAPS[e, a, j] = 1 when output phase a (0: even, 1: odd output index) reads input offset
# e - 1 through tap j of the 4-tap transposed-convolution kernel.
_PHASE_TAPS = np.zeros((3, 2, 4), np.float32)
for _e, _a, _j in ((0, 0, 0), (1, 0, 2), (1, 1, 1), (2, 1, 3)):
  _PHASE_TAPS[_e, _a, _j] = 1.0


class UpConv2x(nn.Module):
  """Exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)))`.

  This is PyTorch's `ConvTranspose2d(k=4, s=2, p=1)` (with the kernel flipped), the DCGAN
  up-sampling layer: same parameter ('kernel', shape (4, 4, C_in, C_out)), same outputs. It is
  computed as a sub-pixel convolution: output pixel (2m + a, 2n + b) only reads inputs at
  offsets {-1, 0, +1} from (m, n), through taps of the kernel chosen by the phase (a, b). So one
  3x3 stride-1 convolution with 4*C_out outputs (the taps scattered into a 3x3 kernel, zeros
  elsewhere) followed by a depth-to-space rearrangement gives the same result. XLA's CPU backend
  differentiates the fractionally strided convolution (and even-sized kernels) an order of
  magnitude slower than this form; see experiments/benchmark.py.
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
    taps = jnp.asarray(_PHASE_TAPS, kernel.dtype)
    k = jnp.einsum('eaj,fbk,jkio->efiabo', taps, taps, kernel)
    k = k.reshape(3, 3, c_in, 4 * self.features).astype(dtype)
    n, h, w, _ = x.shape
    y = jax.lax.conv_general_dilated(
        x.astype(dtype), k, window_strides=(1, 1), padding=((1, 1), (1, 1)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    y = y.reshape(n, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
    out = y.reshape(n, 2 * h, 2 * w, self.features)
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
