"""Authoring tools for the course's maintainers, run from the course folder (`python -m tools.<name>`)."""
