"""Data parallelism over every device of every host with `jax.pmap`, behind this small interface.

The step functions stay the pure functions of `gan_jax.core.steps`; this module only gives them an
axis name (gradients, metrics and BatchNorm statistics are averaged over it with `lax.pmean`,
which spans all hosts' devices once `jax.distributed` is initialised) and moves state and
batches to and from the local devices. Each host passes its own slice of the global batch.
`pmap` is in maintenance mode since jax 0.8; swapping it for `jit` with shardings changes this
module only.
"""

import dataclasses
import functools
import os
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import ConfigError

from gan_jax.core.state import GAN
from gan_jax.core.steps import train_step

AXIS = 'devices'


def check_divisible(global_batch_size: int, n_devices: int) -> int:
  """The per-device batch size; a clear error when the batch does not divide."""
  if global_batch_size % n_devices:
    raise ConfigError(f'batch size {global_batch_size} does not divide among {n_devices} devices; '
                     f'use a multiple of {n_devices} (e.g. --config.batch_size='
                     f'{max(n_devices, global_batch_size // n_devices * n_devices)})')
  return global_batch_size // n_devices


def needs_pmap() -> bool:
  """Whether steps must run pmapped: more than one device in all, on this host or others."""
  return jax.device_count() > 1


def initialize(coordinator_address=None, num_processes=None, process_id=None) -> None:
  """Joins this process to a multi-host run (jax.distributed) before any device is used.

  With the three values given, they are passed on (CPU hosts use JAX's gloo collectives, so
  this works on a laptop too). Without them, JAX's own detection runs on clusters it knows
  (Cloud TPU pods, SLURM with several tasks); elsewhere nothing happens: a one-host run.
  """
  given = [v is not None for v in (coordinator_address, num_processes, process_id)]
  if any(given) and not all(given):
    raise ConfigError('give all of --coordinator_address, --num_processes and --process_id, '
                      'or none of them')
  if all(given):
    if not 0 <= process_id < num_processes:
      raise ConfigError(f'--process_id must be in [0, {num_processes}), got {process_id}')
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
  elif (int(os.environ.get('SLURM_NTASKS', '1')) > 1
        or os.environ.get('TPU_WORKER_HOSTNAMES', '').count(',') > 0):
    jax.distributed.initialize()


def _with_axis(module):
  return module.clone(axis_name=AXIS) if hasattr(module, 'axis_name') else module


def data_parallel(gan: GAN, n_devices: Optional[int] = None) -> GAN:
  """The same GAN with its per-device batch size (global batch / devices of all hosts, or
  `n_devices`) and BatchNorm synchronised over all devices."""
  per_device = check_divisible(gan.batch_size, n_devices or jax.device_count())
  return dataclasses.replace(gan, batch_size=per_device, axis_name=AXIS,
                             generator=_with_axis(gan.generator),
                             discriminator=_with_axis(gan.discriminator))


def make_parallel_train_step(gan: GAN, devices: Optional[Sequence] = None):
  """`train_step` pmapped over all devices (or the local `devices` given: a one-host run on
  part of them). `gan.batch_size` is the global batch size.

  The returned function takes a replicated state and this host's batches, of shape
  (n_critic, global_batch / process_count, ...), and returns a replicated state and the
  metrics (averaged over all devices).
  """
  pgan = data_parallel(gan, None if devices is None else len(devices))
  n = jax.local_device_count() if devices is None else len(devices)
  step = jax.pmap(functools.partial(train_step, gan=pgan), axis_name=AXIS, donate_argnums=0,
                  devices=devices)

  def parallel_step(replicated_state, batches):
    batches = shard(batches, n, axis=1)
    new_state, metrics = step(replicated_state, batches)
    return new_state, jax.tree.map(lambda m: m[0], metrics)

  return parallel_step


def shard(x, n_devices: int, axis: int = 0):
  """Splits dimension `axis` of every leaf among devices: (..., B, ...) -> (n, ..., B/n, ...)."""
  def split(a):
    a = np.asarray(a) if not isinstance(a, jax.Array) else a
    shape = a.shape
    check_divisible(shape[axis], n_devices)
    a = a.reshape(shape[:axis] + (n_devices, shape[axis] // n_devices) + shape[axis + 1:])
    return a if axis == 0 else a.swapaxes(0, axis)
  return jax.tree.map(split, x)


def replicate(tree, n_devices: Optional[int] = None):
  """Copies a pytree onto every local device, or the first `n_devices` (leading axis = device)."""
  n = n_devices or jax.local_device_count()
  return jax.tree.map(lambda x: jnp.broadcast_to(x, (n,) + jnp.shape(x)), tree)


def unreplicate(tree):
  """The copy on the first device."""
  return jax.tree.map(lambda x: x[0], tree)
