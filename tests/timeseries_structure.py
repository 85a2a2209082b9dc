"""A kind of output defined outside the package: 1D time series (noisy sines of random frequency
and phase, 16 steps), registered with gan_jax.structures.register and nothing else. The
conformance suite (test_structures.py) trains, resumes, parallelises, scores and samples it
like every shipped structure: a new structure is one entry."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import keys, structures
from gan_jax.data.hosts import host_rows
from gan_jax.errors import ConfigError
from gan_jax.structures.base import Data, Structure

LENGTH = 16


def sines(key, n: int) -> jax.Array:
  """n series sin(2 pi f t / LENGTH + phase) + N(0, 0.05^2), f ~ U[1, 3], phase ~ U[0, 2 pi)."""
  f_key, p_key, e_key = jax.random.split(key, 3)
  f = jax.random.uniform(f_key, (n, 1), minval=1.0, maxval=3.0)
  phase = jax.random.uniform(p_key, (n, 1), maxval=2 * jnp.pi)
  t = jnp.arange(LENGTH)[None]
  return jnp.sin(2 * jnp.pi * f * t / LENGTH + phase) + 0.05 * jax.random.normal(e_key, (n, LENGTH))


class SeriesGenerator(nn.Module):
  width: int = 16

  @nn.compact
  def __call__(self, z, train: bool = True):
    h = nn.relu(nn.Dense(self.width)(z))
    return jnp.tanh(nn.Dense(LENGTH)(h))


class SeriesDiscriminator(nn.Module):
  """Reads the series and its first differences (how smooth it is)."""
  width: int = 16

  @nn.compact
  def __call__(self, x, train: bool = True):
    h = jnp.concatenate([x, jnp.diff(x, axis=-1)], -1)
    return nn.Dense(1)(nn.leaky_relu(nn.Dense(self.width)(h), 0.2))[:, 0]


def roughness(series) -> float:
  """Mean |x_t+1 - x_t|: the data's is about 0.5; white noise in [-1, 1] gives ~0.67."""
  return float(np.mean(np.abs(np.diff(np.asarray(series), axis=-1))))


class TimeSeries(Structure):
  name = 'timeseries'
  encoding = f'float32 (N, {LENGTH}) series'

  def validate(self, config):
    if config.data.name != 'sines':
      raise ConfigError(f"timeseries needs data.name='sines', got {config.data.name!r}")

  def make_data(self, config, n_critic, process_index=0, process_count=1):
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), keys.DATA)
    batch = config.batch_size
    rows = host_rows(batch, process_index, process_count)

    def batches(step):
      x = sines(jax.random.fold_in(key, step), n_critic * batch).reshape(n_critic, batch, LENGTH)
      return np.asarray(x[:, rows])

    return Data(self.example(config), batches)

  def example(self, config):
    return np.zeros((LENGTH,), np.float32)

  def build_models(self, config, example):
    return (SeriesGenerator(config.model.g_features), SeriesDiscriminator(config.model.d_features))

  def gan_options(self, config):
    return {'joint_d_call': True}

  def score_samples(self, samples, config):
    real = sines(jax.random.PRNGKey(0), len(samples))
    return {'roughness': roughness(samples), 'real_roughness': roughness(real)}

  def draw(self, gan, state, config, data, fixed_z, path_stem, title):
    from gan_jax.core.steps import generate
    series = np.asarray(generate(gan, state, fixed_z[:4], config.shown_generator == 'ema'))
    np.savetxt(path_stem + '.txt', series, header=title)
    return path_stem + '.txt'


TIMESERIES = structures.register(TimeSeries())


def get_config():
  """A config of the external structure, for experiments/train.py or train_and_evaluate."""
  from gan_jax.run.config import base_config
  config = base_config()
  config.structure = 'timeseries'
  config.structure_module = __file__     # so evaluate.py and sample.py can find the entry
  config.data.name = 'sines'
  config.model.z_dim = 4
  return config
