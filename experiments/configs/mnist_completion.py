"""Image completion on MNIST, L1 + conditional GAN (pix2pix, Isola et al. 2017): G gets the
upper half (and z), paints the lower; D judges (image, upper half); G's loss adds
100 * mean |G(c, z) - x|. mnist_completion_l1.py is the same model with the GAN term off.

python experiments/conditional.py --dataset=mnist --runs=l1_gan --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_cgan_projection


# The length its results were measured at (docs/structured.md); the L1 run as long as this one.
NUM_STEPS = 1500


def get_config():
  config = mnist_cgan_projection.get_config()
  config.num_steps = NUM_STEPS
  config.labeled_images.conditional = 'completion'
  config.labeled_images.l1_weight = 100.0
  config.loss.adversarial_weight = 1.0
  return config
