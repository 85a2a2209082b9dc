"""Quality-diversity curves (Caccia et al. 2020, "Language GANs Falling Short"): every trained
sequence G sampled over a range of softmax temperatures, so that a GAN is compared with the
whole curve MLE traces by its temperature, not with MLE's one point at T = 1.

python experiments/text_curves.py \
    --runs=mle:workdirs/coco_mle/seed_0,mle:workdirs/coco_mle/seed_1,mle:workdirs/coco_mle/seed_2 \
    --runs=relgan:workdirs/coco_relgan/seed_0 --temperatures=0.6,0.7,0.8,0.9,1.0,1.1,1.2

Each run is read at the checkpoint it chose on validation (--checkpoint=best: the run's
config.select_metric, NLL of the held-out training captions for the COCO configs; 'latest'
where a run kept none) and scored by its structure's own `evaluate` with
config.sequences.sample_temperature = T: on text BLEU-2..5 of --num_samples sentences against
every test caption, self-BLEU-2..5 among them, and the tempered model's NLL per token of the
held-out training captions (nll_valid) and of the test captions (nll_test); on the oracle
NLL-oracle and NLL-test. Every point also keeps the first --examples sentences it drew.

A run's points are kept in <workdir>/curve_<checkpoint>_<generator>.json as they are scored, so
a stopped sweep goes on where it stopped and a point is never scored twice. Writes --output (all
runs' points, labels, seeds, steps and the machine) and --figure: for text BLEU-5
against self-BLEU-5 and NLL_test against BLEU-5, for the oracle NLL-oracle against NLL-test;
runs of one label are one model over seeds, drawn as their mean with each seed's points.
"""

import json
import os
import platform
import time

import jax
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from gan_jax import structures  # noqa: E402
from gan_jax.errors import ConfigError  # noqa: E402
from gan_jax.run import cli, evaluation, selection  # noqa: E402
from gan_jax.run.config import validate  # noqa: E402
from gan_jax.structures import sequences  # noqa: E402
from gan_jax.tools.cache import write_atomically  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_RUNS = flags.DEFINE_multi_string('runs', [], 'label:workdir[,label:workdir...]: trained runs; '
                                  'runs of one label are seeds of one model.')
_TEMPERATURES = flags.DEFINE_list('temperatures', ['0.6', '0.7', '0.8', '0.9', '1.0', '1.1',
                                                   '1.2'], 'Softmax temperatures of the sweep.')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 10000, 'Sequences scored per point.')
_GENERATOR = flags.DEFINE_enum('generator', 'raw', evaluation.GENERATORS,
                               'Which G of each run: the raw one or its EMA.')
_CHECKPOINT = cli.define_checkpoint('best')
_EXAMPLES = flags.DEFINE_integer('examples', 5, 'Sentences kept per point, to read.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the sampling noise (the same for every run).')
_OUTPUT = flags.DEFINE_string('output', os.path.join(ROOT, 'experiments', 'results',
                                                     'coco_curves.json'), 'Results file.')
_FIGURE = flags.DEFINE_string('figure', os.path.join(ROOT, 'experiments', 'figures',
                                                     'coco_curves.png'), 'The figure.')

# The figure's panels, (x, y) metric pairs, by the metrics the points hold.
PANELS = {'bleu5': [('self_bleu5', 'bleu5'), ('bleu5', 'nll_test')],
          'nll_oracle': [('nll_test', 'nll_oracle')]}


def parse_runs(values):
  """[(label, workdir)] from 'label:workdir' items, comma separated, over repeated flags."""
  runs = []
  for value in values:
    for item in filter(None, value.split(',')):
      label, sep, workdir = item.partition(':')
      if not sep or not label or not workdir:
        raise ConfigError(f'--runs items are label:workdir, got {item!r}')
      runs.append((label, os.path.abspath(workdir)))
  if not runs:
    raise ConfigError('no --runs given: label:workdir of at least one trained sequence run')
  return runs


def _read(path):
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def _readable(config, samples):
  """Sentences of a text run, token ids of the oracle's."""
  if sequences.is_text(config):
    return [' '.join(words) for words in sequences.vocabulary(config).decode(samples)]
  return [' '.join(map(str, row)) for row in np.asarray(samples).tolist()]


def sweep_run(workdir, temperatures, num_samples, generator, checkpoint, examples, seed):
  """The run's points at every temperature (scored now, or read from its curve file)."""
  if checkpoint == 'best' and selection.read_best(workdir) is None:
    checkpoint = 'latest'   # a run that kept no best checkpoint: its last one, said in the record
  path = os.path.join(workdir, f'curve_{checkpoint}_{generator}.json')
  record = _read(path)
  config, gan, state = evaluation.load_run(workdir, checkpoint=checkpoint)
  step = int(jax.device_get(state.step))
  if record.get('step') != step or record.get('num_samples') != num_samples \
      or record.get('seed') != seed:
    record = {'step': step, 'num_samples': num_samples, 'seed': seed, 'points': {}}
  structure = structures.get(config)
  for temperature in temperatures:
    key = f'{temperature:g}'
    if key in record['points']:
      continue
    config.sequences.sample_temperature = temperature
    validate(config)
    start = time.time()
    results = structure.evaluate(gan, state, config, num_samples, seed, generator)
    samples = structure.sample(gan, state, config, examples, seed, generator)
    point = {'temperature': temperature, **results, 'seconds': round(time.time() - start, 1),
             'examples': _readable(config, samples)}
    record['points'][key] = point
    print(f"  T={key}: " + ', '.join(f'{k} {v:.3f}' for k, v in point.items()
                                     if isinstance(v, float) and k != 'temperature'), flush=True)
    write_atomically(path, lambda f: f.write(json.dumps(record, indent=1).encode()))
  return {'checkpoint': checkpoint, 'config_seed': config.seed, **record,
          'points': [record['points'][f'{t:g}'] for t in temperatures]}


def mean_curves(runs):
  """{label: {metric: mean over seeds at each temperature}} of runs with the same temperatures."""
  curves = {}
  for label in dict.fromkeys(run['label'] for run in runs):
    points = [run['points'] for run in runs if run['label'] == label]
    metrics = [k for k, v in points[0][0].items() if isinstance(v, (int, float))]
    curves[label] = {k: np.mean([[p[k] for p in seed] for seed in points], axis=0).tolist()
                     for k in metrics}
    curves[label]['seeds'] = len(points)
  return curves


def plot(runs, path):
  panels = next(v for k, v in PANELS.items() if k in runs[0]['points'][0])
  fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
  curves = mean_curves(runs)
  for ax, (x, y) in zip(axes[0], panels):
    for i, (label, curve) in enumerate(curves.items()):
      color = f'C{i}'
      for run in (r for r in runs if r['label'] == label):
        ax.scatter([p[x] for p in run['points']], [p[y] for p in run['points']], s=8,
                   color=color, alpha=0.4)
      ax.plot(curve[x], curve[y], '-o', color=color, ms=3,
              label=f"{label} ({curve['seeds']} seed{'s' * (curve['seeds'] > 1)})")
      for t, xv, yv in zip(curve['temperature'], curve[x], curve[y]):
        ax.annotate(f'{t:g}', (xv, yv), fontsize=6, color=color)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
  axes[0][0].legend(fontsize=8)
  fig.suptitle('each model over softmax temperatures (labels: T)')
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def main(argv):
  del argv
  runs = parse_runs(_RUNS.value)
  temperatures = sorted(float(t) for t in _TEMPERATURES.value)
  if not temperatures or min(temperatures) <= 0:
    raise ConfigError(f'--temperatures must be positive, got {_TEMPERATURES.value}')
  results = []
  for label, workdir in runs:
    print(f'{label}: {workdir}', flush=True)
    results.append({'label': label, 'workdir': os.path.relpath(workdir, ROOT),
                    **sweep_run(workdir, temperatures, _NUM_SAMPLES.value, _GENERATOR.value,
                                _CHECKPOINT.value, _EXAMPLES.value, _SEED.value)})
  report = {'command': cli.command_line(), 'generator': _GENERATOR.value,
            'temperatures': temperatures, 'runs': results, 'curves': mean_curves(results),
            'machine': {'cores': len(os.sched_getaffinity(0)),
                        'processor': platform.processor() or platform.machine()}}
  os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
  with open(_OUTPUT.value, 'w') as f:
    json.dump(report, f, indent=1)
  plot(results, _FIGURE.value)
  print(f'wrote {_OUTPUT.value} and {_FIGURE.value}')


if __name__ == '__main__':
  cli.run(main)
