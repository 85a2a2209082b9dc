"""Real text for the sequence structure: Treebank tokens, the vocabulary, BLEU and self-BLEU as
NLTK computes them, a generator whose sentences end, MLE through the common steps, and a text
run's vocabulary kept in its workdir."""

import importlib
import itertools
import json
import math
import os
import random

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import TEXT_FIXTURE, tiny_config
from gan_jax import structures
from gan_jax.core import steps
from gan_jax.core.estimators import ESTIMATORS
from gan_jax.core.objectives import get_objective
from gan_jax.core.state import GAN, create_state
from gan_jax.core.terms import TERMS
from gan_jax.data import sequences as seqdata
from gan_jax.data import text
from gan_jax.errors import ConfigError
from gan_jax.metrics import text as text_metrics
from gan_jax.models.sequences import LSTMGenerator, SequenceDiscriminator, mle_loss
from gan_jax.run import evaluation
from gan_jax.run.config import validate
from gan_jax.run.train import train_and_evaluate, with_initial_generator
from experiments import text_curves

COCO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data',
                                    'text', 'coco_captions'))
W = [(1 / n,) * n for n in text_metrics.ORDERS]


def _config(name):
  return importlib.import_module(f'experiments.configs.{name}').get_config()


def _nltk():
  return pytest.importorskip('nltk')


def _captions():
  """(training, test) sentences: the COCO captions when the shared data is here, else the
  fixture."""
  folder = COCO if os.path.isdir(COCO) else TEXT_FIXTURE
  return text.read_split(folder, 'train'), text.read_split(folder, 'test')


def test_tokenize_follows_treebank_rules():
  assert text.tokenize('A boy can\'t wait to fly his kite, on the beach.') == [
      'a', 'boy', 'ca', "n't", 'wait', 'to', 'fly', 'his', 'kite', ',', 'on', 'the', 'beach', '.']
  assert text.tokenize("an airplane with the letters 'mt' on it.") == [
      'an', 'airplane', 'with', 'the', 'letters', "'mt", "'", 'on', 'it', '.']
  assert text.tokenize('a woman\'s "red" hat (new)--cannot 3,5 x: y') == [
      'a', 'woman', "'s", '``', 'red', "''", 'hat', '(', 'new', ')', '--', 'can', 'not', '3,5',
      'x', ':', 'y']
  assert text.tokenize('going through the woods..') == ['going', 'through', 'the', 'woods..']


def test_tokenize_equals_nltk_treebank_on_the_captions():
  nltk = _nltk()
  treebank = nltk.tokenize.TreebankWordTokenizer()
  folder = COCO if os.path.isdir(COCO) else TEXT_FIXTURE
  odd = ['He said, "don\'t go--now!" [x] {y} <z> ...', "''quoted'' and 'single' ones",
         'gonna wanna gimme lemme gotta \'tis \'twas more\'n d\'ye', 'a;b@c#d$e%f&g? h! i.']
  for split in text.SPLITS:
    with open(os.path.join(folder, f'{split}.txt')) as f:
      lines = [line for line in f if line.strip()] + odd
    differing = [line for line in lines
                 if text.tokenize(line) != treebank.tokenize(line.lower())]
    assert not differing, differing[:5]


def test_vocabulary_round_trip(tmp_path):
  train = text.read_split(TEXT_FIXTURE, 'train')
  vocab = text.build_vocabulary(train)
  assert vocab.words[:2] == text.SPECIAL and vocab.words[2] == 'a'   # the most frequent word
  assert vocab.length == max(map(len, train)) + 1
  assert vocab == text.build_vocabulary(list(reversed(train)))      # not the lines' order
  tokens = vocab.encode(train)
  assert tokens.shape == (len(train), vocab.length) and tokens.dtype == np.int32
  assert np.all(np.sum(tokens == text.END, axis=1) == 1)
  assert vocab.decode(tokens) == [list(s) for s in train]
  path = str(tmp_path / 'vocabulary.json')
  text.save_vocabulary(vocab, path)
  assert text.load_vocabulary(path) == vocab
  test = text.read_split(TEXT_FIXTURE, 'test')
  unseen = [s for s in test if not vocab.covers(s)]
  assert any('xylophone' in s for s in unseen) and len(unseen) < len(test)
  with pytest.raises(ConfigError, match='outside the vocabulary'):
    vocab.encode(unseen)
  # Decoding stops at the first end token and drops padding.
  assert vocab.decode([[2, 3, text.END, 2, text.PAD]]) == [['a', vocab.words[3]]]


def test_validation_is_a_fixed_part_of_the_training_file():
  train, valid = text.training_and_validation(TEXT_FIXTURE, 4)
  again = text.training_and_validation(TEXT_FIXTURE, 4)
  assert (train, valid) == again and len(valid) == 4
  assert sorted(train + valid) == sorted(text.read_split(TEXT_FIXTURE, 'train'))
  with pytest.raises(ConfigError, match='sequences.valid_count'):
    text.training_and_validation(TEXT_FIXTURE, 24)


def test_bleu_by_hand():
  references = text_metrics.References([
      'the cat is on the mat'.split(), 'there is a cat on the mat'.split()])
  got = references.sentence_bleu('the cat sat on the mat'.split())
  # matches / n-grams: 5/6, 3/5, 1/4, then 0/3 and 0/2 smoothed to 0.1/3, 0.1/2; lengths 6 = 6
  assert got[2] == pytest.approx(math.sqrt(1 / 2), abs=1e-12)
  assert got[3] == pytest.approx(0.5, abs=1e-12)
  assert got[4] == pytest.approx((1 / 240) ** (1 / 4), abs=1e-12)
  assert got[5] == pytest.approx((1 / 4800) ** (1 / 5), abs=1e-12)
  short = references.sentence_bleu('the cat'.split())   # brevity penalty exp(1 - 6 / 2)
  assert short[2] == pytest.approx(math.exp(-2), abs=1e-12)
  assert short[3] == pytest.approx(math.exp(-2) * 0.1 ** (1 / 3), abs=1e-12)
  assert references.sentence_bleu([]) == dict.fromkeys(text_metrics.ORDERS, 0.0)
  mean = text_metrics.bleu(['the cat sat on the mat'.split(), 'the cat'.split()], references)
  assert mean['bleu2'] == pytest.approx((math.sqrt(1 / 2) + math.exp(-2)) / 2, abs=1e-12)
  # Leave-one-out: 'a b' twice scores 1 against its copy; 'c d' shares no word with the others.
  assert text_metrics.self_bleu([['a', 'b'], ['a', 'b'], ['c', 'd']])['self_bleu2'] == \
      pytest.approx(2 / 3, abs=1e-12)


def _random_sentences(words, n, longest, seed):
  rng = random.Random(seed)
  return [[rng.choice(words) for _ in range(rng.randint(0, longest))] for _ in range(n)]


def test_bleu_equals_nltk():
  _nltk()
  from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu
  smooth = SmoothingFunction().method1
  train, test = _captions()
  words = sorted({w for s in train[:40] for w in s})
  hypotheses = [list(s) for s in train[:120]] + _random_sentences(words, 60, 12, 0)
  refs = [list(s) for s in test[:200]]
  summary = text_metrics.References(refs)
  for hypothesis in hypotheses:   # corpus_bleu of one sentence is its sentence_bleu
    expected = corpus_bleu([refs], [hypothesis], weights=W, smoothing_function=smooth)
    got = summary.sentence_bleu(hypothesis)
    assert [got[n] for n in text_metrics.ORDERS] == pytest.approx(expected, abs=1e-9)


def test_self_bleu_equals_nltk_leave_one_out():
  _nltk()
  from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu
  smooth = SmoothingFunction().method1
  train, _ = _captions()
  words = sorted({w for s in train[:20] for w in s})
  sentences = ([list(s) for s in train[:90]] + [list(s) for s in train[:10]]
               + _random_sentences(words, 30, 8, 1))
  expected = np.zeros(len(W))
  for i, sentence in enumerate(sentences):
    others = sentences[:i] + sentences[i + 1:]
    expected += corpus_bleu([others], [sentence], weights=W, smoothing_function=smooth)
  got = text_metrics.self_bleu(sentences)
  assert [got[f'self_bleu{n}'] for n in text_metrics.ORDERS] == pytest.approx(
      expected / len(sentences), abs=1e-9)


TINY = dict(vocab=4, embed=2, hidden=3, length=3, start_token=text.END, end_token=text.END,
            pad_token=text.PAD)


def _ended(sequence):
  """Whether a sequence is one G can write: no padding before its end, only padding after."""
  seq = list(sequence)
  end = seq.index(text.END) if text.END in seq else len(seq)
  return text.PAD not in seq[:end] and all(t == text.PAD for t in seq[end + 1:])


@pytest.mark.parametrize('output', ['tokens', 'gumbel'])
def test_sentences_end_and_their_likelihood_is_normalised(output):
  g = LSTMGenerator(**TINY, output=output)
  keys = {'params': jax.random.PRNGKey(0), 'sample': jax.random.PRNGKey(1)}
  variables = g.init(keys, jnp.zeros((2, 1)))
  variables = {**variables, 'params': jax.tree.map(lambda p: p * 10, variables['params'])}
  every = np.asarray([s for s in itertools.product(range(4), repeat=3) if _ended(s)])
  log_p = np.asarray(g.apply(variables, jnp.asarray(every), method=LSTMGenerator.log_prob))
  assert np.all(log_p[every == text.PAD] == 0)   # forced padding is certain
  p = np.exp(log_p.sum(1))
  assert p.sum() == pytest.approx(1.0, abs=1e-5)
  out = np.asarray(g.apply(variables, jnp.zeros((20000, 1)), train=False,
                           rngs={'sample': jax.random.PRNGKey(4)}))
  assert all(_ended(s) for s in out[:2000])
  index = {tuple(s): i for i, s in enumerate(every)}
  counts = np.bincount([index[tuple(s)] for s in out], minlength=len(every))
  assert np.all(np.abs(counts / 20000 - p) <= 4 * np.sqrt(p * (1 - p) / 20000) + 1e-3)
  if output == 'gumbel':   # relaxed one-hot rows; after the end, padding's one-hot
    y = np.asarray(g.apply(variables, jnp.zeros((64, 1)), rngs={'sample': jax.random.PRNGKey(5)},
                           mutable=['schedule'])[0])
    tokens = y.argmax(-1)
    assert all(_ended(s) for s in tokens)
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(y[tokens == text.PAD], np.eye(4)[text.PAD][None].repeat(
        int(np.sum(tokens == text.PAD)), 0))


def test_a_tempered_generator_samples_from_its_softmax_over_t():
  """with_temperature divides the logits by T: the first word's probabilities (the marginal of
  the whole sequences that start with it) become p^(1/T) renormalised, and the tempered model is
  still a distribution over whole sequences."""
  g = LSTMGenerator(**TINY)
  variables = g.init({'params': jax.random.PRNGKey(0), 'sample': jax.random.PRNGKey(1)},
                     jnp.zeros((2, 1)))
  params = jax.tree.map(lambda p: p * 10, variables['params'])
  every = np.asarray([s for s in itertools.product(range(4), repeat=3) if _ended(s)])

  def first_word(params):
    p = np.exp(np.asarray(g.apply({'params': params}, jnp.asarray(every),
                                  method=LSTMGenerator.log_prob), np.float64).sum(1))
    return p.sum(), np.bincount(every[:, 0], weights=p, minlength=4)

  total, m = first_word(params)
  for t in (0.5, 2.0):
    total_t, m_t = first_word(seqdata.with_temperature(params, t))
    assert total == pytest.approx(1.0, abs=1e-5) and total_t == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(m_t, m ** (1 / t) / np.sum(m ** (1 / t)), atol=1e-5)


def test_token_nll_counts_words_and_the_end_not_padding():
  tokens = np.asarray([[2, 3, text.END, text.PAD], [3, text.END, text.PAD, text.PAD]])
  uniform = lambda t: jnp.where(t == text.PAD, 0.0, -jnp.log(4.0))
  assert text_metrics.token_nll(uniform, tokens, batch_size=1) == pytest.approx(np.log(4.0))


def test_mle_term_trains_g_by_its_likelihood_and_leaves_d_alone():
  g = LSTMGenerator(**{**TINY, 'vocab': 6, 'length': 5})
  d = SequenceDiscriminator(vocab=6, embed=4, filter_sizes=(1, 2), num_filters=(3, 3))
  gan = GAN(g, d, optax.sgd(1.0), optax.sgd(1.0), get_objective('non_saturating'), z_dim=1,
            batch_size=8, g_estimator=ESTIMATORS['terms_only'](), terms=(TERMS['mle'](0.5),))
  state = create_state(gan, jax.random.PRNGKey(0), np.zeros((5,), np.int32))
  real = jnp.asarray(text.Vocabulary(['<pad>', '<eos>', 'a', 'b', 'c', 'd'], 5).encode(
      [['a', 'b'], ['c'], ['d', 'd', 'a'], ['b', 'c', 'a', 'd']] * 2))
  new, metrics = jax.jit(lambda s, r, k: steps.g_step(s, r, k, gan=gan))(
      state, real, jax.random.PRNGKey(1))
  loss = lambda p: 0.5 * mle_loss(p, g, real)
  assert float(metrics['g_mle']) == pytest.approx(float(loss(state.g_params)), rel=1e-5)
  expected = jax.tree.map(lambda p, grad: p - grad, state.g_params, jax.grad(loss)(state.g_params))
  for a, b in zip(jax.tree.leaves(new.g_params), jax.tree.leaves(expected)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  for a, b in zip(jax.tree.leaves(new.d_params), jax.tree.leaves(state.d_params)):
    np.testing.assert_array_equal(a, b)


def test_settings_are_refused_in_one_line(tmp_path):
  config = _config('coco_mle')
  config.sequences.text_dir = str(tmp_path / 'missing')
  with pytest.raises(ConfigError, match='sequences.text_dir') as error:
    validate(config)
  assert '\n' not in str(error.value)
  config = tiny_config(_config('coco_mle'))
  config.loss.mle_weight = 0.0
  with pytest.raises(ConfigError, match='learns nothing'):
    validate(config)
  images = _config('mnist_dcgan')
  images.loss.mle_weight = 1.0
  with pytest.raises(ConfigError, match='loss.mle_weight needs a generator with a likelihood'):
    validate(images)


def test_a_text_run_keeps_its_vocabulary_and_a_gan_starts_from_it(tmp_path):
  """coco_mle trains 2 steps on the fixture; sample.py's path decodes with the run's
  vocabulary, and coco_relgan started from that workdir takes its vocabulary and the G of its
  best checkpoint."""
  mle_dir, gan_dir = str(tmp_path / 'mle'), str(tmp_path / 'gan')
  mle = train_and_evaluate(tiny_config(_config('coco_mle')), mle_dir, quiet=True)
  saved = json.load(open(os.path.join(mle_dir, 'vocabulary.json')))
  assert saved['words'][:2] == list(text.SPECIAL)
  config, gan, state = evaluation.load_run(mle_dir)
  assert config.sequences.vocab_file == os.path.join(mle_dir, 'vocabulary.json')
  entry = structures.get(config)
  samples = entry.sample(gan, state, config, 12, generator='raw')
  written = entry.save_samples(samples, os.path.join(mle_dir, 'samples'), 'raw G', config)
  lines = open(written[1]).read().splitlines()
  vocab = text.Vocabulary(saved['words'], saved['length'])
  assert lines == [' '.join(s) for s in vocab.decode(samples)]
  curves = text_curves.sweep_run(mle_dir, [1.0, 0.5], 16, 'raw', 'best', 2, seed=3)
  at_1 = entry.evaluate(gan, state, config, 16, 3, 'raw')   # its best (nll_valid) is its last
  assert curves['checkpoint'] == 'best' and curves['step'] == 2
  assert [p['temperature'] for p in curves['points']] == [1.0, 0.5]
  assert {k: curves['points'][0][k] for k in at_1} == at_1
  assert len(curves['points'][1]['examples']) == 2
  assert curves['points'][1]['nll_valid'] != curves['points'][0]['nll_valid']
  assert text_curves.sweep_run(mle_dir, [0.5], 16, 'raw', 'best', 2, seed=3)['points'] == \
      curves['points'][1:]   # read back from the run's curve file, not scored again
  relgan = tiny_config(_config('coco_relgan'))
  relgan.model.init_generator = mle_dir
  os.makedirs(gan_dir)
  structures.get(relgan).bind_workdir(relgan, gan_dir)   # as the trainer does, before G
  assert json.load(open(os.path.join(gan_dir, 'vocabulary.json'))) == saved
  gan, example = evaluation.gan_and_example(relgan)
  # The MLE run trains on past its best (nll_valid, step 2) without choosing again: the GAN
  # starts from the G chosen on validation, not from the newest.
  longer = tiny_config(_config('coco_mle'), num_steps=4)
  longer.select_metric = ''
  newest = train_and_evaluate(longer, mle_dir, quiet=True)
  start = with_initial_generator(create_state(gan, jax.random.PRNGKey(0), example), mle_dir)
  for a, b in zip(jax.tree.leaves(start.g_params), jax.tree.leaves(mle.g_params)):
    np.testing.assert_array_equal(a, b)
  assert any(np.any(a != b) for a, b in zip(jax.tree.leaves(start.g_params),
                                            jax.tree.leaves(newest.g_params)))
  relgan.sequences.hidden = 16   # another G: refused in one line
  gan, example = evaluation.gan_and_example(relgan)
  with pytest.raises(ConfigError, match='holds a G with other parameters'):
    with_initial_generator(create_state(gan, jax.random.PRNGKey(0), example), mle_dir)


def test_reverse_lm_learns_from_the_sentences_it_is_given():
  train, test = text.training_and_validation(TEXT_FIXTURE, 4)
  vocab = text.build_vocabulary(text.read_split(TEXT_FIXTURE, 'train'))
  model = LSTMGenerator(vocab=vocab.size, embed=8, hidden=8, length=vocab.length,
                        start_token=text.END, end_token=text.END, pad_token=text.PAD)
  generated = vocab.encode(train * 4)
  untrained = text_metrics.reverse_lm_nll(model, generated, vocab.encode(test), epochs=0,
                                          batch_size=16)
  trained = text_metrics.reverse_lm_nll(model, generated, vocab.encode(test), epochs=30,
                                        batch_size=16)
  assert untrained == pytest.approx(math.log(vocab.size - 1), rel=0.05)   # never padding
  assert trained < untrained - 0.5
