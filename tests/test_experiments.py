"""Every config runs end to end, every experiment script imports (the guarantees every structure
shares, resume and the scripts included, are in test_structures.py)."""

import glob
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import SHARED_DATASETS, SHARED_TFDS, tiny_config
from gan_jax.data import images as image_data
from gan_jax.run.train import train_and_evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(f'{ROOT}/experiments/configs/*.py')
                 if not p.endswith('__init__.py'))
# 'folder' (folder_dcgan.py) is read for real in test_folder.py.
FAKE_SHAPES = {'cifar10': (32, 32, 3), 'celeb_a': (64, 64, 3), 'folder': (32, 32, 3)}


_tiny = tiny_config


@pytest.fixture
def fake_images(monkeypatch):
  """Random uint8 images for datasets this machine does not have (the loader is the same)."""
  real_loader = image_data.load_labeled_split

  def load(name, split, data_dir, download=False, image_size=None, folder=''):
    if name in FAKE_SHAPES:
      rng = np.random.default_rng(0)
      return rng.integers(0, 256, (16,) + FAKE_SHAPES[name], dtype=np.uint8), None
    return real_loader(name, split, data_dir, download, image_size, folder)

  monkeypatch.setattr(image_data, 'load_labeled_split', load)


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


@pytest.mark.parametrize('name', ['mnist_acgan', 'mnist_completion'])
def test_evaluation_during_training_logs_its_numbers(name, tmp_path):
  """Evaluation returns lists and dicts beside numbers (per-class accuracy); the log keeps the
  numbers and the run goes on."""
  if not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  config = _tiny(importlib.import_module(f'experiments.configs.{name}').get_config(), 1)
  config.eval_every, config.sample_every = 1, 100
  train_and_evaluate(config, str(tmp_path), quiet=True)
  records = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  evaluated = [r for r in records if any(k.startswith('eval/') for k in r)]
  assert len(evaluated) == 1 and all(isinstance(v, float) for v in evaluated[0].values()
                                     if not isinstance(v, int))
  assert any('accuracy' in k for k in evaluated[0])


OPTIONAL = {'torch_reference': 'torch', 'inception_reference': 'pytorch_fid'}   # script -> the
# optional package it needs


_IMPORT_EACH = textwrap.dedent('''
    import importlib, os, pkgutil, sys, traceback
    import gan_jax
    # The libraries every script shares are imported once, here; each script is then imported
    # in a forked child of its own (scripts define absl flags of the same names). Nothing here
    # starts a JAX backend, so the fork copies no XLA threads.
    for info in pkgutil.walk_packages(gan_jax.__path__, 'gan_jax.'):
      importlib.import_module(info.name)
    import jax._src.xla_bridge as xb
    assert not xb._backends, 'a gan_jax module started a JAX backend at import'
    failed = []
    for module in {modules!r}:
      pid = os.fork()
      if pid == 0:
        try:
          importlib.import_module('experiments.' + module)
        except BaseException:
          traceback.print_exc()
          os._exit(1)
        os._exit(0)
      if os.waitpid(pid, 0)[1] != 0:
        failed.append(module)
    print('FAILED', failed)
    sys.exit(1 if failed else 0)
''')


def test_every_experiment_script_imports():
  """The protocols in experiments/ and the one-off measurements in experiments/diagnostics/."""
  paths = sorted(glob.glob(f'{ROOT}/experiments/*.py') +
                 glob.glob(f'{ROOT}/experiments/diagnostics/*.py'))
  modules = [os.path.relpath(p, f'{ROOT}/experiments')[:-3].replace(os.sep, '.') for p in paths]
  modules = [m for m in modules if not m.endswith('__init__')]
  assert 'train' in modules and 'diagnostics.planar_drawing' in modules
  modules = [m for m in modules   # an optional extra that is not installed here is skipped
             if m not in OPTIONAL or importlib.util.find_spec(OPTIONAL[m]) is not None]
  result = subprocess.run([sys.executable, '-c', _IMPORT_EACH.format(modules=modules)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
  assert result.returncode == 0, result.stdout[-500:] + result.stderr[-3000:]
  assert 'FAILED []' in result.stdout
