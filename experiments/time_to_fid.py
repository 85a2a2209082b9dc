"""Quality per minute: FID on held-out validation images against minutes of training, the
checkpoint chosen on them, and the test split scored once, on that checkpoint.

python experiments/time_to_fid.py --config experiments/configs/mnist_clusters.py --minutes=30 \
    --eval_minutes=3 --seeds=0,1,2 --workdir workdirs/time_to_fid/mnist_clusters \
    --data_dir=../shared/data/tensorflow_datasets

The protocol (docs/convergence.md): --validation images (10,000) are held out of the training
split, the same for every run of a dataset, and never trained on nor clustered. The run trains
through train_and_evaluate for --minutes of training (config.train_minutes; drawing and
evaluation stop the clock); every --eval_minutes (config.eval_every_minutes) --eval_samples
samples of each generator (--generators) are scored against the held-out images, and the
trainer keeps the checkpoint of the lowest validation FID of the shown G (config.select_metric).
Then the test split is scored once, on that checkpoint (--test_samples samples), in the
config's features (LeNet for MNIST and Fashion-MNIST).

Seeds train one after another, each in <workdir>/seed_N; a stopped seed goes on where it
stopped, and a finished one is neither trained nor scored again. `--steps=N` trains N G steps
instead, evaluating every --eval_steps, for seeds run side by side on separate cores (whose
minutes are not those of a machine to itself):

for seed in 0 1; do taskset -c $seed python experiments/time_to_fid.py \
    --config experiments/configs/mnist_clusters.py --steps=20000 --eval_steps=2000 \
    --seeds=$seed --workdir workdirs/time_to_fid/mnist_clusters_steps & done

Each seed's record (config, overrides, seed, budget, G steps, the validation curve, the chosen
checkpoint and its test scores, the machine) replaces the record of the same run in --results,
and the dataset's runs in that file are drawn, FID against minutes, to
--figures/time_to_fid_<dataset>.png.
"""

import fcntl
import json
import os
import platform
import sys
from typing import NamedTuple

import jax
from absl import flags
from ml_collections import config_flags

from gan_jax.errors import ConfigError
from gan_jax.metrics import features
from gan_jax.run import cli, evaluation, selection
from gan_jax.run.config import config_difference, validate
from gan_jax.run.train import train_and_evaluate
from gan_jax.tools import plots
from gan_jax.tools.metric_writers import read_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORD = 'time_to_fid.json'   # a finished seed's record, in its workdir

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.',
                                          lock_config=True)
_WORKDIR = cli.define_workdir('Folder of the runs: one seed_N folder per seed.')
flags.mark_flags_as_required(['config'])
_DATA_DIR = cli.define_data_dir()
_MINUTES = flags.DEFINE_float('minutes', 30.0, 'Minutes of training per seed.')
_EVAL_MINUTES = flags.DEFINE_float('eval_minutes', 3.0,
                                   'Minutes of training between validation scores.')
_STEPS = flags.DEFINE_integer('steps', 0, 'G steps per seed instead of --minutes (0: by '
                              'minutes).')
_EVAL_STEPS = flags.DEFINE_integer('eval_steps', 0, 'G steps between validation scores with '
                                   '--steps (0: a tenth of --steps).')
_SEEDS = flags.DEFINE_list('seeds', ['0'], 'Seeds, trained one after another.')
_VALIDATION = flags.DEFINE_integer('validation', 10000,
                                   'Images held out of the training split to validate on.')
_EVAL_SAMPLES = flags.DEFINE_integer('eval_samples', 10000,
                                     'Samples per generator at each validation score.')
_TEST_SAMPLES = flags.DEFINE_integer('test_samples', 10000,
                                     'Samples of the chosen checkpoint scored on the test split.')
_GENERATORS = flags.DEFINE_enum('generators', 'both', ['both', 'shown'],
                                "Generators scored on validation: the raw and the EMA G, or the "
                                "config's shown_generator alone (which the choice is made on).")
_RESULTS = flags.DEFINE_string('results', os.path.join(ROOT, 'experiments', 'results', RECORD),
                               'The results file each record replaces its own in.')
_FIGURES = flags.DEFINE_string('figures', os.path.join(ROOT, 'experiments', 'figures'),
                               'Folder of the figures.')


class Budget(NamedTuple):
  """What a seed trains for: minutes of training (evaluated every eval_minutes), or steps."""
  minutes: float = 0.0
  eval_minutes: float = 0.0
  steps: int = 0
  eval_steps: int = 0

  def fields(self) -> dict:
    if self.steps:
      return {'steps': self.steps, 'eval_steps': self.eval_steps}
    return {'minutes': self.minutes, 'eval_minutes': self.eval_minutes}

  def check(self) -> None:
    if self.steps < 0 or self.eval_steps < 0:
      raise ConfigError('--steps and --eval_steps must be >= 0')
    if self.steps and not 0 < self.eval_steps <= self.steps:
      raise ConfigError(f'--eval_steps must be in [1, --steps={self.steps}], got '
                        f'{self.eval_steps}')
    if not self.steps and not 0 < self.eval_minutes <= self.minutes:
      raise ConfigError(f'--minutes must be positive and --eval_minutes in (0, --minutes], got '
                        f'{self.minutes} and {self.eval_minutes}')


def protocol_config(config, budget: Budget, seed: int, validation: int, eval_samples: int,
                    generators: str = 'both'):
  """The config under the protocol: held-out images scored during training, the best
  validation FID's checkpoint kept, trained for the budget."""
  config = config.copy_and_resolve_references()
  config.seed = seed
  config.data.validation = validation
  config.eval_split = 'validation'
  config.eval_samples = eval_samples
  config.eval_generators = generators
  config.select_metric, config.select_mode = 'fid', 'min'
  if budget.steps:
    config.num_steps, config.eval_every = budget.steps, budget.eval_steps
    config.train_minutes = config.eval_every_minutes = 0.0
  else:
    config.num_steps, config.eval_every = 10 ** 9, 0   # the clock stops the run
    config.train_minutes, config.eval_every_minutes = budget.minutes, budget.eval_minutes
  validate(config)
  return config


# What may change when a seed's workdir is trained further: the budget, and where data lives.
_RESUMABLE = ('num_steps', 'eval_every', 'train_minutes', 'eval_every_minutes', 'data.data_dir',
              'labeled_images.labels_file')


def _check_same_run(config, workdir: str) -> None:
  """A one-line refusal to go on with a workdir trained under other settings."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    return
  with open(path) as f:
    saved = json.load(f)
  now = config.copy_and_resolve_references()
  for key in _RESUMABLE:
    parent, name = (now.data, key[5:]) if key.startswith('data.') else (now, key)
    there = saved.get('data', {}) if key.startswith('data.') else saved
    if name in there:
      parent[name] = there[name]
  difference = config_difference(saved, now)
  if difference:
    raise ConfigError(f'{workdir} holds a run of other settings ({difference}); give another '
                      '--workdir')


def validation_curve(workdir: str) -> dict:
  """{generator: [{minutes, step, fid}, ...]} of the run's logged validation scores."""
  curve = {}
  for record in read_metrics(workdir):
    for generator in evaluation.GENERATORS:
      key = f'eval/{generator}/fid'
      if key in record:
        curve.setdefault(generator, []).append(
            {'minutes': record['train_minutes'], 'step': record['step'], 'fid': record[key]})
  return curve


def machine() -> dict:
  """What the minutes were measured on."""
  return {'cpu_count': os.cpu_count(), 'cpus_usable': len(os.sched_getaffinity(0)),
          'platform': platform.platform(), 'processor': platform.processor() or platform.machine(),
          'device': jax.devices()[0].device_kind, 'jax': jax.__version__}


def run_seed(config, workdir: str, name: str, overrides, budget: Budget,
             test_samples: int = 10000, quiet: bool = False) -> dict:
  """Trains one seed (the protocol's config) in `workdir`, or goes on with it, then scores the
  test split once on the checkpoint chosen on validation; returns the run's record (also
  written to <workdir>/time_to_fid.json; a finished run's is returned as it is)."""
  path = os.path.join(workdir, RECORD)
  _check_same_run(config, workdir)
  if os.path.exists(path):
    with open(path) as f:
      done = json.load(f)
    if done['budget'] == budget.fields() and done['test_samples'] == test_samples:
      return done
  state = train_and_evaluate(config, workdir, quiet=quiet)
  best = selection.read_best(workdir)
  if best is None:
    raise ConfigError(f'{workdir} kept no best checkpoint: no validation FID was finite')
  run_config, gan, chosen = evaluation.load_run(workdir, config.data.data_dir, checkpoint='best')
  run_config.eval_split = 'test'   # the one look at the test split
  test = evaluation.evaluate(gan, chosen, run_config, test_samples, run_config.seed,
                             best['generator'])
  with open(os.path.join(workdir, 'train_clock.json')) as f:
    minutes = json.load(f)[str(int(state.step))] / 60
  record = {
      'config': name, 'overrides': list(overrides), 'seed': config.seed,
      'budget': budget.fields(), 'command': cli.command_line(), 'dataset': config.data.name,
      'features': config.eval_features,
      'validation_images': config.data.validation, 'eval_samples': config.eval_samples,
      'test_samples': test_samples, 'batch_size': config.batch_size,
      'steps': int(state.step), 'train_minutes': minutes,
      'curve': validation_curve(workdir),
      'chosen': {k: best[k] for k in ('step', 'train_minutes', 'generator', 'metric', 'value',
                                      'split')},
      'test': test,
      'machine': machine(), 'workdir': workdir}
  with open(path + '.tmp', 'w') as f:
    json.dump(record, f, indent=1, default=float)
  os.replace(path + '.tmp', path)
  return record


def _key(record) -> tuple:
  return (record['config'], tuple(record['overrides']), record['seed'],
          json.dumps(record['budget'], sort_keys=True))


def save_record(results: str, record: dict) -> list:
  """Puts the record in the results file in place of the same run's (config, overrides, seed,
  budget); seeds run side by side take turns (a lock on the file's folder). Returns every
  record of the file."""
  folder = os.path.dirname(os.path.abspath(results))
  os.makedirs(folder, exist_ok=True)
  lock = os.open(folder, os.O_RDONLY)
  try:
    fcntl.flock(lock, fcntl.LOCK_EX)
    records = []
    if os.path.exists(results):
      with open(results) as f:
        records = json.load(f)
    records = [r for r in records if _key(r) != _key(record)] + [record]
    with open(results + '.tmp', 'w') as f:
      json.dump(records, f, indent=1, default=float)
    os.replace(results + '.tmp', results)
  finally:
    os.close(lock)   # and with it the lock
  return records


def draw(records, dataset: str, folder: str) -> str:
  """The figure of the results file's runs of one dataset."""
  mine = [r for r in records if r['dataset'] == dataset]
  images = sorted({r['validation_images'] for r in mine})
  path = os.path.join(folder, f'time_to_fid_{dataset}.png')
  os.makedirs(folder, exist_ok=True)
  plots.plot_time_to_fid(
      mine, path, f'{dataset}: FID of {images[0] if len(images) == 1 else images} held-out '
      'validation images against training minutes; * the chosen checkpoint',
      f"validation FID ({features.DESCRIPTIONS[mine[0]['features']]})")
  return path


def run(config, workdir: str, name: str, overrides, seeds, budget: Budget, validation: int,
        eval_samples: int, test_samples: int, generators: str, results: str, figures: str,
        quiet: bool = False) -> list:
  """Every seed in turn (<workdir>/seed_N), its record saved and drawn; returns the records."""
  budget.check()
  if test_samples < 2 or eval_samples < 2:
    raise ConfigError('--eval_samples and --test_samples must be at least 2')
  configs = [protocol_config(config, budget, seed, validation, eval_samples, generators)
             for seed in seeds]   # every seed's settings checked before any trains
  out = []
  for seed_config in configs:
    seed_dir = os.path.join(workdir, f'seed_{seed_config.seed}')
    record = run_seed(seed_config, seed_dir, name, overrides, budget, test_samples, quiet)
    chosen = record['chosen']
    print(f"seed {record['seed']}: {record['steps']} G steps in {record['train_minutes']:.1f} "
          f"min of training; lowest validation FID {chosen['value']:.2f} ({chosen['generator']} "
          f"G, step {chosen['step']}, {chosen['train_minutes']:.1f} min); test FID "
          f"{record['test']['fid']:.2f}", flush=True)
    records = save_record(results, record)
    print(f"written to {results} and {draw(records, record['dataset'], figures)}", flush=True)
    out.append(record)
  return out


def main(argv):
  del argv
  config = cli.config_value(_CONFIG)
  if _DATA_DIR.value:
    config.data.data_dir = _DATA_DIR.value
  try:
    seeds = [int(seed) for seed in _SEEDS.value]
  except ValueError:
    raise ConfigError(f'--seeds must be integers, got {",".join(_SEEDS.value)}') from None
  steps = _STEPS.value
  eval_steps = (_EVAL_STEPS.value or max(steps // 10, 1)) if steps else 0
  budget = Budget(_MINUTES.value, _EVAL_MINUTES.value, steps, eval_steps)
  name = os.path.splitext(os.path.basename(flags.FLAGS['config'].config_filename))[0]
  overrides = [arg for arg in sys.argv[1:] if arg.startswith('--config.')]
  run(config, cli.open_workdir(_WORKDIR), name, overrides, seeds, budget, _VALIDATION.value,
      _EVAL_SAMPLES.value, _TEST_SAMPLES.value, _GENERATORS.value, _RESULTS.value,
      _FIGURES.value)


if __name__ == '__main__':
  cli.run(main)
