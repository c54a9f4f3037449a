"""Root conftest: the Platform Boot suite's options (env fallbacks in e2e/options.py) and plugin.

The plugin is inert unless the session runs the suite (`python -m pytest e2e ...`).
"""

from e2e.options import add_options

pytest_plugins = ("e2e.plugin",)


def pytest_addoption(parser):
    add_options(parser)
