"""Fully connected encoder and decoder: an auto-encoder's decoder, or a VAE's, is a generator."""

import math
from typing import Sequence

import flax.linen as nn


class Encoder(nn.Module):
  """x -> (mean, log_variance) of q(z | x); an auto-encoder uses the mean as its code."""
  latent_dim: int
  hidden: Sequence[int] = (512, 256)

  @nn.compact
  def __call__(self, x):
    h = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      h = nn.relu(nn.Dense(width)(h))
    return nn.Dense(self.latent_dim)(h), nn.Dense(self.latent_dim)(h)


class Decoder(nn.Module):
  """z -> the parameters of p(x | z): Bernoulli logits, or a Gaussian mean and log variance."""
  output_shape: Sequence[int]
  likelihood: str = 'bernoulli'     # bernoulli (images in [0, 1]) | gaussian (points)
  hidden: Sequence[int] = (256, 512)

  @nn.compact
  def __call__(self, z):
    h = z
    for width in self.hidden:
      h = nn.relu(nn.Dense(width)(h))
    size = math.prod(self.output_shape)
    shape = (z.shape[0],) + tuple(self.output_shape)
    if self.likelihood == 'bernoulli':
      return nn.Dense(size)(h).reshape(shape), None
    return nn.Dense(size)(h).reshape(shape), nn.Dense(size)(h).reshape(shape)
