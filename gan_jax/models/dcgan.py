"""DCGAN generator and discriminator (Radford et al. 2016) for 28x28, 32x32 and 64x64 images.

With the defaults (`base_features=64`, `z_dim=100`, 64x64x3) the pair is exactly the PyTorch
example `dcgan/main.py`: G has 3,576,704 parameters and D 2,765,568, no biases, weights
N(0, 0.02), BatchNorm scale N(1, 0.02), PyTorch's BN momentum (0.1) and epsilon (1e-5). The
first G layer, ConvTranspose(k=4, s=1, p=0) of a 1x1 input, and D's last, Conv(k=4, VALID) of
a 4x4 map, are written as the dense contractions they equal; the others use `UpConv2x`, which
equals ConvTranspose(k=4, s=2, p=1), and D's strided convolutions `DownConv2x`
(`resample='space_to_depth'`, fast gradients on CPU), or the plain Flax layers
(`resample='lax'`): the same functions of the same parameters.
"""

from typing import Any, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import (DownConv2x, UpConv2x, dcgan_kernel_init, dcgan_scale_init,
                                   maybe_spectral_norm)

RESAMPLE = ('space_to_depth', 'lax')


def _resampling_layer(direction: str, features: int, resample: str, dtype, name: str):
  """D's 2x down-sampling or G's 2x up-sampling layer: this project's or Flax's (same params)."""
  if resample not in RESAMPLE:
    raise ValueError(f'unknown resample {resample!r}; choose one of {list(RESAMPLE)}')
  if resample == 'space_to_depth':
    layer = DownConv2x if direction == 'down' else UpConv2x
    return layer(features, dtype=dtype, name=name)
  if direction == 'down':
    return nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False,
                   kernel_init=dcgan_kernel_init, dtype=dtype, name=name)
  return nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)),
                          use_bias=False, kernel_init=dcgan_kernel_init, dtype=dtype, name=name)


def _start_and_levels(size: int):
  """Spatial size of the first feature map (7 for 28x28, else 4) and the number of 2x levels."""
  start = 7 if size % 7 == 0 else 4
  levels = (size // start).bit_length() - 1
  if start << levels != size:
    raise ValueError(f'DCGAN supports image sizes 4*2^k or 7*2^k (28, 32, 64, ...), got {size}')
  return start, levels


def _batch_norm(train: bool, axis_name: Optional[str], dtype):
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                      scale_init=dcgan_scale_init, axis_name=axis_name, dtype=dtype)


def latent_code(z, categories: int):
  """InfoGAN's categorical code (Chen et al. 2016), read from z's first coordinate: the bucket of
  Phi(z_0) among `categories` equal ones, so that z ~ N(0, I) gives codes uniform on
  0..categories-1 and G stays a function of z alone (sampling and evaluation unchanged)."""
  uniform = jax.scipy.stats.norm.cdf(z[:, 0])
  return jnp.clip(jnp.floor(uniform * categories), 0, categories - 1).astype(jnp.int32)


class DCGANGenerator(nn.Module):
  """z -> image in [-1, 1] of `output_shape` (H, W, C).

  With `code_categories` (InfoGAN), z's first coordinate becomes a one-hot categorical code
  (`latent_code`) beside the other z_dim - 1: a discrete input G can map to disconnected modes.
  """
  output_shape: Sequence[int] = (64, 64, 3)
  base_features: int = 64
  code_categories: int = 0          # InfoGAN's categorical code read from z; 0: none
  axis_name: Optional[str] = None   # set by gan_jax.run.parallel so BN statistics span all devices
  dtype: Any = None                 # compute dtype (e.g. bfloat16); params stay float32
  resample: str = 'space_to_depth'  # or 'lax' (nn.ConvTranspose): same params, same outputs

  @nn.compact
  def __call__(self, z, train: bool = True):
    height, _, channels = self.output_shape
    start, levels = _start_and_levels(height)
    features = self.base_features * 2 ** (levels - 1)
    if self.code_categories:
      code = jax.nn.one_hot(latent_code(z, self.code_categories), self.code_categories)
      z = jnp.concatenate([z[:, 1:], code.astype(z.dtype)], axis=-1)
    h = nn.Dense(start * start * features, use_bias=False, kernel_init=dcgan_kernel_init,
                 dtype=self.dtype)(z)
    h = h.reshape(z.shape[0], start, start, features)
    h = nn.relu(_batch_norm(train, self.axis_name, self.dtype)(h))
    for level in range(levels - 1):
      features //= 2
      h = _resampling_layer('up', features, self.resample, self.dtype, f'up{level}')(h)
      h = nn.relu(_batch_norm(train, self.axis_name, self.dtype)(h))
    h = _resampling_layer('up', channels, self.resample, self.dtype, f'up{levels - 1}')(h)
    return jnp.tanh(h).astype(jnp.float32)


def discriminator_trunk(module, h, train: bool):
  """DCGAN's D up to its head: strided convs (BatchNorm after the first, leaky ReLU 0.2), built
  inside `module`'s compact call from its fields (base_features, batch_norm, spectral_norm,
  axis_name, dtype, resample); the conditional D's share it."""
  _, levels = _start_and_levels(h.shape[1])
  for level in range(levels):
    conv = _resampling_layer('down', module.base_features * 2 ** level, module.resample,
                             module.dtype, f'down{level}')
    h = maybe_spectral_norm(conv, module.spectral_norm, train)(h)
    if level > 0 and module.batch_norm:
      h = _batch_norm(train, module.axis_name, module.dtype)(h)
    h = nn.leaky_relu(h, 0.2)
  return h


class DCGANDiscriminator(nn.Module):
  """Image -> one logit per example (the PyTorch example's Sigmoid is left to the loss); with
  `code_categories`, also InfoGAN's Q: logits of G's categorical code, from the same features."""
  base_features: int = 64
  batch_norm: bool = True           # WGAN-GP and DRAGAN penalties need per-example D: turn off
  spectral_norm: bool = False
  code_categories: int = 0          # InfoGAN: a second head predicting G's code; 0: none
  axis_name: Optional[str] = None
  dtype: Any = None
  resample: str = 'space_to_depth'  # or 'lax' (nn.Conv): same params, same outputs

  @nn.compact
  def __call__(self, x, train: bool = True):
    h = discriminator_trunk(self, x.astype(self.dtype or x.dtype), train)
    # Conv(k=start, VALID) of a start x start map, as the contraction it is (same kernel): its
    # gradients become an outer product and a matrix-vector product, where XLA:CPU ran the
    # convolution's input gradient as a padded convolution (README, Performance).
    head = nn.DenseGeneral(1, axis=(-3, -2, -1), use_bias=False, kernel_init=dcgan_kernel_init,
                           dtype=self.dtype, name='head')
    logits = maybe_spectral_norm(head, self.spectral_norm, train)(h)
    logits = logits.reshape(x.shape[0]).astype(jnp.float32)
    if not self.code_categories:
      return logits
    code_logits = nn.Dense(self.code_categories, kernel_init=dcgan_kernel_init, name='code')(
        h.reshape(x.shape[0], -1).astype(jnp.float32))
    return logits, code_logits
