"""The runtime services build on: bus, messaging, database, settings, clock, migrations.

Nothing here imports services or the application (kiemchung.cli, bootstrap, demo, api, ingress):
the import contract in pyproject.toml ([tool.importlinter]) fails the build on a wrong-way import.
"""
