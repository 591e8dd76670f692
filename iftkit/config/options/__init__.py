"""The recipe's sections, one module per component that reads them (config/schema.py composes them).

They live under config/ rather than next to each component (data/, training/, evaluation/, sweep/)
because the layers (tests/test_import_layers.py) put config below every component: the schema may not
import up into them, and a component's package __init__ would load its heavy code with its options.
"""
