"""Several hosts train one model: 2 processes of 1 CPU device each, joined by jax.distributed
(JAX's gloo collectives) through experiments/train.py's coordinator flags, end where a
1-process run on 2 local devices and a 1-process run on 1 device end, BatchNorm included.

To try it by hand (two shells, or `&` as here):
  XLA_FLAGS=--xla_force_host_platform_device_count=1 python experiments/train.py \
      --config experiments/configs/toy2d_ring.py --workdir /tmp/hosts \
      --coordinator_address=127.0.0.1:12355 --num_processes=2 --process_id=0 &
  (the same with --process_id=1)
"""

import os
import socket
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import pytest

from conftest import SHARED_TFDS
from gan_jax.run.checkpoint import Checkpointer
from gan_jax.run.config import build_gan, with_defaults
from gan_jax.core.state import create_state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    'ring_mlp': ('toy2d_ring.py', ['--config.batch_size=16', '--config.model.g_features=16',
                                   '--config.model.d_features=16'], (2,)),
    'mnist_dcgan_batch_norm': ('mnist_dcgan.py', [
        '--config.batch_size=8', '--config.model.g_features=4', '--config.model.d_features=4',
        '--config.model.z_dim=8', f'--config.data.data_dir={SHARED_TFDS}'], (28, 28, 1)),
}
COMMON = ['--config.num_steps=3', '--config.checkpoint_every=3', '--config.log_every=1',
          '--config.sample_every=100', '--config.eval_every=0']


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _launch(workdir, config_file, flags, devices, host_flags=()):
  env = dict(os.environ, JAX_PLATFORMS='cpu',
             XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}')
  command = [sys.executable, os.path.join(ROOT, 'experiments', 'train.py'),
             f'--config={os.path.join(ROOT, "experiments", "configs", config_file)}',
             f'--workdir={workdir}', *COMMON, *flags, *host_flags]
  return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _wait(processes):
  for process in processes:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]


def _final_state(workdir, shape):
  import json
  config = with_defaults(json.load(open(os.path.join(workdir, 'config.json'))))
  gan = build_gan(config, shape)
  template = create_state(gan, jax.random.PRNGKey(config.seed), jnp.zeros(shape))
  return Checkpointer(os.path.join(workdir, 'checkpoints'), 1).restore_latest(template)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_two_hosts_equal_two_local_devices_and_one_device(name, tmp_path):
  config_file, flags, shape = CONFIGS[name]
  if 'mnist' in name and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  port = _free_port()
  hosts = str(tmp_path / 'two_hosts')   # one workdir shared by both processes, as on a cluster
  _wait([_launch(hosts, config_file, flags, 1,
                 [f'--coordinator_address=127.0.0.1:{port}', '--num_processes=2',
                  f'--process_id={i}']) for i in range(2)])
  _wait([_launch(str(tmp_path / 'two_devices'), config_file, flags, 2)])
  _wait([_launch(str(tmp_path / 'one_device'), config_file, flags, 1)])
  states = {run: _final_state(str(tmp_path / run), shape)
            for run in ('two_hosts', 'two_devices', 'one_device')}
  assert all(int(state.step) == 3 for state in states.values())
  chex.assert_trees_all_close(states['two_hosts'], states['two_devices'], rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(states['two_hosts'], states['one_device'], rtol=1e-4, atol=1e-5)
  logged = open(os.path.join(hosts, 'metrics.jsonl')).read().splitlines()
  assert len(logged) == 3   # process 0 alone writes the shared logs
  assert not os.path.exists(os.path.join(hosts, 'run.lock'))
