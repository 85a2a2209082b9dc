"""Real text for the sequence structure: a folder with train.txt and test.txt, one sentence a line
(the "Image COCO" captions of LeakGAN, RelGAN and Texygen by default).

The text-GAN protocol (Texygen utils/text_process.py): lower case, NLTK's Treebank word tokens,
a vocabulary of the training file, every caption padded to the longest training caption. Here
the vocabulary also holds two tokens of its own, id 0 the padding and id 1 the end of sentence
(also G's start input); a caption of k words is its k word ids, the end token, and padding up
to `length` = the longest training caption + 1. A fixed seeded choice of `valid_count` training
captions is held out of the training batches for validation (its words stay in the vocabulary,
which is the whole training file's, as the papers' ~4,700 words are).
"""

import functools
import hashlib
import json
import os
import re
from typing import List, Sequence, Tuple

import numpy as np

from gan_jax.errors import ConfigError

TEXT_DATASET = 'text'       # config.data.name of a text folder
PAD, END = 0, 1             # token ids of the padding and the end of sentence
SPECIAL = ('<pad>', '<eos>')
VALID_SEED = 0              # the held-out captions are the same whatever the run's seed
SPLITS = ('train', 'test')

# NLTK's TreebankWordTokenizer (nltk/tokenize/treebank.py, version 3.10), rule for rule, without
# its options (parentheses kept as they are). Applied in this order to one line of text.
_STARTING_QUOTES = [(r'^"', '``'), (r'(``)', r' \1 '), (r'([ \(\[{<])("|\'{2})', r'\1 `` ')]
_PUNCTUATION = [
    (r'([:,])([^\d])', r' \1 \2'),
    (r'([:,])$', r' \1 '),
    (r'\.\.\.', ' ... '),
    (r'[;@#$%&]', r' \g<0> '),
    (r'([^\.])(\.)([\]\)}>"\']*)\s*$', r'\1 \2\3 '),   # a final period only
    (r'[?!]', r' \g<0> '),
    (r"([^'])' ", r"\1 ' "),
    (r'[\]\[\(\)\{\}\<\>]', r' \g<0> '),                # parentheses and brackets
    (r'--', ' -- '),
]
_ENDING_QUOTES = [
    (r"''", " '' "),
    (r'"', " '' "),
    (r"([^' ])('[sS]|'[mM]|'[dD]|') ", r'\1 \2 '),
    (r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r'\1 \2 '),
]
# Robert MacIntyre's contractions, split into two tokens ("cannot" -> "can not").
_CONTRACTIONS = [r'(?i)\b(can)(not)\b', r"(?i)\b(d)('ye)\b", r'(?i)\b(gim)(me)\b',
                 r'(?i)\b(gon)(na)\b', r'(?i)\b(got)(ta)\b', r'(?i)\b(lem)(me)\b',
                 r"(?i)\b(more)('n)\b", r'(?i)\b(wan)(na)(?=\s)', r"(?i) ('t)(is)\b",
                 r"(?i) ('t)(was)\b"]
_RULES = ([(re.compile(p), s) for p, s in _STARTING_QUOTES + _PUNCTUATION],
          [(re.compile(p), s) for p, s in _ENDING_QUOTES]
          + [(re.compile(p), r' \1 \2 ') for p in _CONTRACTIONS])


def tokenize(line: str) -> List[str]:
  """One line as the protocol's word tokens: lower-cased, then Treebank's rules."""
  text = line.lower()
  for pattern, replacement in _RULES[0]:
    text = pattern.sub(replacement, text)
  text = f' {text} '
  for pattern, replacement in _RULES[1]:
    text = pattern.sub(replacement, text)
  return text.split()


class Vocabulary:
  """Words by id (0 and 1 the padding and the end token) and the sequence length of a run."""

  def __init__(self, words: Sequence[str], length: int):
    self.words, self.length = tuple(words), int(length)
    self.ids = {w: i for i, w in enumerate(self.words)}

  @property
  def size(self) -> int:
    return len(self.words)

  def __eq__(self, other) -> bool:
    return (isinstance(other, Vocabulary) and self.words == other.words
            and self.length == other.length)

  def covers(self, sentence: Sequence[str]) -> bool:
    """Whether every word is in the vocabulary and, with its end token, fits `length`."""
    return len(sentence) < self.length and all(w in self.ids for w in sentence)

  def encode(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """(n, length) int32: each sentence's word ids, the end token, then padding."""
    out = np.full((len(sentences), self.length), PAD, np.int32)
    for row, sentence in zip(out, sentences):
      if not self.covers(sentence):
        raise ConfigError(f'a sentence of {len(sentence)} tokens is outside the vocabulary or '
                          f'longer than {self.length - 1} tokens: {" ".join(sentence)[:80]!r}')
      row[:len(sentence) + 1] = [self.ids[w] for w in sentence] + [END]
    return out

  def decode(self, tokens) -> List[List[str]]:
    """The words of each row up to its first end token (padding and special tokens dropped)."""
    out = []
    for row in np.asarray(tokens):
      ends = np.flatnonzero(row == END)
      row = row[:ends[0]] if len(ends) else row
      out.append([self.words[i] for i in row if i >= len(SPECIAL)])
    return out


def build_vocabulary(sentences: Sequence[Sequence[str]]) -> Vocabulary:
  """The special tokens, then the words by decreasing count (ties alphabetical), so a file's
  vocabulary does not depend on the order of its lines."""
  counts = {}
  for sentence in sentences:
    for word in sentence:
      counts[word] = counts.get(word, 0) + 1
  words = sorted(counts, key=lambda w: (-counts[w], w))
  return Vocabulary(SPECIAL + tuple(words), max(map(len, sentences)) + 1)


def save_vocabulary(vocabulary: Vocabulary, path: str) -> None:
  """A JSON file, written whole or not at all (several processes may write it)."""
  temporary = f'{path}.{os.getpid()}.tmp'
  with open(temporary, 'w') as f:
    json.dump({'length': vocabulary.length, 'words': list(vocabulary.words)}, f)
  os.replace(temporary, path)


def load_vocabulary(path: str) -> Vocabulary:
  try:
    with open(path) as f:
      saved = json.load(f)
    vocabulary = Vocabulary(tuple(saved['words']), int(saved['length']))
  except (OSError, ValueError, KeyError, TypeError) as error:
    raise ConfigError(f'cannot read the vocabulary {path!r} ({type(error).__name__}); it is '
                      'written by the run that trained in its workdir') from None
  if vocabulary.words[:len(SPECIAL)] != SPECIAL:
    raise ConfigError(f'{path!r} is not a vocabulary of this version (it must start with '
                      f'{SPECIAL})')
  return vocabulary


def split_path(text_dir: str, split: str) -> str:
  """The file of a split; a one-line ConfigError naming the setting when it is missing."""
  path = os.path.join(text_dir or '', f'{split}.txt')
  if not text_dir or not os.path.isfile(path):
    raise ConfigError(f'sequences.text_dir {text_dir!r} has no {split}.txt; set '
                      '--config.sequences.text_dir to a folder with train.txt and test.txt (one '
                      'sentence a line; the COCO captions: shared/data/text/coco_captions)')
  return path


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> Tuple[Tuple[str, ...], ...]:
  del mtime   # in the key only: an edited file is read again
  with open(path, encoding='utf-8') as f:
    return tuple(tuple(tokenize(line)) for line in f if line.strip())


def read_split(text_dir: str, split: str) -> Tuple[Tuple[str, ...], ...]:
  """The tokenized non-empty lines of train.txt or test.txt (cached, read-only tuples)."""
  if split not in SPLITS:
    raise ValueError(f'unknown split {split!r}; choose one of {SPLITS}')
  path = split_path(text_dir, split)
  sentences = _read(os.path.abspath(path), os.path.getmtime(path))
  if not sentences:
    raise ConfigError(f'{path} holds no text; give one sentence a line')
  return sentences


def file_digest(text_dir: str, split: str) -> str:
  """sha256 of a split's file, to record which text a run read."""
  with open(split_path(text_dir, split), 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def valid_indices(n: int, valid_count: int) -> np.ndarray:
  """Which of n training-file lines are held out for validation: a fixed seeded choice, sorted."""
  if not 0 <= valid_count < n:
    raise ConfigError(f'sequences.valid_count must be in [0, {n}) for a training file of {n} '
                      f'sentences, got {valid_count}')
  return np.sort(np.random.default_rng(VALID_SEED).permutation(n)[:valid_count])


def training_and_validation(text_dir: str, valid_count: int):
  """(training sentences, held-out validation sentences) of the training file."""
  sentences = read_split(text_dir, 'train')
  held = np.zeros(len(sentences), bool)
  held[valid_indices(len(sentences), valid_count)] = True
  return ([s for s, h in zip(sentences, held) if not h],
          [s for s, h in zip(sentences, held) if h])
