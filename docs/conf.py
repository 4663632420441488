"""Sphinx configuration of the documentation site (docs/README.md builds it)."""

import os

from sklearn_gd_logreg import __version__

project = "sklearn_gd_logreg"
author = "The sklearn_gd_logreg developers"
copyright = "2026, the sklearn_gd_logreg developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
# README.md says how to build these pages; it is not one of them.
exclude_patterns = ["_build", "README.md"]

# API reference: one page per object, from the numpydoc docstrings.
autosummary_generate = True
autodoc_typehints = "none"  # the docstrings' Parameters sections say it all
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


def skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Document our own methods, inherited ones included, not scikit-learn's.

    Methods that scikit-learn's base classes give every estimator
    (``get_params``, ``set_params``, ``score``, ``fit_transform``,
    ``set_output``, the ``set_*_request`` of metadata routing) are documented
    by scikit-learn, and their docstrings point into its user guide, which
    these pages do not hold.
    """
    module = getattr(obj, "__module__", None) or ""
    if module == "sklearn" or module.startswith("sklearn."):
        return True
    if name.startswith("set_") and name.endswith("_request"):
        return True  # generated per estimator by scikit-learn
    return skip


def setup(app):
    app.connect("autodoc-skip-member", skip_scikit_learn_members)


# The gallery: every example in examples/ runs during the build, and its
# printed output and figures are shown under its code.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "doc_module": ("sklearn_gd_logreg",),
    "backreferences_dir": "generated/backreferences",
    "min_reported_time": 0,
}

# Math: MathJax from its CDN, as Sphinx sets it. For a browser check without
# network, SPHINX_MATHJAX_PATH names a local copy (docs/README.md).
if os.environ.get("SPHINX_MATHJAX_PATH"):
    mathjax_path = os.environ["SPHINX_MATHJAX_PATH"]

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_gd_logreg {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
