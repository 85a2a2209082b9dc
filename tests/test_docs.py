"""README.md and docs/ quote their numbers from the results files, and their links resolve."""

import importlib.util
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tables_module():
  spec = importlib.util.spec_from_file_location('tables', os.path.join(ROOT, 'experiments',
                                                                       'tables.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_result_tables_equal_what_their_files_give():
  tables = _tables_module()
  for path in tables.markdown_files():
    text = open(path).read()
    assert tables.render(text) == text, f'{path}: run python experiments/tables.py'


def test_readme_is_a_guide_of_under_300_lines():
  assert len(open(os.path.join(ROOT, 'README.md')).read().splitlines()) < 300


def test_links_and_pictures_resolve():
  tables = _tables_module()
  for path in tables.markdown_files():
    for target in re.findall(r'\]\(([^)#]+)\)', open(path).read()):
      if not target.startswith('http'):
        assert os.path.exists(os.path.join(os.path.dirname(path), target)), (path, target)
