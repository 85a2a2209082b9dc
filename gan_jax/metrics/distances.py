"""Sample-quality metrics computed from features: FID, KID, precision/recall, density/coverage, IS.

The heavy parts (pairwise distances and kernels over thousands of feature vectors) run in JAX;
the d x d matrix square root of FID runs in float64 (numpy), where float32 loses digits.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def gaussian_statistics(features) -> tuple:
  """Mean and covariance (unbiased, float64) of features of shape (n, d)."""
  features = np.asarray(features, np.float64)
  return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Heusel et al. 2017), in float64.

  tr((S1 S2)^(1/2)) = sum of sqrt(eigenvalues of S1^(1/2) S2 S1^(1/2)), a symmetric PSD matrix,
  so two symmetric eigendecompositions replace the general sqrtm and its complex round-off.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  values, vectors = np.linalg.eigh(sigma1)
  sqrt_sigma1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
  middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
  trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)))
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def fid(features_a, features_b) -> float:
  """Frechet distance between two sets of features."""
  return frechet_distance(*gaussian_statistics(features_a), *gaussian_statistics(features_b))


@functools.partial(jax.jit, static_argnames=('subset_size', 'num_subsets'))
def _kid_subsets(x, y, key, subset_size, num_subsets):
  d = x.shape[1]

  def one(key):
    kx, ky = jax.random.split(key)
    a = x[jax.random.choice(kx, x.shape[0], (subset_size,), replace=False)]
    b = y[jax.random.choice(ky, y.shape[0], (subset_size,), replace=False)]
    kernel = lambda u, v: (u @ v.T / d + 1.0) ** 3
    k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
    m = subset_size
    off_diagonal = lambda k: (jnp.sum(k) - jnp.trace(k)) / (m * (m - 1))
    return off_diagonal(k_aa) + off_diagonal(k_bb) - 2 * jnp.mean(k_ab)

  return jax.lax.map(one, jax.random.split(key, num_subsets))


def kid(features_a, features_b, subset_size: int = 1000, num_subsets: int = 100, seed: int = 0):
  """Kernel inception distance (Binkowski et al. 2018): the unbiased MMD^2 with the kernel
  k(x, y) = (x.y / d + 1)^3, averaged over random subsets. Returns (mean, std over subsets)."""
  x = jnp.asarray(features_a, jnp.float32)
  y = jnp.asarray(features_b, jnp.float32)
  subset_size = min(subset_size, x.shape[0], y.shape[0])
  values = np.asarray(_kid_subsets(x, y, jax.random.PRNGKey(seed), subset_size, num_subsets),
                      np.float64)
  return float(values.mean()), float(values.std())


@jax.jit
def _squared_distances(a, b):
  return jnp.maximum(jnp.sum(a * a, 1)[:, None] + jnp.sum(b * b, 1)[None, :] - 2 * a @ b.T, 0.0)


def _pairwise_squared(a, b, block: int = 2048):
  """Squared Euclidean distances (n, m), in row blocks to bound memory."""
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  return np.concatenate([np.asarray(_squared_distances(a[i:i + block], b))
                         for i in range(0, a.shape[0], block)])


def _knn_radii(features, k: int) -> np.ndarray:
  """Squared distance of each point to its k-th nearest other point."""
  distances = _pairwise_squared(features, features)
  return np.partition(distances, k, axis=1)[:, k]   # index 0 is the point itself


class PrecisionRecall(NamedTuple):
  precision: float
  recall: float
  density: float
  coverage: float


def precision_recall(real, fake, k: int = 3, density_k: int = 5) -> PrecisionRecall:
  """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN balls, and density and
  coverage (Naeem et al. 2020) with `density_k`-NN balls around the real points."""
  real_radii = _knn_radii(real, k)
  fake_radii = _knn_radii(fake, k)
  real_fake = _pairwise_squared(real, fake)                           # (n_real, n_fake)
  precision = np.mean(np.any(real_fake <= real_radii[:, None], axis=0))
  recall = np.mean(np.any(real_fake <= fake_radii[None, :], axis=1))
  density_radii = real_radii if density_k == k else _knn_radii(real, density_k)
  inside = real_fake <= density_radii[:, None]
  density = inside.sum() / (density_k * real_fake.shape[1])
  coverage = np.mean(np.any(inside, axis=1))
  return PrecisionRecall(float(precision), float(recall), float(density), float(coverage))


def inception_score(probabilities, splits: int = 10):
  """exp(E_x KL(p(y|x) || p(y))) over `splits` parts (Salimans et al. 2016); (mean, std)."""
  p = np.asarray(probabilities, np.float64)
  scores = []
  for part in np.array_split(p, splits):
    marginal = part.mean(axis=0, keepdims=True)
    kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))
