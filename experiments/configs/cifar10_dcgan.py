"""DCGAN on CIFAR-10 (32x32x3), non-saturating loss, Adam(2e-4, 0.5).

python experiments/train.py --config experiments/configs/cifar10_dcgan.py --workdir workdirs/cifar
"""

from experiments.configs import mnist_dcgan


def get_config():
  config = mnist_dcgan.get_config()
  config.data.name = 'cifar10'
  config.num_steps = 100000
  config.log_every = 100
  config.sample_every = 2000
  config.checkpoint_every = 5000
  config.eval_every = 0          # no feature network for this dataset here
  return config
