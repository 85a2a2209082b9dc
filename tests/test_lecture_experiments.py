"""The lecture's experiments and the study run end to end at tiny settings and write their
figures and reports (the numbers themselves come from the default settings, see README)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import SHARED_TFDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(script, workdir, *flags):
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'experiments', script),
                           f'--workdir={workdir}', *flags], capture_output=True, text=True,
                          cwd=ROOT, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


@pytest.fixture
def data_dir():
  if not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  return SHARED_TFDS


def test_generator_alone(tmp_path, data_dir):
  _run('generator_alone.py', tmp_path, f'--data_dir={data_dir}', '--ae_steps=20',
       '--gan_steps=4', '--toy_steps=20', '--samples=300')
  for figure in ('reconstructions', 'samples_from_random_codes', 'interpolation', 'pixel_error',
                 'vae_vs_gan_2d'):
    assert os.path.getsize(tmp_path / f'{figure}.png') > 1000
  report = json.load(open(tmp_path / 'report.json'))
  assert report['auto-encoder']['fid'] > 0 and report['VAE']['fid'] > 0
  assert report['pixel_error']['1 wrong pixel (stray)']['wrong_pixels'] == 1
  assert report['pixel_error']['6 wrong pixels (stroke)']['wrong_pixels'] == 6
  assert report['ring8/real']['modes_captured'] == 8
  assert {'ring8/VAE', 'ring8/GAN', 'grid25/VAE', 'grid25/GAN'} <= set(report)


def test_discriminator_alone(tmp_path, data_dir):
  _run('discriminator_alone.py', tmp_path, f'--data_dir={data_dir}', '--toy_iterations=30',
       '--mnist_iterations=2', '--mnist_samples=100', '--mnist_langevin_steps=2')
  for figure in ('one_d_iterations', 'ring_samples', 'mnist_from_d_alone'):
    assert os.path.getsize(tmp_path / f'{figure}.png') > 1000
  report = json.load(open(tmp_path / 'report.json'))
  assert {'mixture1d/search', 'mixture1d/generator', 'ring8/search', 'ring8/generator'} <= set(report)
  assert report['mnist/search']['seconds_per_sample_search'] > 0
  assert 0.0 <= report['mixture1d/search']['js'] <= 0.7


def test_study_on_the_ring(tmp_path):
  _run('study.py', tmp_path, '--datasets=ring8', '--methods=non_saturating,wgan_gp,vae',
       '--runs=2', '--toy_steps=20', '--speed_steps=10')
  report = json.load(open(tmp_path / 'study.json'))
  assert [row['method'] for row in report['ring8']['table']] == ['non_saturating', 'wgan_gp', 'vae']
  assert all(len(row['runs']) == 2 for row in report['ring8']['rows'])
  assert {s['strategy'] for s in report['speed']} == {'vmap', 'unroll'}
  assert os.path.getsize(tmp_path / 'study_ring8.png') > 1000


def test_tuned_study_trains_each_loss_for_the_same_epochs(tmp_path, data_dir):
  """Equal epochs are equal D batches: WGAN-GP's 5 critic steps give it a fifth of the G steps."""
  _run('study.py', tmp_path, f'--data_dir={data_dir}', '--datasets=mnist', '--nospeed',
       '--methods=non_saturating,wgan_gp,vae', '--hyperparameters=tuned', '--runs=2',
       '--epochs=0.04', '--eval_epochs=0.02', '--eval_samples=100', '--width=8')
  rows = {row['method']: row['runs'] for row in json.load(open(tmp_path / 'study.json'))['mnist']['rows']}
  assert [run['steps'] for run in rows['non_saturating']] == [37, 37]      # 0.04 * 937 batches
  assert [run['steps'] for run in rows['wgan_gp']] == [7, 7]               # 0.04 * 937 / 5
  assert (rows['wgan_gp'][0]['lr'], rows['wgan_gp'][0]['b2'], rows['wgan_gp'][0]['n_critic']) == \
      (1e-4, 0.9, 5)
  for runs in rows.values():
    assert [p['epoch'] for p in runs[0]['curve']] == [0.02, 0.04]
    assert runs[0]['curve'][-1]['fid'] == runs[0]['fid']
  assert os.path.getsize(tmp_path / 'study_mnist_curve.png') > 1000


def test_tuned_study_refuses_a_loss_without_published_settings(tmp_path, data_dir):
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'experiments', 'study.py'),
                           f'--workdir={tmp_path}', f'--data_dir={data_dir}', '--datasets=mnist',
                           '--nospeed', '--methods=dragan', '--hyperparameters=tuned'],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
  assert result.returncode != 0
  assert "--hyperparameters=tuned has settings for" in result.stderr.strip().splitlines()[-1]
