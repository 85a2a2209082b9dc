"""DCGAN on your own images: a folder of PNG/JPEG files, mnist_dcgan.py's settings otherwise.

python experiments/train.py --config experiments/configs/folder_dcgan.py \
    --config.data.folder=PATH --config.data.image_size=32 --workdir workdirs/folder

Files directly in PATH are an unlabelled dataset; one subfolder per class gives labels, for a
label-to-image run add --config.structure=labeled_images
--config.labeled_images.conditional=projection --config.labeled_images.num_classes=K
(gan_jax.data.images.read_folder). Every image is centre-cropped and resized to
data.image_size (DCGAN takes sides 4*2^k or 7*2^k: 28, 32, 64, ...); left unset, the images
must all have one size, which is kept. Grayscale files train a 1-channel G, RGB files
a 3-channel one.

Scored in FID's Inception features against the folder itself (every split of a folder is the
whole folder), once the reference weights are converted (experiments/convert_inception.py):

python experiments/evaluate.py --workdir workdirs/folder --num_samples=10000

or during training with --config.eval_every=N.
"""

from experiments.configs import mnist_dcgan


def get_config():
  config = mnist_dcgan.get_config()
  config.data.name = 'folder'
  config.data.folder = ''        # set on the command line: --config.data.folder=PATH
  config.num_steps = 20000
  config.log_every = 100
  config.sample_every = 1000
  config.checkpoint_every = 2000
  config.eval_features = 'inception'   # LeNet features know only MNIST and Fashion-MNIST
  config.eval_every = 0          # Inception features need the converted weights: opt in
  return config
