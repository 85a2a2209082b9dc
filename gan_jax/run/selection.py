"""The best checkpoint of a run: the state whose evaluation of the shown G had the best
config.select_metric (lowest with select_mode 'min', highest with 'max'), kept in
<workdir>/best/ with best.json (step, training minutes, metric, value, generator, split).

Chosen on the validation split (config.eval_split), it is the checkpoint the test split is
scored on once (experiments/evaluate.py --checkpoint=best --split=test), so the reported
number is not the best of many looks at the test split.
"""

import json
import os

import numpy as np

from gan_jax.errors import ConfigError
from gan_jax.run.checkpoint import Checkpointer

FOLDER = 'best'
RECORD = 'best.json'


def read_best(workdir: str):
  """The best.json of a run, or None when it kept no best checkpoint."""
  path = os.path.join(workdir, FOLDER, RECORD)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


class BestCheckpoint:
  """Keeps one checkpoint, the best so far; a resumed run compares with the best it kept."""

  def __init__(self, config, workdir: str, is_chief: bool = True):
    self.metric, self.mode = config.select_metric, config.select_mode
    self.enabled = bool(self.metric)
    self.is_chief = is_chief
    self.workdir = workdir
    self.checkpointer = Checkpointer(os.path.join(workdir, FOLDER), 1)
    self.best = read_best(workdir) if self.enabled else None
    if self.best is not None and self.best['step'] not in self.checkpointer.steps():
      self.best = None   # its checkpoint is gone: the record no longer describes one

  def improves(self, results: dict) -> bool:
    """Whether an evaluation's results (of the shown G) beat the best so far."""
    if self.metric not in results:
      raise ConfigError(f'select_metric {self.metric!r} is not a field of the evaluation '
                        f'({", ".join(sorted(results))}); choose one of them')
    value = float(results[self.metric])
    if not np.isfinite(value):
      return False
    if self.best is None:
      return True
    return value < self.best['value'] if self.mode == 'min' else value > self.best['value']

  def save(self, step: int, state, record: dict) -> None:
    """Saves `state` as the best checkpoint (every host calls it) and, on the chief, best.json
    with `record` (what the evaluation was: minutes, metric value, generator, split)."""
    if step in self.checkpointer.steps():   # the same step evaluated again after a resume
      self.checkpointer.manager.delete(step)
    self.checkpointer.save(step, state)
    self.best = {'step': int(step), 'metric': self.metric, 'mode': self.mode, **record}
    if self.is_chief:
      path = os.path.join(self.workdir, FOLDER, RECORD)
      with open(path + '.tmp', 'w') as f:
        json.dump(self.best, f, indent=1)
      os.replace(path + '.tmp', path)
