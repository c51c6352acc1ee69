"""Outputs for people and tools: exported tables, statements, reports."""
