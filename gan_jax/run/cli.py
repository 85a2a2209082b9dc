"""What every experiment script shares: flag parsing, exit statuses, the command echoed.

Bad input (a flag or config key that does not exist, a value of the wrong type, any
ConfigError) exits with status 2 and one line; a divergence exits with status 3.
"""

import json
import os
import shlex
import sys

from absl import app, flags, logging

from gan_jax.errors import ConfigError, DivergenceError

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3

# Multi-host runs (jax.distributed); every script that trains or evaluates takes them.
_COORDINATOR = flags.DEFINE_string('coordinator_address', None,
                                   'host:port of process 0, for a multi-host run.')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Processes in a multi-host run.')
_PROCESS_ID = flags.DEFINE_integer('process_id', None, 'This process, in [0, num_processes).')


def define_workdir(help_text: str = 'Output folder (created if missing).'):
  """The --workdir flag every script takes, required."""
  return flags.DEFINE_string('workdir', None, help_text, required=True)


def define_data_dir(help_text: str = 'TFDS data dir (else $TFDS_DATA_DIR).'):
  """The --data_dir flag of scripts that read TFDS datasets."""
  return flags.DEFINE_string('data_dir', None, help_text)


def define_checkpoint(default: str = 'latest'):
  """The --checkpoint flag of scripts that restore a run: its newest checkpoint, or the one kept
  for its best evaluation (config.select_metric)."""
  return flags.DEFINE_enum('checkpoint', default, ['latest', 'best'],
                           "Which checkpoint: the run's newest, or the one it kept for its best "
                           'evaluation (<workdir>/best/, config.select_metric).')


def open_workdir(workdir_flag) -> str:
  """The flag's folder as an absolute path, created; a ConfigError (exit 2) if it cannot be."""
  from gan_jax.run.workdir import check_workdir
  return check_workdir(workdir_flag.value)


def command_line() -> str:
  """The command that is running, as a user would type it."""
  return 'python ' + ' '.join(shlex.quote(arg) for arg in sys.argv)


def write_report(workdir: str, report: dict, name: str = 'report.json') -> str:
  """Writes a script's figures as JSON beside its pictures, with the command that made them,
  prints them and returns the path."""
  report = {'command': command_line(), **report}
  path = os.path.join(workdir, name)
  with open(path, 'w') as f:
    json.dump(report, f, indent=2, default=float)
  print(json.dumps(report, indent=2, default=float))
  print(f'written to {path}')
  return path


def _fail(message: str, status: int):
  print(f'error: {message}', file=sys.stderr)
  sys.exit(status)


def _overrides(argv) -> list:
  """The dotted keys a command line sets (`--config.model.z_dim=8` -> 'config.model.z_dim')."""
  keys = [arg[2:].split('=', 1)[0] for arg in argv[1:] if arg.startswith('--')]
  return [key for key in keys if '.' in key]


def _moved(argv):
  """'config.model.num_rollouts is now config.sequences.num_rollouts' for the first override
  naming a field's former path (gan_jax.run.config.moved_paths), else None."""
  keys = _overrides(argv)
  if not keys:
    return None
  from gan_jax.run.config import moved_paths   # on bad input only: it imports the registry
  moved = moved_paths()
  for key in keys:
    flag, _, path = key.partition('.')
    if path in moved:
      return f'{key} is now ' + ' or '.join(f'{flag}.{new}' for new in moved[path])
  return None


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except (AttributeError, KeyError) as error:   # ml_collections: a config key that does not exist
    moved = _moved(argv)
    if moved:
      _fail(moved, EXIT_BAD_INPUT)
    words = str(error).replace('\\n', ' ').replace('\\', '').replace("'", '').split()
    name = words[0].strip('"') if words else repr(error)
    named = [key for key in _overrides(argv) if key.rsplit('.', 1)[-1] == name]
    hint = f" ({' '.join(words[1:])})" if len(words) > 1 else ''
    _fail(f'unknown config key {named[0] if len(named) == 1 else name!r}{hint}', EXIT_BAD_INPUT)
  except (flags.Error, TypeError, ValueError) as error:
    moved = _moved(argv)
    if moved:
      _fail(moved, EXIT_BAD_INPUT)
    message = ' '.join(str(error).split())
    _fail(f'{message} (see --helpfull for the flags)', EXIT_BAD_INPUT)


def config_value(config_flag):
  """The parsed --config; a config file that cannot be read is a ConfigError."""
  config = config_flag.value
  try:
    config.to_dict()   # ml_collections defers a missing file's IOError to the first access
  except OSError as error:
    raise ConfigError(f"cannot read the config file: {' '.join(str(error).split())}") from None
  return config


def run(main):
  """absl's app.run, with one-line errors and fixed exit statuses for bad input."""
  from gan_jax.run import parallel   # imported here: `import gan_jax.run.cli` stays light

  def guarded(argv):
    logging.set_verbosity(logging.ERROR)   # orbax logs every save; TFDS warns on missing data
    if len(argv) > 1:
      _fail(f'unexpected arguments {argv[1:]}', EXIT_BAD_INPUT)
    # Every figure a script prints comes with the command that produced it.
    print('command: ' + command_line(), flush=True)
    try:
      parallel.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
      main(argv)
    except ConfigError as error:
      _fail(str(error), EXIT_BAD_INPUT)
    except DivergenceError as error:
      _fail(str(error), EXIT_DIVERGED)

  app.run(guarded, flags_parser=_parse_flags)
