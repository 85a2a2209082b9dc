"""The ring of 8 Gaussians with the relativistic average GAN (Jolicoeur-Martineau 2019): G's loss
scores its samples against the mean score of the real batch, so the G step sees real data.

python experiments/train.py --config experiments/configs/toy2d_ring_ragan.py --workdir workdirs/ring_ragan
"""

from experiments.configs import toy2d_ring


def get_config():
  config = toy2d_ring.get_config()
  config.loss.name = 'ragan'
  return config
