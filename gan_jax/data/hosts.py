"""Which rows of a global batch each host reads: one rule for every kind of data, so the hosts'
parts, concatenated in process order, are the global batch whatever the number of hosts."""

from gan_jax.errors import ConfigError


def host_rows(batch_size: int, process_index: int = 0, process_count: int = 1) -> slice:
  """The slice of a global batch of `batch_size` rows that host `process_index` of
  `process_count` reads: consecutive blocks of batch_size / process_count rows, in process order
  (every host draws the global batch and keeps its block, so the data of a step does not depend
  on how many hosts share it)."""
  if process_count < 1 or not 0 <= process_index < process_count:
    raise ConfigError(f'process_index must be in [0, {process_count}), got {process_index}')
  if batch_size % process_count:
    raise ConfigError(f'batch_size {batch_size} does not split over {process_count} hosts; '
                      f'use a multiple of {process_count}')
  local = batch_size // process_count
  return slice(process_index * local, (process_index + 1) * local)
