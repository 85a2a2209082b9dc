"""Generator/discriminator pairs, built by name from a config."""

import jax.numpy as jnp

from gan_jax.models.conditional import build_conditional
from gan_jax.models.dcgan import RESAMPLE, DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import DownConv2x, UpConv2x
from gan_jax.models.vectors import MLPDiscriminator, MLPGenerator
from gan_jax.models.resnet import ResNetDiscriminator, ResNetGenerator
from gan_jax.models.sequences import LSTMGenerator, SequenceDiscriminator

_DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}


def build_models(model_config, data_shape):
  """Returns (generator, discriminator) modules for data of `data_shape` (one example).

  model_config fields: name ('mlp' | 'dcgan' | 'resnet'), g_features, d_features (widths),
  mlp_depth, spectral_norm, d_batch_norm, compute_dtype ('float32' | 'bfloat16'), resample (dcgan),
  conditional ('none', or a conditional pair: gan_jax.models.conditional), g_conditioning,
  num_classes, code_categories (dcgan: InfoGAN's categorical code, 0 for none).
  """
  name = model_config.name
  if model_config.compute_dtype not in _DTYPES:
    raise ValueError(f'unknown model.compute_dtype {model_config.compute_dtype!r}; '
                     f'choose one of {sorted(_DTYPES)}')
  dtype = _DTYPES[model_config.compute_dtype]
  data_shape = tuple(data_shape)
  if name == 'mlp':
    if len(data_shape) != 1:
      raise ValueError(f"model 'mlp' needs vector data, got examples of shape {data_shape}; "
                       "use model.name='dcgan' or 'resnet' for images")
    depth = model_config.mlp_depth
    return (MLPGenerator(data_shape[0], (model_config.g_features,) * depth),
            MLPDiscriminator((model_config.d_features,) * depth, model_config.spectral_norm))
  if name == 'lstm':
    if len(data_shape) != 1:
      raise ValueError(f"model 'lstm' needs token sequences (length,), got examples of shape "
                       f"{data_shape}; use data.name='oracle_lstm'")
    return (LSTMGenerator(length=data_shape[0], output=model_config.sequence_output,
                          max_temperature=model_config.max_temperature,
                          temperature_steps=model_config.temperature_steps),
            SequenceDiscriminator())
  if len(data_shape) != 3:
    raise ValueError(f"model {name!r} needs images (H, W, C), got examples of shape {data_shape}; "
                     "use model.name='mlp' for vectors")
  if model_config.get('conditional', 'none') != 'none':
    return build_conditional(model_config, data_shape)
  if name == 'dcgan':
    if model_config.resample not in RESAMPLE:
      raise ValueError(f'unknown model.resample {model_config.resample!r}; '
                       f'choose one of {list(RESAMPLE)}')
    code = model_config.get('code_categories', 0)
    return (DCGANGenerator(data_shape, model_config.g_features, code_categories=code,
                           dtype=dtype, resample=model_config.resample),
            DCGANDiscriminator(model_config.d_features, model_config.d_batch_norm,
                               model_config.spectral_norm, code_categories=code, dtype=dtype,
                               resample=model_config.resample))
  if name == 'resnet':
    if data_shape[0] != data_shape[1] or data_shape[0] % 8:
      raise ValueError(f"model 'resnet' needs square images with side a multiple of 8, "
                       f"got {data_shape}")
    return (ResNetGenerator(data_shape, model_config.g_features, dtype=dtype),
            ResNetDiscriminator(model_config.d_features, model_config.spectral_norm, dtype=dtype))
  raise ValueError(f"unknown model.name {name!r}; choose one of ['dcgan', 'lstm', 'mlp', 'resnet']")


__all__ = ['build_models', 'LSTMGenerator', 'SequenceDiscriminator', 'DCGANGenerator', 'DCGANDiscriminator', 'MLPGenerator',
           'MLPDiscriminator', 'ResNetGenerator', 'ResNetDiscriminator', 'DownConv2x',
           'UpConv2x']
