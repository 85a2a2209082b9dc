"""SeqGAN's synthetic benchmark (Yu et al. 2017): an LSTM generator against an LSTM oracle,
G's gradient by REINFORCE with Monte Carlo rollouts (the score-function estimator), D a CNN over
token embeddings. Start from MLE pre-training (experiments/sequences.py does both phases):

python experiments/train.py --config experiments/configs/oracle_seqgan.py --workdir workdirs/seqgan \
    --config.model.init_generator=workdirs/sequences/mle_generator.msgpack
"""

from gan_jax.run.config import base_config


def get_config():
  config = base_config()
  config.data.name = 'oracle_lstm'
  config.model.name = 'lstm'
  config.model.sequence_output = 'tokens'
  config.model.num_rollouts = 16       # SeqGAN's rollout_num
  config.model.z_dim = 1               # unused: the sampling noise is the generator's own
  config.loss.name = 'non_saturating'  # reward of a completed sequence: log D(x)
  config.optim.lr = 1e-2               # SeqGAN's generator Adam rate
  config.optim.d_lr = 1e-4             # and its discriminator's
  config.optim.b1 = 0.9
  config.batch_size = 64
  config.n_critic = 5
  config.num_steps = 200
  config.log_every = 10
  config.sample_every = 50
  config.checkpoint_every = 50
  config.eval_every = 50               # NLL-oracle and NLL-test
  config.eval_samples = 10000
  config.shown_generator = 'raw'       # 200 steps: the EMA would trail the last G
  return config
