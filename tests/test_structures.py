"""The conformance suite: one set of guarantees, tested once over the structure registry, so
every kind of output (the shipped ones and tests/timeseries_structure.py, defined outside the
package) gets them: it trains through experiments/train.py, a resumed run is bit-identical to an
uninterrupted one, 1 and 4 devices end in the same state with distinct samples on every
device and integer collections keeping their dtype, and evaluate.py and sample.py work on it.
Resuming and devices are also checked for the configs of EXTRA_CONFIGS, whose models differ
from their structure's first config's."""

import glob
import importlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import timeseries_structure
from conftest import SHARED_DATASETS, SHARED_TFDS, assert_trees_equal, devices_env, tiny_config
from gan_jax import structures
from gan_jax.errors import ConfigError
from gan_jax.run.config import base_config, validate
from gan_jax.structures.base import StudyProtocol
from gan_jax.run.train import train_and_evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
# The config each structure is checked with: the first experiments/configs file naming it,
# unless another is more telling or runs offline (REINFORCE's rollouts for sequences, AC-GAN's
# loss terms for labelled images, MNIST rather than CelebA, the ring rather than 1D).
PREFERRED = {'sequences': 'oracle_seqgan', 'labeled_images': 'mnist_acgan',
             'images': 'mnist_dcgan', 'points': 'toy2d_ring'}
# Configs checked beside each structure's own: the planar study's G (third nodes read in a
# latent plane, per-node noise, pmapped noise of the global batch) and its PPGN critic.
EXTRA_CONFIGS = ('graphs_planar_refine',)


def _config_files():
  files = {}
  for path in sorted(glob.glob(f'{ROOT}/experiments/configs/*.py')):
    name = os.path.basename(path)[:-3]
    if name != '__init__':
      config = importlib.import_module(f'experiments.configs.{name}').get_config()
      files.setdefault(config.structure, []).append(path)
  files['timeseries'] = [timeseries_structure.__file__]
  return files


CONFIG_FILES = _config_files()


def config_file(structure):
  files = CONFIG_FILES[structure]
  preferred = [f for f in files if os.path.basename(f)[:-3] == PREFERRED.get(structure)]
  return (preferred or files)[0]


def load_config(structure):
  """The config a structure is checked with, or one of EXTRA_CONFIGS by its name."""
  path = (f'{ROOT}/experiments/configs/{structure}.py' if structure in EXTRA_CONFIGS
          else config_file(structure))
  spec = importlib.util.spec_from_file_location('config_of_' + structure, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  if config.data.name in SHARED_DATASETS and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  return config


def test_every_registered_structure_has_a_config():
  assert set(structures.REGISTRY) == set(CONFIG_FILES), (set(structures.REGISTRY),
                                                          set(CONFIG_FILES))


@pytest.mark.parametrize('structure', sorted(CONFIG_FILES))
def test_what_scripts_ask_every_entry_it_answers(structure):
  """study.py, planar_study.py and the VAE study ask the entry, never its name: every entry
  answers, with a protocol or a one-line ConfigError (the defaults of gan_jax.structures.base)."""
  entry, config = structures.REGISTRY[structure], load_config(structure)
  assert entry.vae_likelihood in ('gaussian', 'bernoulli')
  try:
    protocol = entry.study_protocol(config)
    assert isinstance(protocol, StudyProtocol) and protocol.metric
  except ConfigError as error:
    assert 'has no protocol in experiments/study.py' in str(error)
  try:
    entry.check_draws(config)
  except ConfigError as error:   # and then evaluate_draws refuses the same way, sampling nothing
    with pytest.raises(ConfigError, match='no protocol of independent draws'):
      entry.evaluate_draws(lambda n, seed: pytest.fail('sampled'), config)
    assert '\n' not in str(error)


def _overrides(config):
  """Command-line flags that make a config what conftest.tiny_config makes it (every field it
  changes, read off the two configs, so the two cannot drift apart), evaluation off."""
  tiny = tiny_config(config.copy_and_resolve_references())
  tiny.eval_every = 0

  def leaves(tree, prefix=''):
    for key, value in tree.items():
      if isinstance(value, dict):
        yield from leaves(value, f'{prefix}{key}.')
      else:
        yield f'{prefix}{key}', value

  before = dict(leaves(config.to_dict()))
  return [f'--config.{path}={value}' for path, value in leaves(tiny.to_dict())
          if before.get(path) != value]


def _script(name, *args):
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'experiments', name), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env=dict(os.environ, JAX_PLATFORMS='cpu'))
  assert result.returncode == 0, f'{name}: {result.stderr[-3000:]}'
  return result.stdout


@pytest.mark.parametrize('structure', sorted(CONFIG_FILES))
def test_trains_scores_and_samples_through_the_scripts(structure, tmp_path):
  config = load_config(structure)
  workdir = str(tmp_path / 'run')
  _script('train.py', f'--config={config_file(structure)}', f'--workdir={workdir}',
          *_overrides(config))
  assert os.listdir(os.path.join(workdir, 'checkpoints')) == ['2']
  assert len(os.listdir(os.path.join(workdir, 'samples'))) == 2
  _script('evaluate.py', f'--workdir={workdir}', '--num_samples=40', '--generator=raw')
  results = json.load(open(os.path.join(workdir, 'eval_step_2_raw.json')))
  assert results['step'] == 2 and results['generator'] == 'raw'
  _script('sample.py', f'--workdir={workdir}', '--num_samples=12', '--generator=raw')
  samples = np.load(os.path.join(workdir, 'samples_step_2_raw.npy'))
  assert len(samples) == 12 and np.all(np.isfinite(samples))
  entry = structures.REGISTRY[structure]
  example = entry.example(tiny_config(config))
  example = example['x'] if isinstance(example, dict) else example
  assert samples.shape[1:] == example.shape and samples.dtype == example.dtype, (
      samples.shape, samples.dtype, entry.encoding)


@pytest.mark.parametrize('structure', sorted(CONFIG_FILES) + list(EXTRA_CONFIGS))
def test_resumed_run_is_bit_identical(structure, tmp_path):
  config = tiny_config(load_config(structure), num_steps=4)
  config.checkpoint_every = 2
  config.n_critic, config.g_samples = 2, 'fresh'   # D's steps resume too
  config.sample_every = 100
  config.eval_every = 0
  straight = train_and_evaluate(config, str(tmp_path / 'straight'), quiet=True)
  config.num_steps = 2
  train_and_evaluate(config, str(tmp_path / 'resumed'), quiet=True)
  config.num_steps = 4
  resumed = train_and_evaluate(config, str(tmp_path / 'resumed'), quiet=True)
  assert_trees_equal(straight, resumed)


_DEVICES_SCRIPT = textwrap.dedent('''
    import sys
    sys.path.insert(0, {tests!r})
    import dataclasses
    import jax, jax.numpy as jnp, numpy as np, optax
    assert jax.local_device_count() == 4, jax.devices()
    import test_structures
    from gan_jax import structures
    from gan_jax.core.state import create_state
    from gan_jax.core.steps import generate_for_training, make_train_step
    from gan_jax.run import parallel
    from gan_jax.run.config import build_gan, n_critic
    from conftest import tiny_config

    def leaves(tree):
      return jax.tree_util.tree_leaves_with_path(tree)

    for name in {names!r}:
      config = tiny_config(test_structures.load_config(name))
      config.batch_size = 8
      data = structures.make_data(config, n_critic(config))
      # SGD, not Adam: Adam's first step is lr * sign(g), so a gradient that is zero up to
      # rounding (an embedding row of a token no sequence used) becomes a step of +-lr in either
      # program and would hide what this compares (as in test_parallel.py).
      sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
      gan = dataclasses.replace(build_gan(config, data.example), g_optimizer=sgd,
                                d_optimizer=sgd)
      # Jitted: the common start of the three programs; op by op the planar G takes a minute.
      start = jax.jit(lambda key: create_state(gan, key, data.example))(jax.random.PRNGKey(0))
      batches = [data.batches(i) for i in range(2)]
      fresh = lambda: jax.tree.map(jnp.copy, start)   # the steps donate their state
      state = fresh()
      step = make_train_step(gan)
      for b in batches:
        state, _ = step(state, b)
      single = jax.device_get(state)
      for n in (4,):   # 2 devices: test_hosts.py, for the ring, MNIST and the oracle
        pstep = parallel.make_parallel_train_step(gan, jax.devices()[:n])
        replicated = parallel.replicate(fresh(), n)
        for b in batches:
          replicated, _ = pstep(replicated, b)
        multi = jax.device_get(parallel.unreplicate(replicated))
        for (path, a), (_, b) in zip(leaves(single), leaves(multi)):
          where = name + ' ' + str(n) + ' devices ' + jax.tree_util.keystr(path)
          assert a.dtype == b.dtype, (where, a.dtype, b.dtype)
          np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                     rtol=2e-4, atol=2e-5, err_msg=where)
      # Every device draws its own rows of the global batch: no two devices alike.
      pgan = parallel.data_parallel(gan, 4)
      real = parallel.shard(jax.tree.map(lambda b: b[0], batches[0]), 4)
      draw = jax.pmap(lambda s, r: generate_for_training(pgan, s, jax.random.PRNGKey(5), r).x,
                      axis_name=parallel.AXIS, devices=jax.devices()[:4])
      x = np.asarray(draw(parallel.replicate(fresh(), 4), real))
      for i in range(4):
        for j in range(i):
          assert not np.array_equal(x[i], x[j]), (name, 'devices', i, j, 'drew the same samples')
      print(name, 'OK', flush=True)
    print('ALL OK')
''')


# Each group in its own process, within its own time limit: the planar G compiles for minutes.
@pytest.mark.parametrize('group', [sorted(CONFIG_FILES), list(EXTRA_CONFIGS)],
                         ids=['structures', 'extra_configs'])
def test_one_and_four_devices_end_in_the_same_state_with_distinct_samples(group):
  names = [s for s in group
           if not (load_config_data(s) in SHARED_DATASETS and not os.path.isdir(SHARED_TFDS))]
  env = devices_env(4)
  result = subprocess.run([sys.executable, '-c', _DEVICES_SCRIPT.format(tests=TESTS, names=names)],
                          env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
  print(result.stdout)
  assert result.returncode == 0, result.stdout + result.stderr[-4000:]
  assert 'ALL OK' in result.stdout


def load_config_data(structure):
  if structure in EXTRA_CONFIGS:
    return importlib.import_module(f'experiments.configs.{structure}').get_config().data.name
  return importlib.import_module('experiments.configs.' + os.path.basename(
      config_file(structure))[:-3]).get_config().data.name if structure != 'timeseries' else ''


# A shared field that only some entries read is checked for every structure (issue 33): the
# config each structure is known by, the external one's included.
FLOAT16_CONFIGS = {'points': 'toy2d_ring', 'images': 'mnist_dcgan', 'labeled_images': 'mnist_acgan',
                   'sequences': 'oracle_seqgan', 'graphs': 'graphs_planar_refine'}


@pytest.mark.parametrize('structure', sorted(CONFIG_FILES))
def test_a_shared_field_is_refused_whatever_the_structure(structure, tmp_path):
  if structure in FLOAT16_CONFIGS:
    name = FLOAT16_CONFIGS[structure]
    config = importlib.import_module(f'experiments.configs.{name}').get_config()
  else:
    config = timeseries_structure.get_config()
  assert config.structure == structure
  validate(config)
  config.model.compute_dtype = 'float16'
  with pytest.raises(ConfigError, match="unknown model.compute_dtype 'float16'") as error:
    validate(config)
  assert '\n' not in str(error.value)
  workdir = tmp_path / 'run'
  with pytest.raises(ConfigError, match='model.compute_dtype'):
    train_and_evaluate(config, str(workdir), quiet=True)
  assert not workdir.exists()


def test_a_shared_field_the_ring_does_not_read_exits_2_in_one_line(tmp_path):
  workdir = tmp_path / 'run'
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'experiments', 'train.py'),
       f'--config={ROOT}/experiments/configs/toy2d_ring.py', '--config.model.compute_dtype=float16',
       f'--workdir={workdir}'], capture_output=True, text=True, timeout=120, cwd=ROOT,
      env=dict(os.environ, JAX_PLATFORMS='cpu'))
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert result.returncode == 2, result.stderr[-2000:]
  assert len(lines) == 1 and "unknown model.compute_dtype 'float16'" in lines[0], lines
  assert not workdir.exists()


class _Points(structures.Structure):
  """A structure a newcomer might write: data, example and models, and no `draw`."""
  name = 'points_without_draw'
  dim = 2

  def make_data(self, config, n_critic, process_index=0, process_count=1):
    local = config.batch_size // process_count
    rng = np.random.default_rng(config.seed)
    return structures.Data(self.example(config), lambda step: rng.normal(
        size=(n_critic, local, self.dim)).astype(np.float32))

  def example(self, config):
    return np.zeros((self.dim,), np.float32)

  def build_models(self, config, example):
    from gan_jax.models.vectors import MLPDiscriminator, MLPGenerator
    return MLPGenerator(self.dim, (8,)), MLPDiscriminator((8,))


class _Series(_Points):
  name = 'series_without_draw'
  dim = 16


def test_a_run_and_a_restore_look_the_entry_up_once(monkeypatch, tmp_path):
  """The trainer and load_run look the structure up once and pass the entry down (validate,
  the example, build_gan, the data): no part of a run asks the registry again."""
  from gan_jax.run.evaluation import load_run
  lookups, get = [], structures.get
  monkeypatch.setattr(structures, 'get', lambda config: lookups.append(1) or get(config))
  train_and_evaluate(tiny_config(load_config('points')), str(tmp_path), quiet=True)
  assert len(lookups) == 1
  load_run(str(tmp_path))
  assert len(lookups) == 2


@pytest.fixture
def registered():
  """Registers entries for one test and takes them out of the registry after it."""
  names = []

  def register(entry):
    names.append(entry.name)
    return structures.register(entry)
  yield register
  for name in names:
    structures.REGISTRY.pop(name, None)


@pytest.mark.parametrize('entry,pictures', [(_Points(), 2), (_Series(), 0)],
                         ids=['points', 'series'])
def test_a_structure_without_draw_trains_to_the_end(entry, pictures, registered, tmp_path):
  """The default `draw`: a picture of G's samples where a generic one exists (a scatter of 2D
  points), none otherwise (16-step series); the run ends either way."""
  registered(entry)
  config = tiny_config(base_config())
  config.structure, config.model.z_dim = entry.name, 4
  state = train_and_evaluate(config, str(tmp_path / 'run'), quiet=True)
  assert int(state.step) == 2
  assert sorted(os.listdir(tmp_path / 'run' / 'checkpoints')) == ['2']
  drawn = sorted(os.listdir(tmp_path / 'run' / 'samples'))
  assert drawn == ['step_0000001.png', 'step_0000002.png'][:pictures], drawn


def test_a_structure_missing_a_required_method_stops_at_registration(registered):
  class NoModels(structures.Structure):
    name = 'no_models'

    def example(self, config):
      return np.zeros((2,), np.float32)

  with pytest.raises(ConfigError, match="'no_models' .* does not define make_data, "
                     'build_models;') as error:
    registered(NoModels())
  assert '\n' not in str(error.value) and 'no_models' not in structures.REGISTRY
