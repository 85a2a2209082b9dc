"""The project's two error types; experiment scripts print their message in one line and exit
with status 2 (ConfigError) or 3 (DivergenceError)."""


class ConfigError(ValueError):
  """A wrong config value, dataset, workdir or checkpoint; the message says how to fix it."""


def require_choice(field: str, value, choices) -> None:
  """The one check of a named option: ConfigError naming the field and the choices."""
  if value not in choices:
    raise ConfigError(f'unknown {field} {value!r}; choose one of {list(choices)}')


class DivergenceError(RuntimeError):
  """A NaN or Inf in a loss or in the params; the last good checkpoint is left intact."""
