"""Every config runs end to end; a stopped and restarted run equals an uninterrupted one."""

import glob
import importlib
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SHARED_TFDS, assert_trees_equal
from gan_jax.data import images as image_data
from gan_jax.run.train import train_and_evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(f'{ROOT}/experiments/configs/*.py')
                 if not p.endswith('__init__.py'))
SHARED_DATASETS = ('mnist', 'fashion_mnist')
FAKE_SHAPES = {'cifar10': (32, 32, 3), 'celeb_a': (64, 64, 3)}


def _tiny(config, num_steps=2):
  """The config at test size: 2 steps, batch 4, narrow models, everything written each step."""
  config.num_steps = num_steps
  config.batch_size = 4
  config.model.g_features = config.model.d_features = 8
  config.log_every = config.sample_every = 1
  config.checkpoint_every = 2
  if config.data.name in SHARED_DATASETS:
    config.data.data_dir = SHARED_TFDS
  if config.model.name == 'lstm':
    config.eval_samples, config.model.num_rollouts = 200, 2
  return config


@pytest.fixture
def fake_images(monkeypatch):
  """Random uint8 images for datasets this machine does not have (the loader is the same)."""
  real_loader = image_data.load_split

  def load(name, split, data_dir, download=False, image_size=None):
    if name in FAKE_SHAPES:
      rng = np.random.default_rng(0)
      return rng.integers(0, 256, (16,) + FAKE_SHAPES[name], dtype=np.uint8)
    return real_loader(name, split, data_dir, download, image_size)

  monkeypatch.setattr(image_data, 'load_split', load)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_runs_two_steps(name, tmp_path, fake_images):
  config = importlib.import_module(f'experiments.configs.{name}').get_config()
  if config.data.name in SHARED_DATASETS and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  state = train_and_evaluate(_tiny(config), str(tmp_path), quiet=False)
  assert int(state.step) == 2
  lines = open(tmp_path / 'metrics.jsonl').read().splitlines()
  assert sum('"g_loss"' in line for line in lines) == 2
  assert sum('"eval/' in line for line in lines) == (1 if config.eval_every else 0)
  assert os.listdir(tmp_path / 'checkpoints') == ['2']
  picture = 'txt' if config.model.name == 'lstm' else 'png'   # token ids, or a picture
  assert sorted(os.listdir(tmp_path / 'samples')) == [f'step_000000{i}.{picture}' for i in (1, 2)]
  assert os.path.exists(tmp_path / 'config.json')
  assert os.path.exists(tmp_path / 'plots' / 'curves.png')
  assert glob.glob(str(tmp_path / 'tensorboard' / 'events.out.tfevents.*'))


@pytest.mark.parametrize('name', ['toy2d_ring', 'mnist_dcgan', 'mnist_cgan_projection'])
def test_resumed_run_is_bit_identical(name, tmp_path):
  config = importlib.import_module(f'experiments.configs.{name}').get_config()
  if config.data.name in SHARED_DATASETS and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  config = _tiny(config, num_steps=6)
  config.checkpoint_every = 3
  config.n_critic = 2
  config.g_samples = 'fresh'
  straight = train_and_evaluate(config, str(tmp_path / 'straight'), quiet=True)
  config.num_steps = 3
  train_and_evaluate(config, str(tmp_path / 'resumed'), quiet=True)
  config.num_steps = 6
  resumed = train_and_evaluate(config, str(tmp_path / 'resumed'), quiet=True)
  assert_trees_equal(straight, resumed)


OPTIONAL = {'torch_reference': 'torch'}   # script -> the optional package it needs


def test_every_experiment_script_imports():
  """Each in a process of its own: scripts define absl flags of the same names."""
  modules = [os.path.basename(p)[:-3] for p in sorted(glob.glob(f'{ROOT}/experiments/*.py'))]
  modules = [m for m in modules if m != '__init__']
  assert 'train' in modules
  for module in modules:
    if module in OPTIONAL and importlib.util.find_spec(OPTIONAL[module]) is None:
      continue   # an optional extra that is not installed here
    code = f'import experiments.{module}'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, f'experiments/{module}.py: {result.stderr[-2000:]}'


@pytest.mark.parametrize('name', ['toy2d_ring', 'mnist_dcgan'])
def test_sample_script_writes_reloadable_samples(name, tmp_path):
  config = importlib.import_module(f'experiments.configs.{name}').get_config()
  if config.data.name in SHARED_DATASETS and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  config = _tiny(config)
  config.eval_every = 0
  train_and_evaluate(config, str(tmp_path), quiet=True)
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'experiments', 'sample.py'),
                           f'--workdir={tmp_path}', '--num_samples=100', '--generator=raw'],
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  samples = np.load(tmp_path / 'samples_step_2_raw.npy')
  assert samples.dtype == np.float32 and np.isfinite(samples).all()
  if name == 'mnist_dcgan':
    assert samples.shape == (100, 28, 28, 1)
    assert samples.min() >= -1.0 and samples.max() <= 1.0   # G's tanh range
  else:
    assert samples.shape == (100, 2)
  assert os.path.getsize(tmp_path / 'samples_step_2_raw.png') > 0
