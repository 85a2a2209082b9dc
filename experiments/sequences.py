"""The SeqGAN oracle benchmark in one command: MLE, temperature, REINFORCE and Gumbel-softmax.

python experiments/sequences.py --workdir=workdirs/sequences

Phases, each printed with its wall time:
  floor    the oracle scoring its own 10,000 training sequences (the entropy of its distribution),
           and an untrained generator (N(0, 0.1) parameters);
  mle      MLE pre-training of LSTMGenerator on the 10,000 training sequences (mle_step, batch
           64), NLL-oracle and NLL-test every --curve_every epochs; writes
           <workdir>/mle_generator.msgpack (flax.serialization.to_bytes of G's params);
  temp     the MLE model sampled at temperatures T (logits / T), NLL-test on the same tempered
           distribution: the quality-diversity curve (Caccia et al. 2020, "Language GANs falling
           short") that any GAN point has to beat;
  seqgan   experiments/configs/oracle_seqgan.py (REINFORCE with Monte Carlo rollouts) from the
           MLE generator, through gan_jax.run.train.train_and_evaluate in <workdir>/seqgan;
  relgan   experiments/configs/oracle_relgan.py (Gumbel-softmax, pathwise gradient, the relativistic standard loss),
           the same way in <workdir>/relgan.
The GAN curves are read back from each run's metrics.jsonl (eval/raw/nll_oracle, nll_test).
Writes <workdir>/sequences.json (every number, wall times, the command) and sequences.png.
NLL-oracle (quality: the oracle's NLL of the model's samples) is always reported beside NLL-test
(diversity: the model's NLL of held-out oracle sequences), in nats per token: lowering the
temperature alone buys NLL-oracle at the expense of NLL-test.

A killed run can be restarted with the same command: MLE is retrained (deterministic), the GAN
runs resume from their checkpoints. Different settings need a fresh --workdir.
"""

import json
import os
import time

import flax
import jax
import jax.numpy as jnp
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from gan_jax.data import sequences as seqdata  # noqa: E402
from gan_jax.errors import ConfigError  # noqa: E402
from gan_jax.metrics import sequences as seqmetrics  # noqa: E402
from gan_jax.models.sequences import LSTMGenerator, mle_step  # noqa: E402
from gan_jax.run import cli  # noqa: E402
from gan_jax.run.config import config_difference  # noqa: E402
from gan_jax.run.train import train_and_evaluate  # noqa: E402
from gan_jax.tools.metric_writers import read_metrics  # noqa: E402
from experiments.configs import oracle_relgan, oracle_seqgan  # noqa: E402

_WORKDIR = cli.define_workdir()
_MLE_EPOCHS = flags.DEFINE_integer('mle_epochs', 8, 'MLE pre-training epochs (batch 64); the '
                                   'epoch of lowest validation NLL is kept.')
_CURVE_EVERY = flags.DEFINE_integer('curve_every', 1, 'MLE epochs between two curve points.')
_SEQGAN_STEPS = flags.DEFINE_integer('seqgan_steps', None,
                                     "REINFORCE G steps; default: oracle_seqgan.py's.")
_RELGAN_STEPS = flags.DEFINE_integer('relgan_steps', None,
                                     "Gumbel G steps; default: oracle_relgan.py's.")
_ROLLOUTS = flags.DEFINE_integer('rollouts', None,
                                 "Monte Carlo completions per prefix; default: oracle_seqgan.py's.")
_GAN_EVALS = flags.DEFINE_integer('gan_evals', None, 'Evaluations along each GAN run (the '
                                  "curve); default: every config.eval_every steps.")
_SAMPLES = flags.DEFINE_integer('samples', seqdata.N_SEQUENCES,
                                'Samples per NLL-oracle figure (GAN runs: config.eval_samples).')
_TEST_SAMPLES = flags.DEFINE_integer('test_samples', seqdata.N_SEQUENCES,
                                     'Held-out sequences per NLL-test figure (MLE, temperatures; '
                                     'the GAN runs always score the whole test split).')
_VALID_SAMPLES = flags.DEFINE_integer('valid_samples', 2000,
                                      'Fresh oracle sequences for MLE early stopping.')
_CURVE_SAMPLES = flags.DEFINE_integer('curve_samples', 2000,
                                      'Samples (and test sequences) per MLE curve point.')
_TEMPERATURES = flags.DEFINE_list('temperatures', ['0.5', '0.75', '0.9', '1.0', '1.25', '1.5'],
                                  'Sampling temperatures of the MLE model.')
_DECODED = flags.DEFINE_integer('decoded', 3, 'Sequences (token ids) of each model in the JSON.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the MLE init, its batches and the GAN runs.')

EVAL_KEY = 1   # children of PRNGKey(seed) used here: init 0, evaluation samples 1, decoded 2
DECODE_KEY = 2
VALID_SPLIT = 2   # the oracle's validation key: fold_in(PRNGKey(DATA_SEED), 2); train 0, test 1


def sample(params, key, n: int, batch_size: int = 2000) -> np.ndarray:
  """n sequences of the LSTM `params` (the oracle's or G's: the same family and names)."""
  return np.concatenate([np.asarray(seqdata.sample(params, jax.random.fold_in(key, i),
                                                   min(batch_size, n - start)))
                         for i, start in enumerate(range(0, n, batch_size))])


_log_prob = jax.jit(seqdata.log_prob)


def score(params, key, num_samples: int, test_tokens) -> dict:
  """NLL-oracle of `num_samples` samples of `params` and their NLL of `test_tokens`."""
  samples = sample(params, key, num_samples)
  return {'nll_oracle': seqmetrics.nll_oracle(seqdata.oracle_params(), samples),
          'nll_test': seqmetrics.nll_test(lambda tokens: _log_prob(params, tokens), test_tokens)}


def decoded(params, seed: int, n: int):
  tokens = seqdata.sample(params, jax.random.fold_in(jax.random.PRNGKey(seed), DECODE_KEY), n)
  return np.asarray(tokens).tolist()


class Phases:
  """Wall time of each phase, printed as it ends."""

  def __init__(self):
    self.seconds = {}
    self._start = time.perf_counter()

  def done(self, name: str, summary: str = ''):
    now = time.perf_counter()
    self.seconds[name] = now - self._start
    self._start = now
    print(f'[{name}] {self.seconds[name]:.1f} s  {summary}', flush=True)


def validation_split(n: int) -> np.ndarray:
  """n oracle sequences from a third key (train is 0, test 1): MLE's early stopping reads
  these, so the test split only ever reports."""
  key = jax.random.fold_in(jax.random.PRNGKey(seqdata.DATA_SEED), VALID_SPLIT)
  return sample(seqdata.oracle_params(), key, n)


def train_mle(workdir, test_tokens, phases, report):
  """MLE for --mle_epochs epochs, keeping the epoch of lowest validation NLL (the model
  overfits 10,000 sequences within a few epochs: train NLL keeps falling, held-out NLL rises)."""
  model = LSTMGenerator()
  seed = _SEED.value
  key = jax.random.PRNGKey(seed)
  params = jax.jit(model.init)({'params': jax.random.fold_in(key, 0),
                                'sample': jax.random.fold_in(key, 1)}, jnp.zeros((1, 1)))['params']
  eval_key = jax.random.fold_in(key, EVAL_KEY)

  random = score(params, eval_key, _SAMPLES.value, test_tokens)
  report['random'] = {**random, 'decoded': decoded(params, seed, _DECODED.value)}
  phases.done('random', f"untrained G: NLL-oracle {random['nll_oracle']:.3f}, "
              f"NLL-test {random['nll_test']:.3f}")

  train = np.asarray(seqdata.oracle_dataset('train'))
  valid = validation_split(_VALID_SAMPLES.value)
  curve_n = min(_CURVE_SAMPLES.value, _SAMPLES.value)
  valid_nll = lambda p: seqmetrics.nll_test(lambda tokens: _log_prob(p, tokens), valid)
  optimizer, step = mle_step(model)
  opt_state = optimizer.init(params)
  rng = np.random.default_rng(seed)
  batch = 64
  curve = [{'epoch': 0, 'valid_nll': valid_nll(params),
            **score(params, eval_key, curve_n, test_tokens[:curve_n])}]
  best = (curve[0]['valid_nll'], 0, params)
  for epoch in range(1, _MLE_EPOCHS.value + 1):
    order = rng.permutation(len(train))
    epoch_loss = []
    for start in range(0, len(order) - batch + 1, batch):   # 156 full batches per epoch
      params, opt_state, loss = step(params, opt_state, train[order[start:start + batch]])
      epoch_loss.append(loss)
    point = {'epoch': epoch, 'train_nll': float(np.mean(jax.device_get(epoch_loss))),
             'valid_nll': valid_nll(params)}
    if point['valid_nll'] < best[0]:
      best = (point['valid_nll'], epoch, params)
    if epoch % _CURVE_EVERY.value == 0 or epoch == _MLE_EPOCHS.value:
      point.update(score(params, eval_key, curve_n, test_tokens[:curve_n]))
    curve.append(point)
    print(f'  MLE epoch {epoch}: ' + ', '.join(f'{k} {v:.3f}' for k, v in point.items()
                                               if k != 'epoch'), flush=True)
  _, best_epoch, params = best
  path = os.path.join(workdir, 'mle_generator.msgpack')
  with open(path, 'wb') as f:
    f.write(flax.serialization.to_bytes(params))
  final = score(params, eval_key, _SAMPLES.value, test_tokens)
  report['mle'] = {'epochs_run': _MLE_EPOCHS.value, 'best_epoch': best_epoch,
                   'selected_by': f'validation NLL ({len(valid)} fresh oracle sequences)',
                   'batch_size': batch, 'optimizer': 'Adam 1e-2, global-norm clip 5 (SeqGAN)',
                   **final, 'curve_samples': curve_n, 'curve': curve, 'generator_file': path,
                   'decoded': decoded(params, seed, _DECODED.value)}
  phases.done('mle', f"{_MLE_EPOCHS.value} epochs, kept epoch {best_epoch}: NLL-oracle "
              f"{final['nll_oracle']:.3f}, NLL-test {final['nll_test']:.3f}")
  return params, path


def temperature_sweep(params, test_tokens, phases, report):
  eval_key = jax.random.fold_in(jax.random.PRNGKey(_SEED.value), EVAL_KEY)
  sweep = []
  for value in _TEMPERATURES.value:
    temperature = float(value)
    tempered = seqdata.with_temperature(params, temperature)
    point = {'temperature': temperature, **score(tempered, eval_key, _SAMPLES.value, test_tokens),
             'decoded': decoded(tempered, _SEED.value, _DECODED.value)}
    sweep.append(point)
    print(f"  T = {temperature:g}: NLL-oracle {point['nll_oracle']:.3f}, "
          f"NLL-test {point['nll_test']:.3f}", flush=True)
  report['temperature_sweep'] = sweep
  phases.done('temperature', f'{len(sweep)} temperatures')


def gan_config(module, steps_flag, init_path):
  config = module.get_config()
  config.seed = _SEED.value
  if steps_flag.value is not None:
    config.num_steps = steps_flag.value
  if _ROLLOUTS.value is not None:
    config.sequences.num_rollouts = _ROLLOUTS.value
  config.model.init_generator = init_path
  config.eval_samples = _SAMPLES.value
  config.shown_generator = 'raw'
  if _GAN_EVALS.value is not None:
    config.eval_every = max(1, config.num_steps // max(1, _GAN_EVALS.value))
  config.log_every = min(config.log_every, config.eval_every)
  config.sample_every = config.checkpoint_every = config.eval_every
  return config


def run_gan(name, module, steps_flag, init_path, workdir, mle_point, phases, report):
  config = gan_config(module, steps_flag, init_path)
  if config.num_steps == 0:
    phases.done(name, 'skipped (0 steps)')
    return
  sub = os.path.join(workdir, name)
  saved = os.path.join(sub, 'config.json')
  difference = config_difference(json.load(open(saved)), config) if os.path.exists(saved) else None
  if difference:
    raise ConfigError(f'{sub} holds a run with other settings ({difference}); give a fresh '
                      f'--workdir')
  start = time.perf_counter()
  state = train_and_evaluate(config, sub, quiet=True)
  train_seconds = time.perf_counter() - start
  records = read_metrics(sub)
  prefix = f'eval/{config.shown_generator}/'
  curve = [{'step': 0, 'nll_oracle': mle_point['nll_oracle'], 'nll_test': mle_point['nll_test']}]
  curve += [{'step': r['step'], 'nll_oracle': r[prefix + 'nll_oracle'],
             'nll_test': r[prefix + 'nll_test']} for r in records if prefix + 'nll_oracle' in r]
  train_records = [r for r in records if 'g_loss' in r]
  final = curve[-1]
  report[name] = {
      'config': f'experiments/configs/{module.__name__.split(".")[-1]}.py',
      'steps': int(state.step), 'batch_size': config.batch_size, 'n_critic': config.n_critic,
      'g_lr': config.optim.lr, 'd_lr': config.optim.d_lr, 'loss': config.loss.name,
      'sequence_output': config.sequences.sequence_output,
      **({'num_rollouts': config.sequences.num_rollouts}
         if config.sequences.sequence_output == 'tokens' else
         {'max_temperature': config.sequences.max_temperature,
          'temperature_steps': config.sequences.temperature_steps}),
      'nll_oracle': final['nll_oracle'], 'nll_test': final['nll_test'],
      'delta_nll_oracle_vs_mle': final['nll_oracle'] - mle_point['nll_oracle'],
      'delta_nll_test_vs_mle': final['nll_test'] - mle_point['nll_test'],
      'curve': curve,
      'last_losses': {k: train_records[-1][k] for k in ('d_loss', 'g_loss', 'd_real', 'd_fake')
                      if train_records and k in train_records[-1]},
      'train_seconds': train_seconds, 'workdir': sub,
      'decoded': decoded(state.g_params, _SEED.value, _DECODED.value)}
  phases.done(name, f"{int(state.step)} steps: NLL-oracle {final['nll_oracle']:.3f} "
              f"({report[name]['delta_nll_oracle_vs_mle']:+.3f} vs MLE), NLL-test "
              f"{final['nll_test']:.3f} ({report[name]['delta_nll_test_vs_mle']:+.3f})")


GANS = (('seqgan', 'C1', 'REINFORCE (SeqGAN)'), ('relgan', 'C2', 'Gumbel-softmax (RelGAN)'))


def plot(report, path):
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
  floor = report['floor']['nll_oracle']
  ax = axes[0]
  mle = [p for p in report['mle']['curve'] if 'nll_oracle' in p]
  epochs = [p['epoch'] for p in mle]
  ax.plot(epochs, [p['nll_oracle'] for p in mle], 'o-', color='C0', label='NLL-oracle')
  ax.plot(epochs, [p['nll_test'] for p in mle], 's--', color='C0', alpha=0.6, label='NLL-test')
  every = report['mle']['curve']
  ax.plot([p['epoch'] for p in every], [p['valid_nll'] for p in every], ':', color='C3',
          label='validation NLL')
  ax.plot([p['epoch'] for p in every[1:]], [p['train_nll'] for p in every[1:]], ':',
          color='C7', label='training NLL')
  ax.axvline(report['mle']['best_epoch'], color='C3', lw=0.8, alpha=0.5,
             label=f"kept: epoch {report['mle']['best_epoch']}")
  ax.axhline(floor, color='k', lw=0.8, ls=':', label=f'oracle floor {floor:.2f}')
  top = max(p['nll_oracle'] for p in mle[1:]) if len(mle) > 1 else mle[0]['nll_test']
  ax.set_ylim(floor - 0.3, top + 0.5)
  ax.set_xlabel('MLE epoch')
  ax.set_ylabel('nats / token')
  ax.set_title(f"MLE pre-training (epoch 0, untrained: NLL-oracle {mle[0]['nll_oracle']:.1f}, "
               f"NLL-test {mle[0]['nll_test']:.1f})", fontsize=9)
  ax.legend(fontsize=8)

  ax = axes[1]
  for name, color, label in GANS:
    if name not in report:
      continue
    curve = report[name]['curve']
    steps = [p['step'] for p in curve]
    ax.plot(steps, [p['nll_oracle'] for p in curve], 'o-', color=color,
            label=f'{label} NLL-oracle')
    ax.plot(steps, [p['nll_test'] for p in curve], 's--', color=color, alpha=0.6,
            label=f'{label} NLL-test')
  ax.axhline(floor, color='k', lw=0.8, ls=':', label='oracle floor')
  ax.set_xscale('symlog', linthresh=10)
  ax.set_xlim(left=0)
  ax.set_xlabel('adversarial G step (0: the MLE generator)')
  ax.set_ylabel('nats / token')
  ax.set_title('adversarial phase, from the MLE generator', fontsize=10)
  ax.legend(fontsize=7)

  ax = axes[2]
  sweep = report['temperature_sweep']
  ax.plot([p['nll_test'] for p in sweep], [p['nll_oracle'] for p in sweep], '.-', color='C0',
          label='MLE at temperature T')
  for p in sweep:
    ax.annotate(f"T={p['temperature']:g}", (p['nll_test'], p['nll_oracle']), fontsize=7,
                xytext=(3, 3), textcoords='offset points')
  ax.plot(report['mle']['nll_test'], report['mle']['nll_oracle'], 'o', color='C0',
          label='MLE (T = 1)')
  for (name, color, label), marker in zip(GANS, '^D'):
    if name in report:   # the whole run: from the MLE point (step 0) to the last evaluation
      curve = report[name]['curve']
      ax.plot([p['nll_test'] for p in curve], [p['nll_oracle'] for p in curve], marker + '-',
              color=color, ms=5, lw=1, label=f'{label}, steps 0-{curve[-1]["step"]}')
      ax.annotate(f"step {curve[-1]['step']}", (curve[-1]['nll_test'], curve[-1]['nll_oracle']),
                  fontsize=7, color=color, xytext=(3, -9), textcoords='offset points')
  ax.plot(report['floor']['nll_test'], floor, '*', color='k', ms=10, label='oracle')
  ax.set_xlabel('NLL-test (diversity; lower is better)')
  ax.set_ylabel('NLL-oracle (quality; lower is better)')
  ax.set_title('quality-diversity plane', fontsize=10)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def main(argv):
  del argv
  if _MLE_EPOCHS.value < 1 or _CURVE_EVERY.value < 1 or _SAMPLES.value < 1 \
      or _TEST_SAMPLES.value < 1:
    raise ConfigError('mle_epochs, curve_every, samples and test_samples must be positive')
  try:
    temperatures = [float(t) for t in _TEMPERATURES.value]
  except ValueError:
    raise ConfigError(f'--temperatures must be numbers, got {_TEMPERATURES.value}') from None
  if not temperatures or min(temperatures) <= 0:
    raise ConfigError('--temperatures must be positive numbers')
  workdir = cli.open_workdir(_WORKDIR)
  total_start = time.perf_counter()
  phases = Phases()
  report = {}

  train_tokens = seqdata.oracle_dataset('train')
  test_tokens = seqdata.oracle_dataset('test')[:_TEST_SAMPLES.value]
  oracle = seqdata.oracle_params()
  report['floor'] = {
      'nll_oracle': seqmetrics.nll_oracle(oracle, train_tokens[:_SAMPLES.value]),
      'nll_test': seqmetrics.nll_test(lambda tokens: _log_prob(oracle, tokens), test_tokens),
      'decoded': np.asarray(train_tokens[:_DECODED.value]).tolist()}
  phases.done('floor', f"oracle's NLL of its own samples {report['floor']['nll_oracle']:.3f} "
              f"(train), {report['floor']['nll_test']:.3f} (test); data generated in this phase")

  params, path = train_mle(workdir, test_tokens, phases, report)
  temperature_sweep(params, test_tokens, phases, report)
  mle_point = {'nll_oracle': report['mle']['nll_oracle'], 'nll_test': report['mle']['nll_test']}
  if _TEST_SAMPLES.value != seqdata.N_SEQUENCES:   # the GAN runs score the whole test split
    whole = seqdata.oracle_dataset('test')
    mle_point['nll_test'] = seqmetrics.nll_test(lambda tokens: _log_prob(params, tokens), whole)
  run_gan('seqgan', oracle_seqgan, _SEQGAN_STEPS, path, workdir, mle_point, phases, report)
  run_gan('relgan', oracle_relgan, _RELGAN_STEPS, path, workdir, mle_point, phases, report)

  report['wall_seconds'] = {**phases.seconds, 'total': time.perf_counter() - total_start}
  report['notes'] = (
      'nats per token. NLL-oracle: the oracle LSTM\'s NLL of 10,000 samples of the model '
      '(quality); NLL-test: the model\'s NLL of the 10,000 held-out oracle sequences '
      '(diversity). floor: the oracle itself. GAN curves start (step 0) at the MLE generator '
      'and are read from <workdir>/<seqgan|relgan>/metrics.jsonl (eval/raw/...). Temperature: '
      'logits / T for sampling and for NLL-test alike.')
  png = os.path.join(workdir, 'sequences.png')
  plot(report, png)
  report['figure'] = png
  cli.write_report(workdir, report, 'sequences.json')
  print('wall time: ' + ', '.join(f'{k} {v:.0f} s' for k, v in report['wall_seconds'].items()))


if __name__ == '__main__':
  cli.run(main)
