"""Trajectory formats: OpenHands' function-calling text format and SWE-Gym's released rows.

Submodules are imported on use (``from swegym.formats import fncall``); nothing heavy here.
"""
