"""The default experiment config, its validation, and the GAN it describes."""

import ml_collections
import optax

from gan_jax import losses
from gan_jax.errors import ConfigError
from gan_jax.models import build_models
from gan_jax.state import GAN


def base_config() -> ml_collections.ConfigDict:
  """Every field an experiment may set; configs in experiments/configs/ change a few."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.num_steps = 2000             # G updates
  c.batch_size = 64              # global, over all devices and hosts
  c.n_critic = 1                 # D updates per G update
  c.ema_decay = 0.999

  c.data = ml_collections.ConfigDict()
  c.data.name = 'ring8'          # a toy (ring8, grid25, mixture1d, gaussian1d) or a TFDS name
  c.data.split = 'train'
  c.data.data_dir = ml_collections.config_dict.placeholder(str)   # else $TFDS_DATA_DIR
  c.data.download = False        # never touch the network unless asked
  c.data.image_size = ml_collections.config_dict.placeholder(int)  # centre crop + resize

  c.model = ml_collections.ConfigDict()
  c.model.name = 'mlp'           # mlp | dcgan | resnet
  c.model.z_dim = 2
  c.model.g_features = 128      # width: of hidden layers (mlp) or of the last conv stage
  c.model.d_features = 128
  c.model.mlp_depth = 3          # hidden layers of the mlp models
  c.model.d_batch_norm = True
  c.model.spectral_norm = False
  c.model.compute_dtype = 'float32'      # or bfloat16 (params stay float32)
  c.model.resample = 'space_to_depth'    # dcgan: or lax (nn.Conv/ConvTranspose: same params, outputs)

  c.loss = ml_collections.ConfigDict()
  c.loss.name = 'non_saturating'
  c.loss.penalty = ml_collections.config_dict.placeholder(str)      # None: the loss's default
  c.loss.penalty_weight = ml_collections.config_dict.placeholder(float)
  c.loss.weight_clip = ml_collections.config_dict.placeholder(float)

  c.optim = ml_collections.ConfigDict()
  c.optim.lr = 1e-4              # G's learning rate (and D's unless d_lr is set)
  c.optim.d_lr = ml_collections.config_dict.placeholder(float)
  c.optim.b1 = 0.5
  c.optim.b2 = 0.999

  c.log_every = 100
  c.sample_every = 500
  c.checkpoint_every = 1000
  c.keep_checkpoints = 3
  c.eval_every = 0               # 0: no evaluation during training (see gan_jax.evaluation)
  c.eval_samples = 2500
  c.eval_use_ema = True
  c.on_divergence = 'stop'       # stop | rollback (restore last checkpoint, lower lr)
  c.rollback_lr_factor = 0.5
  return c


def validate(config) -> None:
  """Raises ConfigError with a one-line fix for values the run cannot use."""
  def require(condition, message):
    if not condition:
      raise ConfigError(message)
  require(config.num_steps >= 0, f'num_steps must be >= 0, got {config.num_steps}')
  require(config.batch_size > 0, f'batch_size must be positive, got {config.batch_size}')
  require(config.n_critic >= 1, f'n_critic must be at least 1 (D steps per G step), '
          f'got {config.n_critic}')
  require(0.0 <= config.ema_decay < 1.0, f'ema_decay must be in [0, 1), got {config.ema_decay}')
  for name in ('lr', 'd_lr'):
    value = config.optim[name]
    require(value is None or value > 0, f'optim.{name} must be positive, got {value}')
  for name in ('log_every', 'sample_every', 'checkpoint_every', 'keep_checkpoints'):
    require(config[name] > 0, f'{name} must be positive, got {config[name]}')
  require(config.eval_every >= 0, f'eval_every must be >= 0 (0 turns it off), got {config.eval_every}')
  require(config.eval_samples > 0, f'eval_samples must be positive, got {config.eval_samples}')
  require(config.on_divergence in ('stop', 'rollback'),
          f"on_divergence must be 'stop' or 'rollback', got {config.on_divergence!r}")
  require(config.model.name in ('mlp', 'dcgan', 'resnet'),
          f"unknown model.name {config.model.name!r}; choose one of ['dcgan', 'mlp', 'resnet']")
  objective(config)


def objective(config) -> losses.Objective:
  try:
    return losses.get_objective(config.loss.name, config.loss.penalty,
                                config.loss.penalty_weight, config.loss.weight_clip)
  except ValueError as error:
    raise ConfigError(str(error)) from None


def adam(learning_rate, b1, b2):
  """Adam with its hyperparameters in the optimizer state: a rollback can lower the learning
  rate, and runs trained side by side with vmap (gan_jax.population) can each have their own."""
  return optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate, b1=b1, b2=b2)


def build_gan(config, example_shape) -> GAN:
  """The GAN a config describes, for data whose examples have `example_shape`."""
  try:
    generator, discriminator = build_models(config.model, example_shape)
  except ValueError as error:
    raise ConfigError(str(error)) from None
  d_lr = config.optim.d_lr or config.optim.lr
  return GAN(
      generator=generator,
      discriminator=discriminator,
      g_optimizer=adam(config.optim.lr, config.optim.b1, config.optim.b2),
      d_optimizer=adam(d_lr, config.optim.b1, config.optim.b2),
      objective=objective(config),
      z_dim=config.model.z_dim,
      batch_size=config.batch_size,
      n_critic=config.n_critic,
      ema_decay=config.ema_decay,
      joint_d_call=not _has_batch_norm(config.model),
  )


def _has_batch_norm(model_config) -> bool:
  return model_config.name == 'dcgan' and model_config.d_batch_norm

