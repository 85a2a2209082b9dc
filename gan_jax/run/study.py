"""Large-study tooling: train K runs of one GAN at once (gan_jax.run.population) on their own data
streams, and evaluate each; train K VAEs the same way. Used by experiments/study.py."""

import time
from typing import Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.lecture import vae
from gan_jax.run import evaluation
from gan_jax.run.config import adam, build_gan, n_critic
from gan_jax import structures
from gan_jax.structures import make_data
from gan_jax.data.images import to_model_range
from gan_jax.lecture.autoencoder import Decoder, Encoder
from gan_jax.run.population import create_population, make_population_train_step, member


def _population_batches(config, seeds):
  """A function step -> (K, n_critic, B, ...) stacking each run's own data stream."""
  streams = [make_data(config, n_critic(config), seed=seed) for seed in seeds]

  def batches(step):
    return jnp.stack([jnp.asarray(stream.batches(step)) for stream in streams])

  return streams[0].example_shape, batches


Checkpoint = Callable[[int, object, object], None]   # (steps done, model, stacked states)


def _train(step, states, batches, num_steps: int, model, checkpoint_steps: Sequence[int] = (),
           checkpoint: Optional[Checkpoint] = None):
  """num_steps population steps; `checkpoint` (an evaluation, say) after each of
  `checkpoint_steps`, its time left out of the returned training seconds."""
  seconds, start = 0.0, time.perf_counter()
  for i in range(num_steps):
    states, _ = step(states, batches(i))
    if checkpoint is not None and i + 1 in checkpoint_steps:
      jax.block_until_ready(states)
      seconds += time.perf_counter() - start
      checkpoint(i + 1, model, states)
      start = time.perf_counter()
  jax.block_until_ready(states)
  return states, seconds + time.perf_counter() - start


def train_gan_population(config, seeds: Sequence[int], g_lr, d_lr, b1, num_steps: int,
                         checkpoint_steps: Sequence[int] = (), checkpoint: Optional[Checkpoint] = None):
  """K runs of the GAN `config` describes, vmapped; returns (gan, population, seconds).
  None for g_lr, d_lr or b1 keeps the config's own for every run."""
  example_shape, batches = _population_batches(config, seeds)
  gan = build_gan(config, example_shape)
  population = create_population(gan, seeds, jnp.zeros(example_shape), g_lr, d_lr, b1)
  population, seconds = _train(make_population_train_step(gan), population, batches, num_steps,
                               gan, checkpoint_steps, checkpoint)
  return gan, population, seconds


def evaluate_population(gan, population, config, num_samples: int, seed: int = 0,
                        generator: str = 'raw'):
  """The metrics of each run, as a list of dicts. The raw generator by default, as in Lucic et
  al.: after a few hundred steps an EMA with decay 0.999 is still mostly the initial weights."""
  k = jax.tree.leaves(population)[0].shape[0]
  return [evaluation.evaluate(gan, member(population, i), config, num_samples, seed, generator)
          for i in range(k)]


def make_vae(example_shape, likelihood: str, latent_dim: int, learning_rate: float,
             batch_size: int, variational: bool = True, hidden=(512, 256)):
  return vae.AutoEncoder(Encoder(latent_dim, hidden), Decoder(example_shape, likelihood,
                                                              tuple(reversed(hidden))),
                         adam(learning_rate, 0.9, 0.999), variational, batch_size)


def train_vae_population(config, seeds: Sequence[int], num_steps: int, latent_dim: int = 16,
                         learning_rate: float = 1e-3, variational: bool = True,
                         checkpoint_steps: Sequence[int] = (), checkpoint: Optional[Checkpoint] = None):
  """K VAEs (or auto-encoders) on the configured data, vmapped; returns (model, states, seconds)."""
  example_shape, batches = _population_batches(config, seeds)
  likelihood = structures.get(config).vae_likelihood   # the entry's, not guessed from the shape
  model = make_vae(example_shape, likelihood, latent_dim, learning_rate, config.batch_size,
                   variational)
  states = jax.tree.map(lambda *x: jnp.stack(x), *[
      vae.create_ae_state(model, jax.random.PRNGKey(s), jnp.zeros(example_shape)) for s in seeds])
  step = jax.jit(jax.vmap(lambda s, x: vae.ae_train_step(s, x, model=model)), donate_argnums=0)
  states, seconds = _train(step, states, lambda i: to_model_range(batches(i)[:, 0]), num_steps,
                           model, checkpoint_steps, checkpoint)
  return model, states, seconds


def evaluate_vae_population(model, states, config, num_samples: int, seed: int = 0):
  k = jax.tree.leaves(states)[0].shape[0]
  sample = jax.jit(lambda params, key: vae.sample(model, params, key, num_samples))
  results = []
  for i in range(k):
    params = member(states, i).params
    samples = np.asarray(sample(params, jax.random.PRNGKey(seed)))
    results.append({'num_samples': num_samples, **evaluation.sample_metrics(samples, config)})
  return results
