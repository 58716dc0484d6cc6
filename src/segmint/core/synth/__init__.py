"""A realistic synthetic shop: customers, catalog, orders, events and ground-truth personas.

Pure generation (numpy → Arrow tables, no files): ``Shop(customers, seed).block(i)`` gives the rows of
customer block ``i``; the use case in ``segmint.demo.generate`` writes them to Parquet.
"""

from segmint.core.synth.personas import PERSONAS, Persona
from segmint.core.synth.shop import BLOCK_SIZE, BLOCK_TABLES, DEFAULT_END, DEFAULT_START, Shop, arrow_schema

__all__ = [
    "BLOCK_SIZE",
    "BLOCK_TABLES",
    "DEFAULT_END",
    "DEFAULT_START",
    "PERSONAS",
    "Persona",
    "Shop",
    "arrow_schema",
]
