"""experiments/time_to_fid.py at test size: seeds by steps and by minutes, the checkpoint chosen
on the validation curve, the test split scored once on it, records replaced, runs resumed."""

import json
import os
import subprocess
import sys

import pytest

from conftest import SHARED_TFDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'experiments', 'time_to_fid.py')
CONFIG = os.path.join(ROOT, 'experiments', 'configs', 'mnist_dcgan.py')
TINY = ['--config.batch_size=4', '--config.model.g_features=8', '--config.model.d_features=8',
        '--config.log_every=1', '--validation=300', '--eval_samples=100', '--test_samples=100',
        f'--data_dir={SHARED_TFDS}']


def _run(tmp_path, workdir, *args, script=SCRIPT, status=0):
  result = subprocess.run([sys.executable, script, f'--config={CONFIG}', f'--workdir={workdir}',
                           f'--results={tmp_path / "results.json"}',
                           f'--figures={tmp_path / "figures"}', *TINY, *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
  assert result.returncode == status, result.stderr[-3000:]
  return result


def _records(tmp_path):
  with open(tmp_path / 'results.json') as f:
    return json.load(f)


def test_seeds_are_trained_chosen_on_validation_and_scored_once_on_test(tmp_path, shared_tfds):
  steps = tmp_path / 'steps'
  _run(tmp_path, steps, '--steps=4', '--eval_steps=2', '--seeds=0,1')
  records = _records(tmp_path)
  assert [(r['seed'], r['budget']) for r in records] == [
      (0, {'steps': 4, 'eval_steps': 2}), (1, {'steps': 4, 'eval_steps': 2})]
  for record in records:
    assert record['config'] == 'mnist_dcgan' and '--config.batch_size=4' in record['overrides']
    assert record['steps'] == 4 and record['train_minutes'] > 0
    assert record['validation_images'] == 300 and record['test_samples'] == 100
    for generator in ('ema', 'raw'):
      assert [p['step'] for p in record['curve'][generator]] == [2, 4]
    chosen = min(record['curve']['ema'], key=lambda point: point['fid'])
    assert (record['chosen']['step'], record['chosen']['split']) == (chosen['step'], 'validation')
    assert (record['chosen']['value'], record['chosen']['train_minutes']) == (
        chosen['fid'], chosen['minutes'])
    assert record['features'] == 'lenet'
    assert record['test']['split'] == 'test' and record['test']['fid'] > 0
    assert record['test']['num_samples'] == 100 and record['test']['features'] == 'lenet'
    assert record['machine']['cpu_count'] == os.cpu_count()
  assert records[0]['curve'] != records[1]['curve']   # two seeds, two runs
  assert os.path.getsize(tmp_path / 'figures' / 'time_to_fid_mnist.png') > 0

  # Again: a finished seed is neither trained nor scored again, and its record is replaced.
  metrics = (steps / 'seed_0' / 'metrics.jsonl').read_text()
  _run(tmp_path, steps, '--steps=4', '--eval_steps=2', '--seeds=0')
  assert (steps / 'seed_0' / 'metrics.jsonl').read_text() == metrics
  assert _records(tmp_path) == records[1:] + records[:1]

  # evaluate.py on the chosen checkpoint gives the record's test scores.
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'experiments', 'evaluate.py'),
                           f'--workdir={steps / "seed_0"}', '--checkpoint=best', '--split=test',
                           '--num_samples=100'], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
  assert result.returncode == 0, result.stderr[-3000:]
  step = records[0]['chosen']['step']
  with open(steps / 'seed_0' / f'eval_step_{step}_ema_test.json') as f:
    scored = json.load(f)
  assert scored['fid'] == pytest.approx(records[0]['test']['fid'])
  assert (scored['split'], scored['checkpoint']) == ('test', 'best')

  # A workdir trained under other settings is refused in one line.
  refused = _run(tmp_path, steps, '--steps=4', '--eval_steps=2', '--seeds=0',
                 '--config.optim.lr=1e-3', status=2)
  assert 'holds a run of other settings (config.optim.lr' in refused.stderr


def test_a_seed_by_minutes_stops_on_its_clock(tmp_path, shared_tfds):
  _run(tmp_path, tmp_path / 'minutes', '--minutes=0.04', '--eval_minutes=0.02', '--seeds=3',
       '--generators=shown')
  (record,) = _records(tmp_path)
  assert record['budget'] == {'minutes': 0.04, 'eval_minutes': 0.02}
  assert record['train_minutes'] >= 0.04 and list(record['curve']) == ['ema']
  minutes = [p['minutes'] for p in record['curve']['ema']]
  assert minutes == sorted(minutes) and minutes[-1] >= 0.04
  assert record['chosen']['step'] in [p['step'] for p in record['curve']['ema']]
