"""Label to image on MNIST with an auxiliary classifier (AC-GAN, Odena et al. 2017): D ignores
the label and also classifies; both players add the cross-entropy of its class logits
(labeled_images.class_weight). Otherwise mnist_cgan_projection.py.

D's classifier learns from real images only (labeled_images.d_classifies_fakes=False). With the paper's
loss, which also trains it on G's samples by the labels they were drawn for, D's head learned to
read G's labels (G's class loss 0.02 at 1,500 steps) from marks a digit classifier does not
see: 77% of samples of the asked class at 1,500 steps, 52% at 2,811; trained on real images
only, 96% at 1,500 steps (docs/structured.md). The paper's loss:
--config.labeled_images.d_classifies_fakes=True.

python experiments/conditional.py --dataset=mnist --runs=acgan --workdir=workdirs/conditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import mnist_cgan_projection


def get_config():
  config = mnist_cgan_projection.get_config()
  config.labeled_images.conditional = 'acgan'
  config.labeled_images.class_weight = 1.0
  config.labeled_images.d_classifies_fakes = False   # see above
  return config
