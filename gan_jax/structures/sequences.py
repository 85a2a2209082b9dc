"""Token sequences: SeqGAN's LSTM-oracle benchmark or real text (a folder of sentences, the COCO
captions by default), an LSTM generator (token ids for REINFORCE, or RelGAN's Gumbel-softmax
relaxation; trained by MLE with loss.mle_weight), SeqGAN's CNN critic. Oracle: NLL-oracle
(quality) beside NLL-test (diversity). Text: the text-GAN protocol of gan_jax.metrics.text
(BLEU-2..5 against the test sentences, self-BLEU-2..5, NLL per token of held-out sentences)."""

import functools
import os

import jax
import ml_collections
import numpy as np

from gan_jax import keys
from gan_jax.core.estimators import ESTIMATORS, REWARD_BASELINES
from gan_jax.core.objectives import OBJECTIVES
from gan_jax.core.steps import generate
from gan_jax.core.terms import TERMS
from gan_jax.data import images as image_data
from gan_jax.data import sequences as seqdata
from gan_jax.data import text as text_data
from gan_jax.errors import ConfigError, require_choice
from gan_jax.metrics import sequences as sequence_metrics
from gan_jax.metrics import text as text_metrics
from gan_jax.models.sequences import (OUTPUTS, SEQGAN_FILTER_SIZES, LSTMGenerator,
                                      SequenceDiscriminator)
from gan_jax.structures.base import Data, Structure, draw_samples, register, step_batches

DATASETS = (seqdata.ORACLE_DATASET, text_data.TEXT_DATASET)
VOCABULARY_FILE = 'vocabulary.json'   # a text run's vocabulary, in its workdir


def _write_tokens(path: str, header: str, tokens) -> None:
  with open(path, 'w') as f:
    f.write(header + '\n' + '\n'.join(' '.join(map(str, row)) for row in np.asarray(tokens)))


def is_text(config) -> bool:
  return config.data.name == text_data.TEXT_DATASET


@functools.lru_cache(maxsize=4)
def _file_vocabulary(text_dir: str, mtime: float) -> text_data.Vocabulary:
  del mtime   # in the key only
  return text_data.build_vocabulary(text_data.read_split(text_dir, 'train'))


def vocabulary(config) -> text_data.Vocabulary:
  """A text run's vocabulary: the one in its workdir (sequences.vocab_file) once written, else
  the training file's."""
  path = config.sequences.vocab_file
  if path and os.path.exists(path):
    return text_data.load_vocabulary(path)
  text_dir = os.path.abspath(config.sequences.text_dir)
  return _file_vocabulary(text_dir, os.path.getmtime(text_data.split_path(text_dir, 'train')))


@functools.lru_cache(maxsize=4)
def _references(text_dir: str, mtime: float) -> text_metrics.References:
  del mtime
  return text_metrics.References(text_data.read_split(text_dir, 'test'))


def references(config) -> text_metrics.References:
  """Every test sentence, summarised once for BLEU."""
  text_dir = os.path.abspath(config.sequences.text_dir)
  return _references(text_dir, os.path.getmtime(text_data.split_path(text_dir, 'test')))


def held_out(config, vocab: text_data.Vocabulary) -> dict:
  """The encoded sentences NLL is measured on: 'valid' (held out of the training file) and
  'test' (the test sentences the vocabulary covers; others have a word G cannot write)."""
  _, valid = text_data.training_and_validation(config.sequences.text_dir,
                                               config.sequences.valid_count)
  test = [s for s in text_data.read_split(config.sequences.text_dir, 'test') if vocab.covers(s)]
  return {name: vocab.encode(sentences) for name, sentences in (('valid', valid), ('test', test))
          if sentences}


def _tempered(state, temperature: float):
  """Both generators of `state` sampling at `temperature` (Caccia et al. 2020: every model's
  quality-diversity curve is traced by its softmax temperature); the NLLs of evaluate are then
  those of the tempered model."""
  if temperature == 1.0:
    return state
  return state.replace(g_params=seqdata.with_temperature(state.g_params, temperature),
                       ema_params=seqdata.with_temperature(state.ema_params, temperature))


def _inherited_vocabulary(config):
  """The vocabulary of the run G starts from (model.init_generator a workdir), if it has one."""
  path = os.path.join(config.model.init_generator, VOCABULARY_FILE)
  if config.model.init_generator and os.path.isdir(config.model.init_generator) \
      and os.path.exists(path):
    return text_data.load_vocabulary(path)
  return None


class Sequences(Structure):
  name = 'sequences'
  encoding = 'int32 (N, length) token ids; text: also the decoded sentences, one a line (.txt)'
  model_names = ('lstm',)
  generator_likelihood = True
  former_paths = {f'model.{field}': field for field in (
      'sequence_output', 'num_rollouts', 'reward_baseline', 'max_temperature',
      'temperature_steps')}

  def config_fields(self):
    c = ml_collections.ConfigDict()
    c.sequence_output = 'tokens'    # 'tokens' (REINFORCE, rollouts) or 'gumbel' (RelGAN)
    c.num_rollouts = 16             # tokens: Monte Carlo completions per prefix
    c.reward_baseline = 'none'      # tokens: 'none' (SeqGAN) or 'leave_one_out'
    c.max_temperature = 100.0       # gumbel: RelGAN's beta_max, reached after
    c.temperature_steps = 5000      #   this many G steps (beta_n = beta_max ** (n / N))
    c.text_dir = ''                 # data.name 'text': a folder holding train.txt and test.txt
    c.valid_count = 1000            # text: training sentences held out for validation
    c.vocab_file = ''               # set by the run: <workdir>/vocabulary.json
    c.embed = seqdata.EMBED         # G's embedding and LSTM sizes (the oracle's own, 32 and 32)
    c.hidden = seqdata.HIDDEN
    c.reverse_lm_epochs = 0         # text evaluation: > 0 also trains an LM on G's samples
    c.sample_temperature = 1.0      # evaluation and sample.py: G's logits / T (training: 1)
    return c

  def validate(self, config):
    model, loss, s = config.model, config.loss, config.sequences
    require_choice('data.name (sequences)', config.data.name, DATASETS)
    if model.name != 'lstm':
      raise ConfigError(f"sequences are generated by the 'lstm' pair; set model.name='lstm' "
                        f'(got {model.name!r})')
    require_choice('sequences.sequence_output', s.sequence_output, OUTPUTS)
    require_choice('sequences.reward_baseline', s.reward_baseline, REWARD_BASELINES)
    for field in ('num_rollouts', 'temperature_steps'):
      if s[field] < 1:
        raise ConfigError(f'sequences.{field} must be >= 1, got {s[field]}')
    if not s.max_temperature >= 1.0:
      raise ConfigError("sequences.max_temperature (the largest inverse temperature, RelGAN's "
                        f'beta_max) must be >= 1, got {s.max_temperature}')
    if s.sequence_output == 'tokens' and OBJECTIVES[loss.name].g_uses_real \
        and loss.adversarial_weight > 0:
      raise ConfigError(f'loss {loss.name!r} compares G\'s samples with the real batch, '
                        "which has no per-sequence reward; use sequences.sequence_output='gumbel' "
                        'or another loss')
    if loss.adversarial_weight == 0 and loss.mle_weight == 0:
      raise ConfigError('G learns nothing with loss.adversarial_weight and loss.mle_weight both '
                        '0; set one above 0 (MLE: mle_weight=1, adversarial_weight=0)')
    if not s.sample_temperature > 0:
      raise ConfigError(f'sequences.sample_temperature must be > 0, got {s.sample_temperature}')
    if min(s.embed, s.hidden) < 1 or s.valid_count < 0 or s.reverse_lm_epochs < 0:
      raise ConfigError('sequences.embed and sequences.hidden must be >= 1, sequences.valid_count '
                        f'and reverse_lm_epochs >= 0 (got {s.embed}, {s.hidden}, '
                        f'{s.valid_count}, {s.reverse_lm_epochs})')
    if is_text(config):
      for split in text_data.SPLITS:   # one line naming the setting, before any work
        text_data.split_path(s.text_dir, split)

  def claims_legacy(self, data, model):
    return data.get('name') == seqdata.ORACLE_DATASET

  def bind_workdir(self, config, workdir):
    """A text run keeps its vocabulary in its workdir, so a resumed run, evaluate.py and
    sample.py encode and decode as it trained; a run that starts from another run's G
    (model.init_generator a workdir) takes that run's vocabulary."""
    if not is_text(config):
      return
    path = os.path.join(workdir, VOCABULARY_FILE)
    inherited = _inherited_vocabulary(config)
    if os.path.exists(path):
      if inherited is not None and text_data.load_vocabulary(path) != inherited:
        raise ConfigError(f'{path} differs from the vocabulary of model.init_generator '
                          f'{config.model.init_generator!r}; use a fresh --workdir')
    else:
      text_data.save_vocabulary(inherited or vocabulary(config), path)
    config.sequences.vocab_file = path

  def make_data(self, config, n_critic, process_index=0, process_count=1):
    if is_text(config):
      train, _ = text_data.training_and_validation(config.sequences.text_dir,
                                                   config.sequences.valid_count)
      tokens = vocabulary(config).encode(train)
    else:
      tokens = seqdata.oracle_dataset('train')
    source = image_data.ImageBatches(tokens, config.batch_size, config.seed, process_index,
                                     process_count)
    return Data(self.example(config), step_batches(source, n_critic))

  def example(self, config):
    length = vocabulary(config).length if is_text(config) else seqdata.LENGTH
    return np.zeros((length,), np.int32)

  def build_models(self, config, example):
    s, length = config.sequences, example.shape[0]
    if is_text(config):
      ends = dict(vocab=vocabulary(config).size, start_token=text_data.END,
                  end_token=text_data.END, pad_token=text_data.PAD)
    else:
      ends = dict(vocab=seqdata.VOCAB)
    generator = LSTMGenerator(embed=s.embed, hidden=s.hidden,
                              length=length, output=s.sequence_output,
                              max_temperature=s.max_temperature,
                              temperature_steps=s.temperature_steps, **ends)
    # SeqGAN's windows that fit the length (a quarter of its filters, the default).
    default = SequenceDiscriminator.num_filters
    widths = [(w, n) for w, n in zip(SEQGAN_FILTER_SIZES, default) if w <= length]
    discriminator = SequenceDiscriminator(vocab=ends['vocab'],
                                          filter_sizes=tuple(w for w, _ in widths),
                                          num_filters=tuple(n for _, n in widths))
    return generator, discriminator

  def gan_options(self, config):
    s, loss = config.sequences, config.loss
    options = {'joint_d_call': False}   # token ids and relaxed one-hot vectors differ in kind
    if loss.mle_weight > 0:
      options['terms'] = (TERMS['mle'](loss.mle_weight),)
    if loss.adversarial_weight == 0:   # MLE alone: no rollouts, no gradient through D
      options['g_estimator'] = ESTIMATORS['terms_only']()
    elif s.sequence_output == 'tokens':   # discrete samples: REINFORCE with rollouts
      options['g_estimator'] = ESTIMATORS['score_function'](
          num_rollouts=s.num_rollouts, reward_baseline=s.reward_baseline)
    return options

  def sample(self, gan, state, config, num_samples, seed=0, generator='ema'):
    state = _tempered(state, config.sequences.sample_temperature)
    return draw_samples(gan, state, num_samples, seed, generator).astype(np.int32)

  def score_samples(self, samples, config):
    """Oracle: NLL-oracle. Text: BLEU-2..5 against every test sentence and self-BLEU-2..5 of
    the decoded samples, and their mean length in words."""
    if not is_text(config):
      return {'nll_oracle': sequence_metrics.nll_oracle(seqdata.oracle_params(), samples)}
    sentences = vocabulary(config).decode(samples)
    return {**text_metrics.bleu(sentences, references(config)),
            **text_metrics.self_bleu(sentences),
            'mean_length': float(np.mean([len(s) for s in sentences]))}

  def evaluate(self, gan, state, config, num_samples, seed=0, generator='ema'):
    """score_samples of num_samples sequences, and G's NLL per token of held-out data
    (oracle: the test split; text: nll_valid and nll_test, end tokens counted, padding not)."""
    samples = self.sample(gan, state, config, num_samples, seed, generator)
    state = _tempered(state, config.sequences.sample_temperature)
    params = state.ema_params if generator == 'ema' else state.g_params
    log_prob = jax.jit(lambda tokens: gan.generator.apply({'params': params}, tokens,
                                                          method='log_prob'))
    results = {'num_samples': num_samples, 'generator': generator,
               **self.score_samples(samples, config)}
    if not is_text(config):
      return {**results, 'nll_test': sequence_metrics.nll_test(
          log_prob, seqdata.oracle_dataset('test'))}
    data = held_out(config, vocabulary(config))
    results.update({f'nll_{name}': text_metrics.token_nll(log_prob, tokens)
                    for name, tokens in data.items()})
    results['nll_test_sentences'] = len(data.get('test', ()))
    if config.sequences.reverse_lm_epochs and 'test' in data:
      fresh = gan.generator.clone(output='tokens')
      results['reverse_lm_nll'] = text_metrics.reverse_lm_nll(
          fresh, samples, data['test'], config.sequences.reverse_lm_epochs, seed)
    return results

  def save_samples(self, samples, stem, title, config=None):
    """stem.npy (token ids) and stem.txt: text runs' decoded sentences, every one, one a line;
    the oracle's first 8 rows of token ids under a title."""
    np.save(stem + '.npy', samples.astype(np.int32))
    if config is not None and is_text(config):
      with open(stem + '.txt', 'w') as f:
        f.write('\n'.join(' '.join(s) for s in vocabulary(config).decode(samples)) + '\n')
    else:
      _write_tokens(stem + '.txt', f'{title}, the first 8 of {len(samples)}', samples[:8])
    return [stem + '.npy', stem + '.txt']

  def draw(self, gan, state, config, data, fixed_z, path_stem, title):
    """The first 8 sequences: token ids (oracle) or sentences (text)."""
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), keys.PLOT)
    tokens = generate(gan, state, fixed_z[:8], config.shown_generator == 'ema', key)
    if is_text(config):
      with open(path_stem + '.txt', 'w') as f:
        f.write(title + '\n' + '\n'.join(' '.join(s) for s in vocabulary(config).decode(tokens)))
    else:
      _write_tokens(path_stem + '.txt', title, tokens)
    return path_stem + '.txt'


SEQUENCES = register(Sequences())
