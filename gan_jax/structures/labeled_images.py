"""Labelled images: label to image (cGAN concat, projection, AC-GAN; labels or k-means
pseudo-labels) and image completion (the lower half given the upper, pix2pix's pair).

Label to image is scored on `num_samples` samples, the same number for each class: the
classifier's accuracy on the labels asked for, FID against the whole evaluation split
(config.eval_split: the test split, or the validation images held out of the training split),
and intra-FID (FID of each class against that split's images of that class, averaged). A
pseudo-label run is a model of p(x): sampled with each cluster's share of the training set and
scored like an unconditional G. Completion: the first `num_samples` images of the evaluation
split, their upper half given; L1 to
the truth on the hidden half, FID of the completed images, the classifier's accuracy against the
true labels, and the diversity of completions over z. All give the classifier's accuracy on the
real test images (the ceiling).
"""

import functools
import os

import jax
import ml_collections
import numpy as np

from gan_jax import keys
from gan_jax.core.steps import generate
from gan_jax.core.terms import TERMS
from gan_jax.data import clusters
from gan_jax.data import images as image_data
from gan_jax.data import vectors as toy
from gan_jax.errors import ConfigError, require_choice
from gan_jax.metrics import classifier, features
from gan_jax.metrics import conditional as metrics
from gan_jax.metrics.distances import fid
from gan_jax.models import conditional as conditional_models
from gan_jax.structures.base import Data, Structure, check_generator, register, step_batches
from gan_jax.structures.images import (d_has_batch_norm, feature_network,
                                       image_metrics, reference_features, save_image_samples,
                                       validate_image_model)
from gan_jax.tools import plots

CONDITIONS = (*conditional_models.LABEL_DISCRIMINATORS, 'completion')


def condition_kind(config) -> str:
  """'label' (label to image) or 'completion'."""
  return 'completion' if config.labeled_images.conditional == 'completion' else 'label'


PSEUDO_LABELS_FILE = 'pseudo_labels.npy'


def training_labels(config) -> np.ndarray:
  """The labels a label-to-image model trains on, in the order of its training images (the
  split without its held-out validation images): the dataset's, or with
  `labeled_images.pseudo_labels` = k, k-means clusters of their pixels (no label is read;
  permuted among the images with `labeled_images.pseudo_labels_shuffled`), read from
  `labeled_images.labels_file` when a run stored them there, else computed (and stored there)."""
  data_config, own = config.data, config.labeled_images
  if own.pseudo_labels:
    path = own.labels_file
    if path and os.path.exists(path):
      return _stored_clusters(path, own.pseudo_labels)
    labels = clusters.pixel_clusters(data_config, own.pseudo_labels)
    if own.pseudo_labels_shuffled:
      labels = clusters.shuffled(labels)
    if path:
      temporary = path + f'.{os.getpid()}.tmp.npy'
      np.save(temporary, labels)
      os.replace(temporary, path)   # whole or absent, also with several hosts writing
    return labels
  _, labels = image_data.training_part(data_config)
  if labels is None:
    raise _unlabelled(data_config.name)
  return labels


def _unlabelled(name: str) -> ConfigError:
  return ConfigError(f'data {name!r} has no labels (a folder has them as one subfolder per '
                     'class); a conditional model needs them')


def check_labels(labels, config) -> None:
  """The dataset's labels exist and, for label to image, number labeled_images.num_classes
  classes (a label past the class embedding would train on NaNs)."""
  data = config.data
  if labels is None:
    raise _unlabelled(data.name)
  classes = int(np.max(labels)) + 1
  num_classes = config.labeled_images.num_classes
  if condition_kind(config) == 'label' and classes != num_classes:
    raise ConfigError(f'data {data.name!r} has {classes} classes but labeled_images.num_classes '
                      f'is {num_classes}; set --config.labeled_images.num_classes={classes}')


def _stored_clusters(path: str, k: int) -> np.ndarray:
  try:
    labels = np.load(path)
  except (OSError, ValueError) as error:
    raise ConfigError(f'cannot read the stored cluster assignment {path} ({type(error).__name__}); '
                      'delete it to recompute the clusters') from None
  if labels.ndim != 1 or labels.min() < 0 or labels.max() >= k:
    raise ConfigError(f'{path} is not an assignment to {k} clusters; delete it to recompute')
  labels.flags.writeable = False
  return labels.astype(np.int32)


def grid_batch(images, labels, per_class: int = 8, classes: int = 10) -> dict:
  """The first `per_class` examples of each of the first `classes` classes, class by class
  (rows of a sample grid)."""
  indices = np.concatenate([np.flatnonzero(labels == c)[:per_class]
                            for c in np.unique(labels)[:classes]])
  return {'x': images[indices], 'y': labels[indices].astype(np.int32)}


def draw_for_conditions(gan, state, batch: dict, seed: int, generator: str = 'ema',
                        batch_size: int = 1000, z_index: int = 0) -> np.ndarray:
  """G(z, condition) for every example of a host batch dict ({'x': uint8, 'y': labels}), z
  drawn from the EVAL key per chunk of `batch_size` and per `z_index` (another z per index)."""
  check_generator(generator)
  sample = jax.jit(lambda state, z, chunk: generate(
      gan, state, z, generator == 'ema', condition=gan.condition(
          jax.tree.map(gan.preprocess, chunk))))
  key = jax.random.fold_in(keys.fold(jax.random.PRNGKey(seed), keys.EVAL), z_index)
  n = len(batch['y'])
  out = []
  for start in range(0, n, batch_size):
    chunk = {k: v[start:start + batch_size] for k, v in batch.items()}
    z = jax.random.normal(jax.random.fold_in(key, start), (len(chunk['y']), gan.z_dim))
    out.append(np.asarray(sample(state, z, chunk)))
  return np.concatenate(out)


def prior_labels(config, num_samples: int, seed: int = 0) -> np.ndarray:
  """Labels drawn i.i.d. with their shares of the training labels (the dataset's, or its
  k-means pseudo-labels): the label prior of a label-to-image G used as a model of p(x)."""
  prior = training_labels(config)
  return np.random.default_rng(seed).choice(prior, num_samples).astype(np.int32)


def draw_from_prior(gan, state, config, num_samples: int, seed: int = 0,
                    generator: str = 'ema') -> np.ndarray:
  """G(z, label) for labels from `prior_labels`: samples of p(x) = sum_y p(y) p(x | y)."""
  labels = prior_labels(config, num_samples, seed)
  return draw_for_conditions(gan, state, {'y': labels}, seed, generator)


def check_label_classifier(config) -> None:
  """Label accuracy and completion are scored by the project's classifier of the dataset's
  classes, which exists for MNIST and Fashion-MNIST."""
  if config.data.name not in features.LENET_DATASETS:
    raise ConfigError(f'no classifier of the classes of {config.data.name!r} to score labels '
                      f'(only {list(features.LENET_DATASETS)}); set --config.eval_every=0')


def held_out(config):
  """(images uint8, labels) evaluation scores against (config.eval_split): the test split of
  the configured dataset, or the images held out of its training split."""
  check_label_classifier(config)
  return image_data.evaluation_part(config.data, config.eval_split)


@functools.lru_cache(maxsize=4)
def real_label_accuracy(dataset: str, data_dir) -> float:
  """The classifier's accuracy on the test split (the ceiling), computed once per process."""
  images, labels = image_data.load_labeled_split(dataset, 'test', data_dir)
  _, probabilities = classifier.features_and_probabilities(
      classifier.load_params(dataset), image_data.to_model_range(images))
  return metrics.label_accuracy(probabilities, labels)


def completion_batch(config, num_samples: int) -> dict:
  """The first `num_samples` test images with their labels: the inputs a completion G is
  scored and sampled on."""
  images, labels = held_out(config)
  n = min(num_samples, len(images))
  return {'x': images[:n], 'y': np.asarray(labels[:n], np.int32)}


class LabeledImages(Structure):
  name = 'labeled_images'
  encoding = ('float32 (N, H, W, C) images in [-1, 1]: a label run sampled with labels at their '
              'training shares, a completion run completing the first N test images')
  model_names = ('dcgan',)
  vae_likelihood = 'bernoulli'
  holds_out_validation = True

  former_paths = {'model.conditional': 'conditional', 'model.g_conditioning': 'g_conditioning',
                  'model.num_classes': 'num_classes', 'loss.class_weight': 'class_weight',
                  'loss.d_classifies_fakes': 'd_classifies_fakes', 'loss.l1_weight': 'l1_weight',
                  'data.pseudo_labels': 'pseudo_labels', 'data.labels_file': 'labels_file'}

  def config_fields(self):
    c = ml_collections.ConfigDict()
    # What G is given (gan_jax/models/conditional.py), to choose: label to image with D
    # 'concat' (cGAN), 'projection' (Miyato & Koyama) or 'acgan'; or 'completion' (the lower
    # half given the upper, pix2pix's pair).
    c.conditional = 'none'
    c.g_conditioning = 'embedding'  # label to image: a class vector beside z, or 'batch_norm'
    c.num_classes = 10
    c.class_weight = 1.0            # acgan: weight of the classification terms
    c.d_classifies_fakes = True     # acgan: D's class loss on G's samples too (False: real only)
    c.l1_weight = 100.0             # completion: G's weight on mean |G(c, z) - x| (pix2pix)
    # k > 0: label to image on k-means clusters of the pixels instead of the labels
    # (gan_jax.data.clusters; num_classes = k): an unsupervised model of p(x).
    c.pseudo_labels = 0
    c.pseudo_labels_shuffled = False   # the control: cluster ids permuted among the images
    c.labels_file = ''              # set by the run: where a pseudo-label run keeps its clusters
    return c

  def validate(self, config):
    model, loss, own = config.model, config.loss, config.labeled_images
    if config.data.name in toy.TOY_DATASETS:
      raise ConfigError(f'data {config.data.name!r} has no labels; a conditional model needs a '
                        'labelled TFDS image dataset (mnist, fashion_mnist)')
    require_choice('labeled_images.conditional', own.conditional, CONDITIONS)
    require_choice('labeled_images.g_conditioning', own.g_conditioning,
                   conditional_models.G_CONDITIONING)
    if own.num_classes < 2:
      raise ConfigError(f'labeled_images.num_classes must be at least 2, got {own.num_classes}')
    for field in ('class_weight', 'l1_weight', 'pseudo_labels'):
      if own[field] < 0:
        raise ConfigError(f'labeled_images.{field} must be >= 0, got {own[field]}')
    pseudo = own.pseudo_labels
    if own.pseudo_labels_shuffled and not pseudo:
      raise ConfigError('labeled_images.pseudo_labels_shuffled permutes k-means cluster ids: set '
                        'labeled_images.pseudo_labels=k too')
    if pseudo and not (condition_kind(config) == 'label' and pseudo == own.num_classes):
      raise ConfigError(f'labeled_images.pseudo_labels={pseudo} (k-means clusters) needs a '
                        'label-to-image model (labeled_images.conditional concat, projection or '
                        f'acgan) with labeled_images.num_classes={pseudo}; got conditional '
                        f'{own.conditional!r}, num_classes {own.num_classes}')
    if model.name != 'dcgan':
      raise ConfigError(f'labeled_images.conditional={own.conditional!r} uses DCGAN layers; '
                        f"set model.name='dcgan' (got {model.name!r})")
    validate_image_model(config)
    if config.data.image_size is not None and condition_kind(config) == 'completion':
      raise ConfigError("data.image_size is not supported with labeled_images.conditional="
                        "'completion' (it completes the test images as they are); leave it unset")
    if condition_kind(config) == 'completion':
      if not (loss.adversarial_weight > 0 or own.l1_weight > 0):
        raise ConfigError('completion needs loss.adversarial_weight or labeled_images.l1_weight '
                          'above 0')
    elif loss.adversarial_weight <= 0:
      raise ConfigError('label-to-image GANs need loss.adversarial_weight > 0, '
                        f'got {loss.adversarial_weight}')

  def claims_legacy(self, data, model):
    return model.get('conditional', 'none') != 'none'

  def d_normalizes_batch(self, config):
    return d_has_batch_norm(config)

  def bind_workdir(self, config, workdir):
    """A pseudo-label run keeps its cluster assignment in the workdir: k-means runs once, and
    a resumed run, evaluate.py and sample.py read the same assignment back."""
    if config.labeled_images.pseudo_labels:
      config.labeled_images.labels_file = os.path.join(workdir, PSEUDO_LABELS_FILE)

  def make_data(self, config, n_critic, process_index=0, process_count=1):
    images, _ = image_data.training_part(config.data)
    labels = training_labels(config)
    source = image_data.ImageBatches(images, config.batch_size, config.seed, process_index,
                                     process_count, labels=labels)
    return Data(self.example(config, images.shape[1:]), step_batches(source, n_critic),
                grid_batch(images, labels))

  def example(self, config, shape=None):
    """Without `shape`, reads the test split: its shape, and its labels checked against the
    model before the trainer writes anything."""
    if shape is None:
      data = config.data
      images, labels = image_data.load_labeled_split(data.name, 'test', data.data_dir,
                                                     data.download, data.image_size, data.folder)
      if not config.labeled_images.pseudo_labels:
        check_labels(labels, config)
      shape = images.shape[1:]
    return {'x': np.zeros(shape, np.float32), 'y': np.zeros((), np.int32)}

  def build_models(self, config, example):
    x = example['x'] if isinstance(example, dict) else example
    try:
      return conditional_models.build_conditional(config.model, config.labeled_images,
                                                  tuple(x.shape))
    except ValueError as error:
      raise ConfigError(str(error)) from None

  def gan_options(self, config):
    terms, own = [], config.labeled_images
    if own.conditional == 'acgan':   # D's class head: both players classify
      terms.append(TERMS['acgan'](own.class_weight, own.d_classifies_fakes))
    if condition_kind(config) == 'completion' and own.l1_weight:
      terms.append(TERMS['l1'](own.l1_weight))
    return {'preprocess': image_data.to_model_range,
            'condition': conditional_models.CONDITIONS[condition_kind(config)],
            'joint_d_call': not d_has_batch_norm(config), 'terms': tuple(terms)}

  def check_evaluable(self, config):
    feature_network(config)
    if not config.labeled_images.pseudo_labels:
      check_label_classifier(config)

  def sample(self, gan, state, config, num_samples, seed=0, generator='ema'):
    if condition_kind(config) == 'completion':
      return draw_for_conditions(gan, state, completion_batch(config, num_samples), seed,
                                 generator)
    return draw_from_prior(gan, state, config, num_samples, seed, generator)

  def score_samples(self, samples, config):
    """Samples of the model of p(x) (labels at their training shares), scored as images."""
    return image_metrics(samples, config)

  def evaluate(self, gan, state, config, num_samples, seed=0, generator='ema',
               diversity_inputs: int = 500, diversity_z: int = 5):
    if config.labeled_images.pseudo_labels:   # clusters are not classes: score G as a model of p(x)
      samples = draw_from_prior(gan, state, config, num_samples, seed, generator)
      return {'num_samples': num_samples, 'generator': generator,
              **image_metrics(samples, config)}
    images, labels = held_out(config)
    name = config.data.name
    data_dir = image_data.default_data_dir(config.data.data_dir)
    params = classifier.load_params(name)
    net = feature_network(config)
    real_features = reference_features(config)
    results = {'num_samples': num_samples, 'generator': generator,
               'real_label_accuracy': real_label_accuracy(name, data_dir),
               'features': net.name, 'feature_weights': net.weights, 'split': config.eval_split}

    def scored(samples):
      """(features in the run's network, the LeNet classifier's class probabilities)."""
      lenet_features, probabilities = classifier.features_and_probabilities(params, samples)
      return (lenet_features if net.name == 'lenet' else net.extract(samples)[0]), probabilities

    if condition_kind(config) == 'label':
      asked = (np.arange(num_samples) % config.labeled_images.num_classes).astype(np.int32)
      batch = {'x': np.zeros((num_samples,) + images.shape[1:], np.uint8), 'y': asked}
      samples = draw_for_conditions(gan, state, batch, seed, generator)
      fake_features, probabilities = scored(samples)
      return {**results, 'label_accuracy': metrics.label_accuracy(probabilities, asked),
              'fid': fid(real_features, fake_features),
              **metrics.intra_fid(real_features, labels, fake_features, asked)}
    batch = completion_batch(config, num_samples)
    completions = draw_for_conditions(gan, state, batch, seed, generator)
    truth = image_data.to_model_range(batch['x'])
    mask = np.asarray(conditional_models.visible_mask(images.shape[1]))
    fake_features, probabilities = scored(completions)
    m = min(diversity_inputs, len(batch['y']))
    few = {k: v[:m] for k, v in batch.items()}
    repeats = np.stack([draw_for_conditions(gan, state, few, seed, generator, z_index=i)
                        for i in range(diversity_z)], axis=1)
    return {**results, 'l1': metrics.masked_l1(completions, truth, mask),
            'fid': fid(real_features, fake_features),
            'label_accuracy': metrics.label_accuracy(probabilities, batch['y']),
            'diversity': metrics.diversity(repeats, mask)}

  def save_samples(self, samples, stem, title, config=None):
    return save_image_samples(samples, stem, title)

  def draw(self, gan, state, config, data, fixed_z, path_stem, title):
    """A row per class (or conditioning image), a column per z."""
    batch = jax.tree.map(gan.preprocess, data.picture)
    z = fixed_z[np.arange(len(batch['y'])) % 8]
    images = generate(gan, state, z, config.shown_generator == 'ema',
                      condition=gan.condition(batch))
    plots.save_image_grid(images, path_stem + '.png', f'{title}: G(z, condition), 8 of each class')
    return path_stem + '.png'


LABELED_IMAGES = register(LabeledImages())
