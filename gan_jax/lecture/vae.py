"""Auto-encoders and VAEs (Kingma & Welling 2014) as pure functions: the generator learning alone.

An auto-encoder is trained on reconstruction only; its decoder maps codes to images but
nothing makes the space between codes decode to anything. A VAE adds the KL term that pulls
q(z|x) towards N(0, I), so any z ~ N(0, I), and any point between two codes, decodes to
something like data; its pixel-wise likelihood still cannot see which parts of an image agree.
"""

import dataclasses
import functools

import flax
import jax
import jax.numpy as jnp
import optax

from gan_jax import keys
from gan_jax.lecture.autoencoder import Decoder, Encoder


@dataclasses.dataclass(frozen=True)
class AutoEncoder:
  """The static parts: modules, optimizer, and whether it is variational."""
  encoder: Encoder
  decoder: Decoder
  optimizer: optax.GradientTransformation
  variational: bool = True
  batch_size: int = 128


@flax.struct.dataclass
class AEState:
  step: jnp.ndarray
  rng: jnp.ndarray
  params: dict           # {'encoder': ..., 'decoder': ...}
  opt_state: object


def create_ae_state(model: AutoEncoder, key, example) -> AEState:
  e_key, d_key = jax.random.split(jax.random.fold_in(key, keys.INIT))
  x = jnp.zeros((1,) + tuple(example.shape))
  params = {'encoder': model.encoder.init(e_key, x)['params'],
            'decoder': model.decoder.init(d_key, jnp.zeros((1, model.encoder.latent_dim)))['params']}
  return AEState(jnp.zeros((), jnp.int32), jax.random.fold_in(key, keys.RUN), params,
                 model.optimizer.init(params))


def encode(model: AutoEncoder, params, x):
  return model.encoder.apply({'params': params['encoder']}, x)


def decode_mean(model: AutoEncoder, params, z):
  """E[x | z] in the data's range: [-1, 1] for Bernoulli images, the mean for points."""
  first, _ = model.decoder.apply({'params': params['decoder']}, z)
  if model.decoder.likelihood == 'bernoulli':
    return 2.0 * jax.nn.sigmoid(first) - 1.0
  return first


def log_likelihood(model: AutoEncoder, params, z, x):
  """log p(x | z) summed over dimensions; Bernoulli images are mapped from [-1, 1] to [0, 1]."""
  first, second = model.decoder.apply({'params': params['decoder']}, z)
  axes = tuple(range(1, x.ndim))
  if model.decoder.likelihood == 'bernoulli':
    target = (x + 1.0) / 2.0
    return -jnp.sum(optax.sigmoid_binary_cross_entropy(first, target), axis=axes)
  return -0.5 * jnp.sum((x - first) ** 2 / jnp.exp(second) + second + jnp.log(2 * jnp.pi),
                        axis=axes)


def loss_fn(model: AutoEncoder, params, x, key):
  """Negative ELBO (VAE) or reconstruction loss (auto-encoder), and its parts."""
  mean, log_var = encode(model, params, x)
  if model.variational:
    z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)   # reparameterised
    kl = 0.5 * jnp.sum(jnp.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=1)
  else:
    z, kl = mean, jnp.zeros(x.shape[0])
  reconstruction = -log_likelihood(model, params, z, x)
  loss = jnp.mean(reconstruction + kl)
  return loss, {'loss': loss, 'reconstruction': jnp.mean(reconstruction), 'kl': jnp.mean(kl)}


def ae_train_step(state: AEState, x, *, model: AutoEncoder):
  """One optimizer step on a batch; the key is fold_in(rng, step)."""
  key = jax.random.fold_in(state.rng, state.step)
  grads, metrics = jax.grad(lambda p: loss_fn(model, p, x, key), has_aux=True)(state.params)
  updates, opt_state = model.optimizer.update(grads, state.opt_state, state.params)
  return state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                       opt_state=opt_state), metrics


def make_ae_train_step(model: AutoEncoder):
  return jax.jit(functools.partial(ae_train_step, model=model), donate_argnums=0)


def sample(model: AutoEncoder, params, key, n: int):
  """Decoded z ~ N(0, I): the VAE's generator (for an auto-encoder, codes it never saw)."""
  return decode_mean(model, params, jax.random.normal(key, (n, model.encoder.latent_dim)))
