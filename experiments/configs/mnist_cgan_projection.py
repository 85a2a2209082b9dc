"""Label to image on MNIST: a learned class vector beside z in G, the projection discriminator
(Miyato and Koyama 2018); mnist_dcgan.py's settings otherwise. The other label configs change
the D only. G conditioned by class-wise BatchNorm alone ('batch_norm': a scale and shift per
class and channel) barely followed the label here (14-22% label accuracy after 1,500 steps,
docs/structured.md); the class vector beside z gave 97% after 2,811.

python experiments/conditional.py --dataset=mnist --runs=projection --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
(or train alone: python experiments/train.py --config experiments/configs/mnist_cgan_projection.py
 --workdir workdirs/mnist_projection --config.data.data_dir=../shared/data/tensorflow_datasets)
"""

from experiments.configs import mnist_dcgan

# G updates of every label-to-image run and of the unconditional run they are compared with:
# three epochs at batch 64 (about 5 minutes a run on the 2-core CPU).
NUM_STEPS = 2811


def get_config():
  config = mnist_dcgan.get_config()
  config.structure = 'labeled_images'
  config.labeled_images.conditional = 'projection'
  config.labeled_images.g_conditioning = 'embedding'
  config.num_steps = NUM_STEPS
  config.eval_every = 0          # experiments/conditional.py evaluates the final generator
  config.checkpoint_every = 500
  return config
