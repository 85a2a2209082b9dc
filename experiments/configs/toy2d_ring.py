"""8 Gaussians on a ring (radius 1, std 0.01), the VEEGAN/PacGAN protocol; MLP G and D.

python experiments/train.py --config experiments/configs/toy2d_ring.py --workdir workdirs/ring
"""

from gan_jax.run.config import base_config


def get_config():
  config = base_config()
  config.structure = 'points'
  config.data.name = 'ring8'
  config.model.name = 'mlp'
  config.model.z_dim = 2
  config.model.g_features = 128
  config.model.d_features = 128
  config.model.mlp_depth = 2
  config.loss.name = 'non_saturating'
  config.optim.lr = 1e-3
  config.optim.b1 = 0.5
  config.batch_size = 256
  config.num_steps = 10000
  config.log_every = 100
  config.sample_every = 2500
  config.checkpoint_every = 2500
  config.eval_every = 2500       # modes captured, high-quality % on 2500 samples
  return config
