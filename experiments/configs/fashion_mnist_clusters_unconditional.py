"""Control of fashion_mnist_clusters.py: the recipe's G and D, the same widths and settings,
with no condition at all (mnist_clusters_unconditional.py for Fashion-MNIST): how much of the
recipe's FID per minute is the condition itself?

python experiments/time_to_fid.py \
    --config experiments/configs/fashion_mnist_clusters_unconditional.py \
    --minutes=30 --eval_minutes=3 --seeds=0,1,2 \
    --workdir workdirs/time_to_fid/fashion_mnist_clusters_unconditional \
    --data_dir=../shared/data/tensorflow_datasets
"""

from experiments.configs import fashion_mnist_clusters, mnist_clusters_unconditional


def get_config():
  return mnist_clusters_unconditional.unconditional(fashion_mnist_clusters.get_config())
