"""The ops console's writes, one module per sub-domain (STYLE.md)."""
