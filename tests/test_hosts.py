"""Several hosts train one model: 2 processes of 1 CPU device each, joined by jax.distributed
(JAX's gloo collectives) through experiments/train.py's coordinator flags, end where a
1-process run on 2 local devices ends, BatchNorm and REINFORCE's rollouts included (and, for the
ring, where 1 device ends: 1 against several devices for every structure is test_structures').

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
import numpy as np
import pytest

from conftest import SHARED_TFDS, devices_env
from gan_jax.data.hosts import host_rows
from gan_jax.errors import ConfigError
from gan_jax.run.evaluation import load_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    'ring_mlp': ('toy2d_ring.py', ['--config.batch_size=16', '--config.model.g_features=16',
                                   '--config.model.d_features=16']),
    'mnist_dcgan_batch_norm': ('mnist_dcgan.py', [
        '--config.batch_size=8', '--config.model.g_features=4', '--config.model.d_features=4',
        '--config.model.z_dim=8', f'--config.data.data_dir={SHARED_TFDS}']),
    # Token sequences: every device samples its own rows, REINFORCE's rollouts included.
    'oracle_seqgan': ('oracle_seqgan.py', ['--config.batch_size=8', '--config.n_critic=1',
                                           '--config.sequences.num_rollouts=2']),
}
COMMON = ['--config.num_steps=2', '--config.checkpoint_every=2', '--config.log_every=1',
          '--config.sample_every=100', '--config.eval_every=0']


@pytest.mark.parametrize('count', [1, 2, 4, 8])
def test_host_rows_split_the_global_batch_in_order(count):
  """Every structure's data keeps host_rows of the global batch: the hosts' rows are disjoint
  and, concatenated in process order, are the global batch in its order."""
  batch = np.arange(100, 116)   # a global batch of 16 rows, values not positions
  parts = [batch[host_rows(16, index, count)] for index in range(count)]
  np.testing.assert_array_equal(np.concatenate(parts), batch)
  assert all(len(part) == 16 // count for part in parts)
  assert len(set().union(*map(set, parts))) == 16


def test_host_rows_refuse_a_batch_that_does_not_split():
  with pytest.raises(ConfigError, match='batch_size 10 does not split over 4 hosts'):
    host_rows(10, 0, 4)
  with pytest.raises(ConfigError, match='process_index'):
    host_rows(8, 2, 2)


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _launch(workdir, config_file, flags, devices, host_flags=()):
  env = devices_env(devices)
  command = [sys.executable, os.path.join(ROOT, 'experiments', 'train.py'),
             f'--config={os.path.join(ROOT, "experiments", "configs", config_file)}',
             f'--workdir={workdir}', *COMMON, *flags, *host_flags]
  return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _wait(processes):
  for process in processes:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]


def _final_state(workdir):
  return load_run(workdir)[2]


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_two_hosts_equal_two_local_devices_and_one_device(name, tmp_path):
  config_file, flags = CONFIGS[name]
  if 'mnist' in name and not os.path.isdir(SHARED_TFDS):
    pytest.skip('shared data not available')
  port = _free_port()
  hosts = str(tmp_path / 'two_hosts')   # one workdir shared by both processes, as on a cluster
  _wait([_launch(hosts, config_file, flags, 1,
                 [f'--coordinator_address=127.0.0.1:{port}', '--num_processes=2',
                  f'--process_id={i}']) for i in range(2)])
  runs = ['two_hosts', 'two_devices'] + (['one_device'] if name == 'ring_mlp' else [])
  _wait([_launch(str(tmp_path / 'two_devices'), config_file, flags, 2)])
  if 'one_device' in runs:
    _wait([_launch(str(tmp_path / 'one_device'), config_file, flags, 1)])
  states = {run: _final_state(str(tmp_path / run)) for run in runs}
  assert all(int(state.step) == 2 for state in states.values())
  logged = open(os.path.join(hosts, 'metrics.jsonl')).read().splitlines()
  assert len(logged) == 2   # process 0 alone writes the shared logs
  assert not os.path.exists(os.path.join(hosts, 'run.lock'))
  if name == 'oracle_seqgan':
    # G's Adam at 1e-2 turns a rounding-level gradient (an embedding row of a token sampled
    # once) into a step of ~lr: allow a few such elements in a leaf, no more. (Before every
    # device drew its own rows, 121 of G's 128 biases differed between the runs.)
    _assert_close_but_few(states['two_hosts'], states['two_devices'], 1e-5, 1e-6)
    return
  chex.assert_trees_all_close(states['two_hosts'], states['two_devices'], rtol=1e-5, atol=1e-6)
  if 'one_device' in states:
    chex.assert_trees_all_close(states['two_hosts'], states['one_device'], rtol=1e-4, atol=1e-5)


def _assert_close_but_few(a_tree, b_tree, rtol, atol, max_elements=3):
  """Every leaf equal to tolerance except at most `max_elements` elements (Adam's sign steps)."""
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(a_tree), jax.tree.leaves(b_tree)):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    wrong = int(np.sum(np.abs(a - b) > atol + rtol * np.abs(b)))
    assert wrong <= max_elements, (jax.tree_util.keystr(path), wrong, a.size)
