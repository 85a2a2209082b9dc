"""Mode coverage on toy mixtures, with the protocol of VEEGAN and PacGAN, and 1D divergences."""

import numpy as np

from gan_jax.data.vectors import Mixture


def mode_coverage(samples, mixture: Mixture, num_stds: float = 3.0) -> dict:
  """A sample is high quality if within `num_stds` standard deviations of its nearest mode; a
  mode is captured if some high-quality sample is nearest to it (2500 samples in the papers)."""
  samples = np.asarray(samples, np.float64)
  distances = np.linalg.norm(samples[:, None, :] - mixture.means[None, :, :], axis=-1)
  nearest = distances.argmin(axis=1)
  high_quality = distances.min(axis=1) <= num_stds * mixture.std
  captured = np.unique(nearest[high_quality])
  return {'modes_captured': int(captured.size), 'num_modes': int(len(mixture.means)),
          'high_quality_percent': float(100.0 * high_quality.mean())}


def histogram_divergences(real, fake, bins: int = 100) -> dict:
  """KL(real || fake) and JS divergence of 1D histograms on a shared range (nats)."""
  real, fake = np.ravel(real), np.ravel(fake)
  edges = np.linspace(min(real.min(), fake.min()), max(real.max(), fake.max()), bins + 1)
  p = np.histogram(real, edges)[0].astype(np.float64) + 1e-10
  q = np.histogram(fake, edges)[0].astype(np.float64) + 1e-10
  p, q = p / p.sum(), q / q.sum()
  m = (p + q) / 2
  kl = lambda a, b: float(np.sum(a * np.log(a / b)))
  return {'kl': kl(p, q), 'js': 0.5 * kl(p, m) + 0.5 * kl(q, m)}
