"""SNGAN on CIFAR-10 (Miyato et al. 2018): ResNet G and D, spectral norm in D, hinge loss,
n_critic 5, Adam(2e-4, beta1=0, beta2=0.9), batch 64.

python experiments/train.py --config experiments/configs/cifar10_sngan.py --workdir workdirs/sngan

Scored in FID's Inception features (LeNet features exist for MNIST and Fashion-MNIST only), once
the reference weights are converted (experiments/convert_inception.py):

python experiments/evaluate.py --workdir workdirs/sngan --features=inception

or during training with --config.eval_features=inception --config.eval_every=N.
"""

from gan_jax.run.config import base_config


def get_config():
  config = base_config()
  config.structure = 'images'
  config.data.name = 'cifar10'
  config.model.name = 'resnet'
  config.model.z_dim = 128
  config.model.g_features = 256
  config.model.d_features = 128
  config.model.spectral_norm = True
  config.loss.name = 'hinge'
  config.n_critic = 5
  config.optim.lr = 2e-4
  config.optim.b1 = 0.0
  config.optim.b2 = 0.9
  config.batch_size = 64
  config.num_steps = 50000
  config.sample_every = 2000
  config.checkpoint_every = 5000
  return config
