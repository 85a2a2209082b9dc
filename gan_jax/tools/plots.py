"""Figures with matplotlib (Agg): sample grids, training curves, and 1D/2D densities with D(x)."""

import json
import os

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_image_grid(images: np.ndarray, path: str, title: str = '', columns: int = 8) -> None:
  """Images in [-1, 1], shape (N, H, W, C), as one grid."""
  images = np.clip((np.asarray(images) + 1.0) / 2.0, 0.0, 1.0)
  n, h, w, c = images.shape
  rows = -(-n // columns)
  grid = np.ones((rows * (h + 1) + 1, columns * (w + 1) + 1, c), np.float32)
  for i, image in enumerate(images):
    r, col = divmod(i, columns)
    grid[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + col * (w + 1):1 + col * (w + 1) + w] = image
  fig, ax = plt.subplots(figsize=(columns * 0.8, rows * 0.8 + 0.4))
  ax.imshow(grid.squeeze(-1) if c == 1 else grid, cmap='gray' if c == 1 else None,
            vmin=0.0, vmax=1.0, interpolation='nearest')
  ax.set_axis_off()
  ax.set_title(title, fontsize=9)
  fig.savefig(path, bbox_inches='tight', dpi=100)
  plt.close(fig)


def plot_curves(metrics_path: str, path: str) -> None:
  """Both players' losses and D's mean score on real and fake data over training."""
  records = [json.loads(line) for line in open(metrics_path) if line.strip()]
  records = [r for r in records if 'd_loss' in r]
  if not records:
    return
  steps = [r['step'] for r in records]
  fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(10, 3.5))
  for name in ('d_loss', 'g_loss'):
    ax_loss.plot(steps, [r[name] for r in records], label=name)
  for name, label in (('d_real', 'D on real'), ('d_fake', 'D on G(z)')):
    ax_score.plot(steps, [r[name] for r in records], label=label)
  ax_loss.set_title('losses')
  ax_score.set_title("D's mean logit")
  for ax in (ax_loss, ax_score):
    ax.set_xlabel('G step')
    ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_density(real: np.ndarray, fake: np.ndarray, d_fn, path: str, title: str = '',
                 extent: float = None) -> None:
  """Real vs generated points with D's score D(x) = sigmoid(logit) drawn over them.

  1D: histograms of both and the curve D(x) (the lecture's picture); 2D: scatter of both with
  D's contour lines.
  """
  real, fake = np.asarray(real), np.asarray(fake)
  fig, ax = plt.subplots(figsize=(5.5, 4.5))
  if real.shape[1] == 1:
    lo = min(real.min(), fake.min()) - 0.5
    hi = max(real.max(), fake.max()) + 0.5
    xs = np.linspace(lo, hi, 400, dtype=np.float32)[:, None]
    bins = np.linspace(lo, hi, 80)
    ax.hist(real[:, 0], bins, density=True, alpha=0.5, label='real')
    ax.hist(fake[:, 0], bins, density=True, alpha=0.5, label='G(z)')
    ax2 = ax.twinx()
    ax2.plot(xs[:, 0], _sigmoid(d_fn(xs)), 'k', label='D(x)')
    ax2.set_ylim(0, 1)
    ax2.set_ylabel('D(x)')
    ax.set_xlabel('x')
    ax.legend(loc='upper left')
  else:
    extent = extent or float(np.abs(real).max() * 1.3 + 0.2)
    axis = np.linspace(-extent, extent, 120, dtype=np.float32)
    gx, gy = np.meshgrid(axis, axis)
    scores = _sigmoid(d_fn(np.stack([gx.ravel(), gy.ravel()], 1))).reshape(gx.shape)
    contours = ax.contour(gx, gy, scores, levels=8, cmap='coolwarm', linewidths=0.8)
    ax.clabel(contours, fontsize=6)
    ax.scatter(real[:, 0], real[:, 1], s=3, c='tab:blue', alpha=0.5, label='real')
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c='tab:orange', alpha=0.5, label='G(z)')
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect('equal')
    ax.legend(loc='upper right', fontsize=7)
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _sigmoid(logits):
  return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))


def save_points(points: np.ndarray, path: str, title: str = '') -> None:
  """Generated 1D points as a histogram, 2D points as a scatter."""
  points = np.asarray(points)
  fig, ax = plt.subplots(figsize=(4.5, 4.5))
  if points.shape[1] == 1:
    ax.hist(points[:, 0], 80, density=True)
  else:
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.5)
    ax.set_aspect('equal')
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def convergence_recipe(record) -> str:
  """A convergence record's recipe: its config file's name, with any `--config.` overrides of
  its command (last key component=value)."""
  name = os.path.splitext(os.path.basename(record['config']))[0]
  overrides = [arg.split('=', 1) for arg in record.get('command', '').split()
               if arg.startswith('--config.') and '=' in arg]
  extra = ' '.join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in overrides)
  return f"{name}{' ' + extra if extra else ''}"


def plot_convergence(records, path: str) -> None:
  """FID against epoch and against training wall time, one colour per run (raw G solid, EMA G
  dashed; records written by experiments/convergence.py), on a log scale."""
  legend_inches = 0.2 * len(records) + 0.1   # two columns of raw and EMA lines, 7 pt
  height = 4.2 + legend_inches
  fig, (ax_epoch, ax_time) = plt.subplots(1, 2, figsize=(11, height))
  colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
  for index, record in enumerate(records):
    name = f"{convergence_recipe(record)} ({record['trainer']})"
    epochs = record['epochs']
    seconds = np.cumsum([e['train_seconds'] for e in epochs]) / 60
    colour = colours[index % len(colours)]
    for generator, style in (('raw', '-'), ('ema', '--')):
      if generator not in epochs[0]:
        continue
      fids = [e[generator]['fid'] for e in epochs]
      ax_epoch.plot([e['epoch'] for e in epochs], fids, style, color=colour,
                    label=f'{name}, {generator} G')
      ax_time.plot(seconds, fids, style, color=colour)
  for ax, xlabel in ((ax_epoch, 'epoch'), (ax_time, 'training wall time (min)')):
    ax.set_yscale('log')
    ax.set_xlabel(xlabel)
    ax.set_ylabel('FID (project classifier, 10k samples)')
    ax.grid(True, which='both', alpha=0.3)
  fig.legend(loc='lower center', ncol=2, fontsize=7, frameon=False)
  fig.tight_layout(rect=(0, legend_inches / height, 1, 1))
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_time_to_fid(records, path: str, title: str, ylabel: str) -> None:
  """Validation FID against minutes of training, one line per run (experiments/time_to_fid.py's
  records: a colour per config and overrides, a line style per seed), the chosen checkpoint
  starred and its test FID in the legend; log scale."""
  recipes = sorted({(r['config'], ' '.join(r['overrides'])) for r in records})
  colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
  styles = ('-', '--', ':', '-.')
  legend_inches = 0.18 * len(records) + 0.1
  height = 4.2 + legend_inches
  fig, ax = plt.subplots(figsize=(8, height))
  for record in sorted(records, key=lambda r: (r['config'], r['overrides'], r['seed'])):
    recipe = (record['config'], ' '.join(record['overrides']))
    colour = colours[recipes.index(recipe) % len(colours)]
    seeds = sorted({r['seed'] for r in records
                    if (r['config'], ' '.join(r['overrides'])) == recipe})
    style = styles[seeds.index(record['seed']) % len(styles)]
    chosen = record['chosen']
    curve = record['curve'][chosen['generator']]
    label = (f"{' '.join(part for part in recipe if part)}, seed {record['seed']}: test FID "
             f"{record['test']['fid']:.1f} ({chosen['generator']} G, step {chosen['step']})")
    ax.plot([p['minutes'] for p in curve], [p['fid'] for p in curve], style, color=colour,
            label=label)
    ax.plot([chosen['train_minutes']], [chosen['value']], '*', color=colour, markersize=10)
  ax.set_yscale('log')
  ax.set_xlabel('training wall time (min; drawing and evaluation excluded)')
  ax.set_ylabel(ylabel)
  ax.set_title(title, fontsize=9)
  ax.grid(True, which='both', alpha=0.3)
  fig.legend(loc='lower center', ncol=1, fontsize=7, frameon=False)
  fig.tight_layout(rect=(0, legend_inches / height, 1, 1))
  fig.savefig(path, dpi=100)
  plt.close(fig)
