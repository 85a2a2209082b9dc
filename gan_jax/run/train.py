"""The training loop that experiment scripts call: data, state, steps, checkpoints, logs, pictures."""

import contextlib
import json
import os
import sys
import time

import flax
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import keys, structures
from gan_jax.run import parallel
from gan_jax.tools import plots
from gan_jax.run.checkpoint import Checkpointer
from gan_jax.run.workdir import WorkdirLock, check_workdir
from gan_jax.run.config import build_gan, evaluated_generators, validate
from gan_jax.run.selection import BestCheckpoint, read_best
from gan_jax.data import prefetch
from gan_jax.errors import ConfigError, DivergenceError
from gan_jax.tools.metric_writers import MetricWriter
from gan_jax.core.state import create_state, learning_rates, set_learning_rates
from gan_jax.core.steps import make_train_step


@jax.jit
def _finite_players(state, metrics):
  """Whether each player's params, and its losses, are all finite."""
  def finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))
  d_metrics = {k: v for k, v in metrics.items() if k.startswith('d_')}
  g_metrics = {k: v for k, v in metrics.items() if k.startswith('g_')}
  return {'D': finite((state.d_params, d_metrics)), 'G': finite((state.g_params, g_metrics))}


class _Run:
  """What the loop needs, derived once: the structure entry, the GAN (objective, n_critic,
  per-structure options) and its compiled step: jitted on one device, pmapped over the devices
  of all hosts whenever there is more than one (so a multi-host run averages over every device)."""

  def __init__(self, config, structure, example):
    self.structure = structure
    self.gan = build_gan(config, example, structure)
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
  structure = structures.get(config)   # the one lookup of the run: everything below asks it
  validate(config, structure)
  if config.eval_every or config.eval_every_minutes:
    structure.check_evaluable(config)
  # Reads (and so checks) the data before the workdir exists: bad data writes nothing.
  example = structure.example(config)
  workdir = check_workdir(workdir)
  parallel.check_divisible(config.batch_size, jax.device_count())
  structure.bind_workdir(config, workdir)
  run = _Run(config, structure, example)
  # The batches follow the GAN: n_critic is derived once, in build_gan.
  data = structure.make_data(config, run.gan.n_critic, jax.process_index(), jax.process_count())
  template = create_state(run.gan, jax.random.PRNGKey(config.seed), data.example)
  checkpointer = Checkpointer(os.path.join(workdir, 'checkpoints'), config.keep_checkpoints)
  is_chief = jax.process_index() == 0
  with WorkdirLock(workdir, enabled=is_chief):
    state = checkpointer.restore_latest(template)
    if state is None:   # a new run, from G's initial params or the ones it is told to start from
      state = with_initial_generator(template, config.model.init_generator)
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


class TrainingClock:
  """Wall-clock minutes of training, the budget of a run by time (config.train_minutes).

  Drawing and evaluating stop the clock; checkpointing does not. The minutes at every saved
  step are kept in <workdir>/train_clock.json, so a resumed run goes on counting from its
  checkpoint (a workdir from before the clock existed resumes from 0)."""

  def __init__(self, workdir: str, step: int, enabled: bool = True):
    self.path = os.path.join(workdir, 'train_clock.json')
    self.enabled = enabled
    saved = {}
    if os.path.exists(self.path):
      with open(self.path) as f:
        saved = {int(k): v for k, v in json.load(f).items()}
    self._saved = {k: v for k, v in saved.items() if k <= step}
    self._base = self._saved.get(step, 0.0)
    self._start = time.perf_counter()
    self._stopped = 0.0

  def minutes(self) -> float:
    return (self._base + time.perf_counter() - self._start - self._stopped) / 60.0

  @contextlib.contextmanager
  def stopped(self):
    start = time.perf_counter()
    try:
      yield
    finally:
      self._stopped += time.perf_counter() - start

  def save(self, step: int) -> None:
    if not self.enabled:
      return
    self._saved[int(step)] = self.minutes() * 60.0
    with open(self.path + '.tmp', 'w') as f:
      json.dump({str(k): v for k, v in sorted(self._saved.items())}, f)
    os.replace(self.path + '.tmp', self.path)


def _is_number(value) -> bool:
  return isinstance(value, (int, float, np.number)) or (
      isinstance(value, (np.ndarray, jax.Array)) and value.ndim == 0)


def _chief_decides(*decisions) -> tuple:
  """The chief's decisions, shared by every host (each host passes its own; the chief's win)."""
  decision = np.array(decisions)
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    decision = multihost_utils.broadcast_one_to_all(decision)
  return tuple(bool(d) for d in decision)


def _timed_decisions(config, clock, next_eval: float):
  """(out of time, evaluation due by minutes), decided by the chief and shared by every host, so
  that all hosts stop and evaluate at the same step. Called on logging steps only, after the
  device has caught up, so the minutes count finished work."""
  minutes = clock.minutes()
  return _chief_decides(config.train_minutes > 0 and minutes >= config.train_minutes,
                        config.eval_every_minutes > 0 and minutes >= next_eval)


def _evaluations(config, run, state) -> dict:
  """{generator: its numeric results} for each G evaluation scores (evaluated_generators).
  Numbers are logged; which features and split they are in is config.eval_features and
  config.eval_split (config.json)."""
  scores = {}
  for generator in evaluated_generators(config):
    results = run.structure.evaluate(run.gan, state, config, config.eval_samples, config.seed,
                                     generator)
    generator = results.pop('generator')   # in the key: which G these numbers describe
    scores[generator] = {k: v for k, v in results.items() if _is_number(v)}   # not dicts, text
  return scores


def _next_evaluation(minutes: float, every: float) -> float:
  """The first multiple of `every` training minutes after `minutes` (never, when every is 0)."""
  return (int(minutes / every) + 1) * every if every else float('inf')


def _loop(config, workdir, data, run, state, checkpointer, writer, fixed_z, is_chief):
  step = int(state.step)
  device_state = run.to_devices(state)
  batches = prefetch(data.batches, step, config.num_steps)
  last_saved = step if checkpointer.steps() else None
  clock = TrainingClock(workdir, step, enabled=is_chief)
  best = BestCheckpoint(config, workdir, is_chief)
  by_time = config.train_minutes > 0 or config.eval_every_minutes > 0
  every = config.eval_every_minutes
  next_eval = _next_evaluation(clock.minutes(), every)
  if by_time and _timed_decisions(config, clock, next_eval)[0]:
    return state   # a run by time that has its minutes already, as one at num_steps: no step
  while step < config.num_steps:
    device_state, metrics = run.step_fn(device_state, next(batches))
    step += 1
    out_of_time = timed_eval = False
    if by_time and step % config.log_every == 0:
      jax.block_until_ready(metrics)
      out_of_time, timed_eval = _timed_decisions(config, clock, next_eval)
      if timed_eval:
        next_eval = _next_evaluation(clock.minutes(), every)
    last = step == config.num_steps or out_of_time
    logging = step % config.log_every == 0 or last
    saving = step % config.checkpoint_every == 0 or last or timed_eval
    drawing = is_chief and (step % config.sample_every == 0 or last)
    # The chief evaluates; every host then saves a new best checkpoint, as it decides.
    evaluating = bool(config.eval_every or every) and (
        (config.eval_every and step % config.eval_every == 0) or timed_eval or last)
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
      writer.write(step, {**jax.device_get({**metrics, **rates}), 'train_minutes': clock.minutes()})
    if drawing:
      which = 'EMA G' if config.shown_generator == 'ema' else 'raw G'
      with clock.stopped():
        run.structure.draw(run.gan, state, config, data, fixed_z,
                           os.path.join(workdir, 'samples', f'step_{step:07d}'),
                           f'{which}, step {step}')
    if evaluating:
      shown, minutes = {}, clock.minutes()
      if is_chief:
        with clock.stopped():
          scores = _evaluations(config, run, state)
        shown = scores[config.shown_generator]
        writer.write(step, {**{f'eval/{g}/{k}': v for g, r in scores.items() for k, v in r.items()},
                            'train_minutes': minutes}, training=False)
      if best.enabled and _chief_decides(is_chief and best.improves(shown))[0]:
        best.save(step, state, {'train_minutes': minutes,
                                'value': float(shown.get(config.select_metric, np.nan)),
                                'generator': config.shown_generator, 'split': config.eval_split})
    if saving:
      checkpointer.save(step, state)
      clock.save(step)
      last_saved = step
    if out_of_time:
      break
  return run.from_devices(device_state)


def with_initial_generator(state, path: str):
  """The state with G's params (and their EMA) from `path`, e.g. MLE pre-training: a msgpack of
  G's params, or the workdir of a run (such as an MLE config trained by this trainer): the
  checkpoint it kept for its best evaluation (chosen on its validation split, config.select_metric)
  or, if it kept none, its newest, gives the G its evaluations show (config.shown_generator).
  Unchanged when path is empty; a missing, unreadable or differently shaped G is a one-line
  ConfigError."""
  if not path:
    return state
  if os.path.isdir(path):
    from gan_jax.run.evaluation import load_run   # the run layer; imported when used
    checkpoint = 'latest' if read_best(path) is None else 'best'
    config, _, saved = load_run(os.path.abspath(path), checkpoint=checkpoint)
    params = saved.ema_params if config.shown_generator == 'ema' else saved.g_params
  else:
    try:
      with open(path, 'rb') as f:
        params = flax.serialization.from_bytes(state.g_params, f.read())
    except (OSError, ValueError, KeyError, TypeError) as error:
      raise ConfigError(f'cannot load model.init_generator {path!r} '
                        f'({type(error).__name__}: {str(error).splitlines()[0][:100]}); give a '
                        'run\'s workdir or a file written by flax.serialization.to_bytes(G params)'
                        ) from None
  shapes = lambda tree: jax.tree.map(jnp.shape, tree)
  if jax.tree.structure(params) != jax.tree.structure(state.g_params) \
      or shapes(params) != shapes(state.g_params):
    raise ConfigError(f'model.init_generator {path!r} holds a G with other parameters than this '
                      "run's (another vocabulary or size?); start from a run of the same model")
  return state.replace(g_params=params, ema_params=jax.tree.map(jnp.copy, params))
