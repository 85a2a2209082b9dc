"""Generator/discriminator pairs, one file per structure; each structure entry of
gan_jax.structures builds its pair from the config."""

from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import DownConv2x, UpConv2x
from gan_jax.models.vectors import MLPDiscriminator, MLPGenerator
from gan_jax.models.resnet import ResNetDiscriminator, ResNetGenerator
from gan_jax.models.sequences import LSTMGenerator, SequenceDiscriminator

__all__ = ['LSTMGenerator', 'SequenceDiscriminator', 'DCGANGenerator', 'DCGANDiscriminator', 'MLPGenerator',
           'MLPDiscriminator', 'ResNetGenerator', 'ResNetDiscriminator', 'DownConv2x',
           'UpConv2x']
