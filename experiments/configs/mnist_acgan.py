"""Label to image on MNIST with an auxiliary classifier (AC-GAN, Odena et al. 2017): D ignores
the label and also classifies; both players add the cross-entropy of its class logits
(labeled_images.class_weight). Otherwise mnist_cgan_projection.py.

python experiments/conditional.py --dataset=mnist --runs=acgan --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_cgan_projection


def get_config():
  config = mnist_cgan_projection.get_config()
  config.labeled_images.conditional = 'acgan'
  config.labeled_images.class_weight = 1.0
  return config
