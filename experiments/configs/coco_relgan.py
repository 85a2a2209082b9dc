"""RelGAN's gradient path on the COCO captions (Nie et al. 2019): G emits Gumbel-softmax relaxed
one-hot vectors, inverse temperature rising as max_temperature ** (n / N), the relativistic
standard loss, from the MLE generator of coco_mle.py; D and the protocol as coco_seqgan.py
(RelGAN's own G is a relational memory and its D a multi-representation CNN: here the LSTM pair).

python experiments/train.py --config experiments/configs/coco_mle.py --workdir workdirs/coco_mle
python experiments/train.py --config experiments/configs/coco_relgan.py --workdir workdirs/coco_relgan \
    --config.model.init_generator=workdirs/coco_mle
python experiments/evaluate.py --workdir workdirs/coco_relgan --generator=raw

Sized for 60 minutes on the project's 2-core CPU: 3,000 G steps at 0.94 CPU seconds a step
(measured; 2.2 s wall on the two cores shared with other jobs), or fewer when train_minutes 55
runs out first; the temperature reaches its maximum at the last step; evaluated every 500.
"""

from experiments.configs import coco_seqgan


def get_config():
  config = coco_seqgan.get_config()
  config.sequences.sequence_output = 'gumbel'
  config.sequences.max_temperature = 100.0  # RelGAN reports beta_max 100 and 1000 on COCO
  config.sequences.temperature_steps = 3000
  config.loss.name = 'rsgan'
  config.optim.lr = 1e-4                # RelGAN: Adam 1e-4 for both players
  config.optim.d_lr = 1e-4
  config.n_critic = 1
  config.num_steps = 3000
  config.log_every = 50
  config.sample_every = 500
  config.checkpoint_every = 500
  config.eval_every = 500
  return config
