"""Conditional generators and discriminators: label to image, and image completion.

Label to image: G is DCGAN's generator conditioned by a learned class embedding concatenated to
z (the default: measured far better here, docs/structured.md) or by class-wise BatchNorm alone
(each BatchNorm's scale and shift looked up by the label, as in Miyato & Koyama 2018); D is DCGAN's discriminator with the label entering by
concatenation (one-hot maps beside the image: cGAN, Mirza & Osindero 2014), by projection
(logit = psi(phi(x)) + <V_y, phi(x)>, Miyato & Koyama 2018), or as an auxiliary classifier
(AC-GAN, Odena et al. 2017: D also returns class logits).
Image completion: G maps the visible part (and z) to the whole image through an
encoder-decoder with skip connections (pix2pix's U-Net at 28x28) and keeps the visible pixels;
D judges (completed image, visible part), concatenated on channels (pix2pix).

The condition is a function of the batch (`CONDITIONS`), applied by gan_jax.core.steps.
"""

from typing import Any, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.dcgan import (_batch_norm, _resampling_layer, _start_and_levels,
                                  discriminator_trunk)
from gan_jax.models.layers import (DownConv2x, UpConv2x, dcgan_kernel_init, dcgan_scale_init,
                                   maybe_spectral_norm)

LABEL_DISCRIMINATORS = ('concat', 'projection', 'acgan')
G_CONDITIONING = ('batch_norm', 'embedding')


def labels_of(batch):
  """The condition of label-to-image GANs: the batch's labels."""
  return batch['y']


def visible_mask(height: int):
  """(H, 1, 1) booleans, True on the rows a completion is given: the upper half."""
  return (jnp.arange(height) < height // 2)[:, None, None]


def visible_part(batch):
  """The condition of completion GANs: the images with their lower half set to 0 (grey)."""
  x = batch['x']
  return jnp.where(visible_mask(x.shape[1]), x, 0.0)


CONDITIONS = {'label': labels_of, 'completion': visible_part}


class ConditionalBatchNorm(nn.Module):
  """BatchNorm without its own affine map, then a scale and shift chosen by the label."""
  num_classes: int
  axis_name: Optional[str] = None
  dtype: Any = None

  @nn.compact
  def __call__(self, h, labels, train: bool):
    h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, use_scale=False,
                     use_bias=False, axis_name=self.axis_name, dtype=self.dtype)(h)
    features = h.shape[-1]
    scale = nn.Embed(self.num_classes, features, embedding_init=dcgan_scale_init,
                     name='scale')(labels)
    shift = nn.Embed(self.num_classes, features, embedding_init=nn.initializers.zeros,
                     name='shift')(labels)
    return h * scale[:, None, None, :].astype(h.dtype) + shift[:, None, None, :].astype(h.dtype)


class LabelGenerator(nn.Module):
  """(z, label) -> image in [-1, 1]: DCGAN's generator with a learned class vector (z_dim wide)
  concatenated to z, or with class-wise BatchNorm (its scale and shift chosen by the label)."""
  output_shape: Sequence[int] = (28, 28, 1)
  base_features: int = 64
  num_classes: int = 10
  conditioning: str = 'embedding'
  axis_name: Optional[str] = None
  dtype: Any = None
  resample: str = 'space_to_depth'

  @nn.compact
  def __call__(self, z, labels, train: bool = True):
    height, _, channels = self.output_shape
    start, levels = _start_and_levels(height)
    if self.conditioning == 'embedding':
      z = jnp.concatenate([z, nn.Embed(self.num_classes, z.shape[-1], name='embed')(labels)], -1)

    def norm(h):
      if self.conditioning == 'batch_norm':
        return ConditionalBatchNorm(self.num_classes, self.axis_name, self.dtype)(h, labels, train)
      return _batch_norm(train, self.axis_name, self.dtype)(h)

    features = self.base_features * 2 ** (levels - 1)
    h = nn.Dense(start * start * features, use_bias=False, kernel_init=dcgan_kernel_init,
                 dtype=self.dtype)(z)
    h = nn.relu(norm(h.reshape(z.shape[0], start, start, features)))
    for level in range(levels - 1):
      features //= 2
      h = _resampling_layer('up', features, self.resample, self.dtype, f'up{level}')(h)
      h = nn.relu(norm(h))
    h = _resampling_layer('up', channels, self.resample, self.dtype, f'up{levels - 1}')(h)
    return jnp.tanh(h).astype(jnp.float32)


def _condition_maps(condition, num_classes: int, shape):
  """The condition as channels beside the image: one-hot label maps, or the image itself."""
  if jnp.issubdtype(condition.dtype, jnp.integer):
    one_hot = jax.nn.one_hot(condition, num_classes)
    return jnp.broadcast_to(one_hot[:, None, None, :], tuple(shape[:3]) + (num_classes,))
  return condition


class ConditionalDiscriminator(nn.Module):
  """(x, condition) -> one logit per example (and class logits, 'acgan'); DCGAN's D layers.

  kind: 'concat' puts the condition beside the image as channels (labels one-hot; an image
  condition as it is: pix2pix); 'projection' adds <V_y, phi(x)> to the logit, phi(x) the last
  feature map summed over space; 'acgan' ignores the condition and returns (logits, class
  logits), the classification terms being added by the steps.
  """
  kind: str = 'projection'
  num_classes: int = 10
  base_features: int = 64
  batch_norm: bool = True
  spectral_norm: bool = False
  axis_name: Optional[str] = None
  dtype: Any = None
  resample: str = 'space_to_depth'

  @nn.compact
  def __call__(self, x, condition, train: bool = True, return_parts: bool = False):
    """`return_parts` (tests) returns a dict of the unconditional logit, phi and the projection."""
    h = x
    if self.kind == 'concat':
      h = jnp.concatenate([x, _condition_maps(condition, self.num_classes, x.shape)], -1)
    h = discriminator_trunk(self, h.astype(self.dtype or jnp.float32), train)
    head = nn.DenseGeneral(1, axis=(-3, -2, -1), use_bias=False, kernel_init=dcgan_kernel_init,
                           dtype=self.dtype, name='head')
    logits = maybe_spectral_norm(head, self.spectral_norm, train)(h).reshape(x.shape[0])
    logits = logits.astype(jnp.float32)
    if self.kind == 'projection':
      phi = jnp.sum(h.astype(jnp.float32), axis=(1, 2))                    # (N, F)
      embedding = nn.Embed(self.num_classes, phi.shape[-1], embedding_init=dcgan_kernel_init,
                           name='embed')(condition)
      projection = jnp.sum(embedding * phi, axis=-1)
      if return_parts:
        return {'unconditional': logits, 'phi': phi, 'projection': projection}
      return logits + projection
    if self.kind == 'acgan':
      classes = nn.Dense(self.num_classes, kernel_init=dcgan_kernel_init, name='classes')(
          h.reshape(x.shape[0], -1).astype(jnp.float32))
      return logits, classes
    return logits


class CompletionGenerator(nn.Module):
  """(z, visible part) -> the whole image: an encoder-decoder with skip connections, z entering
  at the bottleneck; the visible pixels are copied, G paints the rest."""
  output_shape: Sequence[int] = (28, 28, 1)
  base_features: int = 64
  axis_name: Optional[str] = None
  dtype: Any = None

  @nn.compact
  def __call__(self, z, visible, train: bool = True):
    height, width, channels = self.output_shape
    if height % 4 or width % 4:
      raise ValueError(f'CompletionGenerator needs sides divisible by 4, got {height}x{width}')
    f = self.base_features
    norm = lambda h: _batch_norm(train, self.axis_name, self.dtype)(h)
    e1 = nn.leaky_relu(DownConv2x(f, dtype=self.dtype, name='down0')(visible), 0.2)
    e2 = nn.leaky_relu(norm(DownConv2x(2 * f, dtype=self.dtype, name='down1')(e1)), 0.2)
    noise = nn.Dense(height // 4 * width // 4 * f, use_bias=False, kernel_init=dcgan_kernel_init,
                     dtype=self.dtype)(z).reshape(z.shape[0], height // 4, width // 4, f)
    h = jnp.concatenate([e2, nn.relu(norm(noise))], -1)
    h = nn.relu(norm(UpConv2x(f, dtype=self.dtype, name='up0')(h)))
    h = jnp.concatenate([h, e1.astype(h.dtype)], -1)
    out = jnp.tanh(UpConv2x(channels, dtype=self.dtype, name='up1')(h)).astype(jnp.float32)
    return jnp.where(visible_mask(height), visible, out)


def build_conditional(model_config, conditional_config, data_shape):
  """(generator, discriminator) of `conditional_config.conditional` (the labelled-images fields:
  conditional, num_classes, g_conditioning) with the layers of `model_config`, for images of
  `data_shape`."""
  kind = conditional_config.conditional
  if model_config.name != 'dcgan':
    raise ValueError(f"labeled_images.conditional={kind!r} uses DCGAN's layers: set "
                     "model.name='dcgan'")
  dtype = None if model_config.compute_dtype == 'float32' else jnp.bfloat16
  d_kind = 'concat' if kind == 'completion' else kind
  discriminator = ConditionalDiscriminator(
      d_kind, conditional_config.num_classes, model_config.d_features, model_config.d_batch_norm,
      model_config.spectral_norm, dtype=dtype, resample=model_config.resample)
  if kind == 'completion':
    return CompletionGenerator(data_shape, model_config.g_features, dtype=dtype), discriminator
  return (LabelGenerator(data_shape, model_config.g_features, conditional_config.num_classes,
                         conditional_config.g_conditioning, dtype=dtype,
                         resample=model_config.resample), discriminator)
