"""ResNet generator and discriminator of SNGAN (Miyato et al. 2018, Table 4) for 32x32 images."""

from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import maybe_spectral_norm


def _upsample(x):
  n, h, w, c = x.shape
  return jax.image.resize(x, (n, 2 * h, 2 * w, c), 'nearest')


def _downsample(x):
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


class GeneratorBlock(nn.Module):
  """BN-ReLU-Up-Conv3-BN-ReLU-Conv3 with an Up-Conv1 shortcut."""
  features: int
  axis_name: Optional[str] = None
  dtype: Any = None

  @nn.compact
  def __call__(self, x, train: bool):
    bn = lambda: nn.BatchNorm(use_running_average=not train, axis_name=self.axis_name,
                              dtype=self.dtype)
    h = _upsample(nn.relu(bn()(x)))
    h = nn.Conv(self.features, (3, 3), dtype=self.dtype)(h)
    h = nn.Conv(self.features, (3, 3), dtype=self.dtype)(nn.relu(bn()(h)))
    shortcut = nn.Conv(self.features, (1, 1), dtype=self.dtype)(_upsample(x))
    return h + shortcut


class DiscriminatorBlock(nn.Module):
  """(ReLU)-Conv3-ReLU-Conv3-(AvgPool) with a Conv1-(AvgPool) shortcut where shapes change."""
  features: int
  downsample: bool
  first: bool = False          # the 'optimized' first block: no pre-activation
  spectral_norm: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, x, train: bool):
    conv = lambda k: maybe_spectral_norm(nn.Conv(self.features, (k, k), dtype=self.dtype),
                                         self.spectral_norm, train)
    h = x if self.first else nn.relu(x)
    h = conv(3)(h)
    h = conv(3)(nn.relu(h))
    if self.downsample:
      h = _downsample(h)
    shortcut = x
    if self.first:
      shortcut = conv(1)(_downsample(x))
    elif self.downsample or x.shape[-1] != self.features:
      shortcut = conv(1)(x)
      shortcut = _downsample(shortcut) if self.downsample else shortcut
    return h + shortcut


class ResNetGenerator(nn.Module):
  """z (128) -> 4x4x256 -> three up-blocks -> 32x32 image in [-1, 1]."""
  output_shape: tuple = (32, 32, 3)
  features: int = 256
  axis_name: Optional[str] = None
  dtype: Any = None

  @nn.compact
  def __call__(self, z, train: bool = True):
    start = self.output_shape[0] // 8
    h = nn.Dense(start * start * self.features, dtype=self.dtype)(z)
    h = h.reshape(z.shape[0], start, start, self.features)
    for _ in range(3):
      h = GeneratorBlock(self.features, self.axis_name, self.dtype)(h, train)
    h = nn.relu(nn.BatchNorm(use_running_average=not train, axis_name=self.axis_name,
                             dtype=self.dtype)(h))
    h = nn.Conv(self.output_shape[2], (3, 3), dtype=self.dtype)(h)
    return jnp.tanh(h).astype(jnp.float32)


class ResNetDiscriminator(nn.Module):
  """Image -> two down-blocks, two plain blocks -> ReLU, global sum -> one logit."""
  features: int = 128
  spectral_norm: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, x, train: bool = True):
    h = x.astype(self.dtype or x.dtype)
    for i, down in enumerate((True, True, False, False)):
      h = DiscriminatorBlock(self.features, down, first=i == 0, spectral_norm=self.spectral_norm,
                             dtype=self.dtype)(h, train)
    h = jnp.sum(nn.relu(h), axis=(1, 2))
    head = maybe_spectral_norm(nn.Dense(1, dtype=self.dtype), self.spectral_norm, train)
    return head(h)[:, 0].astype(jnp.float32)
