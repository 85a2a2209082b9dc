"""Writes the result tables of README.md and docs/ from the results files the scripts wrote.

python experiments/tables.py            # rewrite every table in place
python experiments/tables.py --check    # exit 1 if any table differs from its files (a test runs this)

A table lives between `<!-- table: NAME -->` and `<!-- /table -->` in a markdown file; NAME is
a function below, which reads only files under experiments/results/. So a number in a table
cannot drift from the run that measured it.
"""

import glob
import json
import os
import re
import sys

import numpy as np

from gan_jax.tools import plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, 'experiments', 'results')
BLOCK = re.compile(r'(<!-- table: (\w+) -->\n)(.*?)(<!-- /table -->)', re.S)


def _load(name):
  with open(os.path.join(RESULTS, name)) as f:
    return json.load(f)


def _lenet(text: str) -> str:
  """Every image result in these files is in the project's LeNet features (their `features`
  field); a table says so wherever it names FID (Inception-FID results would say theirs)."""
  return re.sub(r'\bFID\b', 'LeNet-FID', text)


def _rows(header, rows):
  header = [_lenet(cell) for cell in header]
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
  return '\n'.join(lines) + '\n'


def study_images():
  """Best and median FID per method, MNIST and Fashion-MNIST, 3 runs x 1,500 steps."""
  tables = {name: {row['method']: row for row in _load(f'study_{name}_1500_cpu.json')[name]['table']}
            for name in ('mnist', 'fashion_mnist')}
  rows = [[f'`{method}`'] + [f"{tables[d][method]['best']:.0f} / {tables[d][method]['median']:.0f}"
                            for d in tables] for method in tables['mnist']]
  return _rows(['method', 'MNIST FID best / median', 'Fashion-MNIST FID best / median'], rows)


STUDY_TUNED = (('mnist', 'MNIST'), ('fashion_mnist', 'Fashion-MNIST'))


def _study_tuned(dataset):
  return _load(f'study_tuned_{dataset}.json')[dataset]['rows']


def _settings(run):
  if 'b1' not in run:
    return f"Adam {run['lr']:g}"
  return f"Adam {run['lr']:g}, {run['b1']:g} / {run['b2']:g}, n_critic {run['n_critic']}"


def _study_tuned_table(dataset):
  study, rows = _study_tuned(dataset), []
  for row in study:
    fids = np.array([run['fid'] for run in row['runs']])
    curve = [np.median([run['curve'][i]['fid'] for run in row['runs']])
             for i in range(len(row['runs'][0]['curve']) - 1)]
    rows.append([f"`{row['method']}`", _settings(row['runs'][0])]
                + [f'{v:.1f}' for v in curve]
                + [', '.join(f'{v:.1f}' for v in fids), f'{fids.mean():.1f} ± {fids.std(ddof=1):.1f}',
                   f"{row['seconds'] / 60:.0f} min"])
  epochs = [f"{p['epoch']:g}" for p in study[0]['runs'][0]['curve']]
  return _rows(['method', 'settings'] + [f'median FID, epoch {e}' for e in epochs[:-1]]
               + [f'FID epoch {epochs[-1]}, 3 seeds', 'mean ± s.d.', 'training (3 runs, one core)'],
               rows)


def study_tuned_mnist():
  """The converged study on MNIST: each loss's published settings, 3 seeds, FID per epoch."""
  return _study_tuned_table('mnist')


def study_tuned_fashion_mnist():
  return _study_tuned_table('fashion_mnist')


def study_grid():
  """Modes of 25 (best, median) and mean high-quality %, 3 runs x 5,000 steps on grid25."""
  table = _load('study_grid_cpu.json')['grid25']['table']
  rows = [[f"`{r['method']}`", f"{r['best']:.0f} / {r['median']:.0f}",
           f"{r['mean_high_quality_percent']:.1f}"] for r in table]
  return _rows(['method', 'modes of 25, best / median', 'mean high quality %'], rows)


def fid_reference():
  """FID of the test split against itself plus Gaussian noise: what FID values mean here."""
  tables = {name: _load(f'fid_reference_{name}.json')['noise_table']
            for name in ('mnist', 'fashion_mnist')}
  rows = [[f"{a['noise_std']:g}", f"{a['fid']:.2f}", f"{b['fid']:.2f}"]
          for a, b in zip(tables['mnist'], tables['fashion_mnist'])]
  return _rows(['noise std (on [-1, 1] images)', 'MNIST FID', 'Fashion-MNIST FID'], rows)


def generator_alone():
  """The generator alone: AE and VAE decoders on MNIST, VAE and GAN on the 2D toys."""
  report = _load('generator_alone_report.json')
  rows = [[name, _lenet(f"FID {report[name]['fid']:.1f}"), f"recall {report[name]['recall']:.3f}"]
          for name in ('auto-encoder', 'VAE')]
  for toy in ('ring8', 'grid25'):
    for model in ('VAE', 'GAN'):
      r = report[f'{toy}/{model}']
      rows.append([f'{toy} {model}', f"{r['modes_captured']} of {r['num_modes']} modes",
                   f"{r['high_quality_percent']:.1f}% high quality"])
  return _rows(['generator', 'quality', 'coverage / precision'], rows)


def discriminator_alone():
  """D alone (Langevin search for argmax D) against D with G, same objective."""
  report = _load('discriminator_alone_report.json')
  rows = []
  for key in ('mixture1d/search', 'mixture1d/generator'):
    rows.append([key, f"JS {report[key]['js']:.3f}", f"{report[key]['seconds']:.1f} s"])
  for key in ('ring8/search', 'ring8/generator'):
    r = report[key]
    rows.append([key, f"{r['modes_captured']} of {r['num_modes']} modes, "
                 f"{r['high_quality_percent']:.1f}% high quality", f"{r['seconds']:.1f} s"])
  m = report['mnist/search']
  rows.append(['mnist/search', _lenet(f"FID {m['fid']:.1f} ({m['num_samples']} samples)"),
               f"{m['seconds_per_sample_search'] * 1e3:.2f} ms/sample vs "
               f"{m['seconds_per_sample_generator'] * 1e3:.3f} ms for a G"])
  return _rows(['setting', 'result', 'time'], rows)


def _evaluation(record):
  """The headline of an evaluation record (keys eval/<generator>/<metric>)."""
  values = {k.split('/', 2)[2]: v for k, v in record.items() if k.startswith('eval/')}
  generator = next((k.split('/')[1] for k in record if k.startswith('eval/')), '')
  if 'modes_captured' in values:
    return (f"{values['modes_captured']:.0f} of {values['num_modes']:.0f} modes, "
            f"{values['high_quality_percent']:.1f}% high quality ({generator} G)")
  if 'fid' in values:
    return _lenet(f"FID {values['fid']:.1f} ({values['num_samples']:.0f} samples, {generator} G)")
  return ', '.join(f'{k} {v:.3g}' for k, v in values.items())


def main_jobs():
  """Shipped configs at their default length: summary.json of `experiments/train.py`."""
  rows = []
  for path in sorted(glob.glob(os.path.join(RESULTS, 'main_job_*.json'))):
    r = json.load(open(path))
    rows.append([f"`{r['config']}`", r['steps'], f"{r['wall_seconds']:.0f} s", _evaluation(r['eval'])])
  return _rows(['config', 'G steps', 'wall time (2-core CPU)', 'last evaluation'], rows)


def ema_vs_raw():
  """evaluate.py on one run, both generators (10,000 samples, project classifier)."""
  rows = []
  for path in sorted(glob.glob(os.path.join(RESULTS, 'eval_*.json'))):
    r = json.load(open(path))
    rows.append([r['run'], r['ema_decay'], r['step'], r['generator'], f"{r['fid']:.2f}",
                 f"{r['kid']:.1f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}"])
  return _rows(['run', 'ema_decay', 'step', 'generator', 'FID', 'KID', 'precision', 'recall'],
               rows)


def _convergence_runs():
  return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(RESULTS, 'convergence_*.json')))]


CONVERGENCE_EPOCHS = (1, 2, 3, 5, 10, 15, 20, 25)


def convergence(epochs=CONVERGENCE_EPOCHS, min_epochs=1):
  """experiments/convergence.py: FID (raw / EMA G) at chosen epochs, and the training wall time."""
  rows = []
  for r in _convergence_runs():
    if len(r['epochs']) < min_epochs:
      continue
    by_epoch = {e['epoch']: e for e in r['epochs']}
    cells = []
    for epoch in epochs:
      e = by_epoch.get(epoch)
      cells.append('' if e is None else ' / '.join(
          f"{e[g]['fid']:.1f}" if g in e else '–' for g in ('raw', 'ema')))
    # The last epoch, not the best: an epoch picked by its test FID would be chosen on the split
    # it is reported on (the validation-chosen protocol is experiments/time_to_fid.py's).
    last = r['epochs'][-1]
    shown = 'ema' if 'ema' in last else 'raw'
    minutes = sum(e['train_seconds'] for e in r['epochs']) / 60
    rows.append([r['dataset'], f"`{plots.convergence_recipe(r)}` ({r['trainer']})", *cells,
                 f"{last[shown]['fid']:.1f} ({shown}, epoch {last['epoch']})",
                 f"{minutes:.0f} min / {len(r['epochs'])} epochs"])
  return _rows(['dataset', 'recipe (trainer)', *(f'epoch {e}' for e in epochs),
                'FID at the last epoch', 'training wall time'], rows)


def convergence_summary():
  """The README's short form of `convergence`: runs of 5 epochs or more, at epochs 5, 10, 25."""
  return convergence(epochs=(5, 10, 25), min_epochs=5)


def sequences():
  """The SeqGAN oracle benchmark (experiments/sequences.py): quality and diversity per model,
  each GAN at every evaluation along its run, with its gap to the MLE generator it started from."""
  report = _load('sequences.json')
  mle = report['mle']
  rows = [['oracle (the floor)', report['floor']]]
  rows += [['random G (untrained)', report['random']], ['MLE (T = 1)', mle]]
  rows += [[f"MLE, temperature {p['temperature']:g}", p] for p in report['temperature_sweep']
           if p['temperature'] != 1.0]
  for name, label in (('seqgan', 'REINFORCE (SeqGAN-style)'),
                      ('relgan', 'Gumbel-softmax (RelGAN-style)')):
    if name in report and report[name]['steps'] >= 20:   # a 2-step smoke run is no result
      rows += [[f"{label}, G step {p['step']}", p] for p in report[name]['curve'][1:]]
  delta = lambda r, key: '' if r is mle or r.get(key) is None else f'{r[key] - mle[key]:+.3f}'
  return _rows(['generator', 'NLL-oracle', 'NLL-test', 'vs MLE: oracle', 'vs MLE: test'],
               [[name, f"{r['nll_oracle']:.3f}",
                 f"{r['nll_test']:.3f}" if r.get('nll_test') is not None else '',
                 delta(r, 'nll_oracle'), delta(r, 'nll_test')]
                for name, r in rows])


def sequences_decoded():
  """A few samples of each model (token ids: the oracle has no words), first 12 tokens of 20."""
  report = _load('sequences.json')
  sweep = {p['temperature']: p for p in report['temperature_sweep']}
  models = [('oracle (training data)', report['floor']), ('untrained G', report['random']),
            ('MLE', report['mle']), ('MLE at T = 0.5', sweep.get(0.5)),
            ('REINFORCE, last step', report.get('seqgan')),
            ('Gumbel-softmax, last step', report.get('relgan'))]
  return _rows(['model', 'sample 1', 'sample 2'],
               [[name] + [' '.join(map(str, seq[:12])) + ' ...' for seq in r['decoded'][:2]]
                for name, r in models if r is not None])


# Quoted, not measured: SeqGAN (Yu et al. 2017) Table 2 on its oracle; RelGAN (Nie et al. 2019)
# on Texygen's oracle. The floor is this project's LSTM scoring SeqGAN's oracle's own samples.
SEQUENCES_PUBLISHED = {'floor': '5.756', 'random': '10.310', 'mle': '9.038',
                       'seqgan': '8.736 (SeqGAN)', 'relgan': '6.680 (RelGAN)'}


def sequences_summary():
  """README's short version: our figures beside the published NLL-oracle of the same row."""
  report = _load('sequences.json')
  by_t = {p['temperature']: p for p in report['temperature_sweep']}
  rows = [('oracle (the floor)', report['floor'], 'floor'),
          ('random G', report['random'], 'random'), ('MLE', report['mle'], 'mle')]
  rows += [(f'MLE at temperature {t:g}', by_t[t], None) for t in (0.9, 0.75) if t in by_t]
  for name, label in (('seqgan', 'REINFORCE (SeqGAN-style)'),
                      ('relgan', 'Gumbel-softmax (RelGAN-style)')):
    if name in report and report[name]['steps'] >= 20:
      curve = report[name]['curve']
      # The best point inside the bound (NLL-test at most 0.1 above MLE's), and the last.
      inside = [p for p in curve[1:] if p['nll_test'] <= curve[0]['nll_test'] + 0.1]
      points = [min(inside, key=lambda p: p['nll_oracle'])] if inside else []
      points += [] if points and points[0] is curve[-1] else [curve[-1]]
      rows += [(f"{label}, G step {p['step']}", p, name if p is curve[-1] else None)
               for p in points]
  return _rows(['generator', 'NLL-oracle', 'NLL-test', 'published NLL-oracle'],
               [[label, f"{r['nll_oracle']:.3f}", f"{r['nll_test']:.3f}",
                 SEQUENCES_PUBLISHED.get(key, '') if key else '']
                for label, r, key in rows])


CONDITIONAL_DATASETS = (('mnist', 'MNIST'), ('fashion_mnist', 'Fashion-MNIST'))


def coco_ceiling():
  """Real captions scored as generated ones (experiments/text_ceiling.py): the protocol's ceiling
  of BLEU-2..5 and the self-BLEU of human captions at the same number of sentences."""
  report = _load('coco_ceiling.json')
  cells = lambda row, prefix: ' / '.join(f'{row[f"{prefix}{n}"]:.3f}' for n in (2, 3, 4, 5))
  first = re.compile(r'test\[:(\d+)\]')   # Texygen's fast mode: the first test captions only
  name = lambda refs: (f'first {first.match(refs).group(1)} test captions' if first.match(refs)
                       else f'{refs} file, every caption')
  return _rows(['N sentences of', 'references', 'BLEU-2 / 3 / 4 / 5', 'self-BLEU-2 / 3 / 4 / 5',
                'mean words'],
               [[f"{r['num_sentences']:,} of the {r['hypotheses']} file", name(r['references']),
                 cells(r, 'bleu'), cells(r, 'self_bleu'), f"{r['mean_length']:.1f}"]
                for r in report['rows']])


def _conditional_runs():
  """(name, label, runs) of every conditional_<dataset>.json (experiments/conditional.py)."""
  for name, label in CONDITIONAL_DATASETS:
    if os.path.exists(os.path.join(RESULTS, f'conditional_{name}.json')):
      yield name, label, _load(f'conditional_{name}.json')['runs']


def _ema_raw(run, key, fmt):
  return ' / '.join(fmt(run['eval'][g][key]) for g in ('ema', 'raw'))


def conditional_labels():
  """Label to image (experiments/conditional.py): each D beside the unconditional run."""
  rows = []
  percent = lambda v: f'{100 * v:.1f}%'
  for name, dataset, runs in _conditional_runs():
    for run, label in (('unconditional', 'unconditional DCGAN'), ('concat', 'concat (cGAN)'),
                       ('projection', 'projection'),
                       ('acgan', 'AC-GAN (D classifies real images only)')):
      if run not in runs:
        continue
      r = runs[run]
      labelled = run != 'unconditional'
      rows.append([dataset, label, r['steps'],
                   _ema_raw(r, 'label_accuracy', percent) if labelled else '',
                   _ema_raw(r, 'fid', lambda v: f'{v:.1f}'),
                   _ema_raw(r, 'intra_fid', lambda v: f'{v:.1f}') if labelled else '',
                   f"{r['wall_seconds'] / 60:.1f} min"])
    seeds = [runs['acgan']] + [json.load(open(path))['runs']['acgan'] for path in sorted(glob.glob(
        os.path.join(RESULTS, f'conditional_{name}_acgan_seed*.json')))] if 'acgan' in runs else []
    if len(seeds) > 1:   # the AC-GAN row above and its other seeds: mean +- s.d.
      spread = lambda key, g, scale: '{:.1f} ± {:.1f}'.format(
          *(lambda v: (v.mean(), v.std(ddof=1)))(scale * np.array([r['eval'][g][key]
                                                                    for r in seeds])))
      rows.append([dataset, f"AC-GAN (D classifies real images only), seeds "
                   f"{', '.join(str(r.get('seed', 0)) for r in seeds)}", seeds[0]['steps'],
                   ' / '.join(spread('label_accuracy', g, 100) + '%' for g in ('ema', 'raw')),
                   ' / '.join(spread('fid', g, 1) for g in ('ema', 'raw')),
                   ' / '.join(spread('intra_fid', g, 1) for g in ('ema', 'raw')),
                   f"{np.mean([r['wall_seconds'] for r in seeds]) / 60:.1f} min each"])
    paper = os.path.join(RESULTS, f'conditional_{name}_acgan_paper_loss.json')
    if os.path.exists(paper):   # AC-GAN's D classifier also trained on G's samples
      r = json.load(open(paper))['runs']['acgan']
      rows.append([dataset, "AC-GAN, the paper's loss (D classifies G's samples too)", r['steps'],
                   _ema_raw(r, 'label_accuracy', percent), _ema_raw(r, 'fid', lambda v: f'{v:.1f}'),
                   _ema_raw(r, 'intra_fid', lambda v: f'{v:.1f}'),
                   f"{r['wall_seconds'] / 60:.1f} min"])
    longer = os.path.join(RESULTS, f'conditional_{name}_concat_4685.json')
    if os.path.exists(longer):   # the best D continued to 5 epochs (same command, --num_steps)
      r = json.load(open(longer))['runs']['concat']
      rows.append([dataset, 'concat (cGAN), continued', r['steps'],
                   _ema_raw(r, 'label_accuracy', percent), _ema_raw(r, 'fid', lambda v: f'{v:.1f}'),
                   _ema_raw(r, 'intra_fid', lambda v: f'{v:.1f}'),
                   f"{r['wall_seconds'] / 60:.1f} min more"])
    ceiling = next((r['eval']['ema']['real_label_accuracy'] for r in runs.values()
                    if 'real_label_accuracy' in r['eval']['ema']), None)
    if ceiling is not None:
      rows.append([dataset, 'real test images (the ceiling)', '', percent(ceiling), '', '', ''])
  return _rows(['dataset', 'G / D', 'steps', 'label accuracy (EMA / raw G)', 'FID (EMA / raw)',
                'intra-FID (EMA / raw)', 'wall time'], rows)


def conditional_completion():
  """Completion of the lower half (experiments/conditional.py): L1 alone against L1 + GAN."""
  rows = []
  for _, dataset, runs in _conditional_runs():
    for run, label in (('l1', 'L1 alone'), ('l1_gan', 'L1 + conditional GAN (pix2pix)')):
      if run not in runs:
        continue
      r = runs[run]
      rows.append([dataset, label, r['steps'], _ema_raw(r, 'l1', lambda v: f'{v:.3f}'),
                   _ema_raw(r, 'fid', lambda v: f'{v:.1f}'),
                   _ema_raw(r, 'label_accuracy', lambda v: f'{100 * v:.1f}%'),
                   _ema_raw(r, 'diversity', lambda v: f'{v:.3f}'),
                   f"{r['wall_seconds'] / 60:.1f} min"])
  return _rows(['dataset', 'G trained by', 'steps', 'L1 on the hidden half (EMA / raw)',
                'FID (EMA / raw)', 'label accuracy (EMA / raw)', 'diversity over z (EMA / raw)',
                'wall time'], rows)


GRAPH_METRICS = ('degree', 'clustering', 'orbit')
GRAPH_ROWS = (('floor', 'train vs test (the floor)'), ('gan_wgan_gp', 'GAN, WGAN-GP'),
              ('gan_non_saturating', 'GAN, non-saturating + R1'), ('vae', 'VAE, same decoder'))
SHORT = {'train vs test (the floor)': 'floor', 'GAN, non-saturating + R1': 'GAN, NS + R1',
         'VAE, same decoder': 'VAE'}
# Quoted, not measured: SPECTRE (Martinkus et al. 2022), Table 1, each dataset under SPECTRE's
# protocol for it (Gaussian EMD for community-small, Gaussian TV for planar); V.U.N. in %.
PUBLISHED = {
    'community_small': {'GraphRNN': (0.08, 0.12, 0.04), 'GRAN': (0.06, 0.11, 0.01),
                        'SPECTRE': (0.02, 0.21, 0.01)},
    'planar': {'GraphRNN': (0.0049, 0.2779, 1.2543, 0), 'GRAN': (0.0007, 0.0426, 0.0009, 0),
               'SPECTRE': (0.0005, 0.0785, 0.0012, 25)},
}
PUBLISHED_PROTOCOL = {'community_small': 'emd', 'planar': 'tv'}


def _mmd(value):
  return f'{value:.4f}'.replace('-0.0000', '0.0000')   # a floor's MMD can round to -0


def _graph_rows(dataset):
  """[(label, {metric: cell})]: the floor and each method measured, then the published rows."""
  report = _load(f'graphs_{dataset}.json')
  measured = {'floor': report['floor'], **{m: r['metrics'] for m, r in report['methods'].items()}}
  rows = []
  for key, label in GRAPH_ROWS:
    if key in measured:
      r = measured[key]
      cells = {f'{m}_{p}': _mmd(r[f'{m}_{p}']) for p in ('tv', 'emd') for m in GRAPH_METRICS}
      if 'valid' in r:   # planar only
        cells.update(connected=f"{100 * r['connected']:.0f}%", valid=f"{100 * r['valid']:.0f}%",
                     vun=f"{100 * r['vun']:.0f}%" if key != 'floor' else '–')
      rows.append((label, cells))
  protocol = PUBLISHED_PROTOCOL[dataset]
  for name, values in PUBLISHED[dataset].items():
    cells = {f'{m}_{protocol}': f'{v:g}' for m, v in zip(GRAPH_METRICS, values)}
    if len(values) > 3:
      cells['vun'] = f'{values[3]:g}%'
    rows.append((f'{name} (published)', cells))
  return rows


def _graph_table(dataset, extra=()):
  columns = [f'{m}_{p}' for p in ('tv', 'emd') for m in GRAPH_METRICS] + [c for c, _ in extra]
  header = ([f'{m} {p.upper()}' for p in ('tv', 'emd') for m in GRAPH_METRICS]
            + [title for _, title in extra])
  return _rows(['generator'] + header, [[label] + [cells.get(c, '–') for c in columns]
                                        for label, cells in _graph_rows(dataset)])


def graphs_community_small():
  """Community-small MMDs (experiments/graphs.py; the GANs' EMA G, 5 draws of 20 graphs)."""
  return _graph_table('community_small')


def graphs_planar():
  """Planar MMDs and validity (experiments/graphs.py; the GANs' EMA G, 5 draws of 40 graphs)."""
  return _graph_table('planar', [('connected', 'connected'),
                                 ('valid', 'connected and planar'), ('vun', 'V.U.N.')])


def graphs_summary():
  """Both graph datasets in one table (README): a row per dataset and protocol, a column per
  generator (* published), degree / clustering / orbit in each cell, planar V.U.N. in brackets."""
  rows, labels = [], None
  for dataset in ('community_small', 'planar'):
    measured = _graph_rows(dataset)
    labels = labels or [SHORT.get(label, label.replace(' (published)', '*'))
                        for label, _ in measured]
    minutes = _load(f'graphs_{dataset}.json')['total_seconds'] / 60
    for protocol in ('tv', 'emd'):
      row = [f"{dataset.replace('_', '-')} {protocol.upper()}"
             + (f' ({minutes:.1f} min)' if protocol == 'tv' else '')]
      for _, cells in measured:
        triple = [cells.get(f'{m}_{protocol}') for m in GRAPH_METRICS]
        cell = ' / '.join(triple) if all(triple) else '–'
        if protocol == 'tv' and cells.get('vun', '–') != '–':
          cell += f" ({cells['vun']})"
        row.append(cell)
      rows.append(row)
  return _rows(['MMD² degree / clustering / orbit (V.U.N.)'] + labels, rows)


def planar_sides_curve():
  """The planar method (third nodes per side), two seeds trained 220 min each on one core:
  V.U.N. on 1,000 graphs (5 x 40 mean in brackets) and TV MMD² at every evaluation."""
  runs = [_load(f'planar_sides_seed{seed}_220min.json')['evaluations'] for seed in (0, 1)]
  rows = []
  for a, b in zip(*runs):
    cells = [f"{a['train_seconds'] / 60:.0f} / {b['train_seconds'] / 60:.0f}",
             f"{a['step']} / {b['step']}"]
    for e in (a, b):
      vun_1000, vun_40 = e['vun_1000']['vun'], e['protocol']['metrics']['vun']
      cells.append(f'{100 * vun_1000:.1f}% ({100 * vun_40:.1f}%)')
    for e in (a, b):
      m = e['protocol']['metrics']
      cells.append(' / '.join(f'{m[k]:.4f}' for k in ('degree_tv', 'clustering_tv', 'orbit_tv')))
    cells.append(' / '.join(f"{100 * e['edges_in_two_triangles']:.1f}%" for e in (a, b)))
    rows.append(cells)
  return _rows(['minutes (seed 0 / 1)', 'G step (seed 0 / 1)', 'seed 0 V.U.N.', 'seed 1 V.U.N.',
                'seed 0 TV deg / clu / orb', 'seed 1 TV', 'edges in 2 triangles'], rows)


def planar_trainer_curve():
  """The planar config through the common trainer (planar_study.py over train_and_evaluate, and
  evaluate.py on its step-2,050 checkpoint), beside the committed seed-0 curves at the same step."""
  run = _load('planar_sides_seed0_trainer.json')
  committed = {}
  for name in ('planar_sides_seed0_55min.json', 'planar_sides_seed0_220min.json'):
    committed.update({p['step']: p for p in _load(name)['curve']})
  rows = []
  for e, point in zip(run['evaluations'], run['curve']):
    m, old = e['protocol']['metrics'], committed.get(e['step'])
    rows.append([f"{point['train_minutes']:.0f}", e['step'],
                 f"{100 * point['vun_1000']:.1f}% ({100 * point['vun_5x40']:.1f}%)",
                 ' / '.join(f'{m[k]:.4f}' for k in ('degree_tv', 'clustering_tv', 'orbit_tv')),
                 f"{100 * e['edges_in_two_triangles']:.1f}%",
                 '–' if old is None else
                 f"{100 * old['vun_1000']:.1f}% ({100 * old['vun_5x40']:.1f}%)"])
  return _rows(['training minutes', 'G step', 'V.U.N. of 1,000 (5 x 40)', 'TV deg / clu / orb',
                'edges in 2 triangles', 'committed seed 0 at that step'], rows)


def coco_curves():
  """experiments/text_curves.py: each COCO run at every temperature, from its checkpoint chosen
  on the held-out training captions."""
  report = _load('coco_curves.json')
  rows = []
  for run in report['runs']:
    for p in run['points']:
      rows.append([run['label'], f"{run['workdir'].rsplit('_', 1)[-1]}", run['step'],
                   f"{p['temperature']:g}",
                   ' / '.join(f"{p[f'bleu{n}']:.3f}" for n in (2, 3, 4, 5)),
                   ' / '.join(f"{p[f'self_bleu{n}']:.3f}" for n in (2, 3, 4, 5)),
                   f"{p['nll_valid']:.3f}", f"{p['nll_test']:.3f}", f"{p['mean_length']:.1f}"])
  return _rows(['model', 'seed', 'G step (chosen)', 'T', 'BLEU-2 / 3 / 4 / 5',
                'self-BLEU-2 / 3 / 4 / 5', 'NLL valid', 'NLL test', 'mean words'], rows)


def render(text):
  def fill(match):
    return match.group(1) + globals()[match.group(2)]() + match.group(4)
  return BLOCK.sub(fill, text)


def markdown_files():
  return [os.path.join(ROOT, 'README.md')] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))


def main(check: bool) -> int:
  stale = []
  for path in markdown_files():
    text = open(path).read()
    new = render(text)
    if new != text:
      stale.append(os.path.relpath(path, ROOT))
      if not check:
        open(path, 'w').write(new)
  if check and stale:
    print('tables differ from experiments/results in: ' + ', '.join(stale)
          + '; run python experiments/tables.py', file=sys.stderr)
    return 1
  print(('checked' if check else 'written') + f': {len(markdown_files())} files')
  return 0


if __name__ == '__main__':
  sys.exit(main('--check' in sys.argv[1:]))
