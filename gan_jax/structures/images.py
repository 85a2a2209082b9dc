"""Images: TFDS datasets read without TensorFlow, the DCGAN and ResNet pairs (with InfoGAN's
categorical code as an option), and FID, KID, precision/recall, density/coverage and inception
score in the run's feature network (config.eval_features: the project's MNIST/Fashion-MNIST
classifiers, or FID's Inception-v3; gan_jax.metrics.features)."""

import functools

import ml_collections
import numpy as np

from gan_jax.core.steps import generate
from gan_jax.core.terms import TERMS
from gan_jax.data import images as image_data
from gan_jax.data import vectors as toy
from gan_jax.errors import ConfigError, require_choice
from gan_jax.metrics import features, fid, inception_score, kid, precision_recall
from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator, latent_code
from gan_jax.models.layers import DTYPES
from gan_jax.models.resnet import ResNetDiscriminator, ResNetGenerator
from gan_jax.structures.base import Data, Structure, StudyProtocol, register, step_batches
from gan_jax.tools import plots

IMAGE_MODELS = ('dcgan', 'resnet')


def feature_network(config) -> features.FeatureNetwork:
  """The network the run's image metrics are measured in (config.eval_features)."""
  return features.network(config.eval_features, config.data.name, config.inception_weights)


def reference_features(config) -> np.ndarray:
  """Features of the reference images of config.eval_split: the test split at the run's image
  size (a folder: the folder itself), or the validation images held out of the training split;
  computed once (gan_jax.metrics.features caches them, keyed by the images themselves)."""
  images, _ = image_data.evaluation_part(config.data, config.eval_split)
  return features.reference_features(config.data.name, config.eval_split,
                                     feature_network(config), images)


def image_metrics(samples: np.ndarray, config) -> dict:
  """FID, KID, precision/recall, density/coverage and inception score of samples in [-1, 1],
  in the run's feature network against its evaluation split, both of which the result names."""
  net = feature_network(config)
  real_features = reference_features(config)
  fake_features, probabilities = net.extract(samples)
  kid_mean, kid_std = kid(real_features, fake_features)
  pr = precision_recall(real_features[:5000], fake_features[:5000])
  is_mean, is_std = inception_score(probabilities)
  return {'features': net.name, 'feature_weights': net.weights, 'split': config.eval_split,
          'fid': fid(real_features, fake_features), 'kid': kid_mean, 'kid_std': kid_std,
          **pr._asdict(), 'inception_score': is_mean, 'inception_score_std': is_std}


def save_image_samples(samples, stem: str, title: str) -> list:
  """stem.npy (float32, [-1, 1]) and a grid of the first 64 as stem.png."""
  samples = samples.astype(np.float32)
  np.save(stem + '.npy', samples)
  plots.save_image_grid(samples[:64], stem + '.png', title)
  return [stem + '.npy', stem + '.png']


def validate_image_model(config) -> None:
  """What every image structure asks of model.*: an image pair (its resampling and dtype are
  shared fields, checked for every structure by gan_jax.run.config.validate)."""
  require_choice('image model.name', config.model.name, IMAGE_MODELS)


def d_has_batch_norm(config) -> bool:
  """Whether D normalises over the batch (DCGAN's D does unless d_batch_norm is off)."""
  return config.model.name == 'dcgan' and config.model.d_batch_norm


class Images(Structure):
  name = 'images'
  encoding = 'float32 (N, H, W, C) images in [-1, 1]'
  model_names = IMAGE_MODELS
  vae_likelihood = 'bernoulli'
  holds_out_validation = True

  former_paths = {'model.code_categories': 'code_categories', 'loss.class_weight': 'code_weight'}

  def config_fields(self):
    c = ml_collections.ConfigDict()
    # InfoGAN (dcgan): G reads a categorical code of this many values from z and D's second
    # head recovers it, both players weighting its cross-entropy by code_weight (their
    # lambda). 0: no code.
    c.code_categories = 0
    c.code_weight = 1.0
    return c

  def validate(self, config):
    if config.data.name in toy.TOY_DATASETS:
      raise ConfigError(f'data {config.data.name!r} is a toy mixture of points: set '
                        "structure='points' and model.name='mlp'")
    validate_image_model(config)
    model, code = config.model, config.images
    if config.loss.adversarial_weight != 1.0:
      raise ConfigError('loss.adversarial_weight applies to conditional models; leave it at '
                        f'1.0, got {config.loss.adversarial_weight}')
    if code.code_categories and not (code.code_categories >= 2 and model.name == 'dcgan'
                                     and model.z_dim >= 2):
      raise ConfigError('images.code_categories (InfoGAN) must be 0 (no code) or at least 2, '
                        f'with a dcgan and z_dim >= 2; got {code.code_categories} categories, '
                        f'model {model.name!r}, z_dim {model.z_dim}')
    if code.code_weight < 0:
      raise ConfigError(f'images.code_weight must be >= 0, got {code.code_weight}')

  def d_normalizes_batch(self, config) -> bool:
    return d_has_batch_norm(config)

  def make_data(self, config, n_critic, process_index=0, process_count=1):
    images, _ = image_data.training_part(config.data)
    source = image_data.ImageBatches(images, config.batch_size, config.seed, process_index,
                                     process_count)
    return Data(np.zeros(images.shape[1:], np.float32), step_batches(source, n_critic))

  def example(self, config):
    data = config.data
    shape = image_data.load_split(data.name, 'test', data.data_dir, data.download,
                                  data.image_size, data.folder).shape[1:]
    return np.zeros(shape, np.float32)

  def build_models(self, config, example):
    model, shape = config.model, tuple(example.shape)
    dtype = DTYPES[model.compute_dtype]
    if model.name == 'dcgan':
      code = config.images.code_categories
      return (DCGANGenerator(shape, model.g_features, code_categories=code, dtype=dtype,
                             resample=model.resample),
              DCGANDiscriminator(model.d_features, model.d_batch_norm, model.spectral_norm,
                                 code_categories=code, dtype=dtype, resample=model.resample))
    if shape[0] != shape[1] or shape[0] % 8:
      raise ConfigError(f"model 'resnet' needs square images with side a multiple of 8, "
                        f'got {shape}')
    return (ResNetGenerator(shape, model.g_features, dtype=dtype),
            ResNetDiscriminator(model.d_features, model.spectral_norm, dtype=dtype))

  def gan_options(self, config):
    options = {'preprocess': image_data.to_model_range,
               'joint_d_call': not d_has_batch_norm(config)}
    code = config.images
    if code.code_categories:   # InfoGAN: G reads a code from z, D's head recovers it
      code_fn = functools.partial(latent_code, categories=code.code_categories)
      options['terms'] = (TERMS['infogan'](code.code_weight, code_fn),)
    return options

  def check_evaluable(self, config):
    feature_network(config)

  def score_samples(self, samples, config):
    return image_metrics(samples, config)

  def study_protocol(self, config):
    """Lucic et al.'s: FID of each run, the least the best."""
    features_name = features.DESCRIPTIONS[config.eval_features]
    return StudyProtocol('fid', f'FID ({features_name}, test split)', 'FID',
                         higher_is_better=False, digits=1)

  def save_samples(self, samples, stem, title, config=None):
    return save_image_samples(samples, stem, title)

  def draw(self, gan, state, config, data, fixed_z, path_stem, title):
    images = generate(gan, state, fixed_z, config.shown_generator == 'ema')
    plots.save_image_grid(images, path_stem + '.png', f'{title}: G(z) for a fixed z')
    return path_stem + '.png'


IMAGES = register(Images())
