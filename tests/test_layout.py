"""The package's layers, as README lists them: a module imports only from its own layer or the
layers below it, and never from experiments/."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, 'gan_jax')

# Lowest first; the same order as the tree at the top of README.md.
LAYERS = [
    ('gan_jax.errors', 'gan_jax.keys', 'gan_jax.tools'),
    ('gan_jax.core',),
    ('gan_jax.models', 'gan_jax.data', 'gan_jax.metrics'),
    ('gan_jax.lecture',),
    ('gan_jax.structures',),
    ('gan_jax.run',),
]


def layer_of(module: str) -> int:
  for level, prefixes in enumerate(LAYERS):
    if any(module == p or module.startswith(p + '.') for p in prefixes):
      return level
  raise AssertionError(f'{module} is in no layer; add it to LAYERS and to README')


def modules():
  for folder, _, files in os.walk(PACKAGE):
    for name in files:
      if name.endswith('.py'):
        path = os.path.join(folder, name)
        dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
        yield dotted.removesuffix('.__init__'), path


def imports(path):
  tree = ast.parse(open(path).read())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      yield node.module
      yield from (f'{node.module}.{alias.name}' for alias in node.names)


def test_imports_only_point_down_the_layers():
  wrong = []
  for module, path in modules():
    if module == 'gan_jax':
      continue
    own = layer_of(module)
    for imported in imports(path):
      if imported.startswith('experiments'):
        wrong.append(f'{module} imports {imported}')
      elif imported.startswith('gan_jax.'):
        target = imported
        while target.count('.') > 1 and not any(
            target == p or target.startswith(p + '.') for level in LAYERS for p in level):
          target = target.rsplit('.', 1)[0]
        if layer_of(target) > own:
          wrong.append(f'{module} (layer {own}) imports {imported} (layer {layer_of(target)})')
  assert not wrong, '\n'.join(wrong)


def import_graph():
  """module -> the gan_jax modules it imports (anywhere in it, a function's body included):
  `from package import name` reads the module package.name where there is one, else package."""
  paths = dict(modules())
  graph = {}
  for module, path in paths.items():
    targets = set()
    for node in ast.walk(ast.parse(open(path).read())):
      if isinstance(node, ast.Import):
        targets.update(alias.name for alias in node.names if alias.name in paths)
      elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for alias in node.names:
          name = f'{node.module}.{alias.name}'
          targets.add(name if name in paths else node.module)
    graph[module] = {t for t in targets if t in paths and t != module}
  return graph


def test_no_import_cycles():
  """No module imports itself through others (state.py and steps.py once imported each other):
  each part can be read, imported and replaced on its own."""
  graph = import_graph()
  cycles, done = [], set()

  def visit(module, path):
    if module in path:
      cycles.append(' -> '.join(path[path.index(module):] + [module]))
      return
    if module in done:
      return
    for target in sorted(graph[module]):
      visit(target, path + [module])
    done.add(module)

  for module in sorted(graph):
    visit(module, [])
  assert not cycles, '\n'.join(cycles)


def test_every_module_is_in_a_layer():
  for module, _ in modules():
    if module != 'gan_jax':
      layer_of(module)


def test_the_layers_are_the_ones_readme_lists():
  readme = open(os.path.join(ROOT, 'README.md')).read()
  for prefixes in LAYERS:
    for prefix in prefixes:
      path = prefix.replace('.', '/') + ('' if prefix.endswith('errors') or prefix.endswith('keys') else '/')
      path = path + '.py' if not path.endswith('/') else path
      assert path in readme, f'README.md does not list {path}'


STRUCTURES = os.path.join(PACKAGE, 'structures')


def _constants(node):
  """The string constants a comparison operand names (itself, or in a tuple, list or set)."""
  if isinstance(node, ast.Constant) and isinstance(node.value, str):
    yield node.value
  elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
    for element in node.elts:
      yield from _constants(element)


def test_no_structure_name_is_compared_outside_its_registry_entry():
  """The trainer and scripts look a structure up once (gan_jax.structures.get); a comparison
  with a structure's name anywhere else would be a special case the registry cannot see."""
  from gan_jax import structures
  names = set(structures.REGISTRY)
  assert {'points', 'images', 'labeled_images', 'sequences', 'graphs'} <= names
  wrong = []
  folders = [PACKAGE, os.path.join(ROOT, 'experiments')]
  for folder in folders:
    for parent, _, files in os.walk(folder):
      if parent.startswith(STRUCTURES):
        continue
      for name in files:
        if not name.endswith('.py'):
          continue
        path = os.path.join(parent, name)
        for node in ast.walk(ast.parse(open(path).read())):
          if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
          elif isinstance(node, ast.Match):
            operands = [case.pattern.value for case in node.cases
                        if isinstance(case.pattern, ast.MatchValue)]
          else:
            continue
          for operand in operands:
            for constant in set(_constants(operand)) & names:
              wrong.append(f'{os.path.relpath(path, ROOT)}:{node.lineno} compares {constant!r}')
  assert not wrong, '\n'.join(wrong)
