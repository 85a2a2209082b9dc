"""Checkpoints of the whole GANState with orbax-checkpoint's CheckpointManager.

Restoring walks back from the newest step: an unreadable checkpoint (truncated, missing or
garbage files) is reported in one line, moved aside to `<dir>_unreadable/<step>` (so the run can
save that step again) and the next older one is used. A checkpoint whose arrays have other
shapes than the configured model is a config error, not a fallback. Saves are synchronous and
atomic (orbax writes a temporary folder and renames it); old checkpoints are deleted by the
preservation policy only after a new save completed.
"""

import os
import shutil
import sys

import flax
import jax
import numpy as np
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

from gan_jax.errors import ConfigError
from gan_jax.core.state import UPGRADABLE_FIELDS, upgrade_state_dict


class Checkpointer:

  def __init__(self, directory: str, keep: int):
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(
        preservation_policy=ocp.checkpoint_managers.LatestN(n=keep),
        enable_async_checkpointing=False,
        create=False)
    self._manager = None
    self._options = options

  @property
  def manager(self) -> ocp.CheckpointManager:
    if self._manager is None:   # created lazily: a run that fails validation writes nothing
      os.makedirs(self.directory, exist_ok=True)
      self._manager = ocp.CheckpointManager(self.directory, options=self._options,
                                             item_handlers=ocp.StandardCheckpointHandler())
    return self._manager

  def steps(self):
    if not os.path.isdir(self.directory):
      return []
    return sorted(self.manager.all_steps())

  def save(self, step: int, state) -> None:
    state = jax.device_get(flax.serialization.to_state_dict(state))
    self.manager.save(int(step), args=ocp.args.StandardSave(state), force=True)
    self.manager.wait_until_finished()

  def restore_latest(self, template):
    """The newest readable checkpoint restored into `template`'s structure, or None.

    A checkpoint written before a field of the state existed restores into the fields it has,
    and `state.upgrade_state_dict` fills the rest.
    """
    full_target = flax.serialization.to_state_dict(template)
    for step in reversed(self.steps()):
      target = self._saved_fields(step, full_target)
      self._check_shapes(step, target)
      try:
        restored = upgrade_state_dict(
            self.manager.restore(step, args=ocp.args.StandardRestore(target)))
      except Exception as error:  # orbax raises many types for damaged files
        aside = self._move_aside(step)
        print(f'warning: checkpoint {step} is unreadable ({type(error).__name__}: '
              f'{(str(error).splitlines() or [""])[0][:120]}); moved to {aside}, trying an older one',
              file=sys.stderr)
        continue
      # Orbax places each array on a device explicitly; fresh arrays are not placed, and jit
      # compiles anew for the difference. Unplaced copies let a resumed run reuse the compiled
      # step (and the tests of resumption compile once).
      restored = jax.tree.map(lambda x: jax.numpy.asarray(np.asarray(x))
                              if isinstance(x, jax.Array) else x, restored)
      return flax.serialization.from_state_dict(template, restored)
    return None

  def _saved_fields(self, step: int, target: dict) -> dict:
    """`target` without the top-level fields an older checkpoint lacks (filled on upgrade)."""
    metadata = self._metadata(step)
    if not isinstance(metadata, dict) or not metadata:
      return target
    missing = set(target) - set(metadata)
    if missing and missing <= set(UPGRADABLE_FIELDS):
      return {k: v for k, v in target.items() if k not in missing}
    return target

  def _metadata(self, step: int):
    try:
      metadata = self.manager.item_metadata(step)
    except Exception:
      return None   # unreadable metadata: restore() reports it and falls back
    return dict(metadata) if hasattr(metadata, 'keys') else metadata

  def _move_aside(self, step: int) -> str:
    """Moves an unreadable checkpoint out of the way (process 0 of a multi-host run does it;
    the others wait for it)."""
    aside = os.path.join(f'{self.directory}_unreadable', str(step))
    if jax.process_index() == 0:
      os.makedirs(os.path.dirname(aside), exist_ok=True)
      if os.path.exists(aside):
        shutil.rmtree(aside)
      shutil.move(os.path.join(self.directory, str(step)), aside)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices(f'checkpoint {step} moved aside')
    self._manager = None   # it caches the list of steps
    return aside

  def _check_shapes(self, step: int, target) -> None:
    metadata = self._metadata(step)
    if metadata is None:
      return
    expected = {jax.tree_util.keystr(k): np.shape(v)
                for k, v in jax.tree_util.tree_leaves_with_path(target)}
    try:
      found = {jax.tree_util.keystr(k): tuple(v.shape)
               for k, v in jax.tree_util.tree_leaves_with_path(metadata)}
    except (AttributeError, TypeError):
      return   # metadata of an unexpected form: restore() decides
    if set(found) != set(expected) or any(found[k] != expected[k] for k in expected):
      differing = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
      raise ConfigError(
          f'checkpoint {step} in {self.directory} was written by a different model (first '
          f'difference at {differing[0]}); use a new --workdir or the config it was trained with')
