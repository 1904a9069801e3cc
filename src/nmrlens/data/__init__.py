"""Data: loaders for the shared data folders, curation rules, molecule-level splits."""
