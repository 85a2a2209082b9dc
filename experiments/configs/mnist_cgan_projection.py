"""Label to image on MNIST: class-wise BatchNorm in G, the projection discriminator (Miyato and
Koyama 2018); mnist_dcgan.py's settings otherwise. The other label configs change the D only.

python experiments/conditional.py --dataset=mnist --runs=projection --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
(or train alone: python experiments/train.py --config experiments/configs/mnist_cgan_projection.py
 --workdir workdirs/mnist_projection --config.data.data_dir=../shared/data/tensorflow_datasets)
"""

from experiments.configs import mnist_dcgan

# G updates of every label-to-image run and of the unconditional run they are compared with:
# half mnist_dcgan.py's length, so that the six runs of experiments/conditional.py fit in about
# 45 minutes per dataset on one CPU core (~5 steps/s alone on a core, batch 64).
NUM_STEPS = 1500


def get_config():
  config = mnist_dcgan.get_config()
  config.model.conditional = 'projection'
  config.model.g_conditioning = 'batch_norm'
  config.num_steps = NUM_STEPS
  config.eval_every = 0          # experiments/conditional.py evaluates the final generator
  config.checkpoint_every = 500
  return config
