"""FID at every epoch, of the raw and the EMA generator: where a recipe's curve flattens.

python experiments/convergence.py --config experiments/configs/mnist_dcgan.py --epochs=25 \
    --workdir workdirs/convergence/mnist_dcgan --data_dir=../shared/data/tensorflow_datasets

With --peer, the same is done for the PyTorch example's DCGAN-28 (experiments/torch_reference.py,
`pip install -e ".[torch]"`), fed the config's batches in the same order (same seed, batch size,
Adam settings and number of G steps), its generator scored the same way:

python experiments/convergence.py --peer --config experiments/configs/mnist_dcgan.py --epochs=25 \
    --workdir workdirs/convergence/mnist_torch --data_dir=../shared/data/tensorflow_datasets

gan_jax runs train one epoch per call of `train_and_evaluate` (each resuming from the last
epoch's checkpoint, as an interrupted run would), so this script is also a long resume test.
After each epoch both generators draw `--num_samples` samples, scored against the test split in
the project classifier's features. `<workdir>/convergence.json` is rewritten after each epoch (a
stopped run continues where it stopped); it holds the training wall time (compilation and
checkpoint saves included, evaluation not) and every metric. `--plot=a.json,b.json` draws such
files side by side (FID against epoch and against training wall time) into --workdir.
"""

import json
import os
import time

from absl import flags
from ml_collections import config_flags

from gan_jax.data import epoch_batches
from gan_jax.structures import make_data
from gan_jax.data import images as image_data
from gan_jax.errors import ConfigError
from gan_jax import structures
from gan_jax.run import cli, evaluation
from gan_jax.run.config import n_critic, validate
from gan_jax.run.train import train_and_evaluate
from gan_jax.tools import plots

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.')
_WORKDIR = cli.define_workdir('Folder of the run (checkpoints, convergence.json, figures).')
_DATA_DIR = cli.define_data_dir()
_EPOCHS = flags.DEFINE_integer('epochs', 25, 'Epochs to train (an epoch: the training split once).')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 10000, 'Samples per generator and epoch.')
_STEPS_PER_EPOCH = flags.DEFINE_integer(
    'steps_per_epoch', None, "G steps between evaluations; default: an epoch (the split's full "
    'batches, n_critic per G step). Smaller values are for quick looks and tests.')
_PEER = flags.DEFINE_bool('peer', False, "Train the PyTorch example's DCGAN-28 instead.")
_PLOT = flags.DEFINE_list('plot', [], 'convergence.json files to draw together, nothing trained.')


def _record(workdir):
  path = os.path.join(workdir, 'convergence.json')
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  return None


def _epoch_steps(config):
  """G steps per epoch: the training split's full batches, n_critic of them per G step."""
  return epoch_batches(config.data, config.batch_size) // n_critic(config)


def _train_gan_jax(config, workdir, epoch_steps, record):
  """Trains epoch after epoch, scoring both generators after each."""
  gan = None
  for epoch in range(len(record['epochs']) + 1, _EPOCHS.value + 1):
    config.num_steps = epoch * epoch_steps
    start = time.perf_counter()
    state = train_and_evaluate(config, workdir, quiet=True)
    seconds = time.perf_counter() - start
    if gan is None:
      gan, _ = evaluation.gan_and_example(config)
    scores = {'epoch': epoch, 'step': int(state.step), 'train_seconds': seconds}
    for generator in evaluation.GENERATORS:   # a label G: labels with their training shares
      samples = evaluation.draw_from_model(gan, state, config, _NUM_SAMPLES.value, config.seed,
                                            generator)
      scores[generator] = {'num_samples': _NUM_SAMPLES.value,
                           **evaluation.sample_metrics(samples, config)}
    yield scores


def _train_peer(config, workdir, epoch_steps, record):
  """The PyTorch example's DCGAN-28 on the config's batches, scored like the raw generator (its
  BatchNorm running statistics); resumes from its last epoch's torch checkpoint."""
  import torch
  from experiments import torch_reference
  if config.model.name != 'dcgan' or n_critic(config) != 1:
    raise ConfigError('--peer compares with the PyTorch DCGAN example: a dcgan config with '
                      'n_critic 1')
  torch.set_num_threads(len(os.sched_getaffinity(0)))
  trainer = torch_reference.Trainer('dcgan28', config.batch_size, config.model.z_dim,
                                    lr=config.optim.lr, betas=(config.optim.b1, config.optim.b2),
                                    seed=config.seed)
  checkpoint = os.path.join(workdir, 'torch_state.pt')
  if record['epochs'] and os.path.exists(checkpoint):
    trainer.load_state_dict(torch.load(checkpoint))
  data = make_data(config, 1)
  for epoch in range(len(record['epochs']) + 1, _EPOCHS.value + 1):
    start = time.perf_counter()
    for step in range((epoch - 1) * epoch_steps, epoch * epoch_steps):
      trainer.step(torch.from_numpy(image_data.to_model_range(data.batches(step)[0])))
    torch.save(trainer.state_dict(), checkpoint)
    seconds = time.perf_counter() - start
    samples = trainer.sample(_NUM_SAMPLES.value, seed=config.seed)
    yield {'epoch': epoch, 'step': epoch * epoch_steps, 'train_seconds': seconds,
           'raw': {'num_samples': _NUM_SAMPLES.value,
                   **evaluation.sample_metrics(samples, config)}}


def _plot(paths, workdir):
  records = []
  for path in paths:
    with open(path) as f:
      records.append(json.load(f))
  out = os.path.join(workdir, 'convergence.png')
  plots.plot_convergence(records, out)
  print(f'written to {out}')


def main(argv):
  del argv
  workdir = cli.open_workdir(_WORKDIR)
  if _PLOT.value:
    _plot(_PLOT.value, workdir)
    return
  if _CONFIG.value is None:
    raise ConfigError('--config is required (or --plot)')
  config = cli.config_value(_CONFIG)
  if _DATA_DIR.value:
    config.data.data_dir = _DATA_DIR.value
  if _EPOCHS.value < 1 or _NUM_SAMPLES.value < 2 or (_STEPS_PER_EPOCH.value or 1) < 1:
    raise ConfigError('--epochs and --steps_per_epoch must be at least 1, --num_samples at '
                      'least 2')
  structure = structures.get(config)
  structure.check_evaluable(config)
  validate(config, structure)
  epoch_steps = _STEPS_PER_EPOCH.value or _epoch_steps(config)
  config.eval_every = 0
  config.log_every = min(config.log_every, epoch_steps)
  config.checkpoint_every = config.sample_every = epoch_steps
  record = _record(workdir) or {
      'command': cli.command_line(), 'config': flags.FLAGS['config'].config_filename,
      'trainer': 'torch' if _PEER.value else 'gan_jax', 'dataset': config.data.name,
      'epoch_steps': epoch_steps, 'batch_size': config.batch_size,
      'cpu_cores': len(os.sched_getaffinity(0)), 'epochs': []}
  record['command'] = cli.command_line()   # the invocation that extends the record
  train = _train_peer if _PEER.value else _train_gan_jax
  for scores in train(config, workdir, epoch_steps, record):
    record['epochs'].append(scores)
    fids = ', '.join(f"{g} {scores[g]['fid']:.2f}" for g in evaluation.GENERATORS if g in scores)
    print(f"epoch {scores['epoch']} (step {scores['step']}, {scores['train_seconds']:.0f} s "
          f'training): FID {fids}', flush=True)
    with open(os.path.join(workdir, 'convergence.json'), 'w') as f:
      json.dump(record, f, indent=1, default=float)


if __name__ == '__main__':
  cli.run(main)
