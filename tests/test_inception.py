"""The FID Inception network against pytorch-fid, without torch: the fixture holds the reference
network's outputs on fixed images with seeded random weights (experiments/inception_reference.py
made it, with its command); the test draws the same weights, converts them with the converter
a user runs on the real file, and requires the same features, logits and FID."""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import tiny_config
from gan_jax.errors import ConfigError
from gan_jax.metrics import fid, inception
from gan_jax.tools import torch_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures')


@functools.lru_cache(maxsize=1)
def reference():
  with np.load(os.path.join(FIXTURES, 'inception_reference.npz')) as archive:
    return {k: archive[k] for k in archive.files}


def names_and_shapes(fixture):
  return [(str(n), tuple(int(d) for d in str(s).split(',') if d))
          for n, s in zip(fixture['names'], fixture['shapes'])]


@functools.lru_cache(maxsize=1)
def seeded_variables():
  fixture = reference()
  state_dict = inception.random_state_dict(names_and_shapes(fixture), int(fixture['seed']))
  return inception.variables_from_state_dict(state_dict)


def relative_error(ours, theirs):
  return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def test_features_logits_and_fid_match_pytorch_fid():
  fixture = reference()
  variables = seeded_variables()
  for size in ('small', 'large'):     # 28x28 grayscale (enlarged), 320x320 RGB (shrunk)
    images = fixture[f'{size}_images'].astype(np.float32) / 127.5 - 1.0
    features, logits = inception.features_and_logits(variables, images, batch_size=2)
    assert features.shape == (len(images), inception.FEATURE_DIM)
    assert logits.shape == (len(images), inception.NUM_LOGITS)
    assert relative_error(features, fixture[f'{size}_features']) < 1e-4, size
    assert relative_error(logits, fixture[f'{size}_logits']) < 1e-4, size
    if size == 'small':
      ours = fid(features[:4], features[4:])
      assert abs(ours - float(fixture['fid_halves'])) < 1e-3 * float(fixture['fid_halves'])


def test_the_fixture_names_every_variable_of_the_network_once():
  """The reference state_dict (its names and shapes from pytorch-fid's own network) converts to
  exactly the Flax network's variables: 94 convolutions and BatchNorms, and the fc."""
  fixture = reference()
  names = [n for n, _ in names_and_shapes(fixture)]
  assert len(names) == len(set(names))
  assert sum(n.endswith('conv.weight') for n in names) == 94
  assert len(inception.variable_shapes()) == 94 * 5 + 2
  reference_layout = {(n, s) for n, s in names_and_shapes(fixture)
                      if not n.endswith('num_batches_tracked')}
  assert set(inception.torch_layout()) == reference_layout


def test_conversion_refuses_another_state_dict():
  fixture = reference()
  state_dict = inception.random_state_dict(names_and_shapes(fixture)[:10], 0)
  with pytest.raises(ConfigError, match='variables missing'):
    inception.variables_from_state_dict(state_dict)
  state_dict = inception.random_state_dict(names_and_shapes(fixture), 0)
  state_dict['fc.weight'] = state_dict['fc.weight'][:1000]
  with pytest.raises(ConfigError, match='fc.weight has shape'):
    inception.variables_from_state_dict(state_dict)


def test_weights_file_round_trip_and_one_line_errors(tmp_path):
  path = str(tmp_path / 'inception.npz')
  with pytest.raises(ConfigError) as missing:
    inception.load_variables(path)
  message = str(missing.value)
  assert '\n' not in message and inception.REFERENCE_SHA256 in message
  assert inception.REFERENCE_URL in message and path in message
  inception.save_variables(seeded_variables(), path, source_sha256='seeded random, seed 0')
  variables, source = inception.load_variables(path)
  assert source == 'seeded random, seed 0'
  np.testing.assert_array_equal(variables['params']['fc']['kernel'],
                                seeded_variables()['params']['fc']['kernel'])
  corrupt = tmp_path / 'corrupt.npz'
  corrupt.write_bytes(open(path, 'rb').read()[:1000])
  with pytest.raises(ConfigError, match='unreadable'):
    inception.load_variables(str(corrupt))


@pytest.mark.parametrize('kind', ['zip', 'legacy'])
def test_reads_both_torch_save_formats_without_torch(kind):
  state = torch_checkpoint.load_state_dict(os.path.join(FIXTURES, f'torch_state_{kind}.pth'))
  with np.load(os.path.join(FIXTURES, 'torch_state_expected.npz')) as expected:
    assert sorted(state) == sorted(expected.files)
    for name in expected.files:
      assert state[name].dtype == expected[name].dtype, name
      np.testing.assert_array_equal(state[name], expected[name])


def test_reader_refuses_a_pickle_that_is_not_a_state_dict(tmp_path):
  import pickle
  path = tmp_path / 'evil.pth'
  path.write_bytes(pickle.dumps(os.system))
  with pytest.raises(ValueError):
    torch_checkpoint.load_state_dict(str(path))


def test_reader_runs_no_code_from_a_malicious_pickle(tmp_path):
  import pickle

  class Payload:
    def __reduce__(self):
      return (open, (str(tmp_path / 'ran'), 'w'))

  path = tmp_path / 'payload.pth'
  path.write_bytes(pickle.dumps(Payload()))
  with pytest.raises(ValueError, match='not a plain state_dict'):
    torch_checkpoint.load_state_dict(str(path))
  assert not (tmp_path / 'ran').exists()


def test_evaluate_names_its_features_and_refuses_inception_without_weights(tmp_path,
                                                                          shared_tfds):
  """LeNet results say so; --features=inception without the weights file exits 2 with one line
  naming the file, its sha256 and where it is published, and writes nothing in the workdir."""
  from experiments.configs import mnist_dcgan
  from gan_jax.run.train import train_and_evaluate
  workdir = tmp_path / 'run'
  train_and_evaluate(tiny_config(mnist_dcgan.get_config()), str(workdir))
  evaluate = [sys.executable, os.path.join(ROOT, 'experiments', 'evaluate.py'),
              f'--workdir={workdir}', '--num_samples=40']
  env = dict(os.environ, JAX_PLATFORMS='cpu',
             GAN_JAX_INCEPTION_WEIGHTS=str(tmp_path / 'absent.npz'))
  result = subprocess.run(evaluate, capture_output=True, text=True, cwd=ROOT, env=env)
  assert result.returncode == 0, result.stderr[-2000:]
  scores = json.load(open(workdir / 'eval_step_2_ema.json'))
  assert scores['features'] == 'lenet' and 'mnist lenet sha256' in scores['feature_weights']

  before = {p: os.path.getmtime(p) for p in workdir.rglob('*')}
  result = subprocess.run(evaluate + ['--features=inception'], capture_output=True, text=True,
                          cwd=ROOT, env=env)
  assert result.returncode == 2
  error = result.stderr.strip()
  assert len(error.splitlines()) == 1, error
  for part in (inception.REFERENCE_FILE, inception.REFERENCE_SHA256, inception.REFERENCE_URL,
               'absent.npz'):
    assert part in error
  assert {p: os.path.getmtime(p) for p in workdir.rglob('*')} == before


def test_reference_statistics_are_cached_and_written_as_pytorch_fid_npz(tmp_path, shared_tfds):
  """fid_statistics.py writes mu and sigma as pytorch-fid does (np.savez, keys mu and sigma),
  from features cached under $GAN_JAX_CACHE by dataset, split, features and count; --compare
  reads any such file."""
  script = os.path.join(ROOT, 'experiments', 'fid_statistics.py')
  env = dict(os.environ, JAX_PLATFORMS='cpu', GAN_JAX_CACHE=str(tmp_path / 'cache'))

  def run(*args):
    result = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                            cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout

  common = ['--dataset=mnist', '--features=lenet', f'--data_dir={shared_tfds}',
            '--num_images=500']
  run(*common, '--split=test', f'--output={tmp_path / "test.npz"}')
  run(*common, '--split=train', f'--output={tmp_path / "train.npz"}')
  cached = sorted(os.listdir(tmp_path / 'cache' / 'reference'))
  assert [name.rsplit('-', 1)[0] for name in cached] == ['mnist-test-lenet-500'] * 2 + \
      ['mnist-train-lenet-500'] * 2
  with np.load(tmp_path / 'test.npz') as archive:
    assert sorted(archive.files) == ['mu', 'sigma']
    mu, sigma = archive['mu'], archive['sigma']
  assert mu.shape == (128,) and sigma.shape == (128, 128)
  published = tmp_path / 'published.npz'
  np.savez(published, mu=mu, sigma=sigma)     # what pytorch-fid's --save-stats writes
  assert abs(float(run(f'--compare={tmp_path / "test.npz"},{published}').split('=')[-1])) < 1e-4
  line = run(f'--compare={tmp_path / "test.npz"},{tmp_path / "train.npz"}')
  assert float(line.split('=')[-1]) > 0.5    # 500 vs 500 images: far above 0
