"""Label to image on MNIST with the concatenation discriminator (cGAN, Mirza and Osindero 2014):
one-hot label maps beside the image. Otherwise mnist_cgan_projection.py.

python experiments/conditional.py --dataset=mnist --runs=concat --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_cgan_projection


def get_config():
  config = mnist_cgan_projection.get_config()
  config.labeled_images.conditional = 'concat'
  return config
