"""The ceiling of the text protocol: real captions scored as if generated, with the metric code
every text run is scored by (gan_jax.metrics.text).

python experiments/text_ceiling.py --workdir=workdirs/text_ceiling

For each N of --num_sentences: N training-file captions (a seeded choice; all of them at N =
the file's size) as hypotheses against every test caption, and N test captions against every
training caption: BLEU-2..5, self-BLEU-2..5 among the N, mean length. A model's BLEU near the
first row is as close to the test captions as held-out human captions are; its self-BLEU at the
same N says whether it got there by repeating itself (self-BLEU grows with N: compare at equal
N). One more row scores the training captions against the first --fast_references test captions
only, as Texygen's fast mode does (its get_bleu_fast keeps the first 500 references): BLEU there
is lower, and not comparable with the full protocol. --reverse_lm_epochs > 0 adds the reverse-LM
score of the training captions (an LM trained on them, its NLL per token of the test captions).

Writes <workdir>/coco_ceiling.json; experiments/results/coco_ceiling.json is this file for the
COCO captions with the defaults (docs/structured.md quotes it).
"""

import time

import numpy as np
from absl import flags

from gan_jax.data import text
from gan_jax.errors import ConfigError
from gan_jax.metrics import text as text_metrics
from gan_jax.run import cli
from experiments.configs.coco_mle import COCO_CAPTIONS

_WORKDIR = cli.define_workdir()
_TEXT_DIR = flags.DEFINE_string('text_dir', COCO_CAPTIONS,
                                'A folder holding train.txt and test.txt.')
_NUM_SENTENCES = flags.DEFINE_list('num_sentences', ['1000', '10000'],
                                   'Hypotheses per row (capped at the file size).')
_FAST_REFERENCES = flags.DEFINE_integer('fast_references', 500, "References of Texygen's fast "
                                        'mode, the first test captions (0: no such row).')
_REVERSE_LM_EPOCHS = flags.DEFINE_integer('reverse_lm_epochs', 0,
                                          'Epochs of the reverse LM on the training captions '
                                          '(0: not measured).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the choice of N captions.')


def choose(sentences, n: int, seed: int):
  """n sentences in file order: a seeded choice, or every one when n reaches the file's size."""
  if n >= len(sentences):
    return list(sentences)
  chosen = np.sort(np.random.default_rng(seed).permutation(len(sentences))[:n])
  return [sentences[i] for i in chosen]


def score(hypotheses, references, label: dict) -> dict:
  start = time.perf_counter()
  row = {**label, 'num_sentences': len(hypotheses),
         **text_metrics.bleu(hypotheses, references), **text_metrics.self_bleu(hypotheses),
         'mean_length': float(np.mean([len(s) for s in hypotheses]))}
  row['seconds'] = time.perf_counter() - start
  print(' '.join(f'{k} {v:.4f}' if isinstance(v, float) else f'{k} {v}'
                 for k, v in row.items()), flush=True)
  return row


def main(argv):
  del argv
  try:
    sizes = [int(n) for n in _NUM_SENTENCES.value]
  except ValueError:
    raise ConfigError(f'--num_sentences must be integers, got {_NUM_SENTENCES.value}') from None
  if not sizes or min(sizes) < 2:
    raise ConfigError('--num_sentences must be at least 2 (self-BLEU leaves one out)')
  workdir = cli.open_workdir(_WORKDIR)
  start = time.perf_counter()
  splits = {s: text.read_split(_TEXT_DIR.value, s) for s in text.SPLITS}
  references = {s: text_metrics.References(splits[s]) for s in text.SPLITS}
  vocab = text.build_vocabulary(splits['train'])
  report = {
      'text_dir': _TEXT_DIR.value,
      'sha256': {s: text.file_digest(_TEXT_DIR.value, s) for s in text.SPLITS},
      'protocol': 'BLEU-n: NLTK sentence_bleu, weights (1/n,)*n, SmoothingFunction().method1, '
                  'every sentence of the other file as references, mean over hypotheses; '
                  'self-BLEU-n: the same of each hypothesis against the other hypotheses; '
                  'lower-cased Treebank word tokens',
      'sentences': {s: len(splits[s]) for s in text.SPLITS},
      'vocabulary_words': vocab.size - len(text.SPECIAL),
      'longest': {s: max(map(len, splits[s])) for s in text.SPLITS},
      'test_sentences_in_vocabulary': sum(vocab.covers(s) for s in splits['test']),
      'seed': _SEED.value, 'rows': []}
  for n in sizes:
    for hyp, ref in (('train', 'test'), ('test', 'train')):
      report['rows'].append(score(choose(splits[hyp], n, _SEED.value), references[ref],
                                  {'hypotheses': hyp, 'references': ref}))
  if _FAST_REFERENCES.value:
    fast = text_metrics.References(splits['test'][:_FAST_REFERENCES.value])
    report['rows'].append(score(choose(splits['train'], max(sizes), _SEED.value), fast,
                                {'hypotheses': 'train',
                                 'references': f'test[:{_FAST_REFERENCES.value}]'}))
  if _REVERSE_LM_EPOCHS.value:
    from gan_jax.models.sequences import LSTMGenerator
    model = LSTMGenerator(vocab=vocab.size, length=vocab.length, start_token=text.END,
                          end_token=text.END, pad_token=text.PAD)
    test = vocab.encode([s for s in splits['test'] if vocab.covers(s)])
    report['reverse_lm'] = {
        'epochs': _REVERSE_LM_EPOCHS.value, 'trained_on': 'train', 'scored_on': 'test',
        'nll': text_metrics.reverse_lm_nll(model, vocab.encode(splits['train']), test,
                                           _REVERSE_LM_EPOCHS.value, _SEED.value)}
  report['seconds'] = time.perf_counter() - start
  cli.write_report(workdir, report, 'coco_ceiling.json')


if __name__ == '__main__':
  cli.run(main)
