"""DCGAN on MNIST (28x28x1), non-saturating loss, Adam(2e-4, 0.5) as in Radford et al. 2016.

python experiments/train.py --config experiments/configs/mnist_dcgan.py --workdir workdirs/mnist \
    --config.data.data_dir=../shared/data/tensorflow_datasets
"""

from gan_jax.run.config import base_config


def get_config():
  config = base_config()
  config.structure = 'images'
  config.data.name = 'mnist'
  config.model.name = 'dcgan'
  config.model.z_dim = 100
  config.model.g_features = 64
  config.model.d_features = 64
  config.loss.name = 'non_saturating'
  config.optim.lr = 2e-4
  config.optim.b1 = 0.5
  config.batch_size = 64
  # One D step per G step, and G scored on the samples D just saw, as the PyTorch example
  # does: G runs forward once per iteration.
  config.g_samples = 'reuse'
  # 25 epochs (docs/convergence.md): FID 44.6 for the raw and the EMA G, against 95-105 at
  # 3,000 steps; the curve is still falling (about 1.5 per epoch at epoch 25), not flat.
  config.num_steps = 25 * 937
  config.log_every = 50
  config.sample_every = 2000
  config.checkpoint_every = 1000
  config.eval_every = 5000       # FID etc. in the project classifier's features
  config.eval_samples = 10000
  return config
