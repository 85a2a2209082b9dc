"""Graphs: SPECTRE's synthetic benchmarks (community_small, planar) in a dense (N, N) encoding,
an MLP generator with straight-through Bernoulli edges and a message-passing critic, and
SPECTRE's metrics (degree / clustering / orbit MMD², V.U.N. for planar graphs).

The encoding, of the data and of what `experiments/sample.py` writes: float32 (N, n, n), the
symmetric 0/1 adjacency off the diagonal and node existence (1 = node) on it.
"""

import functools

import jax
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import ml_collections  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from gan_jax import keys  # noqa: E402
from gan_jax.core.steps import generate  # noqa: E402
from gan_jax.data import graphs as graph_data  # noqa: E402
from gan_jax.data.hosts import host_rows  # noqa: E402
from gan_jax.errors import ConfigError, require_choice  # noqa: E402
from gan_jax.metrics import graphs as graph_metrics  # noqa: E402
from gan_jax.models.graph_refine import (PPGNDiscriminator, RefineGraphGenerator,  # noqa: E402
                                         refine_z_dim)
from gan_jax.models.graphs import GraphDiscriminator, GraphGenerator  # noqa: E402
from gan_jax.structures.base import Data, Structure, draw_samples, register  # noqa: E402

DATA_SEED = 0   # the benchmark's graphs and split are fixed, whatever the run's seed


@functools.lru_cache(maxsize=8)
def encoded_split(name: str, split: str, order: str) -> np.ndarray:
  """The split in the dense encoding, nodes in `order`; read-only."""
  graphs = [graph_data.order_nodes(g, order)
            for g in graph_data.load_graphs(name, split, DATA_SEED)]
  out = graph_data.encode(graphs, graph_data.spec(name).n_max)
  out.flags.writeable = False
  return out


def reference(name: str):
  """(test graphs, training graphs, whether validity means planarity): what samples are scored
  against (novelty against the training split)."""
  return (graph_data.load_graphs(name, 'test', DATA_SEED),
          graph_data.load_graphs(name, 'train', DATA_SEED), graph_data.spec(name).planar)


class Graphs(Structure):
  name = 'graphs'
  eval_samples = 1000   # V.U.N. of 1,000 graphs beside SPECTRE's draws of one per test graph
  encoding = ('float32 (N, n, n) adjacency, symmetric 0/1 off the diagonal, node existence on '
              'the diagonal')

  def config_fields(self):
    c = ml_collections.ConfigDict()
    c.node_order = 'bfs'            # 'data' (generation order) or 'bfs' (Cuthill-McKee, banded)
    c.node_counts = 'data'          # n drawn from the training histogram; 'learned': G decides
    c.generator = 'mlp'             # 'mlp': every edge at once; 'refine': G redraws its own graph
    c.discriminator = 'message_passing'   # or 'ppgn': pairwise, higher-order (Maron et al. 2019)
    c.rounds = 2                    # refine: rounds of message passing over G's own draw
    c.triples = 0                   # refine: channels of the edge term over third nodes (0: off)
    c.triple_hidden = 16            # refine: hidden width of the third-node messages
    c.triple_angle = False          # refine: messages also read the signed angle at the third node
    c.triple_per_side = False       # refine: the third nodes are the nearest on each side of ij
    c.g_hidden = (128, 256, 512)    # the generator MLP's widths
    c.d_layers = 3                  # message-passing layers of D (width: model.d_features)
    c.triangles = True              # triangle count and clustering as D's node features
    c.normalize = True              # layer-normalised node states, sum pool / N
    c.edge_types = 0                # edges typed by triangle count in D (0: none)
    c.eval_draws = 5                # evaluation: independent draws of ...
    c.num_generated = 0             # ... this many graphs each (0: the test split's size)
    # How evaluation and export read G: 'sample' (Bernoulli edges and nodes, the model's
    # distribution) or 'threshold' (every entry of probability > 1/2: G's most likely graph per
    # z; one graph size only). Training always samples.
    c.decode = 'sample'
    return c

  def validate(self, config):
    g = config.graphs
    if config.data.name not in graph_data.GRAPH_DATASETS:
      raise ConfigError(f'graphs come from SPECTRE\'s benchmarks: data.name must be one of '
                        f'{sorted(graph_data.GRAPH_DATASETS)}, got {config.data.name!r}')
    require_choice('graphs.node_order', g.node_order, graph_data.NODE_ORDERS)
    require_choice('graphs.generator', g.generator, ('mlp', 'refine'))
    require_choice('graphs.discriminator', g.discriminator, ('message_passing', 'ppgn'))
    require_choice('graphs.node_counts', g.node_counts, ('data', 'learned'))
    require_choice('graphs.decode', g.decode, ('sample', 'threshold'))
    if g.decode == 'threshold' and g.node_counts == 'data' and np.count_nonzero(
        graph_data.node_count_distribution(encoded_split(config.data.name, 'train',
                                                         g.node_order))) > 1:
      raise ConfigError(f"graphs.decode='threshold' needs one graph size; {config.data.name} "
                        "draws its sizes (use graphs.decode='sample')")
    if g.generator == 'refine':
      n_max = graph_data.spec(config.data.name).n_max
      needed = refine_z_dim(n_max, RefineGraphGenerator.node_noise,
                            RefineGraphGenerator.global_noise)
      if config.model.z_dim != needed or g.node_counts != 'data' or g.rounds < 0:
        raise ConfigError(f"graphs.generator='refine' reads per-node noise: set "
                          f'model.z_dim={needed} for {n_max} nodes, graphs.node_counts=data and '
                          f'graphs.rounds >= 0 (got {config.model.z_dim}, {g.node_counts!r}, '
                          f'{g.rounds})')
    if g.triples and g.generator != 'refine':
      raise ConfigError(f"graphs.triples={g.triples} is an option of graphs.generator='refine' "
                        f'(got {g.generator!r})')
    if not g.g_hidden or min(g.g_hidden) < 1:
      raise ConfigError(f'graphs.g_hidden must be positive widths, got {g.g_hidden}')
    for field in ('d_layers', 'eval_draws', 'triple_hidden'):
      if g[field] < 1:
        raise ConfigError(f'graphs.{field} must be >= 1, got {g[field]}')
    if g.edge_types < 0 or g.num_generated < 0 or g.triples < 0:
      raise ConfigError('graphs.edge_types, graphs.num_generated and graphs.triples must be >= 0')

  def make_data(self, config, n_critic, process_index=0, process_count=1):
    train = encoded_split(config.data.name, 'train', config.graphs.node_order)
    batch = config.batch_size
    rows = host_rows(batch, process_index, process_count)

    def batches(step):
      # The global batch on every host, each keeping its slice: independent of the host count.
      chosen = graph_data.batch_indices(step, n_critic * batch, len(train), config.seed)
      return train[chosen].reshape((n_critic, batch) + train.shape[1:])[:, rows]

    return Data(self.example(config), batches)

  def example(self, config):
    n = graph_data.spec(config.data.name).n_max
    return np.zeros((n, n), np.float32)

  def build_models(self, config, example):
    g = config.graphs
    counts = None
    train = encoded_split(config.data.name, 'train', g.node_order)
    if g.node_counts == 'data':
      counts = graph_data.node_count_distribution(train)
    if g.generator == 'refine':
      nodes = np.diagonal(train, axis1=1, axis2=2).sum(1)
      density = float(np.sum(train) - np.sum(nodes)) / float(np.sum(nodes * (nodes - 1)))
      generator = RefineGraphGenerator(example.shape[-1], counts, rounds=g.rounds,
                                       triples=g.triples, triple_hidden=g.triple_hidden,
                                       triple_angle=g.triple_angle,
                                       triple_per_side=g.triple_per_side,
                                       edge_prior=float(np.log(density / (1 - density))))
    else:
      generator = GraphGenerator(example.shape[-1], hidden=tuple(g.g_hidden), node_counts=counts)
    if g.discriminator == 'ppgn':
      discriminator = PPGNDiscriminator(hidden=config.model.d_features, blocks=g.d_layers)
    else:
      discriminator = GraphDiscriminator(hidden=config.model.d_features, layers=g.d_layers,
                                         triangles=g.triangles, normalize=g.normalize,
                                         edge_types=g.edge_types)
    return generator, discriminator

  def gan_options(self, config):
    return {'joint_d_call': True}

  def sample(self, gan, state, config, num_samples, seed=0, generator='ema'):
    """Graphs drawn as the model defines them: independent Bernoulli draws of each edge (and
    node) from G's logits, with a 'sample' key (graphs.decode='threshold': G's most likely
    graph per z instead); in batches of at most 500 graphs."""
    return draw_samples(gan, state, num_samples, seed, generator,
                        batch_size=min(500, num_samples),
                        sampled=config.graphs.decode == 'sample').astype(np.float32)

  def check_draws(self, config):
    """SPECTRE's protocol applies to every graph config."""

  def evaluate_draws(self, sampler, config, seed=0):
    """SPECTRE's protocol for any graph model: `graphs.eval_draws` independent draws of
    `graphs.num_generated` graphs (default: one per test graph) scored against the test split
    (novelty against the training split). sampler(n, seed) -> (n, N, N) encoded graphs.
    Returns (score_draws' dict of means, stds and draws, the first draw's graphs)."""
    test, train, planar = reference(config.data.name)
    size = config.graphs.num_generated or len(test)
    draws = [graph_data.decode(sampler(size, seed + 1000 * d))
             for d in range(config.graphs.eval_draws)]
    return graph_metrics.score_draws(draws, test, train, planar), draws[0]

  def evaluate(self, gan, state, config, num_samples, seed=0, generator='ema'):
    """`evaluate_draws` of G (means, and their stds as '<metric>_std'); with num_samples above
    a draw's size, also every metric of num_samples graphs at once ('<metric>_<num_samples>':
    a tighter V.U.N. than 40 graphs give), of the graphs graphs.decode gives. Every value is a
    scalar, so the trainer logs the whole evaluation (experiments/planar_study.py reads it back)."""
    sampler = lambda n, s: self.sample(gan, state, config, n, s, generator)
    scored, first = self.evaluate_draws(sampler, config, seed)
    results = {'num_samples': len(first) * config.graphs.eval_draws, 'generator': generator,
               **scored['metrics'], **{f'{k}_std': v for k, v in scored['metrics_std'].items()}}
    if num_samples > len(first):
      many = graph_data.decode(sampler(num_samples, seed))
      scored_many = graph_metrics.score(many, *reference(config.data.name))
      results.update({f'{k}_{num_samples}': v for k, v in scored_many.items()})
    return results

  def save_samples(self, samples, stem, title, config=None):
    samples = samples.astype(np.float32)
    np.save(stem + '.npy', samples)
    draw_graphs(graph_data.decode(samples[:16]), stem + '.png', title)
    return [stem + '.npy', stem + '.png']

  def draw(self, gan, state, config, data, fixed_z, path_stem, title):
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), keys.PLOT)
    ema = config.shown_generator == 'ema'
    # Compiled: op by op, the planar G (third nodes, set attention) takes a minute on a CPU.
    graphs = jax.jit(lambda state, z, key: generate(gan, state, z, ema, key))(
        state, fixed_z[:16], key)
    draw_graphs(graph_data.decode(np.asarray(graphs)), path_stem + '.png', title)
    return path_stem + '.png'


def draw_graphs(graphs, path: str, title: str, columns: int = 8) -> None:
  """Up to 16 graphs in spring layouts, two rows."""
  fig, axes = plt.subplots(2, columns, figsize=(1.5 * columns, 3.3))
  for i, ax in enumerate(axes.flat):
    ax.set_axis_off()
    if i < len(graphs) and graphs[i].number_of_nodes():
      graph = graphs[i]
      nx.draw_networkx(graph, nx.spring_layout(graph, seed=0), ax=ax, with_labels=False,
                       node_size=6 if graph.number_of_nodes() > 30 else 12, width=0.4)
  fig.suptitle(title, fontsize=9)
  fig.savefig(path, dpi=80)
  plt.close(fig)


GRAPHS = register(Graphs())
