"""Config as code: `oncall_apply FILE.yaml` and `oncall_export`.

- ``registry``: sections (one per top-level key), ``ApplyContext``, ``ConfigError``.
- ``fields``: readers that check the YAML shape and fail with the path inside the file.
- ``people``: the ``teams`` (order 10) and ``engineers`` (order 20) sections.
- ``loader``: YAML in/out and ``load_sections()``, which imports ``<app>.config_section``.
- ``apply``: ``config_apply`` (one transaction, dry run, prune) and ``config_export``.

To add a section from another app, see README.md in this folder.
"""
