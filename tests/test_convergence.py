"""experiments/convergence.py: epochs resume where they stopped, both generators are scored."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SHARED_TFDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'experiments', 'convergence.py')
TINY = ['--config.batch_size=4', '--config.model.g_features=8', '--config.model.d_features=8',
        '--steps_per_epoch=2', '--num_samples=64', f'--data_dir={SHARED_TFDS}']


def _run(workdir, *args):
  result = subprocess.run([sys.executable, SCRIPT, f'--workdir={workdir}', *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(workdir, 'convergence.json')) as f:
    return json.load(f)


@pytest.fixture
def mnist_config(shared_tfds):
  return os.path.join(ROOT, 'experiments', 'configs', 'mnist_dcgan.py')


def test_epochs_continue_where_they_stopped(tmp_path, mnist_config):
  first = _run(tmp_path, f'--config={mnist_config}', '--epochs=1', *TINY)
  again = _run(tmp_path, f'--config={mnist_config}', '--epochs=2', *TINY)
  assert [e['step'] for e in again['epochs']] == [2, 4]
  assert again['epochs'][0] == first['epochs'][0]       # the first epoch was not trained again
  for epoch in again['epochs']:
    assert epoch['ema']['fid'] > 0 and epoch['raw']['fid'] > 0
    assert epoch['ema']['fid'] != epoch['raw']['fid']   # two generators, scored separately
  assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['2', '4']
  result = subprocess.run([sys.executable, SCRIPT, f'--workdir={tmp_path}',
                           f'--plot={tmp_path / "convergence.json"}'],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.path.getsize(tmp_path / 'convergence.png') > 0


@pytest.mark.skipif(importlib.util.find_spec('torch') is None, reason='torch is an optional extra')
def test_peer_trains_on_the_same_batches(tmp_path, mnist_config):
  record = _run(tmp_path, f'--config={mnist_config}', '--epochs=1', '--peer', *TINY)
  assert record['trainer'] == 'torch' and record['epochs'][0]['step'] == 2
  assert record['epochs'][0]['raw']['fid'] > 0


def test_a_pseudo_label_run_is_scored_and_sampled_as_a_model_of_p_x(tmp_path, shared_tfds):
  config = os.path.join(ROOT, 'experiments', 'configs', 'mnist_clusters.py')
  record = _run(tmp_path, f'--config={config}', '--epochs=1', '--config.labeled_images.pseudo_labels=2',
                '--config.labeled_images.num_classes=2', *TINY)
  assert record['epochs'][0]['raw']['fid'] > 0 and record['epochs'][0]['ema']['fid'] > 0
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'experiments', 'sample.py'),
                           f'--workdir={tmp_path}', '--num_samples=10', f'--data_dir={SHARED_TFDS}'],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-3000:]
  samples = np.load(tmp_path / 'samples_step_2_ema.npy')
  assert samples.shape == (10, 28, 28, 1) and np.all(np.abs(samples) <= 1)
