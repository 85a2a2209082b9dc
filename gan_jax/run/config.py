"""The default experiment config, its validation, and the GAN it describes."""

import json

import ml_collections
import numpy as np
import optax
from flax import traverse_util

from gan_jax import structures
from gan_jax.core import objectives
from gan_jax.core.state import GAN
from gan_jax.data.images import EVAL_SPLITS
from gan_jax.errors import ConfigError, require_choice
from gan_jax.metrics import features
from gan_jax.models.dcgan import RESAMPLE
from gan_jax.models.layers import DTYPES
from gan_jax.structures.base import GENERATORS


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
  # N > 0: hold out N images of the training split (a fixed seeded choice, the same for every
  # run of a dataset), never trained on nor clustered; eval_split='validation' scores on them.
  c.data.validation = 0

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
  c.model.init_generator = ''            # a msgpack of G's params to start from (MLE pre-training)

  c.loss = ml_collections.ConfigDict()
  c.loss.name = 'non_saturating'
  c.loss.penalty = ml_collections.config_dict.placeholder(str)      # None: the loss's default
  c.loss.penalty_weight = ml_collections.config_dict.placeholder(float)
  c.loss.weight_clip = ml_collections.config_dict.placeholder(float)
  c.loss.adversarial_weight = 1.0   # G's weight on the adversarial loss (completion: 0 = L1 alone)
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
  # What evaluation during training scores against: 'test' (the test split) or 'validation'
  # (data.validation images held out of the training split), so that choosing a checkpoint
  # never looks at the test split; experiments/evaluate.py --split=test scores it once.
  c.eval_split = 'test'
  c.eval_generators = 'shown'    # which G evaluation scores: 'shown' (shown_generator) or 'both'
  # The checkpoint with the best evaluation of the shown G is kept in <workdir>/best/ (with
  # best.json): select_metric, an evaluation field such as 'fid' ('' = none), lowest ('min') or
  # highest ('max') best.
  c.select_metric = ''
  c.select_mode = 'min'
  # Image metrics' feature network (gan_jax.metrics.features): 'lenet' (the project's MNIST and
  # Fashion-MNIST classifiers) or 'inception' (FID's Inception-v3, as papers report; needs the
  # converted weights: inception_weights, else $GAN_JAX_INCEPTION_WEIGHTS or
  # ~/.cache/gan_jax/inception_fid.npz).
  c.eval_features = 'lenet'
  c.inception_weights = ''
  c.shown_generator = 'ema'      # the G that sample grids and evaluation show: 'ema' or 'raw'
  c.on_divergence = 'stop'       # stop | rollback (restore last checkpoint, lower lr)
  c.rollback_lr_factor = 0.5
  # Each structure's own settings, as config.<structure name>: config.sequences (REINFORCE or
  # Gumbel-softmax), config.images (InfoGAN's code), config.labeled_images (the condition, its
  # loss terms, pseudo-labels), config.graphs. A run may set only its own structure's.
  for name, entry in structures.REGISTRY.items():
    fields = entry.config_fields()
    if fields is not None:
      c[name] = fields
  return c


def validate(config, structure=None) -> None:
  """Raises ConfigError with a one-line fix for any value the run cannot use, before any work:
  the fields every run has, every value of the shared fields only some structures read, and
  every other structure's section left at its defaults, here; what the structure asks of the
  shared fields, and its own section, in its registry entry.
  `structure`: the config's entry when the caller has looked it up already."""
  def require(condition, message):
    if not condition:
      raise ConfigError(message)

  def positive(path):
    value = config
    for part in path.split('.'):
      value = value[part]
    require(value is not None and value > 0, f'{path} must be positive, got {value}')

  if structure is None:
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
  _validate_evaluation_split(config, structure)
  require_choice('eval_features', config.eval_features, features.NETWORKS)
  require(config.loss.penalty_weight is None or config.loss.penalty_weight >= 0,
          f'loss.penalty_weight must be >= 0, got {config.loss.penalty_weight}')
  require(config.loss.weight_clip is None or config.loss.weight_clip >= 0,
          f'loss.weight_clip must be >= 0 (0 = no clipping), got {config.loss.weight_clip}')
  for name in ('adversarial_weight', 'mle_weight'):
    require(config.loss[name] >= 0, f'loss.{name} must be >= 0, got {config.loss[name]}')
  require(config.loss.mle_weight == 0 or structure.generator_likelihood,
          f'loss.mle_weight needs a generator with a likelihood (token sequences); structure '
          f'{config.structure!r} has none: leave it at 0, got {config.loss.mle_weight}')
  chosen = objective(config)
  require_choice('g_samples', config.g_samples, ('fresh', 'reuse'))
  require(config.g_samples == 'fresh' or n_critic(config) == 1,
          f"g_samples='reuse' needs n_critic=1 (got {n_critic(config)}): with more D steps G "
          "would be scored on the samples D was just trained to reject; use g_samples='fresh'")
  for path, choices in shared_choices().items():
    require_choice(path, config.model[path.split('.')[1]], choices)
  _refuse_other_sections(config, structure)
  structure.validate(config)
  require(not (chosen.needs_independent_examples and structure.d_normalizes_batch(config)),
          f'penalty {chosen.penalty!r} differentiates D per example, which BatchNorm couples; '
          'set --config.model.d_batch_norm=False')


def shared_choices() -> dict:
  """The closed sets of base_config()'s model.* fields that only some structures read, checked
  whatever the structure: a value no run can use is refused in one line, never ignored by the
  entries that do not read it. model.name: every name a registered entry builds."""
  return {
      'model.name': sorted({n for entry in structures.REGISTRY.values()
                            for n in entry.model_names}),
      'model.compute_dtype': sorted(DTYPES),
      'model.resample': RESAMPLE,
  }


def _refuse_other_sections(config, structure) -> None:
  """Every other structure's section (config.<name>) must hold its defaults: a setting the
  run's structure never reads is refused in one line, never silently ignored."""
  for name, entry in structures.REGISTRY.items():
    fields = entry.config_fields()
    if entry is structure or fields is None or name not in config:
      continue
    now = traverse_util.flatten_dict(json.loads(config[name].to_json()), sep='.')
    default = traverse_util.flatten_dict(json.loads(fields.to_json()), sep='.')
    for key in sorted(set(now) | set(default)):
      if now.get(key) != default.get(key):
        raise ConfigError(f'{name}.{key}={now.get(key)!r} is a setting of structure {name!r}, '
                          f'not of this run\'s {config.structure!r}: set '
                          f'structure={name!r} or leave {name}.{key} at {default.get(key)!r}')


def moved_paths() -> dict:
  """Each former config path of a structure's field -> where it is now (config.<name>.<field>;
  a former path shared by two variants, loss.class_weight, moved to both)."""
  moved = {}
  for name, entry in structures.REGISTRY.items():
    for old, field in entry.former_paths.items():
      moved.setdefault(old, []).append(f'{name}.{field}')
  return moved


def with_current_paths(saved: dict) -> dict:
  """A saved config (a run's config.json, a result's 'config') with the fields it holds at a
  former path moved to where they are now, where the saved config does not already hold them
  there; the saved dict is left as it is."""
  flat = traverse_util.flatten_dict(saved, keep_empty_nodes=True, sep='.')
  for old, new_paths in moved_paths().items():
    if old not in flat:
      continue
    value = flat.pop(old)
    for new in new_paths:
      flat.setdefault(new, value)
  return traverse_util.unflatten_dict(flat, sep='.')


def _validate_evaluation_split(config, structure) -> None:
  """The held-out images, the split evaluation scores against and the checkpoint selection."""
  validation = config.data.validation
  if validation < 0:
    raise ConfigError(f'data.validation must be >= 0 (0: no images held out), got {validation}')
  if validation and not structure.holds_out_validation:
    raise ConfigError(f'data.validation holds out images of an image split; structure '
                      f'{structure.name!r} has none to hold out: leave it at 0')
  require_choice('eval_split', config.eval_split, EVAL_SPLITS)
  if config.eval_split == 'validation' and not validation:
    raise ConfigError("eval_split='validation' needs images held out of the training split: "
                      'set --config.data.validation=N (N > 0)')
  require_choice('eval_generators', config.eval_generators, ('shown', 'both'))
  require_choice('select_mode', config.select_mode, ('min', 'max'))
  if config.select_metric and not (config.eval_every or config.eval_every_minutes):
    raise ConfigError(f'select_metric={config.select_metric!r} keeps the best evaluated '
                      'checkpoint: set eval_every or eval_every_minutes')


def evaluated_generators(config) -> tuple:
  """The generators evaluation during training scores: the shown one first, then the other
  with eval_generators='both'."""
  shown = config.shown_generator
  if config.eval_generators == 'both':
    return (shown, *[g for g in GENERATORS if g != shown])
  return (shown,)


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


def build_gan(config, example=None, structure=None) -> GAN:
  """The GAN a config describes: the settings every GAN has from the config, derived here once
  (objective, n_critic), and what differs by kind of output (models, preprocessing, condition,
  estimator, loss terms) from its structure entry. `example`: a zero example of the batch (or
  its shape); by default the structure's own. `structure`: the config's entry when the caller
  has looked it up already (the trainer and load_run do, once per run)."""
  if structure is None:
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
  was = traverse_util.flatten_dict(with_current_paths(saved), keep_empty_nodes=True, sep='.')
  now = traverse_util.flatten_dict(json.loads(config.to_json()), keep_empty_nodes=True,
                                   sep='.')
  differing = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
  if not differing:
    return None
  key = differing[0]
  return f'config.{key}: {was.get(key)} there, {now.get(key)} now'


def with_defaults(saved: dict) -> ml_collections.ConfigDict:
  """A run's saved config.json completed with today's defaults for fields added since, its
  fields saved at a former path read at today's (a run saved before `structure` existed gets
  the structure its data and model describe)."""
  config = base_config()
  if 'structure' not in saved:
    saved = {**saved, 'structure': structures.legacy_structure(saved)}
  config.update(with_current_paths(saved))
  return config

