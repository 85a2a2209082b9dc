"""Per-run metrics: one JSON-lines file, TensorBoard event files (tensorboardX, no TensorFlow)
and a progress bar with steps/s and the current losses."""

import json
import math
import os
import sys
import time

import tqdm


class MetricWriter:

  def __init__(self, workdir: str, first_step: int, total_steps: int, enabled: bool = True,
               progress_bar: bool = True):
    self.enabled = enabled
    self.path = os.path.join(workdir, 'metrics.jsonl')
    if not enabled:
      return
    _truncate_after(self.path, first_step)   # drop what a killed run logged past its checkpoint
    from tensorboardX import SummaryWriter
    self._tensorboard = SummaryWriter(os.path.join(workdir, 'tensorboard'), purge_step=first_step)
    self._bar = tqdm.tqdm(total=total_steps, initial=first_step, unit='step', file=sys.stderr,
                          dynamic_ncols=True, mininterval=1.0,
                          disable=None if progress_bar else True)
    self._last = (first_step, time.perf_counter())

  def write(self, step: int, metrics: dict, training: bool = True) -> None:
    """Appends one record; training records also get steps/s and move the progress bar."""
    if not self.enabled:
      return
    record = {'step': int(step), **{k: float(v) for k, v in metrics.items()}}
    if training:
      now = time.perf_counter()
      last_step, last_time = self._last
      record['steps_per_sec'] = (step - last_step) / max(now - last_time, 1e-9)
      self._last = (step, now)
    with open(self.path, 'a') as f:
      f.write(json.dumps(record) + '\n')
    for name, value in record.items():
      if name != 'step' and math.isfinite(value):
        self._tensorboard.add_scalar(name, value, step)
    if not training:
      self._bar.write(f'step {step}: ' + ', '.join(f'{k} {v:.4g}' for k, v in metrics.items()))
      return
    self._bar.update(step - self._bar.n)
    self._bar.set_postfix({k: f'{record[k]:.3f}' for k in ('d_loss', 'g_loss') if k in record})

  def close(self) -> None:
    if self.enabled:
      self._tensorboard.close()
      self._bar.close()


def _truncate_after(path: str, step: int) -> None:
  if not os.path.exists(path):
    return
  kept = [line for line in open(path) if line.strip() and json.loads(line)['step'] <= step]
  with open(path + '.tmp', 'w') as f:
    f.writelines(kept)
  os.replace(path + '.tmp', path)


def read_metrics(workdir: str):
  path = os.path.join(workdir, 'metrics.jsonl')
  return [json.loads(line) for line in open(path) if line.strip()]
