"""Every config runs end to end, every experiment script imports (the guarantees every structure
shares, resume and the scripts included, are in test_structures.py)."""

import glob
import importlib
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SHARED_DATASETS, SHARED_TFDS, tiny_config
from gan_jax.data import images as image_data
from gan_jax.run.train import train_and_evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(f'{ROOT}/experiments/configs/*.py')
                 if not p.endswith('__init__.py'))
FAKE_SHAPES = {'cifar10': (32, 32, 3), 'celeb_a': (64, 64, 3)}


_tiny = tiny_config


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
