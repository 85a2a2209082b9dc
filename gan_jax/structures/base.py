"""What every structure entry provides, the registry it is added to, and the helpers entries
share."""

from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from gan_jax import keys
from gan_jax.core.steps import generate
from gan_jax.errors import ConfigError, require_choice
from gan_jax.tools import plots

GENERATORS = ('ema', 'raw')
# What the trainer calls that has no default: an entry without one of them could not train.
REQUIRED_METHODS = ('make_data', 'example', 'build_models')

REGISTRY = {}


class Data(NamedTuple):
  """A run's training data: batches a pure function of the step (no iterator state to save)."""
  example: Any                 # one zero example (a dict for conditional batches): init, restore
  batches: Callable            # step -> this host's (n_critic, local_batch, ...) arrays
  picture: Any = None          # what the structure's training picture needs (mixture, grid batch)

  @property
  def example_shape(self) -> tuple:
    """The shape of one example of the data (of 'x' in a conditional batch)."""
    x = self.example['x'] if isinstance(self.example, dict) else self.example
    return tuple(x.shape)


class StudyProtocol(NamedTuple):
  """How experiments/study.py (Lucic et al. 2018, small) trains, ranks and reports runs of one
  kind of output: the entry says it, so the script never tells kinds apart by the data's name."""
  metric: str                  # the evaluate() field runs are ranked by
  label: str                   # its axis label in the figures
  short: str                   # its name in the printout
  higher_is_better: bool
  digits: int                  # decimals of each run's value in the printout
  toy: bool = False            # toy data: --toy_steps, lr around 1e-3, 2,500 samples scored, a
                               # 2-d VAE code; no --epochs curve and no tuned settings
  means: tuple = ()            # (table field, evaluate() field): run means the table adds


class Structure:
  """One kind of output. Subclasses override what differs; the defaults fit an unconditional G
  whose samples are float arrays.

  Attributes:
    name: the value of `config.structure` that selects it.
    encoding: one line on what `experiments/sample.py` writes for it (README quotes these).
    eval_samples: the sample size `experiments/evaluate.py` scores by default.
    vae_likelihood: the pixel-wise likelihood of a VAE of this data (gan_jax.run.study).
    holds_out_validation: whether data.validation applies (its data are an image split).
    generator_likelihood: whether G has a `log_prob` of the data, so MLE (loss.mle_weight)
      can train it.
  """
  name: str = ''
  encoding: str = ''
  eval_samples: int = 10000    # what experiments/evaluate.py draws unless told otherwise
  # The values of config.model.name it builds: config validation accepts a model.name only if
  # some registered entry builds it, whatever the run's structure.
  model_names: tuple = ()
  vae_likelihood: str = 'gaussian'   # images: 'bernoulli' (gan_jax.lecture.autoencoder.Decoder)
  # Where its own fields were saved before they moved into config.<name>: a former dotted path
  # -> the field. Saved configs (a run's config.json, a result's 'config') are read through it
  # (gan_jax.run.config.with_defaults), and a command line naming a former path is told the
  # new one (gan_jax.run.cli).
  former_paths: dict = {}
  holds_out_validation: bool = False
  generator_likelihood: bool = False

  # --- configuration -----------------------------------------------------------------------
  def config_fields(self):
    """A ConfigDict of the structure's own settings, added to base_config() as config[name];
    None when it has none. Every run's config holds every entry's fields; a run may set only
    its own structure's (gan_jax.run.config.validate)."""
    return None

  def validate(self, config) -> None:
    """Raises ConfigError with a one-line fix for any value of its fields it cannot use."""

  def d_normalizes_batch(self, config) -> bool:
    """Whether D normalises over the batch (BatchNorm): penalties then cannot apply."""
    return False

  def claims_legacy(self, data: dict, model: dict) -> bool:
    """Whether a config.json saved before `config.structure` existed describes this structure."""
    return False

  # --- what a run is made of ---------------------------------------------------------------
  def bind_workdir(self, config, workdir: str) -> None:
    """Points the config at files the structure keeps in the run's workdir (called by the
    trainer and by load_run before any data is made); by default there are none."""

  def make_data(self, config, n_critic: int, process_index: int = 0,
                process_count: int = 1) -> Data:
    raise NotImplementedError

  def example(self, config):
    """A zero example of the batch (no training data read where avoidable): to restore a run."""
    raise NotImplementedError

  def build_models(self, config, example):
    """(generator, discriminator) Flax modules for examples like `example`."""
    raise NotImplementedError

  def gan_options(self, config) -> dict:
    """GAN fields the structure decides: preprocess, condition, joint_d_call."""
    return {}

  # --- what a run gives back ---------------------------------------------------------------
  def sample(self, gan, state, config, num_samples: int, seed: int = 0,
             generator: str = 'ema') -> np.ndarray:
    """num_samples of the run's model, in the encoding `sample.py` exports."""
    return draw_samples(gan, state, num_samples, seed, generator)

  def evaluate(self, gan, state, config, num_samples: int, seed: int = 0,
               generator: str = 'ema') -> dict:
    """Every metric that applies to the structure, for the run's G: by default
    `score_samples` of num_samples of an unconditional G."""
    samples = draw_samples(gan, state, num_samples, seed, generator)
    return {'num_samples': num_samples, 'generator': generator,
            **self.score_samples(samples, config)}

  def score_samples(self, samples: np.ndarray, config) -> dict:
    """The metrics of samples of the structure's p(x) (from G, or from another model: a VAE)."""
    raise ConfigError(f'structure {self.name!r} has no metrics here; set --config.eval_every=0')

  def check_evaluable(self, config) -> None:
    """A ConfigError before training when evaluation during training cannot work."""

  def check_draws(self, config) -> None:
    """A ConfigError before a script trains for `evaluate_draws` when the structure has none."""
    raise ConfigError(f"structure {self.name!r} has no protocol of independent draws (SPECTRE's, "
                      'of graphs); use a graph config')

  def evaluate_draws(self, sampler, config, seed: int = 0):
    """A benchmark's protocol of independent draws scored against its test split (graphs:
    SPECTRE's): (the scores, the first draw). sampler(n, seed) -> n samples in the encoding."""
    self.check_draws(config)
    raise NotImplementedError

  def study_protocol(self, config) -> StudyProtocol:
    """How experiments/study.py ranks and reports runs of this kind of output."""
    raise ConfigError(f'structure {self.name!r} has no protocol in experiments/study.py; '
                      'give --datasets of toy points or images')

  def save_samples(self, samples: np.ndarray, stem: str, title: str, config=None) -> list:
    """Writes stem.npy and a picture or text beside it (what the run's config says they are:
    token sequences are decoded with the run's vocabulary); returns the paths written."""
    np.save(stem + '.npy', samples)
    return [stem + '.npy']

  def draw(self, gan, state, config, data: Data, fixed_z, path_stem: str, title: str):
    """The training picture of G at this step (`path_stem` + its extension); returns the path,
    or None. By default a generic picture of G(fixed_z) where one exists, so an entry without
    its own still trains to the end: a scatter (histogram in 1D) of (N, 1 or 2) points, a grid
    of (N, H, W, 1 or 3) images in [-1, 1]; nothing for other samples or a conditional G
    (whose samples need a batch's conditions)."""
    if gan.condition is not None:
      return None
    key = keys.fold(jax.random.PRNGKey(config.seed), keys.PLOT)
    x = np.asarray(generate(gan, state, fixed_z, config.shown_generator == 'ema', key))
    if not np.issubdtype(x.dtype, np.floating):
      return None
    path = path_stem + '.png'
    if x.ndim == 2 and x.shape[1] in (1, 2):
      plots.save_points(x, path, title)
    elif x.ndim == 4 and x.shape[-1] in (1, 3):
      plots.save_image_grid(x[:64], path, f'{title}: G(z) for a fixed z')
    else:
      return None
    return path


def register(structure: Structure) -> Structure:
  """Adds an entry and returns it. A name belongs to one class (the same file imported twice,
  by module name and by path, registers its class again: allowed). An entry that does not
  define every method of REQUIRED_METHODS stops here, in one line, not at its first step."""
  kind = type(structure).__qualname__
  if not structure.name:
    raise ConfigError(f'structure {kind} needs a name (the value of config.structure)')
  missing = [m for m in REQUIRED_METHODS if getattr(type(structure), m) is getattr(Structure, m)]
  if missing:
    raise ConfigError(f'structure {structure.name!r} ({kind}) does not define '
                      f'{", ".join(missing)}; every entry needs {", ".join(REQUIRED_METHODS)}')
  existing = REGISTRY.get(structure.name)
  if existing is not None and type(existing).__qualname__ != kind:
    raise ConfigError(f'structure {structure.name!r} is already registered by '
                      f'{type(existing).__qualname__}')
  REGISTRY[structure.name] = structure
  return structure


def draw_samples(gan, state, num_samples: int, seed: int, generator: str = 'ema',
                 batch_size: int = 1000, sampled: bool = True) -> np.ndarray:
  """num_samples of G(z), z ~ N(0, I), on the host, from the 'ema' or the 'raw' generator.
  sampled=False gives G no 'sample' key: a G that draws its output (Bernoulli edges) returns
  its most likely one per z instead."""
  check_generator(generator)
  sample = jax.jit(lambda state, z, key: generate(gan, state, z, generator == 'ema', key))
  key = keys.fold(jax.random.PRNGKey(seed), keys.EVAL)
  out = []
  for start in range(0, num_samples, batch_size):
    batch_key = jax.random.fold_in(key, start)
    z = jax.random.normal(batch_key, (batch_size, gan.z_dim))
    out.append(np.asarray(sample(state, z, keys.fold(batch_key, keys.SAMPLE) if sampled
                                 else None)))
  return np.concatenate(out)[:num_samples]


def check_generator(generator: str) -> None:
  require_choice('generator', generator, GENERATORS)


def step_batches(source, n_critic: int) -> Callable:
  """step -> the n_critic consecutive batches of a source with `.batch(index)`, stacked (dicts
  are stacked key by key)."""
  def batches(step):
    parts = [source.batch(step * n_critic + i) for i in range(n_critic)]
    if isinstance(parts[0], dict):
      return {k: np.stack([p[k] for p in parts]) for k in parts[0]}
    return np.stack(parts)
  return batches
