"""Toy distributions with the protocol of the mode-collapse literature, sampled in JAX.

ring8: 8 Gaussians on a ring of radius 1, std 0.01 (VEEGAN, Srivastava et al. 2017; PacGAN,
Lin et al. 2018). grid25: 25 Gaussians with means in {-4,-2,0,2,4}^2, std 0.05 (same papers).
mixture1d: three 1D Gaussians; gaussian1d: N(3, 0.5^2), the lecture's 1D example.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Mixture(NamedTuple):
  """An equal-weight (unless `weights`) mixture of isotropic Gaussians."""
  means: np.ndarray      # (n_modes, dim)
  std: float
  weights: np.ndarray    # (n_modes,)


def _ring(n_modes=8, radius=1.0, std=0.01):
  angles = 2 * np.pi * np.arange(n_modes) / n_modes
  means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  return Mixture(means.astype(np.float32), std, np.full(n_modes, 1.0 / n_modes))


def _grid(std=0.05):
  axis = np.arange(-4, 5, 2, dtype=np.float32)
  means = np.stack(np.meshgrid(axis, axis, indexing='ij'), axis=-1).reshape(-1, 2)
  return Mixture(means, std, np.full(25, 1.0 / 25))


TOY_DATASETS = {
    'ring8': _ring(),
    'grid25': _grid(),
    'mixture1d': Mixture(np.array([[-2.0], [0.5], [3.0]], np.float32), 0.3,
                         np.array([0.3, 0.2, 0.5])),
    'gaussian1d': Mixture(np.array([[3.0]], np.float32), 0.5, np.array([1.0])),
}


def sample(mixture: Mixture, key: jax.Array, n: int) -> jax.Array:
  """n points from the mixture, shape (n, dim)."""
  mode_key, noise_key = jax.random.split(key)
  modes = jax.random.choice(mode_key, len(mixture.weights), (n,), p=jnp.asarray(mixture.weights))
  noise = mixture.std * jax.random.normal(noise_key, (n, mixture.means.shape[1]))
  return jnp.asarray(mixture.means)[modes] + noise
