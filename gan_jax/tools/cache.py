"""The project's disk cache: arrays that are slow to compute and the same every time (reference
features of a split, the oracle's sequences), kept under $GAN_JAX_CACHE (else ~/.cache/gan_jax)."""

import os
from typing import Callable

import numpy as np


def cache_dir() -> str:
  """$GAN_JAX_CACHE, else ~/.cache/gan_jax."""
  return os.environ.get('GAN_JAX_CACHE') or os.path.join(os.path.expanduser('~'), '.cache',
                                                         'gan_jax')


def write_atomically(path: str, write: Callable) -> None:
  """write(file) to a temporary file, then renamed: readers see the whole file or none."""
  temporary = f'{path}.{os.getpid()}.partial'
  with open(temporary, 'wb') as f:
    write(f)
  os.replace(temporary, path)


def cached_array(folder: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
  """<cache>/<folder>/<key>.npy, computed and saved when absent or unreadable. The key must
  name everything the array depends on."""
  path = os.path.join(cache_dir(), folder, key + '.npy')
  if os.path.exists(path):
    try:
      return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
      pass     # a partial or corrupt file: computed again
  array = np.asarray(compute())
  os.makedirs(os.path.dirname(path), exist_ok=True)
  write_atomically(path, lambda f: np.save(f, array))
  return array
