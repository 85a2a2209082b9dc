"""The one error type for bad input: experiment scripts print its message and exit with 2."""


class ConfigError(ValueError):
  """A wrong config value, dataset, workdir or checkpoint; the message says how to fix it."""
