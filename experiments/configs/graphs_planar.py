"""SPECTRE's planar graphs (64-node Delaunay triangulations; 128 train / 32 val / 40 test): the
non-saturating GAN with an R1 penalty, an MLP generator with straight-through Bernoulli edges
(n = 64 from the training histogram) against a message-passing critic with triangle features.

python experiments/train.py --config experiments/configs/graphs_planar.py --workdir workdirs/planar
python experiments/evaluate.py --workdir workdirs/planar --num_samples=1000
python experiments/sample.py --workdir workdirs/planar --num_samples=1000

Settings of the graph benchmark (docs/structured.md): Adam 1e-4 for both players with WGAN-GP's
betas (0.5, 0.9), R1 gamma 10 (without it D wins outright within 300-1500 steps), z 32-d, G's
MLP 128-256-512, D 3 layers of width 64, batch 16, 8,000 G steps (~33 ms each on one core).
WGAN-GP: --config.loss.name=wgan_gp --config.loss.penalty=None --config.num_steps=4000.
"""

from gan_jax.run.config import base_config


def get_config():
  config = base_config()
  config.structure = 'graphs'
  config.data.name = 'planar'
  config.graphs.node_order = 'bfs'
  config.model.z_dim = 32
  config.model.d_features = 64
  config.loss.name = 'non_saturating'
  config.loss.penalty = 'r1'
  config.loss.penalty_weight = 10.0
  config.optim.lr = 1e-4
  config.optim.b1, config.optim.b2 = 0.5, 0.9
  config.batch_size = 16
  config.num_steps = 8000
  config.log_every = 100
  config.sample_every = 2000
  config.checkpoint_every = 1000
  config.eval_every = 0          # evaluate.py scores the final G (orbit counts take a while)
  return config
