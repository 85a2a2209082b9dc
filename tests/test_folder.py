"""Your own images: a folder of PNG/JPEG files read like a TFDS split (shapes, labels, pixels),
trained and sampled through the scripts, and each bad folder stopped in one line (exit 2)
before the workdir exists."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gan_jax.data import images as image_data
from gan_jax.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'experiments', 'configs', 'folder_dcgan.py')
# tests/conftest.py's tiny_config as flags
TINY = ['--config.num_steps=2', '--config.batch_size=4', '--config.model.g_features=8',
        '--config.model.d_features=8', '--config.log_every=1', '--config.sample_every=1',
        '--config.checkpoint_every=2']


def _write(folder, name, pixels, mode=None):
  os.makedirs(folder, exist_ok=True)
  Image.fromarray(np.asarray(pixels, np.uint8), mode).save(os.path.join(folder, name))


def _constant(height, width, value):
  """A (height, width) grayscale or (height, width, 3) RGB image of one value."""
  return np.broadcast_to(np.asarray(value, np.uint8), (height, width) + np.shape(value))


def _two_sizes(folder, values):
  """Images alternately 20x24 and 36x30 (height x width), image i of the constant values[i]."""
  for i, value in enumerate(values):
    _write(folder, f'{i:02d}.png', _constant(*((20, 24), (36, 30))[i % 2], value))
  return str(folder)


def _script(name, *args):
  return subprocess.run([sys.executable, os.path.join(ROOT, 'experiments', name), *args],
                        capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_a_grayscale_folder_of_two_sizes_is_cropped_resized_and_keeps_its_values(tmp_path):
  folder = _two_sizes(tmp_path / 'gray', [0, 60, 120, 255])
  (tmp_path / 'gray' / 'notes.txt').write_text('not an image: skipped')
  images, labels = image_data.load_labeled_split('folder', 'train', None, image_size=16,
                                                 folder=folder)
  assert images.shape == (4, 16, 16, 1) and images.dtype == np.uint8 and labels is None
  assert not images.flags.writeable
  np.testing.assert_array_equal(images[:, :, :, 0].reshape(4, -1).T, [[0, 60, 120, 255]] * 256)
  # Read once per process; every split is the whole folder.
  assert image_data.load_split('folder', 'test', None, image_size=16, folder=folder) is images
  with pytest.raises(ConfigError, match=r'is 20x24 but .*01.png is 36x30 \(height x width\); '
                     r'set --config.data.image_size=N'):
    image_data.read_folder(folder)


def test_an_rgb_folder_of_one_size_keeps_its_size_and_colours(tmp_path):
  colours = [(255, 0, 0), (0, 128, 255), (10, 20, 30), (200, 200, 0)]
  for i, colour in enumerate(colours):
    _write(tmp_path, f'{i}.png', _constant(20, 24, colour))
  images, labels = image_data.read_folder(str(tmp_path))
  assert images.shape == (4, 20, 24, 3) and labels is None
  expected = np.broadcast_to(np.asarray(colours, np.uint8)[:, None, None], (4, 20, 24, 3))
  np.testing.assert_array_equal(images, expected)


def test_subfolders_are_classes_in_sorted_order(tmp_path):
  for name, count, value in (('zebra', 3, 200), ('ant', 2, 50)):
    for i in range(count):
      _write(tmp_path / name, f'{i}.png', _constant(16, 16, value))
  images, labels = image_data.read_folder(str(tmp_path))
  np.testing.assert_array_equal(labels, [0, 0, 1, 1, 1])   # ant, then zebra
  np.testing.assert_array_equal(images[:, 0, 0, 0], [50, 50, 200, 200, 200])


def test_palette_and_opaque_alpha_are_rgb_and_transparency_is_refused(tmp_path):
  _write(tmp_path, 'a.png', _constant(8, 8, (0, 0, 255)))
  Image.fromarray(_constant(8, 8, (0, 0, 255))).convert('P').save(tmp_path / 'b.png')
  _write(tmp_path, 'c.png', _constant(8, 8, (0, 0, 255, 255)), 'RGBA')
  images, _ = image_data.read_folder(str(tmp_path))
  np.testing.assert_array_equal(images, np.broadcast_to([0, 0, 255], (3, 8, 8, 3)))
  _write(tmp_path / 'half', 'd.png', _constant(8, 8, (0, 0, 255, 128)), 'RGBA')
  with pytest.raises(ConfigError, match='d.png has transparent pixels; flatten it'):
    image_data.read_folder(str(tmp_path / 'half'))


def test_files_beside_class_subfolders_are_refused(tmp_path):
  _write(tmp_path / 'cats', '0.png', _constant(8, 8, 0))
  _write(tmp_path, 'stray.png', _constant(8, 8, 0))
  with pytest.raises(ConfigError, match=r'holds both image files \(stray.png\) and subfolders '
                     r'\(cats\); put every image in a class subfolder'):
    image_data.read_folder(str(tmp_path))


@pytest.fixture(scope='module')
def seeded_inception(tmp_path_factory):
  """A converted Inception weights file with seeded random weights (not the reference)."""
  from gan_jax.metrics import inception
  path = str(tmp_path_factory.mktemp('inception') / 'seeded.npz')
  variables = inception.variables_from_state_dict(
      inception.random_state_dict(inception.torch_layout(), seed=0))
  inception.save_variables(variables, path, source_sha256='seeded random weights, seed 0')
  return path


@pytest.mark.parametrize('colour', ['grayscale', 'rgb'])
def test_a_folder_of_two_sizes_trains_evaluates_and_samples(colour, tmp_path, seeded_inception):
  values = [0, 60, 120, 255] if colour == 'grayscale' else [(255, 0, 0), (0, 255, 0),
                                                           (0, 0, 255), (9, 9, 9)]
  folder = _two_sizes(tmp_path / colour, values * 2)
  channels = 1 if colour == 'grayscale' else 3
  workdir = tmp_path / 'run'
  result = _script('train.py', f'--config={CONFIG}', f'--config.data.folder={folder}',
                   '--config.data.image_size=8', f'--workdir={workdir}', *TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.listdir(workdir / 'checkpoints') == ['2']
  # FID in Inception features against the folder itself; weights that are not the reference
  # file are named as such in the result and in a warning.
  result = _script('evaluate.py', f'--workdir={workdir}', '--num_samples=8',
                   f'--inception_weights={seeded_inception}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'not comparable with papers' in result.stderr
  scores = json.load(open(workdir / 'eval_step_2_ema.json'))
  assert scores['features'] == 'inception' and scores['feature_weights'].startswith('UNVERIFIED')
  assert np.isfinite(scores['fid']) and scores['fid'] > 0
  result = _script('sample.py', f'--workdir={workdir}', '--num_samples=8')
  assert result.returncode == 0, result.stderr[-3000:]
  samples = np.load(workdir / 'samples_step_2_ema.npy')
  assert samples.shape == (8, 8, 8, channels) and np.all(np.abs(samples) <= 1)


def test_a_labelled_folder_trains_a_projection_cgan(tmp_path):
  for name in ('a', 'b'):
    _two_sizes(tmp_path / 'classes' / name, [0, 100, 200])
  workdir = tmp_path / 'run'
  result = _script('train.py', f'--config={CONFIG}', f'--config.data.folder={tmp_path / "classes"}',
                   '--config.data.image_size=8', '--config.structure=labeled_images',
                   '--config.labeled_images.conditional=projection',
                   '--config.labeled_images.num_classes=2',
                   '--config.g_samples=fresh', f'--workdir={workdir}', *TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.listdir(workdir / 'checkpoints') == ['2']


def test_labels_that_do_not_fit_the_model_stop_before_the_workdir(tmp_path):
  from experiments.configs import folder_dcgan
  from gan_jax.run.train import train_and_evaluate
  for name in ('a', 'b'):
    _write(tmp_path / 'classes' / name, '0.png', _constant(8, 8, 0))
  config = folder_dcgan.get_config()
  config.structure, config.labeled_images.conditional = 'labeled_images', 'projection'
  config.data.folder = str(tmp_path / 'classes')
  with pytest.raises(ConfigError, match=r"data 'folder' has 2 classes but labeled_images.num_classes "
                     r'is 10; set --config.labeled_images.num_classes=2'):
    train_and_evaluate(config, str(tmp_path / 'run'))
  config.data.folder = str(tmp_path / 'classes' / 'a')
  with pytest.raises(ConfigError, match=r"data 'folder' has no labels \(a folder has them as "
                     r'one subfolder per class\)'):
    train_and_evaluate(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()


def _bad_folders(root):
  """name -> (folder, the one line train.py prints)."""
  ext = '.png, .jpg, .jpeg'
  empty = root / 'empty'
  empty.mkdir()
  (empty / 'readme.txt').write_text('no images here')
  garbage = root / 'garbage'
  _write(garbage, 'a.png', _constant(8, 8, 0))
  (garbage / 'b.png').write_bytes(b'not a png at all')
  mixed = root / 'mixed'
  _write(mixed, 'a.png', _constant(8, 8, 0))
  _write(mixed, 'b.png', _constant(8, 8, (0, 0, 0)))
  return {
      'missing': (root / 'missing', f'data.folder {root / "missing"} does not exist; set '
                  '--config.data.folder to a folder of PNG/JPEG images'),
      'empty': (empty, f'{empty} holds no image files ({ext}) and no subfolders of them; set '
                '--config.data.folder to a folder of images'),
      'not an image': (garbage, f'cannot decode {garbage / "b.png"} as an image '
                       '(UnidentifiedImageError); remove or replace the file'),
      'channels differ': (mixed, f'{mixed / "a.png"} is grayscale but {mixed / "b.png"} is RGB; '
                          'convert the images to one kind (all grayscale or all RGB)'),
  }


@pytest.mark.parametrize('case', ['missing', 'empty', 'not an image', 'channels differ'])
def test_a_bad_folder_exits_2_with_one_line_and_writes_nothing(case, tmp_path):
  folder, message = _bad_folders(tmp_path)[case]
  workdir = tmp_path / 'run'
  result = _script('train.py', f'--config={CONFIG}', f'--config.data.folder={folder}',
                   f'--workdir={workdir}', *TINY)
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert result.returncode == 2, result.stderr[-2000:]
  assert lines == [f'error: {message}']
  assert not workdir.exists()
