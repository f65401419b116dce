"""Tool modules: every public module here is imported by ``main.py`` and registers ``@mcp.tool``s.

Add a tool by dropping a new ``<concern>.py`` file in this folder; nothing else needs editing.
Modules whose name starts with ``_`` are helpers and are not imported as tool modules.
"""
