"""The structure registry: one entry per kind of output G makes (points, images, labelled images,
token sequences, graphs), holding everything a run needs from it.

The trainer, the scripts and config validation look the entry up once, by `config.structure`,
and ask it; a structure's name decides nothing anywhere else, nor another entry's name in an
entry (tests/test_layout.py checks it). A new kind of output is one `Structure` subclass (plus
its own model, data and metric files) passed to `register`; a test parameterized over
`REGISTRY` then gives it the same guarantees as every other (tests/test_structures.py).
"""

import importlib.util
import os
import sys

from gan_jax.errors import ConfigError, require_choice
# The registry and `register` live in base.py, which the entries import: an entry never imports
# this package's __init__, which imports every entry.
from gan_jax.structures.base import REGISTRY, Data, Structure, draw_samples, register


def get(config) -> Structure:
  """The entry the config names, after importing `config.structure_module` (a .py file that
  registers an entry defined outside the package) if the name is not registered yet; a
  one-line ConfigError for an unknown name."""
  name = config.structure
  module = config.get('structure_module', '')
  if name not in REGISTRY and module:
    _import_file(module)
  require_choice('structure', name, sorted(REGISTRY))
  return REGISTRY[name]


def _import_file(path: str) -> None:
  if not os.path.isfile(path):
    raise ConfigError(f'structure_module {path!r} is not a file; give the .py file that '
                      'registers the structure')
  name = 'gan_jax_structure_' + os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[name] = module
  spec.loader.exec_module(module)


def make_data(config, n_critic: int, *, batch_size=None, seed=None, process_index: int = 0,
              process_count: int = 1) -> Data:
  """The run's data from its structure entry; `batch_size` and `seed` override the config's
  (a study's runs differ in seed only)."""
  if batch_size is not None or seed is not None:
    config = config.copy_and_resolve_references()
    config.batch_size = config.batch_size if batch_size is None else batch_size
    config.seed = config.seed if seed is None else seed
  return get(config).make_data(config, n_critic, process_index, process_count)


def legacy_structure(saved: dict) -> str:
  """The structure of a run saved before `config.structure` existed (its config.json), from what
  those runs could be: toy points, the LSTM oracle, conditional images or images."""
  data, model = saved.get('data', {}), saved.get('model', {})
  for entry in REGISTRY.values():
    if entry.claims_legacy(data, model):
      return entry.name
  return 'images'


# The entries shipped with the package, registered on import (order: simplest first).
from gan_jax.structures import points, images, labeled_images, sequences, graphs  # noqa: E402,F401

__all__ = ['REGISTRY', 'Data', 'Structure', 'draw_samples', 'get', 'legacy_structure', 'make_data', 'register']
