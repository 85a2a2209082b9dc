"""Fully connected generator and discriminator for points of any dimension (1D/2D toys)."""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import maybe_spectral_norm


def _dense(features, fan_in):
  """Dense with PyTorch's default init, U(+-1/sqrt(fan_in)) for kernel and bias.

  The random biases spread the first layer's ReLU kinks over the input range; with Flax's
  zero bias every kink sits at the origin and a critic cannot bend near data far from it
  (a WGAN-GP critic on N(3, 0.5^2) stays linear and G collapses).
  """
  bound = fan_in ** -0.5
  init = lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)
  return nn.Dense(features, kernel_init=init, bias_init=init)


class MLPGenerator(nn.Module):
  """z -> x in R^out_dim through ReLU hidden layers; the output is linear (data is unbounded)."""
  out_dim: int
  hidden: Sequence[int] = (128, 128, 128)

  @nn.compact
  def __call__(self, z, train: bool = True):
    h = z
    for width in self.hidden:
      h = nn.relu(_dense(width, h.shape[-1])(h))
    return _dense(self.out_dim, h.shape[-1])(h)


class MLPDiscriminator(nn.Module):
  """x -> one logit per example, through LeakyReLU(0.2) hidden layers."""
  hidden: Sequence[int] = (128, 128, 128)
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x, train: bool = True):
    h = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      layer = maybe_spectral_norm(_dense(width, h.shape[-1]), self.spectral_norm, train)
      h = nn.leaky_relu(layer(h), 0.2)
    head = maybe_spectral_norm(_dense(1, h.shape[-1]), self.spectral_norm, train)
    return head(h)[:, 0].astype(jnp.float32)
