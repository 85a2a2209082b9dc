"""DCGAN on CIFAR-10 (32x32x3), non-saturating loss, Adam(2e-4, 0.5).

python experiments/train.py --config experiments/configs/cifar10_dcgan.py --workdir workdirs/cifar

Scored in FID's Inception features (LeNet features exist for MNIST and Fashion-MNIST only), once
the reference weights are converted (experiments/convert_inception.py):

python experiments/evaluate.py --workdir workdirs/cifar --features=inception

or during training with --config.eval_features=inception --config.eval_every=N.
"""

from experiments.configs import mnist_dcgan


def get_config():
  config = mnist_dcgan.get_config()
  config.data.name = 'cifar10'
  config.num_steps = 100000
  config.log_every = 100
  config.sample_every = 2000
  config.checkpoint_every = 5000
  config.eval_every = 0          # Inception features need the converted weights: opt in
  return config
