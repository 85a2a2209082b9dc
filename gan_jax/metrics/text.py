"""The text-GAN protocol's metrics, stated once: BLEU-2..5 of generated sentences against every test
caption, self-BLEU-2..5 among the generated sentences, NLL per token of held-out captions under G,
and the reverse-LM score.

BLEU is NLTK's `sentence_bleu(references, hypothesis, weights=(1/n,) * n,
smoothing_function=SmoothingFunction().method1)` averaged over the hypotheses (Texygen's
utils/metrics/Bleu.py with every test caption as a reference). NLTK rebuilds each reference's
n-gram counts for every hypothesis; here the largest count of every n-gram in any one reference
is computed once (`References`), which gives the same numbers (tests/test_text.py checks them
against NLTK to 1e-9) in a second instead of hours. Self-BLEU scores each generated sentence
against all the *other* generated sentences (leave-one-out, as Texygen's fast SelfBleu does).
"""

import math
from collections import Counter
from typing import Callable, Dict, Sequence

import jax
import numpy as np

from gan_jax.data.text import PAD

ORDERS = (2, 3, 4, 5)        # the BLEU-n the protocol reports
EPSILON = 0.1                # SmoothingFunction().method1's count added to zero matches


def ngram_counts(sentence: Sequence[str], n: int) -> Counter:
  """The n-grams of a sentence with their counts (none when it is shorter than n)."""
  return Counter(tuple(sentence[i:i + n]) for i in range(len(sentence) - n + 1))


def _closest(lengths: Dict[int, int], hyp_len: int) -> int:
  """NLTK's closest_ref_length over reference lengths with multiplicities (ties: the shorter)."""
  return min((l for l, count in lengths.items() if count > 0),
             key=lambda l: (abs(l - hyp_len), l))


def _bleu(matches, totals, hyp_len: int, ref_len: int, n: int) -> float:
  """corpus_bleu of one hypothesis from its clipped matches and n-gram totals per order."""
  if hyp_len == 0 or matches[0] == 0:
    return 0.0
  bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
  precisions = [m / t if m else EPSILON / t for m, t in zip(matches[:n], totals[:n])]
  return bp * math.exp(math.fsum(1.0 / n * math.log(p) for p in precisions))


def _scores(sentence, max_count: Callable, ref_len: int, orders) -> Dict[int, float]:
  """BLEU-n of one hypothesis for each n of `orders`; max_count(order, ngram) -> the largest
  count of the n-gram in any one reference."""
  top = max(orders)
  matches, totals = [], []
  for n in range(1, top + 1):
    counts = ngram_counts(sentence, n)
    matches.append(sum(min(c, max_count(n, g)) for g, c in counts.items()))
    totals.append(max(1, sum(counts.values())))
  return {n: _bleu(matches, totals, len(sentence), ref_len, n) for n in orders}


class References:
  """A reference set summarised once: per order, each n-gram's largest count in one reference,
  and how many references have each length (for the brevity penalty)."""

  def __init__(self, sentences: Sequence[Sequence[str]], max_order: int = max(ORDERS)):
    if not sentences:
      raise ValueError('BLEU needs at least one reference')
    self.max_order = max_order
    self.max_counts = [dict() for _ in range(max_order + 1)]
    for sentence in sentences:
      for n in range(1, max_order + 1):
        table = self.max_counts[n]
        for gram, count in ngram_counts(sentence, n).items():
          if count > table.get(gram, 0):
            table[gram] = count
    self.lengths = dict(Counter(len(s) for s in sentences))
    self._closest = {}

  def closest_length(self, hyp_len: int) -> int:
    if hyp_len not in self._closest:
      self._closest[hyp_len] = _closest(self.lengths, hyp_len)
    return self._closest[hyp_len]

  def sentence_bleu(self, hypothesis: Sequence[str], orders=ORDERS) -> Dict[int, float]:
    """NLTK's sentence_bleu of one hypothesis against every reference, for each n of orders."""
    if max(orders) > self.max_order:
      raise ValueError(f'orders up to {self.max_order}, got {orders}')
    lookup = lambda n, gram: self.max_counts[n].get(gram, 0)
    return _scores(hypothesis, lookup, self.closest_length(len(hypothesis)), orders)


def bleu(hypotheses: Sequence[Sequence[str]], references: References,
         orders=ORDERS) -> Dict[str, float]:
  """Mean BLEU-n of the hypotheses against the reference set: {'bleu2': ..., 'bleu5': ...}."""
  if not hypotheses:
    raise ValueError('BLEU needs at least one hypothesis')
  totals = dict.fromkeys(orders, 0.0)
  for hypothesis in hypotheses:
    for n, value in references.sentence_bleu(hypothesis, orders).items():
      totals[n] += value
  return {f'bleu{n}': totals[n] / len(hypotheses) for n in orders}


def self_bleu(sentences: Sequence[Sequence[str]], orders=ORDERS) -> Dict[str, float]:
  """Mean BLEU-n of each sentence against all the others: {'self_bleu2': ..., ...}. Per
  n-gram the largest and second-largest count over sentences, so leaving one sentence out
  costs nothing (its n-gram's largest other count is the second when it holds the first)."""
  if len(sentences) < 2:
    raise ValueError('self-BLEU needs at least two sentences')
  top = max(orders)
  per_order = [None]
  for n in range(1, top + 1):
    best = {}   # gram -> [largest count, its sentence, second-largest count]
    for i, sentence in enumerate(sentences):
      for gram, count in ngram_counts(sentence, n).items():
        entry = best.get(gram)
        if entry is None:
          best[gram] = [count, i, 0]
        elif count > entry[0]:
          best[gram] = [count, i, entry[0]]
        elif count > entry[2]:
          entry[2] = count
    per_order.append(best)
  lengths = Counter(len(s) for s in sentences)
  closest = {}
  totals = dict.fromkeys(orders, 0.0)
  for i, sentence in enumerate(sentences):
    h = len(sentence)
    if h not in closest:   # the others' lengths: one sentence of length h fewer
      closest[h] = _closest({**lengths, h: lengths[h] - 1}, h)

    def max_count(n, gram, i=i):
      first, holder, second = per_order[n].get(gram, (0, -1, 0))
      return second if holder == i else first

    for n, value in _scores(sentence, max_count, closest[h], orders).items():
      totals[n] += value
  return {f'self_bleu{n}': totals[n] / len(sentences) for n in orders}


def token_nll(log_prob_fn: Callable, tokens, batch_size: int = 1000) -> float:
  """Mean NLL per token (nats) of encoded sentences (n, T) under tokens -> log p (n, T), counting
  each sentence's words and its end token, not its padding (whose log p the model sets to 0):
  the protocol's NLL_test / NLL_valid, in float64 batches."""
  fn = jax.jit(log_prob_fn)
  tokens = np.asarray(tokens)
  total = 0.0
  for start in range(0, len(tokens), batch_size):
    total += float(np.sum(np.asarray(fn(tokens[start:start + batch_size]), np.float64)))
  return -total / int(np.sum(tokens != PAD))


def reverse_lm_nll(model, generated, test, epochs: int, seed: int = 0, batch_size: int = 64,
                   learning_rate: float = 0.01) -> float:
  """The reverse-LM score (Zhao et al. 2018; Cifka et al. 2018): a fresh language model `model`
  (an unbound LSTMGenerator) trained by MLE on the generated sentences for `epochs`, then its
  NLL per token of the test sentences. Low only when the samples are both fluent and cover
  the data; mode dropping that BLEU does not see shows here."""
  # Imported here: metrics and models are one layer, and only this function needs the model.
  from gan_jax.models.sequences import mle_step
  generated = np.asarray(generated)
  if len(generated) < batch_size:
    raise ValueError(f'the reverse LM needs at least one batch ({batch_size}) of sentences')
  key = jax.random.PRNGKey(seed)
  params = model.init({'params': key, 'sample': key}, np.zeros((1, 1)))['params']
  optimizer, step = mle_step(model, learning_rate)
  opt_state = optimizer.init(params)
  rng = np.random.default_rng(seed)
  for _ in range(epochs):
    order = rng.permutation(len(generated))
    for start in range(0, len(order) - batch_size + 1, batch_size):
      params, opt_state, _ = step(params, opt_state, generated[order[start:start + batch_size]])
  return token_nll(lambda t: model.apply({'params': params}, t, method='log_prob'), test)
