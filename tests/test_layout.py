"""The package's layers, as README lists them: a module imports only from its own layer or the
layers below it, and never from experiments/."""

import ast
import os

import pytest

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


# Where a structure's name may not decide anything: the registry entry decides instead.
# Forms flagged (names: every key of REGISTRY and the class name of every entry):
# - ==, !=, is, is not with a name on either side (or `type(x) is Graphs`);
# - `x in ('graphs', ...)`: a literal container (or string) of names on the right of in / not in;
# - a name as a key of a dict literal or `dict(...)` keyword that is a dispatch table: looked
#   up where it is written (`{...}[name]`, `{...}.get(name)`), or keyed by two or more names,
#   or by names only (a record with one field that happens to be a name, such as
#   `{'features': name, 'images': 1000}`, is not a table);
# - a name anywhere in a match case pattern, or an entry class as a class pattern;
# - a name as an argument of str.startswith / endswith, and any prefix or suffix test of a
#   structure's name itself (`config.structure.startswith('label')`);
# - isinstance / issubclass against an entry class;
# - hasattr, or getattr with a default, on an entry (a probe of what the interface should say).
# The key test is not flagged: a name literal on the left of in / not in, with anything but a
# literal on the right, asks whether a config or mapping has that field (`'graphs' in config`),
# unless the right side is itself a structure's name (`'graphs' in config.structure`: a
# substring test). Subscripts (`config['graphs']`) are field access and never flagged.
NAME_HOLDERS = ('structure', 'structure_name')   # what holds a structure's name, not a config
ENTRY_WORDS = ('structure', 'entry')             # a variable so named, or *_structure, *_entry
LITERAL_CALLS = ('set', 'frozenset', 'tuple', 'list')


def _identifier(node):
  """The last identifier of a name, attribute or call (`config.structure` -> 'structure')."""
  if isinstance(node, ast.Call):
    return _identifier(node.func)
  if isinstance(node, ast.Attribute):
    return node.attr
  if isinstance(node, ast.Name):
    return node.id
  return ''


def _class_refs(node, classes):
  """The entry classes a class expression names (itself, or in a tuple)."""
  if isinstance(node, (ast.Name, ast.Attribute)) and _identifier(node) in classes:
    yield _identifier(node)
  elif isinstance(node, ast.Tuple):
    for element in node.elts:
      yield from _class_refs(element, classes)


def _is_entry(node, classes) -> bool:
  """Whether an expression is a registry entry: a variable named for one (`structure`,
  `entry`, `GRAPHS`), REGISTRY[...], structures.get(...) or an entry class or instance."""
  if isinstance(node, ast.Subscript):
    return _identifier(node.value) == 'REGISTRY'
  if isinstance(node, ast.Call):
    func = node.func
    return _identifier(func) in classes or (isinstance(func, ast.Attribute) and func.attr == 'get'
                                            and _identifier(func.value) == 'structures')
  name = _identifier(node)
  return (any(name.lower() == word or name.lower().endswith('_' + word)
              for word in ENTRY_WORDS) or name in classes or name in {c.upper() for c in classes})


def _constants(node):
  """The string constants an operand names (itself, or in a tuple, list, set or dict's keys,
  also wrapped in set(...), tuple(...))."""
  if isinstance(node, ast.Constant) and isinstance(node.value, str):
    yield node.value
  elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
    for element in node.elts:
      yield from _constants(element)
  elif isinstance(node, ast.Dict):
    for key in node.keys:
      if key is not None:
        yield from _constants(key)
  elif _is_literal(node) and isinstance(node, ast.Call):
    for arg in node.args:
      yield from _constants(arg)


def _is_literal(node) -> bool:
  """A value written out (a string, a container display, set(('a', 'b'))), not a variable."""
  if isinstance(node, ast.Call):
    return (isinstance(node.func, ast.Name) and node.func.id in LITERAL_CALLS
            and all(_is_literal(arg) for arg in node.args))
  return isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)) or (
      isinstance(node, ast.Constant) and isinstance(node.value, str))


def structure_name_uses(source: str, names, classes=(), own=()):
  """(line, what) for each place the source decides something by a structure's name; `own`:
  the names of the entry the source defines, which it may use."""
  names, classes = set(names) - set(own), set(classes) - set(own)
  words = names | classes

  def named(node):
    return sorted(set(_constants(node)) & words)

  tree = ast.parse(source)
  looked_up = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
  looked_up |= {id(node.func.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute) and node.func.attr == 'get'}
  found = []
  for node in ast.walk(tree):
    line = getattr(node, 'lineno', 0)
    if isinstance(node, ast.Compare):
      for left, op, right in zip([node.left, *node.comparators], node.ops, node.comparators):
        if isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
          hits = named(left) + named(right) + [*_class_refs(left, classes),
                                               *_class_refs(right, classes)]
        elif isinstance(op, (ast.In, ast.NotIn)):
          if _is_literal(right):   # a value among listed values (or a substring)
            hits = named(right) + (named(left) if isinstance(right, ast.Constant) else [])
          elif _identifier(right) in NAME_HOLDERS:   # a substring of a structure's name
            hits = named(left)
          else:                    # 'graphs' in config: a key test
            hits = []
        else:
          hits = []
        found += [(line, f'compares {hit!r}') for hit in hits]
    elif isinstance(node, ast.Dict) or isinstance(node, ast.Call) and isinstance(
        node.func, ast.Name) and node.func.id == 'dict':
      keys = (list(_constants(node)) if isinstance(node, ast.Dict)
              else [k.arg for k in node.keywords])
      hits = sorted(set(keys) & words)
      if hits and (id(node) in looked_up or len(hits) > 1 or len(hits) == len(keys)):
        found += [(line, f'dispatches on {hit!r} (dict key)') for hit in hits]
    elif isinstance(node, ast.match_case):
      line = node.pattern.lineno
      for part in ast.walk(node.pattern):
        if isinstance(part, ast.Constant):
          found += [(line, f'matches {hit!r}') for hit in named(part)]
        elif isinstance(part, ast.MatchClass):
          found += [(line, f'matches class {hit}') for hit in _class_refs(part.cls, classes)]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
      if node.func.attr in ('startswith', 'endswith'):
        hits = [hit for arg in node.args for hit in named(arg)] + named(node.func.value)
        if _identifier(node.func.value) in NAME_HOLDERS:
          hits = hits or [f'{_identifier(node.func.value)}.{node.func.attr}']
        found += [(line, f'{node.func.attr} {hit!r}') for hit in hits]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
      func, args = node.func.id, node.args
      if func in ('isinstance', 'issubclass') and len(args) == 2:
        found += [(line, f'{func} {hit}') for hit in _class_refs(args[1], classes)]
      elif (func == 'hasattr' and len(args) == 2 or func == 'getattr' and len(args) == 3) and (
          _is_entry(args[0], classes)):
        found += [(line, f'{func} on an entry ({ast.unparse(args[1])})')]
  return sorted(found)


def _entry_names():
  """(names, class names, {file: the names its entry owns}) of the registry."""
  import sys
  from gan_jax import structures
  names = set(structures.REGISTRY)
  assert {'points', 'images', 'labeled_images', 'sequences', 'graphs'} <= names
  classes, owners = set(), {}
  for name, entry in structures.REGISTRY.items():
    cls = type(entry)
    classes.add(cls.__name__)
    module = sys.modules.get(cls.__module__)   # None: registered from a file run by path
    if getattr(module, '__file__', None):
      owners.setdefault(os.path.abspath(module.__file__), set()).update({name, cls.__name__})
  return names, classes, owners


def test_no_structure_name_decides_anything_outside_its_registry_entry():
  """The trainer and scripts look a structure up once (gan_jax.structures.get) and ask the
  entry; a structure's name tested anywhere else (gan_jax/structures/ included, where an entry
  may use only its own) would be a special case the registry cannot see."""
  names, classes, owners = _entry_names()
  wrong = []
  for folder in (PACKAGE, os.path.join(ROOT, 'experiments')):
    for parent, _, files in os.walk(folder):
      for name in sorted(files):
        if name.endswith('.py'):
          path = os.path.join(parent, name)
          for line, what in structure_name_uses(open(path).read(), names, classes,
                                                owners.get(os.path.abspath(path), ())):
            wrong.append(f'{os.path.relpath(path, ROOT)}:{line} {what}')
  assert not wrong, '\n'.join(wrong)


NAMES, CLASSES = ('points', 'images', 'labeled_images', 'sequences', 'graphs'), (
    'Points', 'Images', 'LabeledImages', 'Sequences', 'Graphs')
FLAGGED = {
    'equality': "if config.structure == 'graphs':\n  pass",
    'not equal, left': "ok = 'images' != kind",
    'is': "ok = kind is 'points'",
    'class name string': "ok = type(entry).__name__ == 'Graphs'",
    'type is class': 'ok = type(entry) is Graphs',
    'in a tuple': "ok = kind in ('graphs', 'sequences')",
    'not in a list': "ok = kind not in ['images']",
    'substring of a structure name': "ok = 'graphs' in config.structure",
    'in a string': "ok = 'graphs' in 'graphs,images'",
    'dict dispatch': "draw = {'graphs': draw_graphs, 'images': draw_images}[name]",
    'dict() dispatch': 'draw = dict(graphs=draw_graphs)[name]',
    'dict table of names only': "DRAW = {'graphs': draw_graphs}",
    'dict table of two names': "DRAW = {'graphs': f, 'images': g, 'default': h}",
    'dict dispatch with a default': "f = {'graphs': f, 'default': g}.get(name)",
    'dict membership': "ok = name in {'graphs': 1, 'other': 2}",
    'in a frozenset call': "ok = kind in frozenset(('graphs', 'images'))",
    'match value': "match name:\n  case 'graphs':\n    pass",
    'match or': "match name:\n  case 'points' | 'images':\n    pass",
    'match mapping key': "match config:\n  case {'sequences': s}:\n    pass",
    'match class': 'match entry:\n  case Graphs():\n    pass',
    'startswith': "ok = config.structure.startswith('labeled_images')",
    'endswith tuple': "ok = path.endswith(('graphs', 'points'))",
    'prefix of a structure name': "ok = config.structure.startswith('label')",
    'isinstance': 'ok = isinstance(entry, Graphs)',
    'isinstance tuple, dotted': 'ok = isinstance(entry, (Points, structures.graphs.Graphs))',
    'issubclass': 'ok = issubclass(type(entry), Sequences)',
    'hasattr on a structure': "ok = hasattr(structure, 'evaluate_draws')",
    'hasattr on a lookup': "ok = hasattr(structures.get(config), 'evaluate_draws')",
    'hasattr on REGISTRY[...]': "ok = hasattr(REGISTRY[name], 'draw')",
    'getattr with a default': "f = getattr(entry, 'evaluate_draws', None)",
    "another entry's name in an entry": "if config.structure == 'points':\n  pass",
}
ALLOWED = {
    'key test on a config': "ok = 'graphs' in config",
    'key test, not in': "ok = 'graphs' not in saved['config']",
    'key test on a call': "ok = 'graphs' in config.to_dict()",
    'field access': 'n = config.graphs.eval_draws + config["graphs"].d_layers',
    'hasattr on a config': "ok = hasattr(config, 'graphs')",
    'hasattr on the registry module': "ok = hasattr(structures, 'REGISTRY')",
    'key test on a set of fields': "ok = 'graphs' in set(config)",
    'a message': "raise ConfigError(\"set structure='points' and model.name='mlp'\")",
    'a name assigned': "config.structure = 'images'",
    'other prefixes': "ok = k.startswith('eval/') or name.startswith('_')",
    'a record with a field named like one': "row = {'features': name, 'images': 1000}",
    'isinstance of the interface': 'ok = isinstance(entry, Structure)',
    'own name in an entry': ("class Graphs(Structure):\n  name = 'graphs'\n"
                             "  def f(self, config):\n    ok = config.structure == 'graphs'\n"
                             '    return isinstance(self, Graphs) and config.graphs'),
}


@pytest.mark.parametrize('form', sorted(FLAGGED))
def test_the_guard_flags_each_form(form):
  found = structure_name_uses(FLAGGED[form], NAMES, CLASSES, own=('graphs', 'Graphs')
                              if form.endswith('in an entry') else ())
  assert found and all(line > 0 for line, _ in found), form


@pytest.mark.parametrize('form', sorted(ALLOWED))
def test_the_guard_allows(form):
  own = ('graphs', 'Graphs') if form.startswith('own') else ()
  assert structure_name_uses(ALLOWED[form], NAMES, CLASSES, own) == []
