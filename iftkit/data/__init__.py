"""Data: the row format, task catalog, user-file loaders, teacher synthesis and mixes."""
