"""Killed runs resume exactly; unreadable checkpoints fall back; divergence stops cleanly;
bad input exits with status 2 and one line, touching nothing; one live run per workdir."""

import glob
import hashlib
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import SHARED_TFDS, assert_trees_equal, devices_env
from gan_jax.run import train as train_lib
from gan_jax.run.checkpoint import Checkpointer
from gan_jax.run.config import base_config, build_gan, config_difference, validate, with_defaults
from gan_jax.core.state import create_state
from gan_jax.errors import DivergenceError
from gan_jax.run.train import train_and_evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RING = os.path.join(ROOT, 'experiments', 'configs', 'toy2d_ring.py')
FAST = ['--config.sample_every=100000', '--config.eval_every=0', '--config.batch_size=64',
        '--config.model.g_features=32', '--config.model.d_features=32']


def _ring_config(**overrides):
  config = importlib.import_module('experiments.configs.toy2d_ring').get_config()
  config.sample_every, config.eval_every, config.batch_size = 100000, 0, 64
  config.model.g_features = config.model.d_features = 32
  for key, value in overrides.items():
    setattr(config, key, value)
  return config


def _restore(config, workdir):
  gan = build_gan(config, (2,))
  template = create_state(gan, jax.random.PRNGKey(config.seed), jnp.zeros((2,)))
  return Checkpointer(os.path.join(workdir, 'checkpoints'), 3).restore_latest(template)


def _train_command(workdir, *flags):
  return [sys.executable, os.path.join(ROOT, 'experiments', 'train.py'), f'--config={RING}',
          f'--workdir={workdir}', *FAST, *flags]


# Dies inside orbax's save of step >= kill_at: the arrays are written to the temporary folder,
# and the process is killed before the handler finalizes and the folder is committed.
_KILL_DURING_SAVE = textwrap.dedent('''
    import os, runpy, signal, sys
    import orbax.checkpoint as ocp
    original = ocp.StandardCheckpointHandler.finalize
    def finalize(self, directory, *args, **kwargs):
      if int(os.path.basename(os.path.dirname(str(directory))).split('.')[0]) >= {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)
      return original(self, directory, *args, **kwargs)
    ocp.StandardCheckpointHandler.finalize = finalize
    sys.argv = {argv!r}
    runpy.run_path(sys.argv[0], run_name='__main__')
''')


def _last_logged_step(workdir):
  try:
    lines = open(os.path.join(workdir, 'metrics.jsonl')).read().splitlines()
    return int(lines[-1].split('"step": ')[1].split(',')[0]) if lines else 0
  except (OSError, IndexError):
    return 0


def test_sigkilled_run_resumes_bit_identical(tmp_path):
  steps = 400
  flags = [f'--config.num_steps={steps}', '--config.checkpoint_every=7', '--config.log_every=5']
  workdir = str(tmp_path / 'killed')
  rng = random.Random(0)
  kills = 0
  for target in (40, 110, 190, 260, 330):   # five moments, each at a random delay after a step
    process = subprocess.Popen(_train_command(workdir, *flags), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while _last_logged_step(workdir) < target and process.poll() is None and time.time() < deadline:
      time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.05))
    if process.poll() is None:
      process.send_signal(signal.SIGKILL)
      kills += 1
    process.wait()
  argv = _train_command(workdir, *flags)[1:]
  during_save = subprocess.run([sys.executable, '-c', _KILL_DURING_SAVE.format(
      kill_at=_last_logged_step(workdir) + 7, argv=argv)], capture_output=True, text=True)
  assert during_save.returncode == -signal.SIGKILL, during_save.stderr[-2000:]
  partial = [name for name in os.listdir(os.path.join(workdir, 'checkpoints')) if 'tmp' in name]
  assert partial, 'the kill did not land inside a save'   # an uncommitted checkpoint on disk
  final = subprocess.run(_train_command(workdir, *flags), capture_output=True, text=True)
  assert final.returncode == 0, final.stderr[-2000:]
  assert kills == 5, f'only {kills} of the 5 kills landed: the runs finished first'

  config = _ring_config(num_steps=steps, checkpoint_every=7, log_every=5)
  reference = train_and_evaluate(config, str(tmp_path / 'straight'), quiet=True)
  resumed = _restore(config, workdir)
  assert int(resumed.step) == steps
  assert_trees_equal(reference, resumed)
  logged = [int(line.split('"step": ')[1].split(',')[0])
            for line in open(os.path.join(workdir, 'metrics.jsonl'))]
  assert logged == list(range(5, steps + 1, 5))   # no step logged twice, none missing


def _corrupt(checkpoint_dir, how):
  files = sorted(glob.glob(f'{checkpoint_dir}/**/*', recursive=True))
  data = [f for f in files if os.path.isfile(f) and '/d/' in f]
  if how == 'truncated':
    for f in data:
      with open(f, 'r+b') as handle:
        handle.truncate(max(os.path.getsize(f) // 2, 1))
  elif how == 'missing':
    for f in data:
      os.remove(f)
  elif how == 'garbage':
    for f in data + [f for f in files if f.endswith('_METADATA')]:
      with open(f, 'wb') as handle:
        handle.write(os.urandom(64))


@pytest.mark.parametrize('how', ['truncated', 'missing', 'garbage'])
def test_unreadable_newest_checkpoint_falls_back(tmp_path, how, capfd):
  config = _ring_config(num_steps=30, checkpoint_every=10, log_every=10)
  workdir = str(tmp_path / 'run')
  train_and_evaluate(config, workdir, quiet=True)
  _corrupt(os.path.join(workdir, 'checkpoints', '30'), how)
  config.num_steps = 40
  resumed = train_and_evaluate(config, workdir, quiet=True)
  warnings = [line for line in capfd.readouterr().err.splitlines() if 'unreadable' in line]
  aside = os.path.join(workdir, 'checkpoints_unreadable', '30')
  assert len(warnings) == 1 and warnings[0].startswith('warning: checkpoint 30 is unreadable')
  assert warnings[0].endswith(f'moved to {aside}, trying an older one')
  assert os.path.isdir(aside)
  straight = train_and_evaluate(config, str(tmp_path / 'straight'), quiet=True)
  assert_trees_equal(straight, resumed)
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints')), key=int) == ['20', '30', '40']


def _inject_nan_at(monkeypatch, step, times):
  """Makes D's params NaN after `step`, the first `times` times the run gets there."""
  make = train_lib.make_train_step
  remaining = [times]

  def patched(gan):
    step_fn = make(gan)

    def wrapped(state, batches):
      state, metrics = step_fn(state, batches)
      if int(state.step) == step and remaining[0] > 0:
        remaining[0] -= 1
        state = state.replace(d_params=jax.tree.map(lambda p: p * jnp.nan, state.d_params))
      return state, metrics
    return wrapped

  monkeypatch.setattr(train_lib, 'make_train_step', patched)


def test_config_difference_names_the_first_differing_key():
  """What a script that goes on in a workdir (planar_study.py, sequences.py) refuses with."""
  config = base_config()
  saved = json.loads(config.to_json())
  assert config_difference(saved, config) is None
  lr = config.optim.lr
  config.seed, config.optim.lr = 3, 0.5
  assert config_difference(saved, config) == f'config.optim.lr: {lr} there, 0.5 now'
  config.optim.lr = lr
  assert config_difference(saved, config) == 'config.seed: 0 there, 3 now'
  del saved['seed']   # a key the saved config lacks differs too
  config.seed = 0
  assert config_difference(saved, config) == 'config.seed: None there, 0 now'


def test_a_config_saved_at_former_paths_reads_at_todays():
  """A run or result saved before the structures' fields moved into config.<structure> (at
  model.num_rollouts, loss.class_weight, data.pseudo_labels, ...) loads with each value at its
  new path, and is no different from today's config of the same settings."""
  from gan_jax import structures
  config = base_config()
  config.structure, config.data.name, config.model.name = 'sequences', 'oracle_lstm', 'lstm'
  config.sequences.sequence_output, config.sequences.num_rollouts = 'gumbel', 4
  config.labeled_images.class_weight = config.images.code_weight = 0.5
  today = json.loads(config.to_json())
  saved = {k: dict(v) if isinstance(v, dict) else v for k, v in today.items()}
  for name, entry in structures.REGISTRY.items():   # the same settings at the former paths
    for old, field in entry.former_paths.items():
      section, key = old.split('.')
      saved[section][key] = today[name][field]
    if entry.former_paths:   # what remains of the section: fields added after the move
      saved[name] = {k: v for k, v in today[name].items()
                     if k not in entry.former_paths.values()}
  assert saved['model']['num_rollouts'] == 4 and saved['loss']['class_weight'] == 0.5
  assert config_difference(saved, config) is None
  loaded = with_defaults(saved)
  assert json.loads(loaded.to_json()) == today
  # A result of the planar study, saved before the move, is a valid graphs config today.
  result = json.load(open(os.path.join(ROOT, 'experiments', 'results',
                                       'planar_sides_seed1_70min.json')))
  assert result['config']['model']['sequence_output'] == 'tokens'
  validate(with_defaults(result['config']))


def test_divergence_stops_naming_step_and_player(tmp_path, monkeypatch):
  config = _ring_config(num_steps=40, checkpoint_every=10, log_every=5)
  workdir = str(tmp_path / 'run')
  _inject_nan_at(monkeypatch, 23, times=1)
  with pytest.raises(DivergenceError, match='of D at step 25; last good checkpoint: 20'):
    train_and_evaluate(config, workdir, quiet=True)
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints')), key=int) == ['10', '20']
  good = _restore(config, workdir)
  assert int(good.step) == 20 and all(np.isfinite(x).all() for x in jax.tree.leaves(good))


def test_divergence_rollback_lowers_the_learning_rate(tmp_path, monkeypatch):
  config = _ring_config(num_steps=40, checkpoint_every=10, log_every=5, on_divergence='rollback')
  workdir = str(tmp_path / 'run')
  _inject_nan_at(monkeypatch, 23, times=1)
  state = train_and_evaluate(config, workdir, quiet=True)
  assert int(state.step) == 40 and all(np.isfinite(x).all() for x in jax.tree.leaves(state))
  records = [json.loads(line) for line in open(os.path.join(workdir, 'metrics.jsonl'))]
  lr = config.optim.lr
  assert [r['step'] for r in records] == [5, 10, 15, 20, 25, 30, 35, 40]
  assert [r['d_lr'] for r in records] == pytest.approx([lr] * 4 + [lr / 2] * 4)
  assert state.d_opt_state.hyperparams['learning_rate'] == pytest.approx(lr / 2)


def _snapshot(folder):
  return {path: hashlib.sha256(open(path, 'rb').read()).hexdigest()
          for path in glob.glob(f'{folder}/**/*', recursive=True) if os.path.isfile(path)}


BAD_INPUT = {
    'unknown config key': (['--config.optim.lrr=1'], 'unknown config key'),
    'unknown loss': (['--config.loss.name=wgangp'], 'unknown loss'),
    'unknown model': (['--config.model.name=stylegan'], "unknown model.name 'stylegan'"),
    'unknown structure': (['--config.structure=molecules'], "unknown structure 'molecules'"),
    'RelGAN with a negative top temperature': (
        ['--config.structure=sequences', '--config.data.name=oracle_lstm',
         '--config.model.name=lstm', '--config.sequences.sequence_output=gumbel',
         '--config.sequences.max_temperature=-1'], 'sequences.max_temperature'),
    'RelGAN schedule of 0 steps': (
        ['--config.structure=sequences', '--config.data.name=oracle_lstm',
         '--config.model.name=lstm', '--config.sequences.temperature_steps=0'],
        'sequences.temperature_steps must be >= 1'),
    'a field at its former path': (['--config.model.num_rollouts=2'],
                                   'config.model.num_rollouts is now config.sequences.num_rollouts'),
    "another structure's field": (['--config.labeled_images.conditional=acgan'],
                                  "labeled_images.conditional='acgan' is a setting of structure "
                                  "'labeled_images', not of this run's 'points'"),
    'unknown graph node order': (['--config.structure=graphs', '--config.data.name=planar',
                                  '--config.graphs.node_order=random'], 'graphs.node_order'),
    'negative learning rate': (['--config.optim.lr=-0.001'], 'optim.lr must be positive'),
    'n_critic of 0': (['--config.n_critic=0'], 'n_critic must be at least 1'),
    'z_dim of 0': (['--config.model.z_dim=0'], 'model.z_dim must be positive'),
    'zero width': (['--config.model.d_features=0'], 'model.d_features must be positive'),
    'EMA decay of 1': (['--config.ema_decay=1.0'], 'ema_decay must be in [0, 1)'),
    'negative penalty weight': (['--config.loss.penalty_weight=-1.0'],
                                'loss.penalty_weight must be >= 0'),
    'negative eval interval': (['--config.eval_every=-5'], 'eval_every must be >= 0'),
    'zero log interval': (['--config.log_every=0'], 'log_every must be positive'),
    'beta1 of 1': (['--config.optim.b1=1.0'], 'optim.b1 must be in [0, 1)'),
    'reused samples with n_critic 2': (['--config.g_samples=reuse', '--config.n_critic=2'],
                                       "g_samples='reuse' needs n_critic=1"),
    'penalty with a BatchNorm D': (['--config.structure=images', '--config.data.name=mnist',
                                    '--config.model.name=dcgan',
                                    '--config.loss.name=wgan_gp'],
                                   'set --config.model.d_batch_norm=False'),
    'unknown shown generator': (['--config.shown_generator=best'],
                                "unknown shown_generator 'best'"),
    'partial host flags': (['--num_processes=2'], 'give all of --coordinator_address'),
    'unknown dataset': (['--config.structure=images', '--config.model.name=dcgan',
                         '--config.data.name=no_such_dataset'], 'TFDS does not know'),
    'unprepared dataset': (['--config.structure=images', '--config.model.name=dcgan',
                            '--config.data.name=mnist', '--config.data.data_dir={empty}'],
                           'is not prepared under'),
    'images for the points structure': (['--config.data.name=mnist',
                                         f'--config.data.data_dir={SHARED_TFDS}'],
                                        'points come from a toy mixture'),
    'batch does not divide': (['--config.batch_size=64'], 'does not divide among 3 devices'),
    'different architecture': (['--config.model.g_features=48'], 'written by a different model'),
    'unwritable workdir': ([], 'cannot create workdir'),
}


@pytest.fixture(scope='module')
def existing_workdir(tmp_path_factory):
  """A workdir with a finished 4-step run in it."""
  workdir = str(tmp_path_factory.mktemp('existing') / 'run')
  result = subprocess.run(_train_command(workdir, '--config.num_steps=4',
                                         '--config.checkpoint_every=2'), capture_output=True)
  assert result.returncode == 0, result.stderr[-2000:]
  return workdir


# Runs experiments/train.py once per bad input, each in a child forked from one process that has
# imported the package: the same script, flags, exit status and stderr as a fresh `python
# experiments/train.py ...` per input, without paying Python's and JAX's imports for each. JAX
# is imported but not started in the parent, so each child starts its own backend (with its
# own XLA_FLAGS where an input asks for them).
_FORKED_RUNS = textwrap.dedent('''
    import glob, hashlib, json, os, runpy, sys, time
    import jax, gan_jax.run.train, gan_jax.run.evaluation   # imported once, shared by the forks
    cases, watched = json.load(sys.stdin)

    def snapshot():
      return {path: hashlib.sha256(open(path, 'rb').read()).hexdigest()
              for path in glob.glob(watched + '/**/*', recursive=True) if os.path.isfile(path)}

    results = {}
    for name, (argv, env, stderr_path) in cases.items():
      start = time.time()
      pid = os.fork()
      if pid == 0:
        code = 1
        try:
          os.environ.update(env)
          err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
          os.dup2(err, 2)
          sys.argv = argv
          runpy.run_path(argv[0], run_name='__main__')
          code = 0
        except SystemExit as exit:
          code = exit.code if isinstance(exit.code, int) else 1
        finally:
          sys.stderr.flush()
          os._exit(code)
      _, status = os.waitpid(pid, 0)
      results[name] = {'returncode': os.waitstatus_to_exitcode(status),
                       'seconds': time.time() - start, 'snapshot': snapshot()}
    print(json.dumps(results))
''')


@pytest.fixture(scope='module')
def bad_input_runs(existing_workdir, tmp_path_factory):
  """Every BAD_INPUT case run through experiments/train.py: its exit status, stderr, seconds,
  and the existing workdir's files after it."""
  folder = tmp_path_factory.mktemp('bad_input')
  (folder / 'a_file').write_text('')
  cases = {}
  for index, (case, (flags, _)) in enumerate(sorted(BAD_INPUT.items())):
    workdir = str(folder / 'a_file' / 'run') if case == 'unwritable workdir' else existing_workdir
    env = devices_env(3) if case == 'batch does not divide' else {}
    argv = _train_command(workdir, *[f.format(empty=folder) for f in flags])[1:]
    cases[case] = (argv, env, str(folder / f'stderr_{index}.txt'))
  before = _snapshot(existing_workdir)
  result = subprocess.run([sys.executable, '-c', _FORKED_RUNS], input=json.dumps(
      [cases, existing_workdir]), capture_output=True, text=True, timeout=600, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-3000:]
  runs = json.loads(result.stdout.splitlines()[-1])
  for case, run in runs.items():
    run['stderr'] = open(cases[case][2]).read()
  return before, runs


@pytest.mark.parametrize('case', sorted(BAD_INPUT))
def test_bad_input_exits_2_with_one_line_and_touches_nothing(case, bad_input_runs):
  flags, expected = BAD_INPUT[case]
  if 'mnist' in ' '.join(flags) and SHARED_TFDS in ' '.join(flags) and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  before, runs = bad_input_runs
  run = runs[case]
  lines = [line for line in run['stderr'].splitlines() if line.strip()]
  assert run['returncode'] == 2, run['stderr'][-2000:]
  assert len(lines) == 1 and lines[0].startswith('error: ') and expected in lines[0], lines
  assert run['seconds'] < 60
  assert run['snapshot'] == before


def test_divergence_exits_3_through_the_script(tmp_path):
  """An absurd learning rate drives the ring GAN to Inf: one line naming the step and the
  player, exit status 3, and only finite checkpoints on disk."""
  workdir = str(tmp_path / 'run')
  result = subprocess.run(_train_command(workdir, '--config.optim.lr=1e30', '--config.num_steps=50',
                                         '--config.log_every=1', '--config.checkpoint_every=100'),
                          capture_output=True, text=True, timeout=120)
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert result.returncode == 3, result.stderr[-2000:]
  assert len(lines) == 1 and lines[0].startswith('error: divergence: a NaN or Inf'), lines
  assert 'last good checkpoint: none' in lines[0]
  assert not os.path.exists(os.path.join(workdir, 'checkpoints')) or not os.listdir(
      os.path.join(workdir, 'checkpoints'))


def test_second_run_on_a_live_workdir_is_refused_and_a_stale_lock_taken_over(tmp_path):
  workdir = str(tmp_path / 'run')
  live = subprocess.Popen(_train_command(workdir, '--config.num_steps=100000000',
                                         '--config.checkpoint_every=100000000'),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 120
    while _last_logged_step(workdir) == 0 and time.time() < deadline:
      time.sleep(0.05)
    second = subprocess.run(_train_command(workdir, '--config.num_steps=10'), capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 2
    assert f'in use by the live run with pid {live.pid}' in second.stderr
  finally:
    live.send_signal(signal.SIGKILL)
    live.wait()
  assert os.path.exists(os.path.join(workdir, 'run.lock'))   # left behind by the killed run
  third = subprocess.run(_train_command(workdir, '--config.num_steps=10'), capture_output=True,
                         text=True, timeout=120)
  assert third.returncode == 0, third.stderr[-2000:]
  assert not os.path.exists(os.path.join(workdir, 'run.lock'))


def test_a_run_by_time_stops_evaluates_and_resumes_on_its_clock(tmp_path):
  """train_minutes stops a run of unbounded steps on a logging step, saved with its minutes;
  eval_every_minutes evaluates on the clock; a resumed run counts on from the saved minutes,
  and one that has its minutes trains no further."""
  config = _ring_config(num_steps=10 ** 6, log_every=10, checkpoint_every=10 ** 6,
                        train_minutes=0.08, eval_every_minutes=0.02)
  first = int(train_and_evaluate(config, str(tmp_path), quiet=True).step)
  assert 0 < first < 10 ** 6 and first % 10 == 0
  assert Checkpointer(str(tmp_path / 'checkpoints'), 3).steps()[-1] == first
  clock = {int(k): v for k, v in json.load(open(tmp_path / 'train_clock.json')).items()}
  assert clock[first] >= 0.08 * 60
  records = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  evaluations = [r for r in records if any(k.startswith('eval/') for k in r)]
  assert len(evaluations) >= 2   # on the clock (compiling included) and at the last step
  minutes = [r['train_minutes'] for r in evaluations]
  assert minutes == sorted(minutes) and minutes[-1] >= 0.08
  config.train_minutes = 0.12
  second = int(train_and_evaluate(config, str(tmp_path), quiet=True).step)
  clock = {int(k): v for k, v in json.load(open(tmp_path / 'train_clock.json')).items()}
  assert second > first and clock[second] >= 0.12 * 60 > clock[first]
  records = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  steps = [r['step'] for r in records if any(k.startswith('eval/') for k in r)]
  assert steps == sorted(set(steps)) and steps[-1] == second   # the curve goes on, once a step
  records = len(records)
  # The same budget again: the run has its minutes, so nothing is trained, logged or evaluated.
  assert int(train_and_evaluate(config, str(tmp_path), quiet=True).step) == second
  assert len(open(tmp_path / 'metrics.jsonl').readlines()) == records


def test_the_disk_cache_computes_once_and_again_after_a_torn_file(tmp_path, monkeypatch):
  from gan_jax.tools import cache
  monkeypatch.setenv('GAN_JAX_CACHE', str(tmp_path))
  calls = []
  compute = lambda: calls.append(1) or np.arange(6, dtype=np.int32)
  first = cache.cached_array('things', 'key-1', compute)
  again = cache.cached_array('things', 'key-1', compute)
  np.testing.assert_array_equal(first, again)
  assert len(calls) == 1 and os.listdir(tmp_path / 'things') == ['key-1.npy']
  path = tmp_path / 'things' / 'key-1.npy'
  path.write_bytes(path.read_bytes()[:20])     # a torn write: read as missing, computed again
  np.testing.assert_array_equal(cache.cached_array('things', 'key-1', compute), first)
  assert len(calls) == 2
