"""Metrics against independent references (scipy, brute-force loops) and closed forms."""

import numpy as np
import scipy.linalg

from gan_jax.data.vectors import TOY_DATASETS
from gan_jax.metrics import (fid, frechet_distance, histogram_divergences, inception_score, kid,
                             mode_coverage, precision_recall)
from gan_jax.metrics.distances import _kid_subsets


def _features(seed, n=300, d=16, shift=0.0):
  rng = np.random.default_rng(seed)
  mixing = rng.normal(size=(d, d)) / np.sqrt(d)
  return (rng.normal(size=(n, d)) @ mixing + shift).astype(np.float32)


def _scipy_fid(a, b):
  mu1, mu2 = a.mean(0), b.mean(0)
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  return np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)


def test_fid_matches_scipy_sqrtm():
  a, b = _features(0).astype(np.float64), _features(1, shift=0.3).astype(np.float64)
  np.testing.assert_allclose(fid(a, b), _scipy_fid(a, b), rtol=1e-4)


def test_fid_of_a_set_with_itself_is_zero():
  a = _features(0)
  assert abs(fid(a, a)) < 1e-6


def test_fid_of_shifted_gaussians_is_closed_form():
  """Same covariance S, means apart by delta: FID = ||delta||^2 exactly."""
  rng = np.random.default_rng(0)
  m = rng.normal(size=(8, 8))
  sigma = m @ m.T + np.eye(8)
  delta = rng.normal(size=8)
  np.testing.assert_allclose(frechet_distance(np.zeros(8), sigma, delta, sigma),
                             np.sum(delta ** 2), rtol=1e-6)
  # Different scales: N(0, a^2 I) vs N(0, b^2 I) in d dims gives d (a - b)^2.
  np.testing.assert_allclose(frechet_distance(np.zeros(8), 4 * np.eye(8), np.zeros(8), np.eye(8)),
                             8 * (2 - 1) ** 2, rtol=1e-6)


def _brute_force_mmd(a, b):
  d = a.shape[1]
  k = lambda x, y: (np.dot(x, y) / d + 1) ** 3
  m = len(a)
  xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  yy = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  xy = sum(k(a[i], b[j]) for i in range(m) for j in range(m)) / (m * m)
  return xx + yy - 2 * xy


def test_kid_matches_brute_force_on_whole_sets():
  a, b = _features(0, n=40, d=6), _features(1, n=40, d=6, shift=0.5)
  import jax
  values = np.asarray(_kid_subsets(a, b, jax.random.PRNGKey(0), 40, 2))  # subsets = whole sets
  expected = _brute_force_mmd(a.astype(np.float64), b.astype(np.float64))
  np.testing.assert_allclose(values, expected, rtol=1e-4)
  mean, std = kid(a, b, subset_size=20, num_subsets=10)
  assert std > 0 and mean > 0


def _brute_force_precision_recall(real, fake, k):
  def radii(x):
    return np.array([np.sort([np.sum((p - q) ** 2) for q in x])[k] for p in x])
  r_real, r_fake = radii(real), radii(fake)
  inside = lambda point, centers, r: any(np.sum((point - c) ** 2) <= rc for c, rc in zip(centers, r))
  precision = np.mean([inside(f, real, r_real) for f in fake])
  recall = np.mean([inside(r, fake, r_fake) for r in real])
  density = sum(np.sum((f - r) ** 2) <= rr for f in fake for r, rr in zip(real, r_real)) / (k * len(fake))
  coverage = np.mean([any(np.sum((f - r) ** 2) <= rr for f in fake) for r, rr in zip(real, r_real)])
  return precision, recall, density, coverage


def test_precision_recall_density_coverage_match_brute_force():
  real, fake = _features(0, n=60, d=4), _features(1, n=50, d=4, shift=0.7)
  result = precision_recall(real, fake, k=3, density_k=3)
  expected = _brute_force_precision_recall(real.astype(np.float64), fake.astype(np.float64), 3)
  np.testing.assert_allclose(result, expected, rtol=1e-4)
  assert 0 < result.precision < 1 and 0 < result.recall < 1


def test_precision_and_recall_of_a_set_with_itself_are_one():
  real = _features(0, n=100, d=4)
  result = precision_recall(real, real)
  assert result.precision == 1.0 and result.recall == 1.0 and result.coverage == 1.0


def test_inception_score_limits():
  confident_uniform = np.eye(10)[np.arange(1000) % 10]   # sharp and diverse: IS = 10
  np.testing.assert_allclose(inception_score(confident_uniform, splits=1)[0], 10.0, rtol=1e-6)
  one_class = np.tile(np.eye(10)[:1], (1000, 1))           # sharp, one class: IS = 1
  np.testing.assert_allclose(inception_score(one_class, splits=1)[0], 1.0, rtol=1e-6)


def test_mode_coverage_on_the_true_ring_and_on_one_mode():
  ring = TOY_DATASETS['ring8']
  rng = np.random.default_rng(0)
  modes = rng.integers(0, 8, 2500)
  samples = ring.means[modes] + ring.std * rng.normal(size=(2500, 2))
  result = mode_coverage(samples, ring)
  assert result['modes_captured'] == 8 and result['high_quality_percent'] > 98.0
  one_mode = ring.means[3] + ring.std * rng.normal(size=(2500, 2))
  result = mode_coverage(one_mode, ring)
  assert result['modes_captured'] == 1 and result['high_quality_percent'] > 98.0
  far = np.full((2500, 2), 5.0)
  assert mode_coverage(far, ring)['modes_captured'] == 0


def test_histogram_divergences():
  rng = np.random.default_rng(0)
  x = rng.normal(size=20000)
  same = histogram_divergences(x, rng.normal(size=20000))
  shifted = histogram_divergences(x, rng.normal(size=20000) + 3)
  assert same['js'] < 0.01 and shifted['js'] > 0.5 and shifted['js'] <= np.log(2) + 1e-6
  assert shifted['kl'] > same['kl']
