"""experiments/planar_study.py, the planar study as a protocol over the common trainer: the
budget it gives the config, the runs it refuses to go on with, and the report it reads back
from the trainer's evaluation records, in the layout of experiments/results/planar_*.json that
experiments/tables.py renders. Training by time and resuming on the clock are the trainer's
(test_reliability.py); the planar config's resume and devices are the conformance suite's
(test_structures.py). A run of the study itself costs minutes here (compiling the planar G)."""

import numpy as np
import pytest

from experiments import planar_study, tables
from experiments.configs import graphs_planar_refine
from gan_jax import structures
from gan_jax.errors import ConfigError
from gan_jax.run.config import validate
from gan_jax.structures.graphs import encoded_split


def _study(train_minutes=60.0, eval_minutes=20.0, max_steps=10 ** 9):
  return planar_study.study_config(graphs_planar_refine.get_config(), train_minutes,
                                   eval_minutes, 1000, max_steps)


def test_the_study_is_the_config_with_a_budget_by_time():
  config, default = _study(), graphs_planar_refine.get_config()
  validate(config)
  assert (config.train_minutes, config.eval_every_minutes, config.eval_every) == (60.0, 20.0, 0)
  assert (config.eval_samples, config.log_every, config.shown_generator) == (1000, 50, 'ema')
  for part in ('graphs', 'model', 'loss', 'optim'):   # what is trained is the config's
    assert config[part].to_dict() == default[part].to_dict(), part
  assert (config.seed, config.batch_size) == (default.seed, default.batch_size)


def test_a_workdir_goes_on_with_another_budget_but_not_another_config(tmp_path):
  (tmp_path / 'config.json').write_text(_study().to_json())
  planar_study.check_same_run(_study(220.0, 10.0, 5000), str(tmp_path))
  config = _study()
  config.optim.lr = 4e-4
  with pytest.raises(ConfigError, match='another config .config.optim.lr: 0.001 there, '
                     '0.0004 now.') as error:
    planar_study.check_same_run(config, str(tmp_path))
  assert '\n' not in str(error.value)


def test_the_structure_s_evaluation_reads_back_in_the_results_layout(monkeypatch):
  """The graph structure's evaluate, logged as the trainer logs it (scalars under eval/ema/,
  with train_minutes), read back as the study's evaluation; tables.py renders it. G is
  replaced by test graphs: valid, unique and novel, 92-93% of their edges in two triangles."""
  config = graphs_planar_refine.get_config()
  config.graphs.eval_draws, config.graphs.num_generated = 2, 3
  entry = structures.get(config)
  test = encoded_split(config.data.name, 'test', config.graphs.node_order)
  monkeypatch.setattr(entry, 'sample', lambda gan, state, config, n, seed=0, generator='ema':
                      test[seed % 10:seed % 10 + n])
  results = entry.evaluate(None, None, config, 6, seed=0)
  generator = results.pop('generator')
  assert all(np.ndim(v) == 0 and not isinstance(v, str) for v in results.values())
  record = {'step': 700, 'train_minutes': 20.5,
            **{f'eval/{generator}/{k}': v for k, v in results.items()}}
  floor = {'degree_tv': results['degree_tv'] / 2, 'orbit_tv': 0.0}
  evaluation = planar_study.evaluation(record, 6, floor)
  assert evaluation['vun_6'] == {'valid': 1.0, 'unique': 1.0, 'novel': 1.0, 'vun': 1.0}
  metrics = evaluation['protocol']['metrics']
  assert metrics['vun'] == 1.0 and evaluation['protocol']['metrics_std']['vun'] == 0.0
  assert {'degree_tv', 'clustering_emd', 'orbit_tv', 'edges_in_two_triangles'} <= set(metrics)
  assert 0.9 < evaluation['edges_in_two_triangles'] < 0.95
  assert evaluation['metrics_6']['degree_tv'] == results['degree_tv_6']
  assert evaluation['ratio_to_floor']['degree_tv'] == pytest.approx(2.0)
  assert evaluation['ratio_to_floor']['orbit_tv'] is None
  assert evaluation['train_seconds'] == 20.5 * 60
  point = planar_study.curve_point(evaluation, 6, '2x3')
  assert point == {'step': 700, 'train_minutes': 20.5, 'train_seconds': 1230.0, 'vun_6': 1.0,
                   'vun_2x3': 1.0, 'valid_6': 1.0,
                   'edges_in_two_triangles': evaluation['edges_in_two_triangles']}
  # As 1,000 graphs at once name them: the committed results' table renders the new layout.
  renamed = {(k[:-2] + '_1000' if k.endswith('_6') else k): v for k, v in record.items()}
  evaluation = planar_study.evaluation(renamed, 1000, floor)
  monkeypatch.setattr(tables, '_load', lambda name: {'evaluations': [evaluation] * 2})
  assert '| 20 / 20 | 700 / 700 | 100.0% (100.0%) | 100.0% (100.0%) |' in (
      tables.planar_sides_curve())
