"""The training loop that experiment scripts call: data, state, steps, checkpoints, logs, pictures."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import evaluation, keys, parallel, plots
from gan_jax.checkpoint import Checkpointer
from gan_jax.config import build_gan, n_critic, validate
from gan_jax.data import make_data, prefetch, toy
from gan_jax.errors import ConfigError, DivergenceError
from gan_jax.metric_writers import MetricWriter
from gan_jax.state import create_state, learning_rates, set_learning_rates
from gan_jax.steps import generate, make_train_step


class WorkdirLock:
  """One live run per workdir: a lock file holding the owner's pid; a dead owner's is taken over.

  In a multi-host run every process shares the workdir and only process 0 holds the lock.
  """

  def __init__(self, workdir: str, enabled: bool = True):
    self.path = os.path.join(workdir, 'run.lock')
    self.enabled = enabled

  def __enter__(self):
    if not self.enabled:
      return self
    for _ in range(2):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
      except FileExistsError:
        owner = _read_pid(self.path)
        if owner is not None and owner != os.getpid() and _alive(owner):
          raise ConfigError(f'workdir {os.path.dirname(self.path)} is in use by the live run '
                            f'with pid {owner}; wait for it or choose another --workdir') from None
        os.remove(self.path)   # a stale lock of a dead process
        continue
      with os.fdopen(fd, 'w') as f:
        f.write(str(os.getpid()))
      return self
    raise ConfigError(f'cannot take the lock {self.path}; remove it if no run uses the workdir')

  def __exit__(self, *exc):
    if self.enabled and _read_pid(self.path) == os.getpid():
      os.remove(self.path)


def _read_pid(path):
  try:
    return int(open(path).read().strip() or -1)
  except (OSError, ValueError):
    return None


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def check_workdir(workdir: str) -> str:
  """The absolute workdir, created if missing; a one-line error if it cannot be written."""
  workdir = os.path.abspath(workdir)
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as error:
    raise ConfigError(f'cannot create workdir {workdir}: {error.strerror}; choose another '
                      '--workdir') from None
  if not os.access(workdir, os.W_OK | os.X_OK):
    raise ConfigError(f'workdir {workdir} is not writable; choose another --workdir')
  return workdir


@jax.jit
def _finite_players(state, metrics):
  """Whether each player's params, and its losses, are all finite."""
  def finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))
  d_metrics = {k: v for k, v in metrics.items() if k.startswith('d_')}
  g_metrics = {k: v for k, v in metrics.items() if k.startswith('g_')}
  return {'D': finite((state.d_params, d_metrics)), 'G': finite((state.g_params, g_metrics))}


class _Run:
  """The GAN and its compiled step: jitted on one device, pmapped over the devices of all hosts
  whenever there is more than one (so a multi-host run averages over every device)."""

  def __init__(self, config, data):
    self.gan = build_gan(config, data.example_shape)
    parallel.check_divisible(config.batch_size, jax.device_count())
    self.pmapped = parallel.needs_pmap()
    if self.pmapped:
      self.step_fn = parallel.make_parallel_train_step(self.gan)
    else:
      self.step_fn = make_train_step(self.gan)

  def to_devices(self, state):
    return parallel.replicate(state) if self.pmapped else state

  def from_devices(self, state):
    return parallel.unreplicate(state) if self.pmapped else state


def train_and_evaluate(config, workdir: str, quiet: bool = False):
  """Trains the GAN `config` describes, resuming from the newest checkpoint in `workdir`.

  `quiet` turns the progress bar off. Returns the final state (on the host's first device).
  """
  validate(config)
  if config.eval_every:
    evaluation.check_supported(config.data)
  workdir = check_workdir(workdir)
  parallel.check_divisible(config.batch_size, jax.device_count())
  data = make_data(config.data, config.batch_size, n_critic(config), config.seed,
                   jax.process_index(), jax.process_count())
  run = _Run(config, data)
  template = create_state(run.gan, jax.random.PRNGKey(config.seed), jnp.zeros(data.example_shape))
  checkpointer = Checkpointer(os.path.join(workdir, 'checkpoints'), config.keep_checkpoints)
  is_chief = jax.process_index() == 0
  with WorkdirLock(workdir, enabled=is_chief):
    state = checkpointer.restore_latest(template) or template
    first_step = int(state.step)
    if is_chief:
      with open(os.path.join(workdir, 'config.json'), 'w') as f:
        f.write(config.to_json(indent=2))
      for folder in ('samples', 'plots'):
        os.makedirs(os.path.join(workdir, folder), exist_ok=True)
    writer = MetricWriter(workdir, first_step, config.num_steps, enabled=is_chief,
                          progress_bar=not quiet)
    fixed_z = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(config.seed), keys.FIXED_Z),
                                (64, config.model.z_dim))
    try:
      state = _loop(config, workdir, data, run, state, checkpointer, writer, fixed_z, is_chief)
    finally:
      writer.close()
    if is_chief:
      plots.plot_curves(writer.path, os.path.join(workdir, 'plots', 'curves.png'))
  return state


def _loop(config, workdir, data, run, state, checkpointer, writer, fixed_z, is_chief):
  step = int(state.step)
  device_state = run.to_devices(state)
  batches = prefetch(data.batches, step, config.num_steps)
  last_saved = step if checkpointer.steps() else None
  while step < config.num_steps:
    device_state, metrics = run.step_fn(device_state, next(batches))
    step += 1
    last = step == config.num_steps
    logging = step % config.log_every == 0 or last
    saving = step % config.checkpoint_every == 0 or last
    drawing = is_chief and (step % config.sample_every == 0 or last)
    evaluating = is_chief and config.eval_every and (step % config.eval_every == 0 or last)
    if not (logging or saving or drawing or evaluating):
      continue
    state = run.from_devices(device_state)   # device 0's copy, taken once, off the hot path
    if logging or saving:   # never save a diverged state
      finite = jax.device_get(_finite_players(state, metrics))
      if not all(finite.values()):
        player = 'D' if not finite['D'] else 'G'
        message = (f'divergence: a NaN or Inf in the loss or params of {player} at step {step}; '
                   f'last good checkpoint: {last_saved if last_saved is not None else "none"}')
        if config.on_divergence != 'rollback' or last_saved is None:
          raise DivergenceError(message)
        rates = {k: float(v) * config.rollback_lr_factor
                 for k, v in jax.device_get(learning_rates(state)).items()}
        state = set_learning_rates(checkpointer.restore_latest(state), **rates)
        print(f'{message}; rolled back to it, learning rates now G {rates["g_lr"]:.3g}, '
              f'D {rates["d_lr"]:.3g}', file=sys.stderr)
        step = int(state.step)
        device_state = run.to_devices(state)
        batches = prefetch(data.batches, step, config.num_steps)
        continue
    if logging:
      rates = learning_rates(state)
      writer.write(step, jax.device_get({**metrics, **rates}))
    if drawing:
      _draw(config, workdir, data, run, state, fixed_z, step)
    if evaluating:
      results = evaluation.evaluate(run.gan, state, config.data,
                                    config.eval_samples, config.seed, config.shown_generator)
      generator = results.pop('generator')   # in the key: which G these numbers describe
      writer.write(step, {f'eval/{generator}/{k}': v for k, v in results.items()}, training=False)
    if saving:
      checkpointer.save(step, state)
      last_saved = step
  return run.from_devices(device_state)


def _draw(config, workdir, data, run, state, fixed_z, step):
  """A grid of G(fixed z) for images; real vs generated points with D(x) for 1D/2D data.

  They show the generator evaluation scores (`config.shown_generator`), and say which.
  """
  gan = run.gan
  use_ema = config.shown_generator == 'ema'
  which = 'EMA G' if use_ema else 'raw G'
  if data.mixture is None:
    images = generate(gan, state, fixed_z, use_ema)
    plots.save_image_grid(images, os.path.join(workdir, 'samples', f'step_{step:07d}.png'),
                          f'{which}(z) for a fixed z, step {step}')
    return
  n = 2500
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), keys.PLOT)
  real = toy.sample(data.mixture, key, n)
  z = jax.random.normal(jax.random.fold_in(key, 1), (n, gan.z_dim))
  fake = generate(gan, state, z, use_ema)
  variables = {'params': state.d_params, **state.d_collections}
  d_fn = lambda x: np.asarray(gan.discriminator.apply(variables, jnp.asarray(x), train=False))
  plots.plot_density(real, fake, d_fn, os.path.join(workdir, 'samples', f'step_{step:07d}.png'),
                     f'{config.data.name}, {config.loss.name}, {which}, step {step}')
