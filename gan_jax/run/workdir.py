"""A run's folder: created and checked before any work, held by one live run at a time."""

import os

from gan_jax.errors import ConfigError


class WorkdirLock:
  """One live run per workdir: a lock file holding the owner's pid; a dead owner's is taken over.

  In a multi-host run every process shares the workdir and only process 0 holds the lock.
  """

  def __init__(self, workdir: str, enabled: bool = True):
    self.path = os.path.join(workdir, 'run.lock')
    self.enabled = enabled

  def __enter__(self):
    if not self.enabled:
      return self
    for _ in range(2):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
      except FileExistsError:
        owner = _read_pid(self.path)
        if owner is not None and owner != os.getpid() and _alive(owner):
          raise ConfigError(f'workdir {os.path.dirname(self.path)} is in use by the live run '
                            f'with pid {owner}; wait for it or choose another --workdir') from None
        os.remove(self.path)   # a stale lock of a dead process
        continue
      with os.fdopen(fd, 'w') as f:
        f.write(str(os.getpid()))
      return self
    raise ConfigError(f'cannot take the lock {self.path}; remove it if no run uses the workdir')

  def __exit__(self, *exc):
    if self.enabled and _read_pid(self.path) == os.getpid():
      os.remove(self.path)


def _read_pid(path):
  try:
    return int(open(path).read().strip() or -1)
  except (OSError, ValueError):
    return None


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def check_workdir(workdir: str) -> str:
  """The absolute workdir, created if missing; a one-line error if it cannot be written."""
  workdir = os.path.abspath(workdir)
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as error:
    raise ConfigError(f'cannot create workdir {workdir}: {error.strerror}; choose another '
                      '--workdir') from None
  if not os.access(workdir, os.W_OK | os.X_OK):
    raise ConfigError(f'workdir {workdir} is not writable; choose another --workdir')
  return workdir
