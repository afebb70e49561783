"""Shared pytest setup: make the helpers in tests/ importable from every test folder."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
