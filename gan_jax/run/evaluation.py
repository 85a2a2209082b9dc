"""Scoring and sampling a run, whatever its structure: each entry of gan_jax.structures holds
its metrics (toy points: modes captured and high-quality share, 1D divergences; images: FID,
KID, precision/recall, density/coverage, inception score in the run's feature network,
config.eval_features: the project classifier's or FID's Inception-v3;
labelled images: accuracy, intra-FID, completion L1 and diversity; sequences: NLL-oracle and
NLL-test; graphs: SPECTRE's MMDs and V.U.N.). This module restores a run and looks its
structure up once."""

import json
import os

import jax

from gan_jax import structures
from gan_jax.core.state import create_state
from gan_jax.errors import ConfigError, require_choice
from gan_jax.run import selection
from gan_jax.run.checkpoint import Checkpointer
from gan_jax.run.config import build_gan, with_defaults
from gan_jax.structures.base import GENERATORS, check_generator

__all__ = ['CHECKPOINTS', 'GENERATORS', 'draw_from_model', 'evaluate', 'gan_and_example',
           'load_run', 'sample_metrics']


def evaluate(gan, state, config, num_samples: int, seed: int = 0, generator: str = 'ema') -> dict:
  """Every metric of the run's structure, for its 'ema' or 'raw' G."""
  check_generator(generator)
  return structures.get(config).evaluate(gan, state, config, num_samples, seed, generator)


def draw_from_model(gan, state, config, num_samples: int, seed: int = 0,
                    generator: str = 'ema'):
  """num_samples of the run's model, in its structure's export encoding (a label-to-image G
  with labels at their training shares: a model of p(x))."""
  check_generator(generator)
  return structures.get(config).sample(gan, state, config, num_samples, seed, generator)


def sample_metrics(samples, config) -> dict:
  """The structure's metrics of samples of its model of p(x), from any generator (a VAE's too)."""
  return structures.get(config).score_samples(samples, config)


def gan_and_example(config, structure=None):
  """(the GAN `config` describes, a zero example of its batch) for evaluating or restoring it;
  `structure`: the config's entry when the caller has looked it up already."""
  if structure is None:
    structure = structures.get(config)
  example = structure.example(config)
  return build_gan(config, example, structure), example


CHECKPOINTS = ('latest', 'best')


def load_run(workdir: str, data_dir=None, checkpoint: str = 'latest'):
  """(config, gan, state) of a workdir's newest readable checkpoint ('latest'), or of the one
  it kept for its best evaluation ('best', config.select_metric; gan_jax.run.selection)."""
  require_choice('checkpoint', checkpoint, CHECKPOINTS)
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise ConfigError(f'{workdir} holds no config.json; is it the --workdir of a training run?')
  config = with_defaults(json.load(open(path)))
  if data_dir:
    config.data.data_dir = data_dir
  structure = structures.get(config)
  structure.bind_workdir(config, workdir)
  gan, example = gan_and_example(config, structure)
  template = create_state(gan, jax.random.PRNGKey(config.seed), example)
  folder = os.path.join(workdir, 'checkpoints' if checkpoint == 'latest' else selection.FOLDER)
  state = Checkpointer(folder, 1).restore_latest(template)
  if state is None and checkpoint == 'best':
    raise ConfigError(f'no readable best checkpoint in {folder}: the run kept none (train it '
                      "with --config.select_metric, e.g. 'fid', and an evaluation schedule)")
  if state is None:
    raise ConfigError(f'no readable checkpoint in {folder}')
  return config, gan, state
