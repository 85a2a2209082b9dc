"""SeqGAN's synthetic benchmark (Yu et al. 2017): an LSTM generator against an LSTM oracle,
G's gradient by REINFORCE with Monte Carlo rollouts (the score-function estimator), D a CNN over
token embeddings. Start from MLE pre-training (experiments/sequences.py does both phases):

python experiments/train.py --config experiments/configs/oracle_seqgan.py --workdir workdirs/seqgan \
    --config.model.init_generator=workdirs/sequences/mle_generator.msgpack
"""

from gan_jax.run.config import base_config


def get_config():
  config = base_config()
  config.structure = 'sequences'
  config.data.name = 'oracle_lstm'
  config.model.name = 'lstm'
  config.sequences.sequence_output = 'tokens'
  config.sequences.num_rollouts = 4        # SeqGAN's rollout_num is 16: a quarter, for a CPU
  config.sequences.reward_baseline = 'none'   # SeqGAN's; 'leave_one_out' is the unbiased ablation
  config.model.z_dim = 1               # unused: the sampling noise is the generator's own
  # Reward of a completed sequence: -log(1 - D(x)), positive and increasing in D(x) like
  # SeqGAN's reward D(x) itself (the non-saturating log D(x) is negative everywhere).
  config.loss.name = 'minimax'
  config.optim.lr = 1e-2               # SeqGAN's generator Adam rate
  config.optim.d_lr = 1e-4             # and its discriminator's
  config.optim.b1 = 0.9
  config.batch_size = 64
  config.n_critic = 5
  config.num_steps = 60                # ~5 s a step on one CPU core
  config.log_every = 10
  config.sample_every = 20
  config.checkpoint_every = 20
  config.eval_every = 20               # NLL-oracle and NLL-test
  config.eval_samples = 10000
  config.shown_generator = 'raw'       # 60 steps: the EMA would trail the last G
  return config
