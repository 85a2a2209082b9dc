"""Control of fashion_mnist_clusters.py: its 20 k-means cluster ids permuted among the training
images (each keeps its share), as mnist_clusters_shuffled.py is for MNIST: does the recipe gain
from what the clusters say about the images, or from a conditional pair given ids at fixed
shares?

python experiments/time_to_fid.py \
    --config experiments/configs/fashion_mnist_clusters_shuffled.py \
    --minutes=30 --eval_minutes=3 --seeds=0,1,2 \
    --workdir workdirs/time_to_fid/fashion_mnist_clusters_shuffled \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import fashion_mnist_clusters


def get_config():
  config = fashion_mnist_clusters.get_config()
  config.labeled_images.pseudo_labels_shuffled = True
  return config
