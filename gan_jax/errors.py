"""The project's two error types; experiment scripts print their message in one line and exit
with status 2 (ConfigError) or 3 (DivergenceError)."""


class ConfigError(ValueError):
  """A wrong config value, dataset, workdir or checkpoint; the message says how to fix it."""


class DivergenceError(RuntimeError):
  """A NaN or Inf in a loss or in the params; the last good checkpoint is left intact."""
