"""Fully connected generator and discriminator for points of any dimension (1D/2D toys)."""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models.layers import maybe_spectral_norm


class MLPGenerator(nn.Module):
  """z -> x in R^out_dim through ReLU hidden layers; the output is linear (data is unbounded)."""
  out_dim: int
  hidden: Sequence[int] = (128, 128, 128)

  @nn.compact
  def __call__(self, z, train: bool = True):
    h = z
    for width in self.hidden:
      h = nn.relu(nn.Dense(width)(h))
    return nn.Dense(self.out_dim)(h)


class MLPDiscriminator(nn.Module):
  """x -> one logit per example, through LeakyReLU(0.2) hidden layers."""
  hidden: Sequence[int] = (128, 128, 128)
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x, train: bool = True):
    h = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      h = nn.leaky_relu(maybe_spectral_norm(nn.Dense(width), self.spectral_norm, train)(h), 0.2)
    return maybe_spectral_norm(nn.Dense(1), self.spectral_norm, train)(h)[:, 0].astype(jnp.float32)
