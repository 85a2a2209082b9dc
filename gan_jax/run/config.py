"""The default experiment config, its validation, and the GAN it describes."""

import json

import ml_collections
import numpy as np
import optax
from flax import traverse_util

from gan_jax import structures
from gan_jax.core import objectives
from gan_jax.core.estimators import REWARD_BASELINES
from gan_jax.core.state import GAN
from gan_jax.errors import ConfigError, require_choice
from gan_jax.metrics import features
from gan_jax.models.conditional import G_CONDITIONING
from gan_jax.models.dcgan import RESAMPLE
from gan_jax.models.layers import DTYPES
from gan_jax.models.sequences import OUTPUTS
from gan_jax.structures.labeled_images import CONDITIONS


def base_config() -> ml_collections.ConfigDict:
  """Every field an experiment may set; configs in experiments/configs/ change a few."""
  c = ml_collections.ConfigDict()
  # The kind of output: a key of gan_jax.structures.REGISTRY (points, images, labeled_images,
  # sequences, graphs), which says how to batch, build, score, draw and export it.
  c.structure = 'points'
  c.structure_module = ''        # a .py file registering a structure defined outside gan_jax
  c.seed = 0
  c.num_steps = 2000             # G updates
  c.train_minutes = 0.0          # > 0: also stop after this many minutes of training (wall clock,
                                 #   drawing and evaluation excluded; resumes count on)
  c.batch_size = 64              # global, over all devices and hosts
  c.n_critic = ml_collections.config_dict.placeholder(int)   # D steps per G step; None: the loss's
  c.g_samples = 'fresh'          # the G step's samples: 'fresh', or 'reuse' the D step's (n_critic 1)
  c.ema_decay = 0.999            # after a warm-up: decay_t = min(ema_decay, (1 + t) / (10 + t))

  c.data = ml_collections.ConfigDict()
  c.data.name = 'ring8'          # a toy (ring8, grid25, mixture1d, gaussian1d), 'folder' or TFDS
  c.data.split = 'train'
  c.data.data_dir = ml_collections.config_dict.placeholder(str)   # else $TFDS_DATA_DIR
  c.data.download = False        # never touch the network unless asked
  c.data.image_size = ml_collections.config_dict.placeholder(int)  # centre crop + resize
  # data.name 'folder': your own PNG/JPEG files, one subfolder per class or none (unlabelled);
  # see gan_jax.data.images.read_folder.
  c.data.folder = ''
  # k > 0: label-to-image models train on k-means clusters of the pixels instead of the labels
  # (gan_jax.data.clusters; model.num_classes = k): an unsupervised model of p(x).
  c.data.pseudo_labels = 0
  c.data.labels_file = ''        # set by the run: where a pseudo-label run keeps its clusters

  c.model = ml_collections.ConfigDict()
  c.model.name = 'mlp'           # mlp | dcgan | resnet | lstm: Structure.model_names
  c.model.z_dim = 2
  c.model.g_features = 128      # width: of hidden layers (mlp) or of the last conv stage
  c.model.d_features = 128
  c.model.mlp_depth = 3          # hidden layers of the mlp models
  c.model.d_batch_norm = True
  c.model.spectral_norm = False
  c.model.compute_dtype = 'float32'      # or bfloat16 (params stay float32)
  c.model.resample = 'space_to_depth'    # dcgan: or lax (nn.Conv/ConvTranspose: same params, outputs)
  c.model.sequence_output = 'tokens'     # lstm: 'tokens' (REINFORCE, rollouts) or 'gumbel' (RelGAN)
  c.model.num_rollouts = 16              # lstm tokens: Monte Carlo completions per prefix
  c.model.reward_baseline = 'none'       # lstm tokens: 'none' (SeqGAN) or 'leave_one_out'
  c.model.max_temperature = 100.0        # lstm gumbel: RelGAN's beta_max, reached after
  c.model.temperature_steps = 5000       #   this many G steps (beta_n = beta_max ** (n / N))
  c.model.init_generator = ''            # a msgpack of G's params to start from (MLE pre-training)
  # Conditional generation (dcgan, labelled TFDS images): 'none'; label to image with D 'concat'
  # (cGAN), 'projection' (Miyato & Koyama) or 'acgan'; or 'completion' (the lower half given
  # the upper, pix2pix's pair). See gan_jax/models/conditional.py.
  c.model.conditional = 'none'
  c.model.g_conditioning = 'embedding'   # label to image: a class vector beside z, or 'batch_norm'
  c.model.num_classes = 10
  # InfoGAN (dcgan, unconditional): G reads a categorical code of this many values from z and
  # D's second head recovers it (loss.class_weight: their lambda). 0: none.
  c.model.code_categories = 0

  c.loss = ml_collections.ConfigDict()
  c.loss.name = 'non_saturating'
  c.loss.penalty = ml_collections.config_dict.placeholder(str)      # None: the loss's default
  c.loss.penalty_weight = ml_collections.config_dict.placeholder(float)
  c.loss.weight_clip = ml_collections.config_dict.placeholder(float)
  c.loss.adversarial_weight = 1.0   # G's weight on the adversarial loss (completion: 0 = L1 alone)
  c.loss.class_weight = 1.0         # acgan: weight of the classification terms; InfoGAN: lambda
  c.loss.d_classifies_fakes = True  # acgan: D's class loss on G's samples too (False: real only)
  c.loss.l1_weight = 100.0          # completion: G's weight on mean |G(c, z) - x| (pix2pix)
  c.loss.mle_weight = 0.0           # G's weight on the NLL of the real batch (a G with a
                                    #   likelihood: sequences); with adversarial_weight 0: MLE

  c.optim = ml_collections.ConfigDict()
  c.optim.lr = 1e-4              # G's learning rate (and D's unless d_lr is set)
  c.optim.d_lr = ml_collections.config_dict.placeholder(float)
  c.optim.b1 = 0.5
  c.optim.b2 = 0.999

  c.log_every = 100
  c.sample_every = 500
  c.checkpoint_every = 1000
  c.keep_checkpoints = 3
  c.eval_every = 0               # 0: no evaluation during training (see gan_jax.run.evaluation)
  c.eval_every_minutes = 0.0     # > 0: also evaluate (and checkpoint) every this many training minutes
  c.eval_samples = 2500
  # Image metrics' feature network (gan_jax.metrics.features): 'lenet' (the project's MNIST and
  # Fashion-MNIST classifiers) or 'inception' (FID's Inception-v3, as papers report; needs the
  # converted weights: inception_weights, else $GAN_JAX_INCEPTION_WEIGHTS or
  # ~/.cache/gan_jax/inception_fid.npz).
  c.eval_features = 'lenet'
  c.inception_weights = ''
  c.shown_generator = 'ema'      # the G that sample grids and evaluation show: 'ema' or 'raw'
  c.on_divergence = 'stop'       # stop | rollback (restore last checkpoint, lower lr)
  c.rollback_lr_factor = 0.5
  # Each structure's own settings, as config.<structure name> (e.g. config.graphs).
  for name, entry in structures.REGISTRY.items():
    fields = entry.config_fields()
    if fields is not None:
      c[name] = fields
  return c


def validate(config) -> None:
  """Raises ConfigError with a one-line fix for any value the run cannot use, before any work:
  the fields every run has, and every value of the shared fields only some structures read,
  here; what the structure asks of them, and its own fields, in its registry entry."""
  def require(condition, message):
    if not condition:
      raise ConfigError(message)

  def positive(path):
    value = config
    for part in path.split('.'):
      value = value[part]
    require(value is not None and value > 0, f'{path} must be positive, got {value}')

  structure = structures.get(config)
  for path in ('batch_size', 'model.z_dim', 'model.g_features', 'model.d_features',
               'model.mlp_depth', 'optim.lr', 'log_every', 'sample_every', 'checkpoint_every',
               'keep_checkpoints', 'eval_samples'):
    positive(path)
  require(config.num_steps >= 0, f'num_steps must be >= 0, got {config.num_steps}')
  require(config.n_critic is None or config.n_critic >= 1,
          f'n_critic must be at least 1 (D steps per G step), got {config.n_critic}')
  require(0.0 <= config.ema_decay < 1.0, f'ema_decay must be in [0, 1), got {config.ema_decay}')
  require(config.optim.d_lr is None or config.optim.d_lr > 0,
          f'optim.d_lr must be positive, got {config.optim.d_lr}')
  for name in ('b1', 'b2'):
    require(0.0 <= config.optim[name] < 1.0, f'optim.{name} must be in [0, 1), '
            f'got {config.optim[name]}')
  require(config.data.image_size is None or config.data.image_size > 0,
          f'data.image_size must be positive, got {config.data.image_size}')
  require(config.eval_every >= 0, f'eval_every must be >= 0 (0 turns it off), got {config.eval_every}')
  for name in ('train_minutes', 'eval_every_minutes'):
    require(config[name] >= 0, f'{name} must be >= 0 (0 turns it off), got {config[name]}')
  require_choice('on_divergence', config.on_divergence, ('stop', 'rollback'))
  require(0.0 < config.rollback_lr_factor < 1.0,
          f'rollback_lr_factor must be in (0, 1), got {config.rollback_lr_factor}')
  require_choice('shown_generator', config.shown_generator, ('ema', 'raw'))
  require_choice('eval_features', config.eval_features, features.NETWORKS)
  require(config.loss.penalty_weight is None or config.loss.penalty_weight >= 0,
          f'loss.penalty_weight must be >= 0, got {config.loss.penalty_weight}')
  require(config.loss.weight_clip is None or config.loss.weight_clip >= 0,
          f'loss.weight_clip must be >= 0 (0 = no clipping), got {config.loss.weight_clip}')
  for name in ('adversarial_weight', 'class_weight', 'l1_weight', 'mle_weight'):
    require(config.loss[name] >= 0, f'loss.{name} must be >= 0, got {config.loss[name]}')
  require(config.loss.mle_weight == 0 or structure.generator_likelihood,
          f'loss.mle_weight needs a generator with a likelihood (token sequences); structure '
          f'{config.structure!r} has none: leave it at 0, got {config.loss.mle_weight}')
  chosen = objective(config)
  require_choice('g_samples', config.g_samples, ('fresh', 'reuse'))
  require(config.g_samples == 'fresh' or n_critic(config) == 1,
          f"g_samples='reuse' needs n_critic=1 (got {n_critic(config)}): with more D steps G "
          "would be scored on the samples D was just trained to reject; use g_samples='fresh'")
  _validate_shared_model_fields(config)
  structure.validate(config)
  require(not (chosen.needs_independent_examples and structure.d_normalizes_batch(config)),
          f'penalty {chosen.penalty!r} differentiates D per example, which BatchNorm couples; '
          'set --config.model.d_batch_norm=False')


def shared_choices() -> dict:
  """The closed sets of base_config()'s model.* fields that only some structures read.
  model.name: every name a registered entry builds (Structure.model_names)."""
  return {
      'model.name': sorted({n for entry in structures.REGISTRY.values()
                            for n in entry.model_names}),
      'model.compute_dtype': sorted(DTYPES),
      'model.resample': RESAMPLE,
      'model.sequence_output': OUTPUTS,
      'model.reward_baseline': REWARD_BASELINES,
      'model.conditional': ('none', *CONDITIONS),
      'model.g_conditioning': G_CONDITIONING,
  }


def _validate_shared_model_fields(config) -> None:
  """Shared fields read by some structures only, checked whatever the structure: a value no run
  can use is refused in one line, never ignored by the entries that do not read it. Whether a
  valid value fits the structure is its entry's check."""
  for path, choices in shared_choices().items():
    require_choice(path, config.model[path.split('.')[1]], choices)
  model = config.model
  for name in ('num_rollouts', 'temperature_steps'):
    if model[name] < 1:
      raise ConfigError(f'model.{name} must be >= 1, got {model[name]}')
  if not model.max_temperature >= 1.0:
    raise ConfigError("model.max_temperature (the largest inverse temperature, RelGAN's "
                      f'beta_max) must be >= 1, got {model.max_temperature}')
  if model.num_classes < 2:
    raise ConfigError(f'model.num_classes must be at least 2, got {model.num_classes}')
  if model.code_categories != 0 and model.code_categories < 2:
    raise ConfigError('model.code_categories (InfoGAN) must be 0 (no code) or at least 2, '
                      f'got {model.code_categories}')
  if config.data.pseudo_labels < 0:
    raise ConfigError("data.pseudo_labels must be >= 0 (0: the dataset's labels), got "
                      f'{config.data.pseudo_labels}')


def n_critic(config) -> int:
  """D steps per G step: the config's, else the objective's default."""
  return config.n_critic if config.n_critic is not None else objective(config).n_critic


def objective(config) -> objectives.Objective:
  try:
    return objectives.get_objective(config.loss.name, config.loss.penalty,
                                config.loss.penalty_weight, config.loss.weight_clip)
  except ValueError as error:
    raise ConfigError(str(error)) from None


def adam(learning_rate, b1, b2):
  """Adam with its hyperparameters in the optimizer state: a rollback can lower the learning
  rate, and runs trained side by side with vmap (gan_jax.run.population) can each have their own."""
  return optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate, b1=b1, b2=b2)


def build_gan(config, example=None) -> GAN:
  """The GAN a config describes: the settings every GAN has from the config, derived here once
  (objective, n_critic), and what differs by kind of output (models, preprocessing, condition,
  estimator, loss terms) from its structure entry. `example`: a zero example of the batch (or
  its shape); by default the structure's own."""
  structure = structures.get(config)
  if example is None:
    example = structure.example(config)
  elif isinstance(example, tuple):
    example = np.zeros(example, np.float32)
  generator, discriminator = structure.build_models(config, example)
  d_lr = config.optim.d_lr or config.optim.lr
  return GAN(
      generator=generator,
      discriminator=discriminator,
      g_optimizer=adam(config.optim.lr, config.optim.b1, config.optim.b2),
      d_optimizer=adam(d_lr, config.optim.b1, config.optim.b2),
      objective=objectives.with_g_weight(objective(config), config.loss.adversarial_weight),
      z_dim=config.model.z_dim,
      batch_size=config.batch_size,
      n_critic=n_critic(config),
      ema_decay=config.ema_decay,
      g_samples=config.g_samples,
      **structure.gan_options(config),
  )


def config_difference(saved: dict, config: ml_collections.ConfigDict):
  """None when `saved` (a run's config as its JSON holds it) equals `config`; else the first
  differing key with both values, e.g. 'config.seed: 0 there, 3 now', for a one-line refusal
  to go on with a workdir trained under other settings."""
  was = traverse_util.flatten_dict(saved, keep_empty_nodes=True, sep='.')
  now = traverse_util.flatten_dict(json.loads(config.to_json()), keep_empty_nodes=True,
                                   sep='.')
  differing = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
  if not differing:
    return None
  key = differing[0]
  return f'config.{key}: {was.get(key)} there, {now.get(key)} now'


def with_defaults(saved: dict) -> ml_collections.ConfigDict:
  """A run's saved config.json completed with today's defaults for fields added since (a run
  saved before `structure` existed gets the structure its data and model describe)."""
  config = base_config()
  if 'structure' not in saved:
    saved = {**saved, 'structure': structures.legacy_structure(saved)}
  config.update(saved)
  return config

