"""NLL-oracle (quality) and NLL-test (diversity) for the SeqGAN oracle benchmark, in nats/token.

NLL-oracle: the oracle's mean negative log-likelihood per token of sequences sampled from the
generator (SeqGAN's target_loss in sequence_gan.py; SeqGAN evaluates 9,984 = 156 x 64 of them).
NLL-test: the generator's own mean NLL per token of held-out oracle sequences (Texygen/RelGAN's
NLL_gen); a generator that drops modes of the oracle pays here, while NLL-oracle rewards it.
"""

from typing import Callable

import jax
import numpy as np

from gan_jax.data import sequences as oracle

_oracle_log_prob = jax.jit(oracle.log_prob)


def nll_test(model_log_prob_fn: Callable, test_tokens, batch_size: int = 1000) -> float:
  """Mean NLL per token of `test_tokens` (n, T) under tokens -> log p (n, T), in batches so the
  (batch, T, V) logits stay ~400 MB at V = 5,000; sums in float64 so 200,000 terms add exactly."""
  fn = jax.jit(model_log_prob_fn)
  tokens = np.asarray(test_tokens)
  total = 0.0
  for start in range(0, len(tokens), batch_size):
    total += float(np.sum(np.asarray(fn(tokens[start:start + batch_size]), np.float64)))
  return -total / tokens.size


def nll_oracle(oracle_params, generated_tokens, batch_size: int = 1000) -> float:
  """The oracle's mean NLL per token of the generator's samples (n, T)."""
  return nll_test(lambda tokens: _oracle_log_prob(oracle_params, tokens), generated_tokens,
                  batch_size)
