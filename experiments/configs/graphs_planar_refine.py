"""Planar graphs with a generator that sees its own graph: RefineGraphGenerator draws a first
graph from latent 2-D node positions, then redraws every edge in 2 rounds of message passing
over its own draw; against a PPGN-like pairwise critic (gan_jax/models/graph_refine.py).
Issue 25's attempt: V.U.N. 0% after 60 min of training on one core (docs/structured.md).

python experiments/train.py --config experiments/configs/graphs_planar_refine.py \
    --workdir workdirs/planar_refine
python experiments/evaluate.py --workdir workdirs/planar_refine --num_samples=1000
"""

from experiments.configs import graphs_planar


def get_config():
  config = graphs_planar.get_config()
  config.graphs.generator = 'refine'
  config.graphs.discriminator = 'ppgn'
  config.graphs.rounds = 2
  config.graphs.d_layers = 3           # PPGN blocks
  config.model.d_features = 16         # PPGN channels
  config.model.z_dim = 64 * 8 + 16     # 8 noise values per node and 16 global ones
  config.loss.penalty_weight = 1.0     # R1 gamma 1 (10 slowed G's start in the probes)
  config.optim.lr = 4e-4               # both players (2e-4 for G learned slower in the probes)
  config.num_steps = 3800              # what 60 min of one contended CPU core gave
  return config
